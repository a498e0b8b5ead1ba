"""API overhead benchmark: Shortstack's endpoints against bare references, all under wrk.

    python bench/api.py                          # wrk -t2 -c20, 3 s per row, 3 rounds
    python bench/api.py --duration 10 --rounds 5 --connections 50 --json

Seeds a temp data dir (users, ready videos with rendition files, likes, comments and an
event log written straight into the SQLite file), then serves, each in its own child process
under the same uvicorn settings on 127.0.0.1, all started before the first row:
(a) a reference app: bare Litestar with a hello-world JSON route and a plain Python range
    handler (open, seek, read 64 KB, answer 206) over the same rendition files;
(b) the Shortstack app over the data.
wrk (Debian's `wrk`) drives every row with the same threads, connections and duration,
cycling through 50 video ids where a row has them; each row runs right after its reference
(hello-world for API rows, the plain range handler for the Range row), for several rounds.
Prints the median req/s, p50 and p99 of each row, its median ratio against the reference
and the spread of the ratios over the rounds, plus the load generator's ceiling: wrk against
nginx answering `return 200` (if nginx is installed) and against nginx's own Range answer.
On 2 cores wrk shares the CPU with the server: the ratios are the figure, not the req/s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
RANGE_BYTES = 64 * 1024
RENDITION_BYTES = 900_000
UVICORN = {
    "log_level": "warning",
    "access_log": False,
    "lifespan": "on",
    "proxy_headers": False,  # as the server runs by default (server.trusted_proxies = [])
}


# --------------------------------------------------------------------------- the two servers


def hello_app(data_dir: str):
    """The reference: a bare Litestar app with one JSON route and a plain range handler."""
    from litestar import Litestar, Response, get

    media = Path(data_dir) / "media"

    @get("/hello", sync_to_thread=False)
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    @get("/range/{video_id:str}", sync_to_thread=False)
    def plain_range(video_id: str) -> Response[bytes]:
        """The first 64 KB of a rendition as a 206, read in the handler (no Range parsing)."""
        path = media / video_id[:2] / video_id / "360p.mp4"
        with open(path, "rb") as fh:
            size = fh.seek(0, 2)
            fh.seek(0)
            body = fh.read(RANGE_BYTES)
        return Response(
            body,
            status_code=206,
            media_type="video/mp4",
            headers={"Content-Range": f"bytes 0-{len(body) - 1}/{size}"},
        )

    return Litestar(
        route_handlers=[hello, plain_range],
        debug=False,
        signature_namespace={"Response": Response},
    )


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

    app = hello_app(data_dir) if kind == "hello" else shortstack_app(data_dir)
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
            target=_serve, args=(kind, self.port, str(data_dir)), daemon=False
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
            [(vid, "360p", 360, 640, RENDITION_BYTES), (vid, "240p", 240, 426, 400_000)],
        )
        if i < 50:  # the Range row's files (bytes are bytes: no need for real MP4 here)
            folder = data_dir / "media" / vid[:2] / vid
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "360p.mp4").write_bytes(rng.randbytes(RENDITION_BYTES))
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

#: wrk script: cycle through the paths in PATHS (one per line), with the Range header if set.
WRK_LUA = """
local paths, n = {}, 0
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local range = os.getenv("BENCH_RANGE")
request = function()
  n = n + 1
  local headers = {}
  if range ~= nil and range ~= "" then headers["Range"] = range end
  return wrk.format("GET", paths[(n % #paths) + 1], headers)
end
"""

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * _UNITS[unit]


def wrk(
    url: str,
    paths: list[str],
    *,
    threads: int,
    connections: int,
    duration: float,
    range_header: str = "",
    workdir: Path,
) -> dict[str, Any]:
    """Run wrk against url cycling through paths; req/s, p50/p99 ms, non-2xx count, MB/s."""
    listing = workdir / "paths.txt"
    listing.write_text("\n".join(paths) + "\n")
    env = {"BENCH_PATHS": str(listing), "BENCH_RANGE": range_header}
    return run_wrk(
        url,
        WRK_LUA,
        env,
        threads=threads,
        connections=connections,
        duration=duration,
        workdir=workdir,
    )


def run_wrk(
    url: str,
    lua: str,
    env: dict[str, str],
    *,
    threads: int,
    connections: int,
    duration: float,
    workdir: Path,
) -> dict[str, Any]:
    """Run wrk with the Lua script ``lua`` (its settings in ``env``) after a 1 s warm-up;
    req/s, p50/p99 ms, non-2xx count, socket errors, MB/s."""
    script = workdir / "bench.lua"
    script.write_text(lua)
    env = {**env, "PATH": "/usr/bin:/bin"}
    # warm-up (JIT-free Python still warms caches, pools and the page cache)
    subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", "-d1s", "-s", str(script), url],
        env=env,
        capture_output=True,
        check=True,
    )
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration:g}s", "--latency"]
        + ["-s", str(script), url],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))  # type: ignore[union-attr]
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    transfer = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    mb_s = 0.0
    if transfer:
        scale = {"B": 1e-6, "KB": 1e-3, "MB": 1.0, "GB": 1e3}.get(transfer.group(2), 0.0)
        mb_s = float(transfer.group(1)) * scale * 1.048576 if scale else 0.0
    return {
        "rps": round(rps, 1),
        "p50_ms": round(p50, 2),
        "p99_ms": round(p99, 2),
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1).strip() if errors else "",
        "mb_s": round(mb_s, 1),
    }


NGINX_CONF = """
worker_processes 1;
daemon off;
{user}
pid {root}/nginx.pid;
error_log {root}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp; proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp; uwsgi_temp_path {root}/tmp; scgi_temp_path {root}/tmp;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        location = /hello {{ default_type application/json; return 200 '{{"hello":"world"}}'; }}
        location /media/ {{ root {data}; }}
    }}
}}
"""


class Nginx:
    """Debian's nginx on a free port (the load generator's ceiling), if it is installed."""

    def __init__(self, data_dir: Path, root: Path) -> None:
        self.binary = shutil.which("nginx") or (
            "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
        )
        self.port = _free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.root = root
        self.data_dir = data_dir
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Nginx | None:
        if self.binary is None:
            return None
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)
        conf = self.root / "nginx.conf"
        # as root the workers would run as nobody, who cannot read the private temp dir
        user = "user root;" if os.geteuid() == 0 else ""
        conf.write_text(
            NGINX_CONF.format(root=self.root, port=self.port, data=self.data_dir, user=user)
        )
        self.proc = subprocess.Popen(
            [self.binary, "-c", str(conf), "-p", str(self.root)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/hello", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                time.sleep(0.05)
        return None

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument("--connections", type=int, default=20, help="wrk connections (20)")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds per row (3)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over all rows (3)")
    parser.add_argument("--videos", type=int, default=300, help="seeded videos (300)")
    parser.add_argument("--only", help="run only the rows whose name contains this")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench/api.py needs wrk: apt-get install -y wrk", file=sys.stderr)
        return 2

    load = {"threads": args.threads, "connections": args.connections, "duration": args.duration}
    rng_range = f"bytes=0-{RANGE_BYTES - 1}"
    hello_ref, range_ref = "ref: bare Litestar hello", "ref: plain Python range"
    runs: dict[str, list[dict[str, Any]]] = {}
    references: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="shortstack-bench-api-") as tmp:
        data_dir = Path(tmp)
        ids = seed(data_dir, videos=args.videos)
        sample = random.Random(1).sample(ids, min(50, len(ids)))
        with_files = ids[:50]
        work = data_dir / "wrk"
        work.mkdir()
        with (
            Nginx(data_dir, data_dir / "nginx") as nginx,
            Server("hello", data_dir, "/hello") as hello,
            Server("shortstack", data_dir, "/healthz") as ours,
        ):
            # (name, url, paths, reference, range): each row right after its reference, every
            # round, so the machine's mood falls on both sides of each ratio
            rows: list[tuple[str, str, list[str], str, str]] = []
            if nginx is not None:
                rows.append(("ceiling: nginx return 200", nginx.url, ["/hello"], "", ""))
                media = [f"/media/{v[:2]}/{v}/360p.mp4" for v in with_files]
                rows.append(("ceiling: nginx 64 KB Range", nginx.url, media, "", rng_range))
            videos = [f"/api/videos/{v}" for v in sample]
            for name, paths in (
                ("GET /api/videos/{id}", videos),
                ("GET /api/feed/trending?limit=10", ["/api/feed/trending?limit=10"]),
                ("GET /healthz", ["/healthz"]),
                ("404 through the middleware", ["/api/no-such-route"]),
            ):
                if args.only and args.only not in name:
                    continue
                rows.append((hello_ref, hello.url, ["/hello"], "", ""))
                rows.append((name, ours.url, paths, hello_ref, ""))
            if not args.only or args.only in "64 KB Range GET of a rendition":
                plain = [f"/range/{v}" for v in with_files]
                rows.append((range_ref, hello.url, plain, "", rng_range))
                rows.append(
                    (
                        "64 KB Range GET of a rendition",
                        ours.url,
                        [f"/api/videos/{v}/media/360p" for v in with_files],
                        range_ref,
                        rng_range,
                    )
                )
            for _ in range(args.rounds):
                last_ref: dict[str, dict[str, Any]] = {}
                for name, url, paths, reference, range_header in rows:
                    figures = wrk(url, paths, workdir=work, range_header=range_header, **load)  # type: ignore[arg-type]
                    if reference:
                        figures["ratio"] = round(figures["rps"] / last_ref[reference]["rps"], 3)
                    else:
                        last_ref[name] = figures
                    references[name] = reference
                    runs.setdefault(name, []).append(figures)

    results: dict[str, dict[str, Any]] = {}
    for name, figures in runs.items():
        med = sorted(figures, key=lambda f: f["rps"])[len(figures) // 2]
        ratios = sorted(f["ratio"] for f in figures if "ratio" in f)
        results[name] = {
            **{k: v for k, v in med.items() if k != "ratio"},
            "reference": references[name],
            "ratio": ratios[len(ratios) // 2] if ratios else None,
            "ratios": ratios,
        }
    expected_bad = {"404 through the middleware"}
    bad = sum(f["non_2xx"] for name, f in results.items() if name not in expected_bad)

    if args.json:
        print(json.dumps({"load": load, "rounds": args.rounds, "results": results}, indent=2))
    else:
        print(
            f"wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s per row,"
            f" {args.rounds} rounds (each row right after its reference), {args.videos} seeded"
            f" videos, uvicorn on {HOST}, one process per app; median of the rounds"
        )
        print(f"{'row':<34}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'MB/s':>8}{'ratio':>8}  range")
        for name, f in results.items():
            ratio = f"{f['ratio']:.3f}" if f["ratio"] is not None else "-"
            spread = (
                f"{f['ratios'][0]:.2f}-{f['ratios'][-1]:.2f} vs {f['reference']}"
                if f["ratios"]
                else "(reference)"
            )
            print(
                f"{name:<34}{f['rps']:>9.0f}{f['p50_ms']:>8.2f}{f['p99_ms']:>8.2f}"
                f"{f['mb_s']:>8.1f}{ratio:>8}  {spread}"
                + (f"  non-2xx {f['non_2xx']}" if f["non_2xx"] and name not in expected_bad else "")
            )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
