"""Benchmark: frames painted per second by the terminal client's video widget, and its CPU share.

Runs the real Textual app (a VideoView playing a 360p clip) in a pseudo-terminal of 80x24
and 200x60 for 10 s each, draining the terminal output like a fast terminal, and compares
with decoding alone (PyAV decode + scale: the ceiling) and decoding + building the half-block
rows, measured in the same run. ``--sound`` adds a run per size with the clip's sound playing
through miniaudio's null device (the picture then follows the sound's clock).

    python bench/tui_playback.py [--seconds 10] [--sizes 80x24,200x60] [--color truecolor|256]
                                 [--sound]
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


def make_clip(directory: Path) -> Path:
    """A 360x640 portrait clip at 30 fps (looped during the run, like the feed does)."""
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


def child(clip: str, seconds: float, out: str) -> None:
    from textual.app import App, ComposeResult

    from shortstack.tui.widgets.video_view import VideoView

    class CountingView(VideoView):
        """Counts distinct frames the compositor actually asked to render."""

        painted_frames = 0
        _last = None

        def render_lines(self, crop):  # type: ignore[no-untyped-def]
            frame = self._frame
            if frame is not None and frame is not self._last:
                self._last = frame
                CountingView.painted_frames += 1
            return super().render_lines(crop)

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
                "size": [self.size.width, self.size.height],
                "mode": view.color_mode.value,
                "sound": bool(view.playback.sound_playing),
            }
            Path(out).write_text(json.dumps(result))
            view.stop()
            self.exit()

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
    result["bytes_per_s"] = written / max(time.perf_counter() - started, 1e-9)
    return result


def run_in_tmux(
    clip: Path, cols: int, rows: int, seconds: float, color: str, sound: bool = False
) -> dict:
    """Run the child app in a detached tmux session of cols x rows (tmux's own CPU not counted)."""
    out = Path(tempfile.mkstemp(suffix=".json")[1])
    out.write_text("")
    session = f"ssbench{os.getpid()}x{cols}"
    env = f"SHORTSTACK_COLOR={color} " + ("COLORTERM=truecolor " if color == "truecolor" else "")
    env += f"{SOUND_ENV}=1 " if sound else ""
    command = f"{env}{shlex.quote(sys.executable)} {shlex.quote(__file__)} --child {shlex.quote(str(clip))} {seconds} {shlex.quote(str(out))}"
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", str(cols), "-y", str(rows), command],
        check=True,
    )
    try:
        deadline = time.monotonic() + seconds + 60
        while not out.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("benchmark child in tmux did not finish")
            time.sleep(0.2)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    result = json.loads(out.read_text())
    out.unlink()
    result["bytes_per_s"] = float("nan")
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


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--sizes", default="80x24,200x60")
    parser.add_argument("--color", choices=["truecolor", "256"], default="truecolor")
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
        clip = make_clip(Path(tmp))
        terminal = "a tmux pane" if args.tmux else "a pty drained like a fast terminal"
        print(
            f"clip: {CLIP_W}x{CLIP_H} @ {CLIP_FPS} fps, {CLIP_S:.0f} s looped; colour {args.color}; "
            f"{args.seconds:.0f} s per run in {terminal}; {os.cpu_count()} cores, "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"{'pane':>8} | {'painted fps':>11} {'CPU':>6} {'term MB/s':>9} | "
            f"{'decode-only fps':>15} {'CPU':>6} | {'decode+rows fps':>15} {'CPU':>6}"
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
            fps = app["painted"] / app["wall_s"]
            print(
                f"{size:>8} | {fps:11.1f} {app['cpu_s'] / app['wall_s']:6.0%} "
                f"{app['bytes_per_s'] / 1e6:9.2f} | {decode['fps']:15.0f} {decode['cpu_share']:6.0%} | "
                f"{rows_built['fps']:15.0f} {rows_built['cpu_share']:6.0%}"
            )
            if args.sound:
                heard = runner(clip, cols, rows, args.seconds, args.color, sound=True)
                if not heard.get("sound"):
                    raise RuntimeError("the --sound run played no sound (is miniaudio installed?)")
                fps = heard["painted"] / heard["wall_s"]
                print(
                    f"{size + '+snd':>8} | {fps:11.1f} {heard['cpu_s'] / heard['wall_s']:6.0%} "
                    f"{heard['bytes_per_s'] / 1e6:9.2f} |"
                )
        print(
            "painted fps: distinct frames the app rendered to the terminal per second (clip rate 30, cap 30);"
        )
        print(
            "CPU: process CPU time / wall time (1.0 = one core). Ceilings run unpaced, as fast as possible."
        )


if __name__ == "__main__":
    main()
