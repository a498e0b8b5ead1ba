"""Load benchmark: N simulated users on a real `shortstack serve` over loopback, then a counter audit.

    python bench/load.py                      # 200 users for 60 s, 2 uploads transcoding
    python bench/load.py --users 20 --seconds 5 --json

Starts its own server (a `shortstack serve` child on a free 127.0.0.1 port over a temp data
dir) unless --url is given. Reports requests served, req/s, p50/p95/p99 per endpoint, every
non-2xx answer, "database is locked" lines in the server log, and whether every counter
(likes, comments, replies, followers/following, views, shares, videos) equals its rows and every
acknowledged write is in the database. The reference figure is the same mix run by one user
(--users 1) in the same run: the ratio shows how throughput scales with concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx

from shortstack.tui.api import KEEPALIVE_S

HOST = "127.0.0.1"
PASSWORD = "load-password-1"
WORDS = [
    "cat",
    "dog",
    "sea",
    "sun",
    "rain",
    "city",
    "night",
    "food",
    "dance",
    "music",
    "code",
    "bike",
    "run",
    "tea",
    "snow",
]
LOCKED = "database is locked"


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def write_config(path: Path, **sections: dict[str, Any]) -> Path:
    """A config.toml for a harness server: no request log, limits far above the load."""
    base: dict[str, dict[str, Any]] = {
        "server": {"log_requests": False, "workers": 1},
        "limits": {"api_rate_per_minute": 10_000_000, "login_rate_per_minute": 10_000_000},
    }
    for name, values in sections.items():
        base.setdefault(name, {}).update(values)
    lines = []
    for name, values in base.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def _children(pid: int) -> list[int]:
    """Direct child processes of pid (Linux /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far (Linux /proc), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


class ServeProcess:
    """`shortstack serve --data DIR --port P [--workers N]` as a child process; log in
    DIR/../serve-P.log."""

    def __init__(
        self, data_dir: Path, config: Path, *, port: int | None = None, workers: int = 1
    ) -> None:
        self.data_dir = Path(data_dir)
        self.config = config
        self.workers = workers
        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log_path = self.data_dir.parent / f"serve-{self.data_dir.name}-{self.port}.log"
        self.proc: subprocess.Popen | None = None

    @property
    def db_path(self) -> Path:
        return self.data_dir / "shortstack.db"

    def start(self, timeout: float = 90.0) -> ServeProcess:
        """Launch and wait until /healthz answers."""
        return self.launch().wait_ready(timeout)

    def command(self) -> list[str]:
        cmd = [
            sys.executable,
            "-m",
            "shortstack",
            "serve",
            "--host",
            HOST,
            "--port",
            str(self.port),
        ]
        cmd += ["--data", str(self.data_dir), "--config", str(self.config)]
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        return cmd

    def launch(self) -> ServeProcess:
        """Start the process without waiting for it (several start side by side)."""
        env = {
            k: v for k, v in os.environ.items() if not (k.startswith("SHORTSTACK_") and "__" in k)
        }
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout: float = 90.0) -> ServeProcess:
        assert self.proc is not None, "not launched"
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"shortstack exited {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"shortstack serve did not answer in {timeout} s:\n{self.log()}")
            time.sleep(0.1)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill9(self) -> list[int]:
        """SIGKILL the server process alone (as the OOM killer would); returns its children that
        outlived it by 30 s (the transcode workers must die with it)."""
        assert self.proc is not None
        children = _children(self.proc.pid)
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(15)
        deadline = time.monotonic() + 30
        while any(_alive(c) for c in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        survivors = [c for c in children if _alive(c)]
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
        return survivors

    def stop(self) -> None:
        """Graceful stop (SIGTERM), SIGKILL of the whole group if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """Last-resort cleanup: SIGKILL the process group."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(15)


class WorkerProcess(ServeProcess):
    """`shortstack worker --data DIR [--concurrency N]` as a child process ([jobs] engine =
    "saq"): ready when its log says it takes jobs from the queue."""

    READY = "job(s) at a time from queue"

    def __init__(self, data_dir: Path, config: Path, *, concurrency: int = 1) -> None:
        super().__init__(data_dir, config)
        self.concurrency = concurrency
        self.url = ""
        self.log_path = self.data_dir.parent / f"worker-{self.data_dir.name}.log"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "shortstack", "worker", "--data", str(self.data_dir)]
        return cmd + ["--config", str(self.config), "--concurrency", str(self.concurrency)]

    def wait_ready(self, timeout: float = 90.0) -> WorkerProcess:
        assert self.proc is not None, "not launched"
        deadline = time.monotonic() + timeout
        while self.READY not in self.log():
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"shortstack worker exited {self.proc.returncode}:\n{self.log()}"
                )
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"shortstack worker not ready in {timeout} s:\n{self.log()}")
            time.sleep(0.1)
        return self


# --------------------------------------------------------------------------- audits


def connect(db_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(db_path), timeout=30, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


COUNTER_CHECKS = {
    "videos.likes": "SELECT id, likes, (SELECT COUNT(*) FROM likes l WHERE l.video_id = v.id) FROM videos v",
    "videos.comments": "SELECT id, comments, (SELECT COUNT(*) FROM comments c WHERE c.video_id = v.id) FROM videos v",
    "videos.views": "SELECT id, views, (SELECT COUNT(*) FROM views w WHERE w.video_id = v.id AND w.counted = 1) FROM videos v",
    "videos.shares": "SELECT id, shares, (SELECT COUNT(*) FROM shares s WHERE s.video_id = v.id) FROM videos v",
    "comments.reply_count": "SELECT id, reply_count, (SELECT COUNT(*) FROM comments r WHERE r.parent_id = c.id) FROM comments c",
    "users.followers": "SELECT handle, followers, (SELECT COUNT(*) FROM follows f WHERE f.followee_id = u.id) FROM users u",
    "users.following": "SELECT handle, following, (SELECT COUNT(*) FROM follows f WHERE f.follower_id = u.id) FROM users u",
    "users.videos": "SELECT handle, videos, (SELECT COUNT(*) FROM videos v WHERE v.author_id = u.id) FROM users u",
    "users.likes_received": "SELECT handle, likes_received, (SELECT COUNT(*) FROM likes l JOIN videos v ON v.id = l.video_id WHERE v.author_id = u.id) FROM users u",
}


def counter_mismatches(db_path: Path) -> list[str]:
    """Every stored counter compared with a COUNT of its rows; one line per disagreement."""
    conn = connect(db_path)
    try:
        bad = []
        for name, sql in COUNTER_CHECKS.items():
            for key, stored, actual in conn.execute(sql):
                if stored != actual:
                    bad.append(f"{name} of {key}: stored {stored}, rows {actual}")
        return bad
    finally:
        conn.close()


# --------------------------------------------------------------------------- the simulation


@dataclass(frozen=True)
class Mix:
    """What one load run does; the defaults are the command line's."""

    users: int = 200  # concurrent simulated users
    seconds: float = 60.0  # how long the mix runs
    uploads: int = 2  # uploads transcoding during the run
    seed_videos: int = 6  # ready videos uploaded before the run
    upload_seconds: float = 3.0  # length of each upload made during the run
    think_s: float = 0.1  # mean think time between actions
    seed: int = 1
    prefix: str = "load"  # handles are {prefix}{seed}_{n}


@dataclass
class Ledger:
    """What the server acknowledged (2xx), to be found in the database afterwards."""

    likes: dict[tuple[str, str], bool] = field(default_factory=dict)
    follows: dict[tuple[str, str], bool] = field(default_factory=dict)
    comments: set[str] = field(default_factory=set)
    uncertain_likes: set[tuple[str, str]] = field(default_factory=set)
    uncertain_follows: set[tuple[str, str]] = field(default_factory=set)


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, dict[int, int]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(int))
    )
    transport_errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    examples: list[str] = field(default_factory=list)

    def record(self, label: str, seconds: float, status: int, text: str = "") -> None:
        self.latencies[label].append(seconds)
        self.statuses[label][status] += 1
        if status >= 400 and len(self.examples) < 20:
            self.examples.append(f"{label} -> {status} {text[:200]}")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


class User:
    def __init__(self, handle: str, token: str) -> None:
        self.handle = handle
        self.token = token
        self.headers = {"Authorization": f"Bearer {token}"}
        self.cursor: str | None = None
        self.seen: list[str] = []


async def _call(
    client: httpx.AsyncClient,
    stats: Stats,
    label: str,
    method: str,
    url: str,
    **kwargs: Any,
) -> httpx.Response | None:
    t0 = time.perf_counter()
    try:
        r = await client.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        stats.transport_errors[label] += 1
        if len(stats.examples) < 20:
            stats.examples.append(f"{label} -> {type(exc).__name__}: {exc}")
        return None
    stats.record(
        label, time.perf_counter() - t0, r.status_code, r.text if r.status_code >= 400 else ""
    )
    return r


async def _toggle(
    call: Callable[..., Awaitable[httpx.Response | None]],
    label: str,
    url: str,
    want: bool,
    ok: int,
    key: tuple[str, str],
    acknowledged: dict[tuple[str, str], bool],
    uncertain: set[tuple[str, str]],
) -> None:
    """PUT (want) or DELETE an on/off state; note what the server acknowledged, or that a 5xx or
    no answer leaves it unknown."""
    r = await call(label, "PUT" if want else "DELETE", url)
    if r is not None and r.status_code == ok:
        acknowledged[key] = want
        uncertain.discard(key)
    elif r is None or r.status_code >= 500:
        uncertain.add(key)


async def _user_loop(
    client: httpx.AsyncClient,
    me: User,
    everyone: list[User],
    video_ids: list[str],
    stats: Stats,
    ledger: Ledger,
    deadline: float,
    rng: random.Random,
    think_s: float,
) -> None:
    call = functools.partial(_call, client, stats, headers=me.headers)
    actions = [
        ("feed", 26),
        ("view", 22),
        ("like", 14),
        ("comment", 9),
        ("follow", 7),
        ("search", 7),
        ("video", 6),
        ("comments", 5),
        ("profile", 4),
    ]
    names = [a for a, _ in actions]
    weights = [w for _, w in actions]
    while time.monotonic() < deadline:
        action = rng.choices(names, weights)[0]
        vid = (
            rng.choice(me.seen[-10:] or video_ids)
            if me.seen and rng.random() < 0.7
            else rng.choice(video_ids)
        )
        if action == "feed":
            kind = rng.choices(["for-you", "trending", "following"], [6, 2, 2])[0]
            params: dict[str, Any] = {"limit": 5}
            if kind == "for-you" and me.cursor:
                params["cursor"] = me.cursor
            r = await call(f"GET /api/feed/{kind}", "GET", f"/api/feed/{kind}", params=params)
            if r is not None and r.status_code == 200:
                body = r.json()
                me.seen += [i["video"]["id"] for i in body["items"]]
                me.seen = me.seen[-50:]
                if kind == "for-you":
                    me.cursor = body["next_cursor"] if rng.random() < 0.8 else None
        elif action == "view":
            watch = rng.choice([300, 800, 1500, 4000, 12000])
            await call(
                "POST /api/videos/{id}/views",
                "POST",
                f"/api/videos/{vid}/views",
                json={"watch_ms": watch},
            )
        elif action == "like":
            await _toggle(
                call,
                "PUT|DELETE /api/videos/{id}/like",
                f"/api/videos/{vid}/like",
                rng.random() < 0.75,
                200,
                (me.handle, vid),
                ledger.likes,
                ledger.uncertain_likes,
            )
        elif action == "comment":
            body = f"{rng.choice(WORDS)} {rng.choice(WORDS)} #{rng.choice(WORDS)} from @{me.handle}"
            r = await call(
                "POST /api/videos/{id}/comments",
                "POST",
                f"/api/videos/{vid}/comments",
                json={"body": body},
            )
            if r is not None and r.status_code == 201:
                ledger.comments.add(r.json()["id"])
        elif action == "follow":
            other = rng.choice(everyone)
            if other is me:
                continue
            await _toggle(
                call,
                "PUT|DELETE /api/users/{handle}/follow",
                f"/api/users/{other.handle}/follow",
                rng.random() < 0.7,
                204,
                (me.handle, other.handle),
                ledger.follows,
                ledger.uncertain_follows,
            )
        elif action == "search":
            q = rng.choice(
                [rng.choice(WORDS), f"#{rng.choice(WORDS)}", f"@{rng.choice(everyone).handle[:5]}"]
            )
            await call("GET /api/search", "GET", "/api/search", params={"q": q})
        elif action == "video":
            await call("GET /api/videos/{id}", "GET", f"/api/videos/{vid}")
        elif action == "comments":
            await call("GET /api/videos/{id}/comments", "GET", f"/api/videos/{vid}/comments")
        elif action == "profile":
            await call(
                "GET /api/users/{handle}", "GET", f"/api/users/{rng.choice(everyone).handle}"
            )
        if think_s:
            await asyncio.sleep(rng.uniform(0, 2 * think_s))


def make_clip(
    path: Path, *, seconds: float = 1.0, variant: int = 0, size: tuple[int, int] = (96, 64)
) -> Path:
    """A small synthetic H.264 clip (PyAV); variant changes the bytes."""
    from shortstack.media.fixture_clips import write_test_video

    return write_test_video(
        path,
        width=size[0],
        height=size[1],
        duration_s=seconds,
        fps=10 + variant,
        audio=seconds > 1.5,
    )


async def _upload(client: httpx.AsyncClient, user: User, path: Path, caption: str) -> str:
    with path.open("rb") as fh:
        r = await client.post(
            "/api/videos",
            files={"file": (path.name, fh.read(), "video/mp4")},
            data={"caption": caption},
            headers=user.headers,
        )
    if r.status_code != 202:
        raise RuntimeError(f"upload failed: {r.status_code} {r.text}")
    return r.json()["id"]


async def _wait_ready(client: httpx.AsyncClient, ids: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    status: dict[str, str] = {}
    while True:
        for vid in ids:
            if status.get(vid) not in ("ready", "failed"):
                r = await client.get(f"/api/videos/{vid}")
                status[vid] = r.json()["status"]
        if all(s in ("ready", "failed") for s in status.values()) or time.monotonic() > deadline:
            return status
        await asyncio.sleep(0.25)


async def _register(client: httpx.AsyncClient, handle: str) -> User:
    for _ in range(5):
        r = await client.post("/api/auth/register", json={"handle": handle, "password": PASSWORD})
        if r.status_code == 201:
            return User(handle, r.json()["token"])
        await asyncio.sleep(0.5)
    raise RuntimeError(f"cannot register @{handle}: {r.status_code} {r.text}")


async def run_load(
    url: str, mix: Mix, *, work_dir: Path, server_pid: int | None = None
) -> dict[str, Any]:
    """Register users, seed ready videos, run the mix for `mix.seconds`, then report and audit."""
    users, seconds, uploads, seed = mix.users, mix.seconds, mix.uploads, mix.seed
    rng = random.Random(seed)
    limits = httpx.Limits(
        max_connections=users + 10,
        max_keepalive_connections=users + 10,
        keepalive_expiry=KEEPALIVE_S,  # idle connections go before the server closes them
    )
    async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as client:
        sem = asyncio.Semaphore(8)

        async def reg(i: int) -> User:
            async with sem:
                return await _register(client, f"{mix.prefix}{seed}_{i}")

        everyone = list(await asyncio.gather(*(reg(i) for i in range(max(users, 2)))))
        creators = everyone[: max(1, min(len(everyone), mix.seed_videos))]
        seeded = []
        for i in range(mix.seed_videos):
            clip = make_clip(work_dir / f"seed{seed}_{i}.mp4", variant=i)
            seeded.append(
                await _upload(
                    client, creators[i % len(creators)], clip, f"seed {i} #{WORDS[i % len(WORDS)]}"
                )
            )
        ready = await _wait_ready(client, seeded, 180)
        video_ids = [v for v, s in ready.items() if s == "ready"]
        if not video_ids:
            raise RuntimeError(f"no seeded video became ready: {ready}")

        stats = Stats()
        ledger = Ledger()
        # the uploads that transcode while the users run
        big = [
            make_clip(
                work_dir / f"big{seed}_{i}.mp4",
                seconds=mix.upload_seconds,
                variant=i,
                size=(320, 240),
            )
            for i in range(uploads)
        ]
        t0 = time.monotonic()
        cpu0 = cpu_seconds(server_pid) if server_pid else 0.0
        client_cpu0 = time.process_time()
        deadline = t0 + seconds
        upload_ids = [
            await _upload(client, everyone[i % len(everyone)], path, f"live upload {i} #music")
            for i, path in enumerate(big)
        ]
        tasks = [
            _user_loop(
                client,
                u,
                everyone,
                video_ids,
                stats,
                ledger,
                deadline,
                random.Random(rng.random()),
                mix.think_s,
            )
            for u in everyone[:users]
        ]
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - t0
        server_cpu = (cpu_seconds(server_pid) - cpu0) if server_pid else 0.0
        client_cpu = time.process_time() - client_cpu0
        upload_status = await _wait_ready(client, upload_ids, 240)

        # acknowledged writes, checked through the API
        api_problems = []
        for (handle, vid), liked in ledger.likes.items():
            if (handle, vid) in ledger.uncertain_likes:
                continue
            user = next(u for u in everyone if u.handle == handle)
            r = await client.get(f"/api/videos/{vid}", headers=user.headers)
            if r.json()["liked_by_me"] != liked:
                api_problems.append(
                    f"like of @{handle} on {vid}: acknowledged {liked}, API says {not liked}"
                )
            if len(api_problems) > 20:
                break

    total = sum(len(v) for v in stats.latencies.values())
    endpoints = {}
    for label in sorted(stats.latencies):
        lat = stats.latencies[label]
        endpoints[label] = {
            "requests": len(lat),
            "p50_ms": round(percentile(lat, 50) * 1000, 1),
            "p95_ms": round(percentile(lat, 95) * 1000, 1),
            "p99_ms": round(percentile(lat, 99) * 1000, 1),
            "statuses": dict(sorted(stats.statuses[label].items())),
        }
    all_lat = [x for v in stats.latencies.values() for x in v]
    server_errors = sum(n for s in stats.statuses.values() for code, n in s.items() if code >= 500)
    return {
        "users": users,
        "seconds": round(elapsed, 2),
        "requests": total,
        "req_per_s": round(total / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(percentile(all_lat, 50) * 1000, 1),
        "p95_ms": round(percentile(all_lat, 95) * 1000, 1),
        "p99_ms": round(percentile(all_lat, 99) * 1000, 1),
        "server_cpu_s": round(server_cpu, 2),
        "client_cpu_s": round(client_cpu, 2),
        "load_average": os.getloadavg()[0],
        "server_cpu_ms_per_request": round(server_cpu / total * 1000, 2) if total else 0.0,
        "server_errors": server_errors,
        "transport_errors": sum(stats.transport_errors.values()),
        "error_examples": stats.examples,
        "endpoints": endpoints,
        "uploads": upload_status,
        "acknowledged": {
            "likes": len(ledger.likes),
            "follows": len(ledger.follows),
            "comments": len(ledger.comments),
        },
        "api_problems": api_problems,
        "_ledger": ledger,
    }


def audit(db_path: Path, ledger: Ledger) -> list[str]:
    """Every acknowledged write is in the database and every counter equals its rows."""
    problems = counter_mismatches(db_path)
    conn = connect(db_path)
    try:
        likes = {
            (h, v)
            for h, v in conn.execute(
                "SELECT u.handle, l.video_id FROM likes l JOIN users u ON u.id = l.user_id"
            )
        }
        follows = {
            (a, b)
            for a, b in conn.execute(
                "SELECT a.handle, b.handle FROM follows f JOIN users a ON a.id = f.follower_id"
                " JOIN users b ON b.id = f.followee_id"
            )
        }
        comments = {r[0] for r in conn.execute("SELECT id FROM comments")}
    finally:
        conn.close()
    problems += _disagreements("like", ledger.likes, ledger.uncertain_likes, likes)
    problems += _disagreements("follow", ledger.follows, ledger.uncertain_follows, follows)
    missing = ledger.comments - comments
    problems += [f"acknowledged comment {c} is missing" for c in sorted(missing)]
    return problems


def _disagreements(
    kind: str,
    acknowledged: dict[tuple[str, str], bool],
    uncertain: set[tuple[str, str]],
    stored: set[tuple[str, str]],
) -> list[str]:
    """The on/off states the server acknowledged (as _toggle noted them) that the database lacks."""
    return [
        f"acknowledged {kind} {key}={on} but the database says {not on}"
        for key, on in acknowledged.items()
        if key not in uncertain and (key in stored) != on
    ]


def locked_lines(log_text: str) -> list[str]:
    return [line for line in log_text.splitlines() if LOCKED in line]


def bench(mix: Mix, url: str | None, data: Path | None) -> dict[str, Any]:
    """Run the load (own server unless url) plus a one-user reference; audit the database."""
    with tempfile.TemporaryDirectory(prefix="shortstack-load-") as tmp:
        work = Path(tmp)
        server = None
        if url is None:
            data_dir = data or work / "data"
            server = ServeProcess(data_dir, write_config(work / "config.toml")).start()
            url = server.url
        try:
            pid = server.proc.pid if server else None
            one_user = Mix(
                users=1,
                seconds=min(10.0, mix.seconds),
                uploads=0,
                seed_videos=2,
                think_s=0.0,
                seed=1,
                prefix="ref",
            )
            reference = asyncio.run(run_load(url, one_user, work_dir=work, server_pid=pid))
            report = asyncio.run(run_load(url, replace(mix, seed=2), work_dir=work, server_pid=pid))
            ledger = report.pop("_ledger")
            reference.pop("_ledger")
            if server is not None:
                report["audit"] = audit(server.db_path, ledger)
                report["locked_lines"] = locked_lines(server.log())
                report["log_errors"] = [
                    line
                    for line in server.log().splitlines()
                    if " ERROR " in line or "Traceback" in line
                ][:20]
        finally:
            if server is not None:
                server.stop()
        report["reference_one_user"] = {
            k: reference[k]
            for k in (
                "requests",
                "req_per_s",
                "p50_ms",
                "p95_ms",
                "p99_ms",
                "server_cpu_ms_per_request",
            )
        }
        if reference["req_per_s"]:
            report["ratio_vs_one_user"] = round(report["req_per_s"] / reference["req_per_s"], 2)
        return report


def _print(report: dict[str, Any]) -> None:
    print(
        f"{report['users']} users, {report['seconds']} s: {report['requests']} requests, "
        f"{report['req_per_s']} req/s (x{report.get('ratio_vs_one_user', '?')} one user's "
        f"{report['reference_one_user']['req_per_s']} req/s)"
    )
    print(
        f"latency p50 {report['p50_ms']} ms  p95 {report['p95_ms']} ms  p99 {report['p99_ms']} ms"
    )
    print(f"{'endpoint':42} {'n':>6} {'p50':>8} {'p95':>8} {'p99':>8}  statuses")
    for label, e in report["endpoints"].items():
        print(
            f"{label:42} {e['requests']:>6} {e['p50_ms']:>8} {e['p95_ms']:>8} {e['p99_ms']:>8}  {e['statuses']}"
        )
    print(
        f"server CPU {report['server_cpu_s']} s = {report['server_cpu_ms_per_request']} ms per request"
        f" (one user: {report['reference_one_user']['server_cpu_ms_per_request']} ms)"
    )
    print(
        f"client CPU {report['client_cpu_s']} s; machine load average {report['load_average']:.1f}"
        f" on {os.cpu_count()} CPUs"
    )
    print(f"5xx: {report['server_errors']}  transport errors: {report['transport_errors']}")
    print(f"uploads during the load: {report['uploads']}")
    print(f"acknowledged writes: {report['acknowledged']}")
    if "audit" in report:
        print(f"'database is locked' in the server log: {len(report['locked_lines'])}")
        print(f"audit (counters = rows, acknowledged writes present): {report['audit'] or 'ok'}")
    for line in report["error_examples"]:
        print("  ", line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=Mix.users, help="concurrent simulated users")
    parser.add_argument("--seconds", type=float, default=Mix.seconds, help="how long the mix runs")
    parser.add_argument(
        "--uploads", type=int, default=Mix.uploads, help="uploads transcoding during the run"
    )
    parser.add_argument(
        "--think", type=float, default=Mix.think_s, help="mean think time between actions, s"
    )
    parser.add_argument("--url", help="an already running server on loopback (no audit)")
    parser.add_argument("--data", type=Path, help="data dir for the bench's own server (kept)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    if args.url and httpx.URL(args.url).host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("the load benchmark only targets loopback servers")
    if not (1 <= args.users <= 2000 and 0 < args.seconds <= 600):
        parser.error("--users must be 1..2000 and --seconds 0..600")
    mix = Mix(users=args.users, seconds=args.seconds, uploads=args.uploads, think_s=args.think)
    report = bench(mix, args.url, args.data)
    if args.json:
        print(json.dumps(report, indent=1))
    else:
        _print(report)
    ok = report["server_errors"] == 0 and not report.get("audit") and not report.get("locked_lines")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
