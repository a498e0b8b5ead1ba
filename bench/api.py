"""API overhead benchmark: Shortstack's read endpoints against a bare Litestar hello-world.

    python bench/api.py                       # 20 concurrent clients, 3000 requests each
    python bench/api.py --concurrency 50 --requests 5000 --json

Seeds a temp data dir (users, ready videos, likes, comments and an event log written straight
into the SQLite file), then serves (a) the Shortstack app over it and (b) a one-route Litestar
app, each in its own child process under the same uvicorn settings on 127.0.0.1, one at a
time. The same bounded httpx load (N concurrent clients sharing a request budget) is driven
against `GET /api/videos/{id}`, `GET /api/feed/trending` and the hello-world route. Prints
req/s, p50 and p99 for each, and the ratios against the hello-world reference measured in the
same run (how much of the framework's ceiling each endpoint keeps).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
UVICORN = {
    "log_level": "warning",
    "access_log": False,
    "lifespan": "on",
    "proxy_headers": False,  # as the server runs by default (server.trusted_proxies = [])
}


# --------------------------------------------------------------------------- the two servers


def hello_app():
    """The reference: a bare Litestar app with one JSON route."""
    from litestar import Litestar, get

    @get("/hello", sync_to_thread=False)
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return Litestar(route_handlers=[hello], debug=False)


def shortstack_app(data_dir: str):
    import msgspec

    from shortstack.server.app import create_app
    from shortstack.server.config import Config

    config = msgspec.convert(
        {
            # the default 1200 requests/minute per address would throttle a load test
            "server": {"log_requests": False, "workers": 1},
            "limits": {"api_rate_per_minute": 10_000_000},
        },
        Config,
    )
    return create_app(config, Path(data_dir), log_file=Path(data_dir) / "server.log")


def _serve(kind: str, port: int, data_dir: str) -> None:
    import uvicorn

    app = hello_app() if kind == "hello" else shortstack_app(data_dir)
    uvicorn.run(app, host=HOST, port=port, **UVICORN)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Server:
    """One app in a child process; `url` once it answers."""

    def __init__(self, kind: str, data_dir: Path, probe: str) -> None:
        self.port = _free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.proc = mp.get_context("spawn").Process(
            target=_serve, args=(kind, self.port, str(data_dir)), daemon=True
        )
        self.probe = probe

    def __enter__(self) -> Server:
        self.proc.start()
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(self.url + self.probe, timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if not self.proc.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.probe} server did not start")
            time.sleep(0.1)

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()


# --------------------------------------------------------------------------- seed data


def seed(data_dir: Path, *, users: int = 50, videos: int = 300, seed_value: int = 7) -> list[str]:
    """Users, ready videos with renditions and hashtags, likes, comments and events; video ids."""
    from shortstack.server.store.db import connect_sync
    from shortstack.server.store.migrations import migrate

    rng = random.Random(seed_value)
    migrate(str(data_dir / "shortstack.db"))
    conn = connect_sync(data_dir / "shortstack.db")
    now = time.time()
    tags = ["cats", "cooking", "skate", "music", "travel", "diy", "dance", "news"]
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO users (id, handle, display_name, password_hash, created_at) VALUES (?, ?, ?, 'x', ?)",
        [(u, f"user{u}", f"User {u}", now - 86400) for u in range(1, users + 1)],
    )
    conn.executemany(
        "INSERT INTO users_fts (user_id, handle, display_name) VALUES (?, ?, ?)",
        [(u, f"user{u}", f"User {u}") for u in range(1, users + 1)],
    )
    conn.executemany("INSERT INTO hashtags (id, tag) VALUES (?, ?)", list(enumerate(tags, 1)))
    ids = [f"bench{i:06d}" for i in range(videos)]
    likes: set[tuple[int, str]] = set()
    for i, vid in enumerate(ids):
        author = rng.randint(1, users)
        chosen = rng.sample(range(1, len(tags) + 1), 2)
        caption = f"clip {i} " + " ".join(f"#{tags[t - 1]}" for t in chosen)
        fans = rng.sample(range(1, users + 1), rng.randint(0, 12))
        likes.update((f, vid) for f in fans)
        created = now - rng.uniform(0, 7 * 86400)
        conn.execute(
            "INSERT INTO videos (id, author_id, caption, status, progress, duration_s, width, height,"
            " fps, created_at, likes, views) VALUES (?, ?, ?, 'ready', 1, ?, 360, 640, 30, ?, ?, ?)",
            (vid, author, caption, rng.uniform(5, 60), created, len(fans), rng.randint(0, 500)),
        )
        conn.executemany(
            "INSERT INTO renditions VALUES (?, ?, ?, ?, ?)",
            [(vid, "360p", 360, 640, 900_000), (vid, "240p", 240, 426, 400_000)],
        )
        conn.executemany("INSERT INTO video_hashtags VALUES (?, ?)", [(vid, t) for t in chosen])
        conn.execute(
            "INSERT INTO videos_fts (video_id, caption, hashtags, handle) VALUES (?, ?, ?, ?)",
            (vid, caption, " ".join(tags[t - 1] for t in chosen), f"user{author}"),
        )
        conn.execute(
            "UPDATE users SET videos = videos + 1, likes_received = likes_received + ? WHERE id = ?",
            (len(fans), author),
        )
    conn.executemany(
        "INSERT INTO likes (user_id, video_id, created_at) VALUES (?, ?, ?)",
        [(u, v, now - 3600) for u, v in likes],
    )
    conn.executemany(
        "INSERT INTO events (ts, user_id, video_id, kind, value) VALUES (?, ?, ?, 'like', 1)",
        [(now - 3600, u, v) for u, v in likes],
    )
    conn.execute(
        "UPDATE hashtags SET videos = (SELECT COUNT(*) FROM video_hashtags WHERE hashtag_id = id)"
    )
    conn.execute("COMMIT")
    conn.close()
    return ids


# --------------------------------------------------------------------------- load


async def drive(url: str, paths: list[str], *, concurrency: int, requests: int) -> dict[str, Any]:
    """`requests` GETs shared by `concurrency` clients (cycling through paths); latency stats.

    Each client is its own httpx.AsyncClient on one keep-alive connection: a shared pool makes
    httpcore re-scan its connections for every queued request, which costs more than the
    server under test."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    budget = iter(range(requests))

    async def worker(client: httpx.AsyncClient) -> None:
        for n in budget:
            t0 = time.perf_counter()
            r = await client.get(paths[n % len(paths)])
            latencies.append(time.perf_counter() - t0)
            if r.status_code != 200:
                errors[r.status_code] = errors.get(r.status_code, 0) + 1

    clients = [
        httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=1))
        for _ in range(concurrency)
    ]
    try:
        for n, client in enumerate(clients * max(1, 200 // concurrency)):  # warm-up
            await client.get(paths[n % len(paths)])
        started = time.perf_counter()
        await asyncio.gather(*(worker(c) for c in clients))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    latencies.sort()
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 3),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000, 2),
        "errors": errors,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=20, help="concurrent clients (20)")
    parser.add_argument("--requests", type=int, default=3000, help="requests per endpoint (3000)")
    parser.add_argument("--videos", type=int, default=300, help="seeded videos (300)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="shortstack-bench-api-") as tmp:
        data_dir = Path(tmp)
        ids = seed(data_dir, videos=args.videos)
        load = {"concurrency": args.concurrency, "requests": args.requests}
        with Server("hello", data_dir, "/hello") as hello:
            results["hello-world"] = asyncio.run(drive(hello.url, ["/hello"], **load))
        with Server("shortstack", data_dir, "/healthz") as ours:
            sample = random.Random(1).sample(ids, min(50, len(ids)))
            results["GET /api/videos/{id}"] = asyncio.run(
                drive(ours.url, [f"/api/videos/{v}" for v in sample], **load)
            )
            results["GET /api/feed/trending"] = asyncio.run(
                drive(ours.url, ["/api/feed/trending"], **load)
            )
    reference = results["hello-world"]["rps"]
    for figures in results.values():
        figures["ratio_vs_hello"] = round(figures["rps"] / reference, 3)

    if args.json:
        print(json.dumps({"load": load, "results": results}, indent=2))
    else:
        print(
            f"{args.concurrency} concurrent clients, {args.requests} requests per endpoint, "
            f"{args.videos} seeded videos, uvicorn on {HOST}, one process per app"
        )
        print(f"{'endpoint':<26}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'vs hello':>10}  errors")
        for name, f in results.items():
            print(
                f"{name:<26}{f['rps']:>10.1f}{f['p50_ms']:>10.2f}{f['p99_ms']:>10.2f}"
                f"{f['ratio_vs_hello']:>10.3f}  {f['errors'] or '-'}"
            )
    bad = sum(sum(f["errors"].values()) for f in results.values())
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
