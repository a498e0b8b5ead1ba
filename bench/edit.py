"""Benchmark: what an edit recipe adds to the transcode of the same clip (ratios, same run).

    python bench/edit.py [--runs 3] [--width 720 --height 1280 --seconds 6] [--json]

Each configuration transcodes the same grainy portrait clip to the 360p and 240p renditions the
server makes, after one unmeasured warm-up. Runs interleave the configurations, in a rotated
order each round (so background load hits them alike); the median wall time and the median CPU
time (user + system of all threads: steadier on a shared machine) of each are compared with
the plain transcode's. The target: a full-length edit (look + text + tone, nothing trimmed)
costs at most 30 % more.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

RECIPES: dict[str, dict | None] = {
    "plain": None,
    "look+text+tone": {"look": "vivid", "text": "hello from shortstack", "tone": 440},
    "mono+crop 1:1": {"look": "mono", "crop": "1:1"},
    "sharpen+text": {"look": "sharpen", "text": "sharp"},
    "vintage+mute": {"look": "vintage", "mute": True},
    "speed 1.25": {"speed": 1.25},
    "trim+speed (cli example)": {"trim": "1-5", "filter": "vivid", "speed": 1.25, "text": "hi"},
}
TARGET = 1.30


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:
    from shortstack.media.edit import parse_recipe
    from shortstack.media.fixture_clips import write_test_video
    from shortstack.media.probe import probe
    from shortstack.media.transcode import transcode

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--width", type=int, default=720)
    ap.add_argument("--height", type=int, default=1280)
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-edit-") as tmp:
        src = write_test_video(
            Path(tmp) / "src.mp4",
            width=args.width,
            height=args.height,
            duration_s=args.seconds,
            fps=args.fps,
            grain=True,
        )
        info = probe(src)
        transcode(src, Path(tmp) / "warm-up", (360, 240), info=info)
        times: dict[str, list[float]] = {name: [] for name in RECIPES}
        cpu: dict[str, list[float]] = {name: [] for name in RECIPES}
        durations: dict[str, float] = {}
        names = list(RECIPES)
        for run in range(args.runs):
            for name in names[run % len(names) :] + names[: run % len(names)]:
                data = RECIPES[name]
                recipe = parse_recipe(data) if data else None
                out = Path(tmp) / f"out-{run}-{names.index(name)}"
                c0, t = _cpu(), time.perf_counter()
                renditions = transcode(src, out, (360, 240), info=info, edit=recipe)
                times[name].append(time.perf_counter() - t)
                cpu[name].append(_cpu() - c0)
                durations[name] = renditions[0].duration_s
                print(
                    f"run {run + 1} {name:26s} {times[name][-1]:6.2f} s wall"
                    f" {cpu[name][-1]:6.2f} s cpu",
                    file=sys.stderr,
                )
    base = statistics.median(times["plain"])
    base_cpu = statistics.median(cpu["plain"])
    rows = {
        name: {
            "median_s": round(statistics.median(ts), 3),
            "ratio": round(statistics.median(ts) / base, 3),
            "cpu_s": round(statistics.median(cpu[name]), 3),
            "cpu_ratio": round(statistics.median(cpu[name]) / base_cpu, 3),
            "output_s": durations[name],
        }
        for name, ts in times.items()
    }
    full = rows["look+text+tone"]["ratio"]
    summary = {
        "clip": f"{args.width}x{args.height} {args.seconds:g} s {args.fps} fps -> 360p+240p",
        "runs": args.runs,
        "results": rows,
        "full_length_edit_ratio": full,
        "full_length_edit_cpu_ratio": rows["look+text+tone"]["cpu_ratio"],
        "target": TARGET,
        "ok": full <= TARGET,
    }
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"clip: {summary['clip']}, {args.runs} runs, medians")
        for name, row in rows.items():
            print(
                f"  {name:26s} wall {row['median_s']:6.2f} s x{row['ratio']:.2f}"
                f"   cpu {row['cpu_s']:6.2f} s x{row['cpu_ratio']:.2f}"
                f"   (output {row['output_s']:.2f} s)"
            )
        verdict = "OK" if summary["ok"] else "OVER"
        print(
            f"full-length edit costs x{full:.2f} of the plain transcode (target <= {TARGET}): {verdict}"
        )
    return 0 if summary["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
