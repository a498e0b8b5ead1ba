"""Benchmark: our transcode of a 1080x1920 10 s clip to 360p against references run alongside.

    python bench/transcode.py [--runs 3] [--keep DIR]

References measured in the same run, interleaved with ours: the ffmpeg command-line tool
writing the same 360x640 picture with our exact settings (and once more with its own defaults)
when it is installed (skipped with a message otherwise; it is never installed for you), and a naive
PyAV loop (per-frame ``reformat``, default threading, picture types kept). Each of our runs
happens in a fresh child process whose peak RSS is read with ``getrusage(RUSAGE_CHILDREN)``
(by a small wrapper process, so only that child is counted).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WIDTH, HEIGHT, SECONDS, FPS = 1080, 1920, 10.0, 30
PRESET, CRF, AUDIO_BITRATE = "veryfast", 26, 96_000

MAKE = """
import json, sys
from pathlib import Path
from shortstack.media.fixture_clips import write_test_video
write_test_video(Path(sys.argv[1]), width=int(sys.argv[2]), height=int(sys.argv[3]),
                 duration_s=float(sys.argv[4]), fps=int(sys.argv[5]), grain=True)
print(json.dumps({}))
"""

OURS = """
import json, sys, time
from pathlib import Path
from shortstack.media.transcode import transcode
t = time.perf_counter()
(r,) = transcode(Path(sys.argv[1]), Path(sys.argv[2]), (360,), preset=sys.argv[3],
                 crf=int(sys.argv[4]), audio_bitrate=int(sys.argv[5]))
import resource
print(json.dumps({"seconds": time.perf_counter() - t, "bytes": r.bytes,
                  "self_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "size": [r.width, r.height], "duration": r.duration_s}))
"""

NAIVE = """
import json, sys, time
import av
t = time.perf_counter()
with av.open(sys.argv[1]) as inp, av.open(sys.argv[2], "w") as out:
    vin, ain = inp.streams.video[0], inp.streams.audio[0]
    vs = out.add_stream("libx264", rate=vin.average_rate)
    vs.width, vs.height, vs.pix_fmt = 360, 640, "yuv420p"
    vs.options = {"preset": sys.argv[3], "crf": sys.argv[4]}
    aus = out.add_stream("aac", rate=48000)
    aus.bit_rate = int(sys.argv[5])
    for frame in inp.decode(vin, ain):
        if isinstance(frame, av.VideoFrame):
            small = frame.reformat(width=360, height=640, format="yuv420p")
            small.pts, small.time_base = frame.pts, frame.time_base
            for p in vs.encode(small):
                out.mux(p)
        else:
            frame.pts = None
            for p in aus.encode(frame):
                out.mux(p)
    for p in vs.encode():
        out.mux(p)
    for p in aus.encode():
        out.mux(p)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


# A small wrapper process runs each measured child and reports getrusage(RUSAGE_CHILDREN) for
# exactly that one child (the bench process's own counter keeps the largest child ever seen).
WRAP = """
import json, resource, subprocess, sys
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
sys.stderr.write(p.stderr)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": p.returncode, "out": p.stdout, "rss_kb": usage.ru_maxrss,
                  "cpu_s": usage.ru_utime + usage.ru_stime}))
"""


def _run(*argv: str) -> tuple[float, dict, int]:
    """Run ``argv`` under the wrapper: (wall seconds, its JSON answer, its peak RSS in kB).

    The answer (the last stdout line as JSON, ``{}`` when it prints nothing) also gets
    ``cpu_s``: the child's user + system CPU seconds, which a busy shared machine inflates far
    less than wall time.
    """
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", WRAP, *argv], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t
    report = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    if proc.returncode != 0 or report.get("rc") != 0:
        raise SystemExit(f"child failed:\n{proc.stderr}")
    out = report["out"].strip()
    answer = json.loads(out.splitlines()[-1]) if out else {}
    answer["cpu_s"] = report["cpu_s"]
    return wall, answer, report["rss_kb"]


def _child(code: str, *args: str) -> tuple[float, dict, int]:
    """Run Python ``code`` in a fresh interpreter under the wrapper (see ``_run``)."""
    return _run(sys.executable, "-c", code, *args)


def _ffmpeg_cmd(ffmpeg: str, src: Path, dst: Path, size: tuple[int, int], same: bool) -> list:
    """The ffmpeg CLI job: ``same`` = ours' exact settings, else ffmpeg's own defaults.

    Both write the very picture ours writes: for a portrait source ``scale=-2:360`` would make
    it 202x360, a third of the pixels, which is not the same job.
    """
    w, h = size
    if same:  # ours' scaler, keyframe interval (2 s), AAC coder, channels and rate
        vf = f"scale={w}:{h}:flags=area,setsar=1"
        extra = ["-g", str(2 * FPS), "-aac_coder", "fast", "-ac", "2", "-ar", "48000"]
    else:  # bicubic, keyint 250, the "twoloop" AAC coder
        vf, extra = f"scale={w}:{h}", []
    return [ffmpeg, "-v", "error", "-y", "-i", str(src), "-vf", vf,
            "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF), "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", str(AUDIO_BITRATE), *extra, "-movflags", "+faststart",
            str(dst)]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the source and outputs in this folder")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="shortstack-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    src = work / "source-1080x1920.mp4"
    t = time.perf_counter()
    # made in a child too: a big parent would inflate the children's ru_maxrss (fork copies it)
    _child(MAKE, str(src), str(WIDTH), str(HEIGHT), str(SECONDS), str(FPS))
    print(f"source: {WIDTH}x{HEIGHT} {SECONDS:g} s {FPS} fps H.264/AAC with film grain, "
          f"{src.stat().st_size:,} B "
          f"(made in {time.perf_counter() - t:.1f} s)")  # fmt: skip
    print(f"settings: 360p libx264 preset={PRESET} crf={CRF}, AAC {AUDIO_BITRATE // 1000} kb/s")
    ffmpeg = shutil.which("ffmpeg")

    settings = (PRESET, str(CRF), str(AUDIO_BITRATE))
    ours, inner, peaks, naive, ours_cpu, naive_cpu = [], [], [], [], [], []
    ff: dict[bool, list[float]] = {True: [], False: []}
    ff_cpu: list[float] = []
    for i in range(args.runs):  # interleaved, so load from other processes hits all alike
        wall, answer, peak = _child(OURS, str(src), str(work / f"ours{i}"), *settings)
        ours.append(wall)
        inner.append(answer["seconds"])
        peaks.append(peak)
        ours_cpu.append(answer["cpu_s"])
        size = tuple(answer["size"])
        print(f"  ours run {i + 1}: {wall:.2f} s process, {answer['seconds']:.2f} s transcode, "
              f"{size[0]}x{size[1]}, {answer['bytes']:,} B, "
              f"{answer['cpu_s']:.2f} s CPU, peak RSS {answer['self_rss_kb'] / 1024:.0f} MB")  # fmt: skip
        _, answer, _ = _child(NAIVE, str(src), str(work / "naive.mp4"), *settings)
        naive.append(answer["seconds"])
        naive_cpu.append(answer["cpu_s"])
        print(f"  naive PyAV run {i + 1} (reformat per frame, default threads): "
              f"{answer['seconds']:.2f} s transcode, {answer['cpu_s']:.2f} s CPU")  # fmt: skip
        if ffmpeg:
            for same in (True, False):
                dst = work / f"ffmpeg{i}-{'same' if same else 'defaults'}.mp4"
                wall, answer, _ = _run(*_ffmpeg_cmd(ffmpeg, src, dst, size, same))
                ff[same].append(wall)
                if same:
                    ff_cpu.append(answer["cpu_s"])
                print(f"  ffmpeg CLI run {i + 1} ({'our settings' if same else 'its defaults'}): "
                      f"{wall:.2f} s process, {dst.stat().st_size:,} B, "
                      f"{answer['cpu_s']:.2f} s CPU")  # fmt: skip
    ours_med, inner_med = statistics.median(ours), statistics.median(inner)
    naive_med = statistics.median(naive)
    peak_mb = max(peaks) / 1024

    print()
    print(f"ours (median of {args.runs}):      {inner_med:6.2f} s transcode, "
          f"{ours_med:.2f} s with interpreter start")  # fmt: skip
    print(f"realtime factor:          {SECONDS / inner_med:6.2f}x  ({SECONDS:g} s of video)")
    print(f"peak RSS of our child:    {peak_mb:6.0f} MB")
    print(f"naive PyAV / ours:        {naive_med / inner_med:6.2f}x wall, "
          f"{statistics.median(naive_cpu) / statistics.median(ours_cpu):.2f}x CPU "
          "(>1: ours is cheaper)")  # fmt: skip
    print(f"our CPU per run (median): {statistics.median(ours_cpu):6.2f} s")
    if ffmpeg:
        same_med, dflt_med = statistics.median(ff[True]), statistics.median(ff[False])
        print(f"ffmpeg CLI (median):      {same_med:6.2f} s with our settings, "
              f"{statistics.median(ff_cpu):.2f} s CPU; {dflt_med:.2f} s with its defaults")  # fmt: skip
        print(f"ours / ffmpeg CLI:        {ours_med / same_med:6.2f}x  (wall, process to "
              f"process, same settings; {ours_med / dflt_med:.2f}x against its defaults)")  # fmt: skip
        print(f"                          {inner_med / same_med:6.2f}x  (our transcode call "
              "alone, as in a long-lived server worker)")  # fmt: skip
    else:
        print("ffmpeg CLI:               skipped: no `ffmpeg` on PATH (install it for the "
              "comparison only: `apt-get install ffmpeg`; the product never needs it)")  # fmt: skip
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
