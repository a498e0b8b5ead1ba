"""Benchmark: our transcode of a 1080x1920 10 s clip to the whole ladder (360p + 240p) against
references run alongside.

    python bench/transcode.py [--runs 3] [--keep DIR] [--sides 360,240]

References measured in the same run, interleaved with ours: one run of the ffmpeg command-line
tool writing the same renditions (one decode, ``split`` to a scaler per rendition, one output
file each) with our exact settings (and once more with its own defaults) when it is installed
(skipped with a message otherwise; it is never installed for you), and a naive PyAV loop
(per-frame ``reformat`` per rendition, default threading, picture types kept). Each of our runs
happens in a fresh child process whose peak RSS is read with ``getrusage(RUSAGE_CHILDREN)``
(by a small wrapper process, so only that child is counted). The whole upload processing
(``pipeline.process_upload``: probe, the ladder, poster, features and HLS packaging) is timed
the same way against the same ffmpeg runs (``--no-upload`` skips it). The load averages are
printed with the figures: other processes on the machine move wall times (CPU times far less).
"""

from __future__ import annotations

import argparse
import json
import os
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
import resource
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c = cpu()
t = time.perf_counter()
sides = tuple(int(x) for x in sys.argv[6].split(","))
rs = transcode(Path(sys.argv[1]), Path(sys.argv[2]), sides, preset=sys.argv[3],
               crf=int(sys.argv[4]), audio_bitrate=int(sys.argv[5]))
print(json.dumps({"seconds": time.perf_counter() - t, "bytes": [r.bytes for r in rs],
                  "call_cpu_s": cpu() - c,
                  "self_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "sizes": [[r.width, r.height] for r in rs], "duration": rs[0].duration_s}))
"""

# what makes two renditions the same job: codec profile, size, keyframe times, sound, layout
SHAPE = """
import json, sys
import av
shapes = []
for path in sys.argv[1:]:
    with av.open(path) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        keys = [round(float(p.pts * p.time_base), 2) for p in c.demux(v)
                if p.is_keyframe and p.pts is not None]
        with open(path, "rb") as fh:
            head = fh.read(64)
        shapes.append({"video": f"{v.codec_context.name} {v.profile} {v.width}x{v.height} "
                                f"{v.format.name}", "keyframes_s": sorted(keys),
                       "audio": f"{a.codec_context.name} {a.profile} {a.rate} Hz "
                                f"{a.channels} ch", "moov_first": b"moov" in head})
print(json.dumps({"shapes": shapes}))
"""

# the whole upload processing a transcode worker runs: probe, the ladder, poster, features, HLS
UPLOAD = """
import json, sys, time
from pathlib import Path
from shortstack.media.pipeline import Ladder, process_upload
import resource
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
c = cpu()
t = time.perf_counter()
sides = tuple(int(x) for x in sys.argv[6].split(","))
ladder = Ladder(sides, preset=sys.argv[3], crf=int(sys.argv[4]), audio_bitrate=int(sys.argv[5]))
out = Path(sys.argv[2])
r = process_upload(Path(sys.argv[1]), out, ladder, hls_dir=out / "hls")
assert r.hls is not None
print(json.dumps({"seconds": time.perf_counter() - t, "call_cpu_s": cpu() - c,
                  "steps": dict(r.steps)}))
"""

NAIVE = """
import json, sys, time
import av
t = time.perf_counter()
sizes = json.loads(sys.argv[6])
with av.open(sys.argv[1]) as inp:
    outs = [av.open(f"{sys.argv[2]}-{w}x{h}.mp4", "w") for w, h in sizes]
    vin, ain = inp.streams.video[0], inp.streams.audio[0]
    pairs = []
    for out, (w, h) in zip(outs, sizes):
        vs = out.add_stream("libx264", rate=vin.average_rate)
        vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
        vs.options = {"preset": sys.argv[3], "crf": sys.argv[4]}
        aus = out.add_stream("aac", rate=48000)
        aus.bit_rate = int(sys.argv[5])
        pairs.append((out, vs, aus, w, h))
    for frame in inp.decode(vin, ain):
        for out, vs, aus, w, h in pairs:
            if isinstance(frame, av.VideoFrame):
                small = frame.reformat(width=w, height=h, format="yuv420p")
                small.pts, small.time_base = frame.pts, frame.time_base
                for p in vs.encode(small):
                    out.mux(p)
            else:
                frame.pts = None
                for p in aus.encode(frame):
                    out.mux(p)
    for out, vs, aus, w, h in pairs:
        for p in vs.encode():
            out.mux(p)
        for p in aus.encode():
            out.mux(p)
        out.close()
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


def _ffmpeg_cmd(
    ffmpeg: str, src: Path, dsts: list[Path], sizes: list[tuple[int, int]], same: bool
) -> list:
    """One ffmpeg CLI run making every rendition: one decode, ``split`` into a scaler per size,
    one output file each. ``same`` = ours' exact settings, else ffmpeg's own defaults.

    Each writes the very picture ours writes: for a portrait source ``scale=-2:360`` would make
    it 202x360, a third of the pixels, which is not the same job.
    """
    n = len(sizes)
    chains = [f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n))]
    outputs: list[str] = []
    for i, ((w, h), dst) in enumerate(zip(sizes, dsts, strict=True)):
        if same:  # ours' scaler, fixed keyframes every 2 s (no scene cuts), AAC coder, layout
            chains.append(f"[s{i}]scale={w}:{h}:flags=area,setsar=1[v{i}]")
            extra = ["-g", str(2 * FPS), "-sc_threshold", "0",
                     "-aac_coder", "fast", "-ac", "2", "-ar", "48000"]  # fmt: skip
        else:  # bicubic, keyint 250 with scene cuts, the "twoloop" AAC coder
            chains.append(f"[s{i}]scale={w}:{h}[v{i}]")
            extra = []
        outputs += ["-map", f"[v{i}]", "-map", "0:a", "-c:v", "libx264", "-preset", PRESET,
                    "-crf", str(CRF), "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-b:a", str(AUDIO_BITRATE), *extra, "-movflags", "+faststart", str(dst)]  # fmt: skip
    return [ffmpeg, "-v", "error", "-y", "-i", str(src), "-filter_complex", ";".join(chains),
            *outputs]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep the source and outputs in this folder")
    parser.add_argument("--sides", default="360,240", help="the ladder's short sides (360,240)")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive PyAV reference")
    parser.add_argument("--no-upload", action="store_true", help="skip the whole-upload row")
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
    print(f"settings: ladder {args.sides} libx264 preset={PRESET} crf={CRF}, "
          f"AAC {AUDIO_BITRATE // 1000} kb/s")  # fmt: skip
    ffmpeg = shutil.which("ffmpeg")

    settings = (PRESET, str(CRF), str(AUDIO_BITRATE))
    ours, inner, peaks, naive, ours_cpu, naive_cpu = [], [], [], [], [], []
    call_cpu: list[float] = []
    upload: dict[str, list[float]] = {"wall": [], "call": [], "cpu": [], "call_cpu": []}
    loads: list[float] = []
    ff: dict[bool, list[float]] = {True: [], False: []}
    ff_cpu: list[float] = []
    for i in range(args.runs):  # interleaved, so load from other processes hits all alike
        wall, answer, peak = _child(OURS, str(src), str(work / f"ours{i}"), *settings, args.sides)
        ours.append(wall)
        inner.append(answer["seconds"])
        peaks.append(peak)
        ours_cpu.append(answer["cpu_s"])
        call_cpu.append(answer["call_cpu_s"])
        sizes = [tuple(size) for size in answer["sizes"]]
        made = ", ".join(
            f"{w}x{h} {b:,} B" for (w, h), b in zip(sizes, answer["bytes"], strict=True)
        )
        print(f"  ours run {i + 1}: {wall:.2f} s process, {answer['seconds']:.2f} s transcode, "
              f"{made}, {answer['cpu_s']:.2f} s CPU, "
              f"peak RSS {answer['self_rss_kb'] / 1024:.0f} MB, "
              f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
        loads.append(os.getloadavg()[0])
        if not args.no_upload:
            dst = work / f"upload{i}"
            wall, answer, _ = _child(UPLOAD, str(src), str(dst), *settings, args.sides)
            for key, value in (("wall", wall), ("call", answer["seconds"]),
                               ("cpu", answer["cpu_s"]), ("call_cpu", answer["call_cpu_s"])):  # fmt: skip
                upload[key].append(value)
            steps = ", ".join(f"{k} {v:.2f}" for k, v in answer["steps"].items())
            print(f"  ours whole upload run {i + 1}: {wall:.2f} s process ({steps} s), "
                  f"{answer['cpu_s']:.2f} s CPU")  # fmt: skip
        if not args.no_naive:
            _, answer, _ = _child(
                NAIVE, str(src), str(work / "naive"), *settings, json.dumps(sizes)
            )
            naive.append(answer["seconds"])
            naive_cpu.append(answer["cpu_s"])
            print(f"  naive PyAV run {i + 1} (reformat per frame, default threads): "
                  f"{answer['seconds']:.2f} s transcode, {answer['cpu_s']:.2f} s CPU")  # fmt: skip
        if ffmpeg:
            for same in (True, False):
                tag = "same" if same else "defaults"
                dsts = [work / f"ffmpeg{i}-{tag}-{w}x{h}.mp4" for w, h in sizes]
                wall, answer, _ = _run(*_ffmpeg_cmd(ffmpeg, src, dsts, sizes, same))
                ff[same].append(wall)
                if same:
                    ff_cpu.append(answer["cpu_s"])
                made = ", ".join(f"{d.stat().st_size:,} B" for d in dsts)
                if same and i == 0:  # the same job: check it on the first run's files
                    ours_files = [work / f"ours0/{min(w, h)}p.mp4" for w, h in sizes]
                    _, shape, _ = _child(SHAPE, *map(str, ours_files + dsts))
                    mine, theirs = shape["shapes"][: len(sizes)], shape["shapes"][len(sizes) :]
                    verdict = "the same" if mine == theirs else "DIFFERENT"
                    print(f"  files' shape (codec, profile, size, keyframe times, sound, "
                          f"moov first): {verdict}: {mine[0]}")  # fmt: skip
                    if mine != theirs:
                        print(f"    ours:   {mine}\n    ffmpeg: {theirs}")
                print(f"  ffmpeg CLI run {i + 1} ({'our settings' if same else 'its defaults'}): "
                      f"{wall:.2f} s process, {made}, {answer['cpu_s']:.2f} s CPU")  # fmt: skip
    ours_med, inner_med = statistics.median(ours), statistics.median(inner)
    ours_cpu_med = statistics.median(ours_cpu)
    peak_mb = max(peaks) / 1024

    print()
    print(f"ours (median of {args.runs}):      {inner_med:6.2f} s transcode, "
          f"{ours_med:.2f} s with interpreter start")  # fmt: skip
    print(f"realtime factor:          {SECONDS / inner_med:6.2f}x  ({SECONDS:g} s of video)")
    print(f"peak RSS of our child:    {peak_mb:6.0f} MB")
    load1, load5, load15 = os.getloadavg()
    print(f"load average:             {min(loads):.1f}-{max(loads):.1f} during the runs "
          f"(1 min); now {load1:.1f} / {load5:.1f} / {load15:.1f} on {os.cpu_count()} cores")  # fmt: skip
    if naive:
        print(f"naive PyAV / ours:        {statistics.median(naive) / inner_med:6.2f}x wall, "
              f"{statistics.median(naive_cpu) / ours_cpu_med:.2f}x CPU "
              "(>1: ours is cheaper)")  # fmt: skip
    print(f"our CPU per run (median): {ours_cpu_med:6.2f} s")
    if ffmpeg:
        same_med, dflt_med = statistics.median(ff[True]), statistics.median(ff[False])
        ff_cpu_med = statistics.median(ff_cpu)
        print(f"ffmpeg CLI (median):      {same_med:6.2f} s with our settings, "
              f"{ff_cpu_med:.2f} s CPU; {dflt_med:.2f} s with its defaults")  # fmt: skip
        print(f"ours / ffmpeg CLI:        {ours_med / same_med:6.2f}x  (wall, process to "
              f"process, same settings; {ours_med / dflt_med:.2f}x against its defaults)")  # fmt: skip
        print(f"                          {inner_med / same_med:6.2f}x  (our transcode call "
              "alone, as in a long-lived server worker)")  # fmt: skip
        print(f"                          {ours_cpu_med / ff_cpu_med:6.2f}x  (CPU time, process "
              "to process, same settings)")  # fmt: skip
        print(f"                          {statistics.median(call_cpu) / ff_cpu_med:6.2f}x  (CPU "
              "time of our transcode call alone)")  # fmt: skip
        for what, mine, theirs in (("wall", ours, ff[True]), ("CPU", ours_cpu, ff_cpu)):
            # each of our runs against the ffmpeg run right after it: the spread is the noise
            ratios = sorted(o / f for o, f in zip(mine, theirs, strict=True))
            label = f"per-run {what} ratios:"
            print(f"{label:26}{', '.join(f'{r:.2f}' for r in ratios)}")
        if upload["wall"]:
            med = {k: statistics.median(v) for k, v in upload.items()}
            print(f"whole upload / ffmpeg:    {med['wall'] / same_med:6.2f}x  (wall, process to "
                  f"process: probe, ladder, poster, features, HLS; "
                  f"{med['call'] / same_med:.2f}x the call alone)")  # fmt: skip
            print(f"                          {med['cpu'] / ff_cpu_med:6.2f}x  (CPU time, process "
                  f"to process; {med['call_cpu'] / ff_cpu_med:.2f}x the call alone)")  # fmt: skip
    else:
        print("ffmpeg CLI:               skipped: no `ffmpeg` on PATH (install it for the "
              "comparison only: `apt-get install ffmpeg`; the product never needs it)")  # fmt: skip
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
