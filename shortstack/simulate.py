"""`shortstack simulate`: run the feed lab, print a table, write metrics.json/.csv and PNG plots."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shortstack.recommender.ranking import BlendWeights
    from shortstack.recommender.simulation import SimulationConfig, SimulationResult

WEIGHT_NAMES = ("content", "collaborative", "following", "trending", "freshness", "explore")
DEFAULT_OUT = "./shortstack-lab"


class LabInputError(ValueError):
    """A bad --weights / --compare / size argument (shown as a one-line CLI error)."""


def _number(name: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LabInputError(f"{name}={text!r} is not a number") from None
    if not value >= 0 or value == float("inf"):
        raise LabInputError(f"{name} must be a finite number >= 0, not {text}")
    if name == "explore" and value > 1:
        raise LabInputError(f"explore is a share of each page (0..1), not {text}")
    return value


def _weight_name(name: str) -> str:
    name = name.strip().lower()
    if name not in WEIGHT_NAMES:
        raise LabInputError(f"unknown weight {name!r} (use {', '.join(WEIGHT_NAMES)})")
    return name


def parse_weights(text: str | None) -> dict[str, float]:
    """``content=1,explore=0.3`` -> {"content": 1.0, "explore": 0.3} (checked)."""
    out: dict[str, float] = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        if not sep:
            raise LabInputError(f"{part.strip()!r}: write weights as name=value, e.g. explore=0.3")
        key = _weight_name(name)
        out[key] = _number(key, value.strip())
    return out


def parse_compare(text: str) -> tuple[str, list[float]]:
    """``explore=0,0.15,0.4`` -> ("explore", [0.0, 0.15, 0.4])."""
    name, sep, values = text.partition("=")
    if not sep:
        raise LabInputError(f"{text!r}: write --compare as name=v1,v2,..., e.g. explore=0,0.15,0.4")
    key = _weight_name(name)
    numbers = [_number(key, v.strip()) for v in values.split(",") if v.strip()]
    if not numbers:
        raise LabInputError("--compare needs at least one value")
    if len(numbers) > 6:
        raise LabInputError("--compare takes at most 6 values")
    return key, numbers


def _label(value: float) -> str:
    return f"{value:g}"


def settings_from(weights: str | None, compare: str | None) -> dict[str, BlendWeights]:
    """Named weight settings: one per --compare value on top of --weights (else just one)."""
    from shortstack.recommender.ranking import BlendWeights

    base = parse_weights(weights)
    if not compare:
        label = ",".join(f"{k}={_label(v)}" for k, v in base.items()) or "defaults"
        return {label: BlendWeights.from_dict(base)}
    key, values = parse_compare(compare)
    return {f"{key}={_label(v)}": BlendWeights.from_dict({**base, key: v}) for v in values}


# --------------------------------------------------------------------------- outputs


def metrics_report(results: dict[str, SimulationResult]) -> dict[str, Any]:
    """Everything about a run as plain JSON-able data."""
    from shortstack.recommender.lab_metrics import METRICS

    first = next(iter(results.values()))
    return {
        "config": asdict(first.config),
        "metrics": {name: {"label": lab, "meaning": text} for name, (lab, text) in METRICS.items()},
        "settings": {
            name: {
                "weights": r.weights.to_dict(),
                "final": {k: round(v, 6) for k, v in r.final().items()},
                "curves": r.curves(),
                "watch_fraction": round(r.extra.get("watch_fraction", 0.0), 6),
                "like_rate": round(r.extra.get("like_rate", 0.0), 6),
                "seconds": round(r.seconds, 3),
                "refits": r.refits,
            }
            for name, r in results.items()
        },
    }


def format_table(results: dict[str, SimulationResult]) -> str:
    """Final value of every metric per setting (mean of the last few steps), aligned."""
    from shortstack.recommender.lab_metrics import METRICS

    heads = ["setting", *(METRICS[m][0] for m in METRICS), "time"]
    rows = [
        [name, *(f"{r.final()[m]:.3f}" for m in METRICS), f"{r.seconds:.1f}s"]
        for name, r in results.items()
    ]
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(heads)]
    lines = [
        "  ".join(
            h.ljust(w) if i == 0 else h.rjust(w)
            for i, (h, w) in enumerate(zip(heads, widths, strict=True))
        )
    ]
    for row in rows:
        lines.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def write_csv(results: dict[str, SimulationResult], path: Path) -> None:
    """One row per setting and step, one column per metric."""
    from shortstack.recommender.lab_metrics import METRICS

    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["setting", "step", *METRICS])
        for name, r in results.items():
            for step in range(r.config.n_steps):
                writer.writerow([name, step + 1, *(f"{r.metrics[m][step]:.6f}" for m in METRICS)])


def write_plots(results: dict[str, SimulationResult], out: Path) -> list[Path]:
    """``lab.png`` (every metric, one line per setting) and one PNG per metric."""
    from matplotlib.figure import Figure

    from shortstack.recommender.lab_metrics import METRICS

    def draw(ax: Any, metric: str) -> None:
        for name, r in results.items():
            steps = range(1, len(r.metrics[metric]) + 1)
            ax.plot(steps, r.metrics[metric], label=name, linewidth=1.8)
        ax.set_title(METRICS[metric][0])
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)

    paths = []
    fig = Figure(figsize=(15, 8.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for ax, metric in zip(axes, METRICS, strict=True):
        draw(ax, metric)
    axes[0].legend(title="setting")
    first = next(iter(results.values())).config
    fig.suptitle(
        f"Shortstack feed lab: {first.n_users} users x {first.n_steps} steps, seed {first.seed}"
    )
    path = out / "lab.png"
    fig.savefig(path, dpi=100)
    paths.append(path)
    for metric in METRICS:
        fig = Figure(figsize=(7, 4.5), layout="constrained")
        ax = fig.subplots()
        draw(ax, metric)
        ax.legend(title="setting")
        ax.set_ylabel(METRICS[metric][1], fontsize=7)
        path = out / f"{metric}.png"
        fig.savefig(path, dpi=100)
        paths.append(path)
    return paths


def terminal_plots(
    curves: dict[str, dict[str, list[float]]],
    *,
    width: int = 100,
    height: int = 30,
    metrics: list[str] | None = None,
    color: bool = True,
) -> str:
    """The curves drawn with plotext as text: a grid of one plot per metric, one line per setting."""
    import plotext as plt

    from shortstack.recommender.lab_metrics import METRICS

    names = metrics or list(METRICS)
    cols = 3 if len(names) > 4 else min(2, len(names))
    rows = -(-len(names) // cols)
    plt.clear_figure()
    plt.plotsize(width, height)
    plt.subplots(rows, cols)
    for n, metric in enumerate(names):
        plt.subplot(n // cols + 1, n % cols + 1)
        for setting, per_metric in curves.items():
            ys = per_metric[metric]
            plt.plot(list(range(1, len(ys) + 1)), ys, label=setting if n == 0 else None)
        plt.title(METRICS[metric][0])
        if not color:
            plt.theme("clear")
    text = plt.build()
    plt.clear_figure()
    return text


# --------------------------------------------------------------------------- command


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The `simulate` subcommand's options."""
    p.add_argument("--users", type=int, default=200, help="synthetic users (default 200)")
    p.add_argument("--steps", type=int, default=50, help="steps, one feed page each (default 50)")
    p.add_argument(
        "--items", type=int, default=12000, help="starting catalogue size (default 12000)"
    )
    p.add_argument(
        "--weights",
        help="blend weights, e.g. content=1,explore=0.3 (others keep their defaults)",
    )
    p.add_argument(
        "--compare",
        help="one weight, several values: a line per value, e.g. explore=0,0.15,0.4",
    )
    p.add_argument("--seed", type=int, default=0, help="same seed, same numbers (default 0)")
    p.add_argument("--out", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument(
        "--workers",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="processes scrolling users in parallel (numbers do not change; default 2)",
    )
    p.add_argument(
        "--plot-terminal",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="draw the curves in the terminal (default: when stdout is a terminal)",
    )
    p.add_argument("--json", action="store_true", help="print the metrics JSON instead of a table")


def config_from(args: argparse.Namespace) -> SimulationConfig:
    from shortstack.recommender.simulation import SimulationConfig

    for name, low, high in (("users", 1, 5000), ("steps", 1, 1000), ("items", 20, 100_000)):
        value = getattr(args, name)
        if not low <= value <= high:
            raise LabInputError(f"--{name} must be between {low} and {high}, not {value}")
    if args.workers < 1:
        raise LabInputError("--workers must be at least 1")
    return SimulationConfig(
        n_users=args.users, n_steps=args.steps, n_items=args.items, seed=args.seed
    )


def run(args: argparse.Namespace) -> int:
    """Run the lab as the CLI asked; raises LabInputError on bad input."""
    settings = settings_from(args.weights, args.compare)
    config = config_from(args)
    out = Path(args.out).expanduser()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LabInputError(f"{out}: cannot create the output folder ({exc.strerror})") from None

    from shortstack.recommender.simulation import compare

    tty = sys.stderr.isatty()

    def progress(name: str, done: int, total: int) -> None:
        if tty and not args.json:
            print(f"\r  {name}: step {done}/{total}", end="", file=sys.stderr, flush=True)

    results = compare(settings, config, progress=progress, workers=args.workers)
    if tty and not args.json:
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr, flush=True)
    report = metrics_report(results)
    (out / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    write_csv(results, out / "metrics.csv")
    pngs = write_plots(results, out)
    if args.json:
        print(json.dumps(report))
        return 0
    show = args.plot_terminal if args.plot_terminal is not None else sys.stdout.isatty()
    if show:
        size = os.get_terminal_size() if sys.stdout.isatty() else os.terminal_size((120, 40))
        curves = {name: r.curves() for name, r in results.items()}
        print(
            terminal_plots(
                curves,
                width=min(size.columns, 160),
                height=max(24, min(size.lines - 8, 44)),
                color=sys.stdout.isatty(),
            )
        )
    print(format_table(results))
    print(
        f"\nfinal = mean of the last {config.window} steps; wrote {out / 'metrics.json'}, "
        f"{out / 'metrics.csv'} and {len(pngs)} PNGs ({pngs[0]})"
    )
    return 0
