"""Benchmark: frames painted per second by the terminal client's video widget, and its CPU share.

Runs the real Textual app (a VideoView playing a 360p clip) in a pseudo-terminal of 80x24
and 200x60 for 10 s each, draining the terminal output like a fast terminal (or, with
``--tmux``, in a real tmux pane whose server's CPU is counted too), and compares with decoding
alone (PyAV decode + scale: the ceiling) and decoding + building the half-block
rows, measured in the same run. ``--sound`` adds a run per size with the clip's sound playing
through miniaudio's null device (the picture then follows the sound's clock). Each run also
reports the bytes the app wrote a frame, and how many updates sent only changed cells.
``--clip demo`` plays a clip drawn like ``shortstack demo``'s instead of the scrolling pattern.

    python bench/tui_playback.py [--seconds 10] [--sizes 80x24,200x60] [--color truecolor|256]
                                 [--tmux] [--clip pattern|demo] [--sound]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import shlex
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

CLIP_W, CLIP_H, CLIP_FPS, CLIP_S = 360, 640, 30, 4.0
SOUND_ENV = "SHORTSTACK_BENCH_SOUND"
TMUX_PID_ENV = "SHORTSTACK_BENCH_TMUX_PID"


def written_bytes() -> int:
    """Bytes this process has written so far (the terminal output, Linux only)."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int, tid: int | None = None) -> float:
    """CPU seconds (user + system) a process (or one of its threads) has used so far (Linux only)."""
    path = f"/proc/{pid}/stat" if tid is None else f"/proc/{pid}/task/{tid}/stat"
    try:
        fields = Path(path).read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def make_clip(directory: Path, kind: str = "pattern") -> Path:
    """A 360x640 portrait clip at 30 fps (looped during the run, like the feed does).

    ``pattern``: a colour pattern scrolling sideways (every cell of the picture changes every
    frame: the worst case for sending changed cells only); ``demo``: a clip ``shortstack demo``
    draws (shapes moving over a still background, like most real video).
    """
    if kind == "demo":
        from shortstack.demo_clips import make_demo_clip
        from shortstack.demo_topics import demo_catalogue

        spec = demo_catalogue(1, seed=7)[0]
        return make_demo_clip(
            directory / "bench.mp4", spec, duration_s=CLIP_S, width=CLIP_W, height=CLIP_H
        )
    from shortstack.media.fixture_clips import write_test_video

    return write_test_video(
        directory / "bench.mp4",
        width=CLIP_W,
        height=CLIP_H,
        duration_s=CLIP_S,
        fps=CLIP_FPS,
        audio=True,  # played only in the --sound runs (silent runs do not even demux it)
    )


# -- the child: a real app in a real (pseudo) terminal ------------------------------------------


def thread_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process so far, by thread name (Linux only)."""
    import threading

    seconds = {}
    for thread in threading.enumerate():
        if thread.native_id is not None:
            seconds[thread.name] = cpu_seconds(os.getpid(), thread.native_id)
    return seconds


def counts(view) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """Frames dropped, updates sending changed cells only, updates sending every cell
    (zeros for a client that does not count them, so the bench also runs on older code)."""
    return tuple(
        getattr(view, name, 0) for name in ("frames_skipped", "delta_paints", "full_paints")
    )  # type: ignore[return-value]


def child(clip: str, seconds: float, out: str) -> None:
    from textual.app import App, ComposeResult

    from shortstack.tui.widgets.video_view import VideoView

    class CountingView(VideoView):
        """Counts distinct frames painted: rendered by the compositor or sent past it."""

        painted_frames = 0
        _last = None

        def _count(self, frame) -> None:  # type: ignore[no-untyped-def]
            if frame is not None and frame is not self._last:
                self._last = frame
                CountingView.painted_frames += 1

        def render_lines(self, crop):  # type: ignore[no-untyped-def]
            self._count(self._frame)
            return super().render_lines(crop)

        def _paint_direct(self, frame):  # type: ignore[no-untyped-def]
            # frames sent straight to the terminal, past the compositor (newer code only)
            painted = super()._paint_direct(frame)
            if painted:
                self._count(frame)
            return painted

    class BenchApp(App[None]):
        sound = None

        def compose(self) -> ComposeResult:
            yield CountingView(id="video")

        def on_mount(self) -> None:
            self.query_one(CountingView).play(clip)
            self.set_timer(1.0, self._start)

        def _start(self) -> None:  # measure after a 1 s warm-up
            self.t0 = time.perf_counter()
            self.c0 = time.process_time()
            self.p0 = CountingView.painted_frames
            self.d0 = self.query_one(CountingView).playback.frames_shown
            self.w0 = written_bytes()
            view = self.query_one(CountingView)
            self.counts0 = counts(view)
            self.threads0 = thread_cpu()
            self.tmux0 = cpu_seconds(tmux_pid) if tmux_pid else float("nan")
            self.set_timer(seconds, self._done)

        def _done(self) -> None:
            wall = time.perf_counter() - self.t0
            cpu = time.process_time() - self.c0
            view = self.query_one(CountingView)
            result = {
                "wall_s": wall,
                "cpu_s": cpu,
                "painted": CountingView.painted_frames - self.p0,
                "decoded": view.playback.frames_shown - self.d0,
                "dropped": counts(view)[0] - self.counts0[0],
                "delta_paints": counts(view)[1] - self.counts0[1],
                "full_paints": counts(view)[2] - self.counts0[2],
                "written": written_bytes() - self.w0,
                "threads": {
                    name: round(cpu - self.threads0.get(name, 0.0), 3)
                    for name, cpu in thread_cpu().items()
                },
                "tmux_cpu_s": (cpu_seconds(tmux_pid) if tmux_pid else float("nan")) - self.tmux0,
                "size": [self.size.width, self.size.height],
                "mode": view.color_mode.value,
                "sound": bool(view.playback.sound_playing),
            }
            Path(out).write_text(json.dumps(result))
            view.stop()
            self.exit()

    tmux_pid = int(os.environ.get(TMUX_PID_ENV, "0"))
    app = BenchApp()
    if os.environ.get(SOUND_ENV):
        from shortstack.tui.sound import open_sound

        app.sound = open_sound(backend="null")  # opened before the app draws, as the client does
    try:
        app.run()
    finally:
        if app.sound is not None:
            app.sound.close()


def run_in_pty(
    clip: Path, cols: int, rows: int, seconds: float, color: str, sound: bool = False
) -> dict:
    """Run the child app in a pseudo-terminal of cols x rows; drain and count its output."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    env = dict(
        os.environ,
        TERM="xterm-256color",
        SHORTSTACK_COLOR=color,
        COLUMNS=str(cols),
        LINES=str(rows),
    )
    if sound:
        env[SOUND_ENV] = "1"
    if color == "truecolor":
        env["COLORTERM"] = "truecolor"
    env.pop("TMUX", None)
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(clip), str(seconds), str(out)],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    written = 0
    started = time.perf_counter()
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 1 << 16)
                except OSError:
                    break
                if not chunk:
                    break
                written += len(chunk)
            elif proc.poll() is not None:
                break
            if time.perf_counter() - started > seconds + 60:
                proc.kill()
                raise RuntimeError("benchmark child did not finish")
    finally:
        os.close(master)
        proc.wait(10)
    result = json.loads(out.read_text())
    out.unlink()
    result["pty_bytes_per_s"] = written / max(time.perf_counter() - started, 1e-9)
    return result


def run_in_tmux(
    clip: Path, cols: int, rows: int, seconds: float, color: str, sound: bool = False
) -> dict:
    """Run the child app in a detached tmux session of cols x rows, on a tmux server of its own
    (so the server's CPU, counted by the child over the measured seconds, is the pane's alone)."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    out.write_text("")
    tmux = ["tmux", "-L", f"ssbench{os.getpid()}x{cols}"]
    env = f"SHORTSTACK_COLOR={color} " + ("COLORTERM=truecolor " if color == "truecolor" else "")
    env += f"{SOUND_ENV}=1 " if sound else ""
    # the server's pid is the second field of $TMUX inside the pane
    env += f'{TMUX_PID_ENV}="$(echo "$TMUX" | cut -d, -f2)" '
    command = f"{env}{shlex.quote(sys.executable)} {shlex.quote(__file__)} --child {shlex.quote(str(clip))} {seconds} {shlex.quote(str(out))}"
    subprocess.run(
        [*tmux, "-f", "/dev/null", "new-session", "-d", "-x", str(cols), "-y", str(rows), command],
        check=True,
    )
    try:
        deadline = time.monotonic() + seconds + 60
        while not out.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark child in tmux did not finish")
            time.sleep(0.2)
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True)
    result = json.loads(out.read_text())
    out.unlink()
    return result


# -- the ceilings: decoding alone, and decoding + building rows --------------------------------


def ceiling(
    clip: Path, cols: int, rows: int, seconds: float, *, build_rows: bool, color: str
) -> dict:
    """Decode (and optionally render to half-block rows) as fast as possible, looping the clip."""
    import av

    from shortstack.tui.halfblocks import ColorMode, fit_size, render_letterboxed
    from shortstack.tui.playback import colour_bits

    mode = ColorMode(color)
    reformatter = av.video.reformatter.VideoReformatter()
    frames = 0
    t0, c0 = time.perf_counter(), time.process_time()
    fw, fh = fit_size(CLIP_W, CLIP_H, cols, rows)
    while time.perf_counter() - t0 < seconds:
        with av.open(str(clip)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                image = reformatter.reformat(frame, width=fw, height=fh, format="rgb24", threads=1)
                if build_rows:
                    render_letterboxed(
                        image.to_ndarray(), cols, rows, mode, bits=colour_bits(cols, rows)
                    )
                frames += 1
                if time.perf_counter() - t0 >= seconds:
                    break
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"fps": frames / wall, "cpu_share": cpu / wall}


def measured(run: dict) -> str:
    """The app's figures of one run, as table cells."""
    wall = run["wall_s"]
    fps = run["painted"] / wall
    per_frame = run["written"] / max(run["painted"], 1) / 1e3
    return (
        f"{fps:11.1f} {run['cpu_s'] / wall:6.1%} {run['tmux_cpu_s'] / wall:8.0%} "
        f"{per_frame:8.1f} {run['written'] / wall / 1e6:9.2f} "
        f"[{run['delta_paints']} delta / {run['full_paints']} full paints, {run['dropped']} dropped]"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sizes", default="80x24,200x60")
    parser.add_argument("--color", choices=["truecolor", "256"], default="truecolor")
    parser.add_argument("--clip", choices=["pattern", "demo"], default="pattern")
    parser.add_argument(
        "--tmux", action="store_true", help="paint into a real tmux pane instead of a drained pty"
    )
    parser.add_argument(
        "--sound", action="store_true", help="also run each size with the sound playing"
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], float(args.child[1]), args.child[2])
        return

    with tempfile.TemporaryDirectory() as tmp:
        clip = make_clip(Path(tmp), args.clip)
        terminal = "a tmux pane" if args.tmux else "a pty drained like a fast terminal"
        print(
            f"clip: {args.clip} {CLIP_W}x{CLIP_H} @ {CLIP_FPS} fps, {CLIP_S:.0f} s looped; colour {args.color}; "
            f"{args.seconds:.0f} s per run in {terminal}; {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"{'pane':>8} | {'painted fps':>11} {'CPU':>6} {'tmux CPU':>8} {'KB/frame':>8} "
            f"{'term MB/s':>9} | {'decode-only fps':>15} {'CPU':>6} | {'decode+rows fps':>15} {'CPU':>6}"
        )
        for size in args.sizes.split(","):
            cols, rows = (int(v) for v in size.lower().split("x"))
            runner = run_in_tmux if args.tmux else run_in_pty
            app = runner(clip, cols, rows, args.seconds, args.color)
            decode = ceiling(
                clip, cols, rows, min(args.seconds, 5.0), build_rows=False, color=args.color
            )
            rows_built = ceiling(
                clip, cols, rows, min(args.seconds, 5.0), build_rows=True, color=args.color
            )
            print(
                f"{size:>8} | {measured(app)} | {decode['fps']:15.0f} {decode['cpu_share']:6.0%} | "
                f"{rows_built['fps']:15.0f} {rows_built['cpu_share']:6.0%}"
            )
            if args.sound:
                heard = runner(clip, cols, rows, args.seconds, args.color, sound=True)
                if not heard.get("sound"):
                    raise RuntimeError("the --sound run played no sound (is miniaudio installed?)")
                print(f"{size + '+snd':>8} | {measured(heard)} |")
        print(
            "painted fps: distinct frames the app rendered to the terminal per second (clip rate 30, cap 30);"
        )
        print(
            "CPU: process CPU time / wall time (1.0 = one core); tmux CPU: the tmux server's, same "
            "seconds (--tmux only);"
        )
        print(
            "KB/frame, term MB/s: what the app wrote to the terminal. Ceilings run unpaced, as fast "
            "as possible."
        )


if __name__ == "__main__":
    main()
