"""Run the server in a background thread on a free loopback port (for `shortstack demo` and tests)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Any

import uvicorn

from .app import create_app
from .config import Config

#: How long an idle keep-alive connection stays open. A client must drop idle connections
#: sooner (ours: ``tui.api.KEEPALIVE_S``): a request sent just as the server closes one is lost
#: as a read error, and a POST cannot be retried blindly.
KEEP_ALIVE_S = 5


#: How long `shortstack serve` lets requests in flight finish on SIGTERM (a deploy, a stop).
SHUTDOWN_GRACE_S = 10


def uvicorn_options(config: Config) -> dict[str, Any]:
    """The uvicorn settings every way of running the server shares: forwarded headers
    (X-Forwarded-For/-Proto) are believed only from ``server.trusted_proxies`` (none by
    default, whatever $FORWARDED_ALLOW_IPS says), so a client cannot pick its own address."""
    trusted = list(config.server.trusted_proxies)
    return {
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
        "log_level": "warning",
        "access_log": False,
        "timeout_keep_alive": KEEP_ALIVE_S,
        # on SIGTERM, requests in flight get this long to finish; then open connections
        # (event streams never end by themselves) are closed and the process exits
        "timeout_graceful_shutdown": SHUTDOWN_GRACE_S,
    }


def listening_socket() -> socket.socket:
    """A TCP listening socket whose connections send small writes at once.

    The protocol must be named: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
    sockets whose ``proto`` is IPPROTO_TCP, and ``socket.socket(AF_INET, SOCK_STREAM)`` says 0,
    which accepted connections inherit. uvicorn writes a response's headers and body
    separately, so with Nagle on the body waited for the client's delayed ACK: ~40 ms on
    every keep-alive request (issue 20). TCP_NODELAY on the listener is inherited too."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


class EmbeddedServer:
    """A real uvicorn server for the app, started in a daemon thread; `url` once started."""

    def __init__(
        self, config: Config, data_dir: Path, *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        self.config = config
        self.data_dir = Path(data_dir)
        self.app = create_app(config, self.data_dir, log_file=self.data_dir / "server.log")
        self._sock = listening_socket()
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                **{**uvicorn_options(config), "timeout_graceful_shutdown": 2},
                lifespan="on",
            )
        )
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )

    def start(self, timeout: float = 20.0) -> EmbeddedServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the embedded server failed to start")
            if time.monotonic() > deadline:
                raise TimeoutError("the embedded server did not start in time")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(15)
        self._sock.close()

    def __enter__(self) -> EmbeddedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
