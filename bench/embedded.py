"""Embedded server latency: the server `shortstack demo` and the terminal client use, against
`shortstack serve` on the same data, measured in the same run.

    python bench/embedded.py                  # 300 keep-alive requests per endpoint and server
    python bench/embedded.py --requests 1000 --json

Starts `shortstack serve` (its own process) and an EmbeddedServer (a thread of this process)
over the same temp data dir, then one client process drives sequential keep-alive GETs of
`/healthz` and a 404 against each, alternating servers every 50 requests so noise from other
work on the machine falls on both. Prints p50/p90 per server and the embedded one's extra
p50 in ms (target: within 1 ms of serve; it was ~44 ms when Nagle's algorithm was on).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HOST = "127.0.0.1"
ENDPOINTS = ("/healthz", "/api/videos/none404")

#: The client, run as its own process (this process hosts the embedded server's thread):
#: argv = rounds, per_round, then url per server; prints {url: {path: [seconds...]}}.
CLIENT = r"""
import json, sys, time, httpx
rounds, per_round, urls = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
paths = json.loads(sys.stdin.read())
clients = {u: httpx.Client(base_url=u, timeout=30) for u in urls}
out = {u: {p: [] for p in paths} for u in urls}
for c in clients.values():
    for p in paths:
        c.get(p)  # warm-up, opens the keep-alive connection
for _ in range(rounds):
    for u, c in clients.items():
        for p in paths:
            for _ in range(per_round):
                t = time.perf_counter()
                c.get(p)
                out[u][p].append(time.perf_counter() - t)
print(json.dumps(out))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen | None = None) -> None:
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("shortstack serve exited")
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


def _ms(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))] * 1000, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300, help="per endpoint and server")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)

    import msgspec

    from shortstack.server.config import Config
    from shortstack.server.embedded import EmbeddedServer

    settings = {"server": {"log_requests": False, "workers": 1}}
    per_round = 50
    rounds = max(1, args.requests // per_round)
    with tempfile.TemporaryDirectory(prefix="shortstack-bench-embedded-") as tmp:
        data = Path(tmp)
        config_file = data / "config.toml"
        config_file.write_text("[server]\nlog_requests = false\nworkers = 1\n")
        port = _free_port()
        serve = subprocess.Popen(
            [sys.executable, "-m", "shortstack", "serve", "--host", HOST, "--port", str(port)]
            + ["--data", str(data / "serve"), "--config", str(config_file)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        embedded = EmbeddedServer(msgspec.convert(settings, Config), data / "embedded").start()
        try:
            serve_url = f"http://{HOST}:{port}"
            _wait(serve_url, serve)
            _wait(embedded.url)
            out = subprocess.run(
                [sys.executable, "-c", CLIENT, str(rounds), str(per_round)]
                + [serve_url, embedded.url],
                input=json.dumps(ENDPOINTS),
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        finally:
            embedded.stop()
            serve.terminate()
            serve.wait(10)
    times = json.loads(out)
    results: dict[str, dict] = {}
    for path in ENDPOINTS:
        s, e = times[serve_url][path], times[embedded.url][path]
        results[path] = {
            "serve_p50_ms": _ms(s, 0.5),
            "serve_p90_ms": _ms(s, 0.9),
            "embedded_p50_ms": _ms(e, 0.5),
            "embedded_p90_ms": _ms(e, 0.9),
            "extra_p50_ms": round((statistics.median(e) - statistics.median(s)) * 1000, 3),
            "ratio_p50": round(statistics.median(e) / statistics.median(s), 2),
        }
    if args.json:
        print(json.dumps({"requests": rounds * per_round, "results": results}, indent=2))
    else:
        print(
            f"{rounds * per_round} sequential keep-alive GETs per endpoint and server, one client"
            " process, servers alternating every 50"
        )
        print(
            f"{'endpoint':<22}{'serve p50':>10}{'p90':>8}{'embedded p50':>14}{'p90':>8}"
            f"{'extra p50':>11}{'ratio':>7}"
        )
        for path, r in results.items():
            print(
                f"{path:<22}{r['serve_p50_ms']:>10.2f}{r['serve_p90_ms']:>8.2f}"
                f"{r['embedded_p50_ms']:>14.2f}{r['embedded_p90_ms']:>8.2f}"
                f"{r['extra_p50_ms']:>11.2f}{r['ratio_p50']:>6.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
