"""Event-stream load: many idle `GET /api/events` sockets from one address, and the rest of the API.

    python bench/streams.py                   # 500 idle streams, server at ulimit -n 1024
    python bench/streams.py --streams 500 --nofile 1024 --json

Starts `shortstack serve` in a child process (open-file limit --nofile, the per-address
stream cap raised to --streams for the run) over a temp data dir. Measures /healthz latency
and one logged-in upload (202, then ready) with no stream open: the reference. Then opens
--streams idle event streams from this one address (raw sockets that read the response head
and then nothing), checks that one more is refused (429 with Retry-After), and measures
/healthz and an upload again with all of them open. Prints p50/p99, their ratio to the
reference, the upload's status and time, and the server's open file descriptors.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HOST = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _open_stream(port: int) -> tuple[socket.socket, int, str]:
    """An idle event stream: (socket, HTTP status, what came of the response head)."""
    s = socket.create_connection((HOST, port), timeout=10)
    s.sendall(f"GET /api/events HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
    head = b""
    while b"\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return s, status, head.decode("latin-1", "replace")


def _healthz(client: httpx.Client, n: int) -> dict[str, float]:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        r = client.get("/healthz")
        times.append((time.perf_counter() - started) * 1000)
        assert r.status_code == 200, r.text
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 2),
    }


def _upload(client: httpx.Client, token: str, clip: Path) -> dict[str, object]:
    headers = {"Authorization": f"Bearer {token}"}
    started = time.perf_counter()
    with open(clip, "rb") as fh:
        r = client.post(
            "/api/videos",
            files={"file": (clip.name, fh, "video/mp4")},
            data={"caption": "under load"},
            headers=headers,
        )
    accepted_s = time.perf_counter() - started
    status = r.status_code
    video = r.json() if status == 202 else {}
    while video.get("status") == "processing" and time.perf_counter() - started < 120:
        time.sleep(0.2)
        video = client.get(f"/api/videos/{video['id']}", headers=headers).json()
    return {
        "status": status,
        "accepted_ms": round(accepted_s * 1000, 1),
        "ready": video.get("status") == "ready",
        "ready_s": round(time.perf_counter() - started, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=500, help="idle streams to open")
    parser.add_argument("--nofile", type=int, default=1024, help="the server's ulimit -n")
    parser.add_argument("--probes", type=int, default=300, help="/healthz requests per phase")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.streams + 200  # this process holds the client end of every stream
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))

    from shortstack.media.fixture_clips import write_test_video

    tmp = Path(tempfile.mkdtemp(prefix="bench-streams-"))
    clips = [
        write_test_video(tmp / f"clip{i}.mp4", width=320 + 32 * i, height=240, duration_s=1.0)
        for i in range(2)
    ]
    port = _free_port()
    env = dict(
        os.environ,
        SHORTSTACK_SERVER__LOG_REQUESTS="false",
        SHORTSTACK_LIMITS__API_RATE_PER_MINUTE="1000000",
        SHORTSTACK_LIMITS__EVENT_STREAMS_PER_ADDRESS=str(args.streams),
        SHORTSTACK_CONFIG=str(tmp / "none.toml"),
    )

    def limit_files() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (args.nofile, max(args.nofile, hard)))

    with open(tmp / "server.log", "wb") as log:  # the child keeps its own copy
        server = subprocess.Popen(
            [sys.executable, "-m", "shortstack.cli", "serve", "--port", str(port)]
            + ["--data", str(tmp / "data")],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            preexec_fn=limit_files,
        )
    streams: list[socket.socket] = []
    try:
        client = httpx.Client(base_url=f"http://{HOST}:{port}", timeout=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the server did not start: {(tmp / 'server.log').read_text()}")
            time.sleep(0.2)
        password = secrets.token_urlsafe(16)
        r = client.post("/api/auth/register", json={"handle": "bencher", "password": password})
        if r.status_code != 201:
            raise SystemExit(f"could not register: {r.status_code} {r.text}")
        token = r.json()["token"]

        reference = _healthz(client, args.probes)
        upload_before = _upload(client, token, clips[0])

        started = time.perf_counter()
        statuses = []
        for _ in range(args.streams):
            s, status, _ = _open_stream(port)
            streams.append(s)
            statuses.append(status)
        open_s = time.perf_counter() - started
        extra, extra_status, extra_head = _open_stream(port)
        if "\r\n\r\n" not in extra_head:
            extra_head += extra.recv(4096).decode("latin-1", "replace")
        extra.close()
        fds = len(os.listdir(f"/proc/{server.pid}/fd"))

        loaded = _healthz(client, args.probes)
        upload_during = _upload(client, token, clips[1])
        figures = {
            "streams_open": statuses.count(200),
            "streams_refused": len(statuses) - statuses.count(200),
            "open_seconds": round(open_s, 2),
            "one_more_status": extra_status,
            "one_more_retry_after": "retry-after" in extra_head.lower(),
            "server_nofile": args.nofile,
            "server_open_fds": fds,
            "healthz_idle": reference,
            "healthz_with_streams": loaded,
            "p99_ratio": round(loaded["p99_ms"] / max(reference["p99_ms"], 1e-3), 2),
            "upload_idle": upload_before,
            "upload_with_streams": upload_during,
        }
    finally:
        for s in streams:
            s.close()
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()

    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(
            f"{figures['streams_open']} idle event streams open from one address in"
            f" {figures['open_seconds']} s ({figures['streams_refused']} refused);"
            f" one more: HTTP {figures['one_more_status']}"
            f" (Retry-After: {figures['one_more_retry_after']})"
        )
        print(f"server: ulimit -n {args.nofile}, {fds} file descriptors open")
        for name in ("healthz_idle", "healthz_with_streams"):
            h = figures[name]
            print(f"{name:22} p50 {h['p50_ms']:7.2f} ms  p99 {h['p99_ms']:7.2f} ms")
        print(f"p99 ratio with streams / without: {figures['p99_ratio']}")
        for name in ("upload_idle", "upload_with_streams"):
            u = figures[name]
            print(
                f"{name:22} HTTP {u['status']} in {u['accepted_ms']} ms,"
                f" ready={u['ready']} after {u['ready_s']} s"
            )
    ok = (
        figures["streams_open"] == args.streams
        and figures["one_more_status"] == 429
        and figures["healthz_with_streams"]["p99_ms"] < 50
        and figures["upload_with_streams"]["status"] == 202
        and figures["upload_with_streams"]["ready"]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
