"""Feed benchmark: refit time, ranking latency and memory at 100k videos / 10k users / 1M events.

Run ``python bench/feed.py`` (``--quick`` for a 10x smaller world). Prints a table with
ratios against a popularity-only ranker measured in the same run. Targets (issue 20): refit
<= 60 s, For You ranking alone CPU p99 <= 10 ms, For You through HTTP p99 <= 20 ms, peak RSS
after fit < 1 GB.
"""

from __future__ import annotations

import argparse
import gc
import os
import resource
import sys
import time

import numpy as np
from threadpoolctl import threadpool_limits

from shortstack.recommender import (
    BlendWeights,
    Events,
    Recommender,
    UserState,
    user_state_from_events,
)
from shortstack.recommender.signals import LEARNING_KINDS, RECENT_EVENTS
from shortstack.recommender.synthetic import make_catalogue, make_tastes, simulate_events

NOW = 1_700_000_000.0


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far (MB)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def _proc_status_mb(field: str) -> float:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def current_rss_mb() -> float:
    return _proc_status_mb("VmRSS")


def reset_peak_rss() -> None:
    """Linux: restart the peak-RSS (VmHWM) window so the fit's own peak can be read."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def window_peak_rss_mb() -> float:
    return _proc_status_mb("VmHWM")


def build_world(n_items: int, n_users: int, n_events: int, seed: int):
    rng = np.random.default_rng(seed)
    cat, item_topic = make_catalogue(n_items, 40, rng, now=NOW, n_creators=max(1, n_items // 25))
    tastes = make_tastes(n_users, 40, rng, favourites=3)
    # each view spawns ~0.25 follow-up events (likes, shares, ...): aim at n_events in total
    events = simulate_events(tastes, item_topic, cat.duration_s, int(n_events / 1.25), rng, now=NOW)
    return cat, events


def percentiles(samples_s: list[float], cpu_s: list[float] | None = None) -> tuple[float, ...]:
    """(p50, p99, mean) wall ms, plus CPU ms of this thread (p50, p99) when measured."""
    ms = np.asarray(samples_s) * 1000.0
    out = (float(np.percentile(ms, 50)), float(np.percentile(ms, 99)), float(ms.mean()))
    if not cpu_s:
        return out
    cpu = np.asarray(cpu_s) * 1000.0
    return out + (float(np.percentile(cpu, 50)), float(np.percentile(cpu, 99)))


def user_states(events: Events, users: np.ndarray, duration_s: np.ndarray) -> list[UserState]:
    """What the server builds per For You request: the viewer's RECENT_EVENTS most recent
    learning events through user_state_from_events (server/feed_engine.py user_state)."""
    learning = events.subset(np.isin(events.kind, LEARNING_KINDS))
    order = np.lexsort((learning.ts, learning.user))
    sorted_users = learning.user[order]
    states = []
    for u in users.tolist():
        lo, hi = np.searchsorted(sorted_users, [u, u + 1])
        mine = learning.subset(order[max(lo, hi - RECENT_EVENTS) : hi])
        states.append(user_state_from_events(mine, u, duration_s))
    return states


def bench_ranking(
    rec: Recommender, states: list[UserState], users: np.ndarray, k: int
) -> dict[str, tuple[float, ...]]:
    """For You (full pipeline with explanations) vs the popularity-only ranker."""
    weights = BlendWeights()
    ours, popular, ours_cpu, popular_cpu = [], [], [], []
    for n, (u, state) in enumerate(zip(users.tolist(), states, strict=True)):
        t0, c0 = time.perf_counter(), time.thread_time()
        rec.recommend(u, state, k=k, weights=weights, now=NOW + 60, seed=n)
        ours.append(time.perf_counter() - t0)
        ours_cpu.append(time.thread_time() - c0)
        t0, c0 = time.perf_counter(), time.thread_time()
        rec.trending(k=k, now=NOW + 60, exclude=state.seen)
        popular.append(time.perf_counter() - t0)
        popular_cpu.append(time.thread_time() - c0)
    return {
        "for-you": percentiles(ours, ours_cpu),
        "popularity": percentiles(popular, popular_cpu),
    }


def bench_http(cat, events, n_users: int, n_requests: int) -> dict[str, tuple[float, float, float]]:
    """HTTP feed latency through a real server over the same world (bench/feed_http.py)."""
    from feed_http import bench_http as run

    return run(cat, events, n_users, NOW + 60, n_requests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ranking-threads", type=int, default=1, help="BLAS threads")
    parser.add_argument("--no-http", action="store_true", help="skip the HTTP part")
    parser.add_argument("--quick", action="store_true", help="10x smaller world")
    args = parser.parse_args(argv)
    if args.quick:
        args.items, args.users, args.events = args.items // 10, args.users // 10, args.events // 10

    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    cat, events = build_world(args.items, args.users, args.events, args.seed)
    gen_s = time.perf_counter() - t0
    rss_data = peak_rss_mb()
    print(
        f"world: {cat.n_items} videos, {args.users} users, {len(events)} events "
        f"(generated in {gen_s:.1f} s)",
        flush=True,
    )

    gc.collect()
    rss_before_fit = current_rss_mb()
    reset_peak_rss()
    t0, c0 = time.perf_counter(), time.process_time()
    rec = Recommender(random_state=args.seed).fit(cat, events, args.users, NOW)
    fit_s, fit_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    fit_peak_mb = window_peak_rss_mb() - rss_before_fit
    rss_fit = peak_rss_mb()
    choice = rec.collaborative_choice
    print(f"refit: {fit_s:.1f} s, collaborative: {choice.model} {choice.params}", flush=True)

    rng = np.random.default_rng(args.seed + 1)
    users = rng.integers(args.users, size=args.requests)
    states = user_states(events, users, cat.duration_s)
    # ranking is a few small matrix-vector products: one BLAS thread per request is
    # faster than two fighting over a shared core (the server should rank the same way)
    with threadpool_limits(args.ranking_threads):
        bench_ranking(rec, states[:20], users[:20], args.k)  # warm-up
        rows = bench_ranking(rec, states, users, args.k)
    if not args.no_http:
        rows.update(bench_http(cat, events, args.users, args.requests))
    rss_end = peak_rss_mb()

    ref_p50, ref_p99 = rows["popularity"][:2]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print()
    print(f"k={args.k}, {args.requests} requests, load average {load:.1f} (2 cores shared)")
    print(
        f"{'ranker':<18}{'p50 ms':>9}{'p99 ms':>9}{'mean ms':>9}{'cpu p50':>9}{'cpu p99':>9}"
        f"{'p50 x':>8}{'p99 x':>8}"
    )
    print("-" * 79)
    for name, row in rows.items():
        p50, p99, mean = row[:3]
        cpu = f"{row[3]:>9.2f}{row[4]:>9.2f}" if len(row) > 4 else f"{'-':>9}{'-':>9}"
        print(
            f"{name:<18}{p50:>9.2f}{p99:>9.2f}{mean:>9.2f}{cpu}"
            f"{p50 / ref_p50:>7.1f}x{p99 / ref_p99:>7.1f}x"
        )
    print()
    print(f"{'measure':<34}{'value':>10}{'target':>10}")
    print("-" * 54)
    print(f"{'refit (s)':<34}{fit_s:>10.1f}{'<= 60':>10}")
    print(f"{'refit CPU, all threads (s)':<34}{fit_cpu_s:>10.1f}")
    print(f"{'refit peak memory over data (MB)':<34}{fit_peak_mb:>10.0f}")
    print(f"{'for-you ranking p99 (ms)':<34}{rows['for-you'][1]:>10.2f}")
    print(f"{'for-you ranking CPU p99 (ms)':<34}{rows['for-you'][4]:>10.2f}{'<= 10':>10}")
    if "for-you (HTTP)" in rows:
        print(
            f"{'for-you through HTTP p99 (ms)':<34}{rows['for-you (HTTP)'][1]:>10.2f}{'<= 20':>10}"
        )
    print(f"{'peak RSS after data (MB)':<34}{rss_data:>10.0f}")
    print(f"{'peak RSS after fit (MB)':<34}{rss_fit:>10.0f}{'< 1024':>10}")
    print(f"{'peak RSS at end (MB)':<34}{rss_end:>10.0f}  (start {rss0:.0f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
