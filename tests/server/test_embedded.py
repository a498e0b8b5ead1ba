"""The embedded server (demo, terminal client, tests) answers keep-alive requests at once."""

from __future__ import annotations

import socket


def test_embedded_connections_have_nagle_off(live_server):
    """Every accepted connection has TCP_NODELAY: uvicorn writes headers and body apart, and
    with Nagle's algorithm on the body waited ~40 ms for the client's delayed ACK (issue 20)."""
    with live_server.client as client:
        for _ in range(2):  # the second request rides the same keep-alive connection
            assert client.get("/healthz").status_code == 200
        connections = list(live_server.server._server.server_state.connections)
        assert connections, "the keep-alive connection should still be open"
        for protocol in connections:
            sock = protocol.transport.get_extra_info("socket")
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
