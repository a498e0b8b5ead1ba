"""Benchmark: our transcode of a 1080x1920 10 s clip to 360p against references run alongside.

    python bench/transcode.py [--runs 3] [--keep DIR]

References measured in the same run: the ffmpeg command-line tool with the same settings when
it is installed (skipped with a message otherwise; it is never installed for you), and a naive
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
from shortstack.media.samples import write_test_video
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
p = subprocess.run([sys.executable, "-c", *sys.argv[1:]], capture_output=True, text=True)
sys.stderr.write(p.stderr)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": p.returncode, "out": p.stdout, "rss_kb": usage.ru_maxrss,
                  "cpu_s": usage.ru_utime + usage.ru_stime}))
"""


def _child(code: str, *args: str) -> tuple[float, dict, int]:
    """Run ``code`` in a fresh interpreter: (wall seconds, its JSON answer, its peak RSS in kB).

    The answer also gets ``cpu_s``: the child's user + system CPU seconds, which a busy shared
    machine inflates far less than wall time.
    """
    t = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", WRAP, code, *args], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t
    report = json.loads(proc.stdout.strip().splitlines()[-1]) if proc.stdout.strip() else {}
    if proc.returncode != 0 or report.get("rc") != 0:
        raise SystemExit(f"child failed:\n{proc.stderr}")
    answer = json.loads(report["out"].strip().splitlines()[-1])
    answer["cpu_s"] = report["cpu_s"]
    return wall, answer, report["rss_kb"]


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

    settings = (PRESET, str(CRF), str(AUDIO_BITRATE))
    ours, inner, peaks, naive, ours_cpu, naive_cpu = [], [], [], [], [], []
    for i in range(args.runs):  # interleaved, so load from other processes hits both alike
        wall, answer, peak = _child(OURS, str(src), str(work / f"ours{i}"), *settings)
        ours.append(wall)
        inner.append(answer["seconds"])
        peaks.append(peak)
        ours_cpu.append(answer["cpu_s"])
        print(f"  ours run {i + 1}: {wall:.2f} s process, {answer['seconds']:.2f} s transcode, "
              f"{answer['size'][0]}x{answer['size'][1]}, {answer['bytes']:,} B, "
              f"{answer['cpu_s']:.2f} s CPU, peak RSS {answer['self_rss_kb'] / 1024:.0f} MB")  # fmt: skip
        _, answer, _ = _child(NAIVE, str(src), str(work / "naive.mp4"), *settings)
        naive.append(answer["seconds"])
        naive_cpu.append(answer["cpu_s"])
        print(f"  naive PyAV run {i + 1} (reformat per frame, default threads): "
              f"{answer['seconds']:.2f} s transcode, {answer['cpu_s']:.2f} s CPU")  # fmt: skip
    ours_med, inner_med = statistics.median(ours), statistics.median(inner)
    naive_med = statistics.median(naive)
    peak_mb = max(peaks) / 1024

    ffmpeg = shutil.which("ffmpeg")
    ff_med = None
    if ffmpeg:
        times = []
        for i in range(args.runs):
            cmd = [ffmpeg, "-v", "error", "-y", "-i", str(src), "-vf", "scale=-2:360",
                   "-c:v", "libx264", "-preset", PRESET, "-crf", str(CRF), "-pix_fmt", "yuv420p",
                   "-c:a", "aac", "-b:a", str(AUDIO_BITRATE), "-movflags", "+faststart",
                   str(work / f"ffmpeg{i}.mp4")]  # fmt: skip
            t = time.perf_counter()
            subprocess.run(cmd, check=True)
            times.append(time.perf_counter() - t)
        ff_med = statistics.median(times)

    print()
    print(f"ours (median of {args.runs}):      {inner_med:6.2f} s transcode, "
          f"{ours_med:.2f} s with interpreter start")  # fmt: skip
    print(f"realtime factor:          {SECONDS / inner_med:6.2f}x  ({SECONDS:g} s of video)")
    print(f"peak RSS of our child:    {peak_mb:6.0f} MB")
    print(f"naive PyAV / ours:        {naive_med / inner_med:6.2f}x wall, "
          f"{statistics.median(naive_cpu) / statistics.median(ours_cpu):.2f}x CPU "
          "(>1: ours is cheaper)")  # fmt: skip
    print(f"our CPU per run (median): {statistics.median(ours_cpu):6.2f} s")
    if ff_med is not None:
        print(f"ffmpeg CLI (median):      {ff_med:6.2f} s")
        print(f"ours / ffmpeg CLI:        {ours_med / ff_med:6.2f}x  (wall, process to process)")
    else:
        print("ffmpeg CLI:               skipped: no `ffmpeg` on PATH (not installed here; "
              "media-notes.md measured 4.05 s for the same job on this machine)")  # fmt: skip
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
