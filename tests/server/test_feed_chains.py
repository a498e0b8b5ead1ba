"""Feed cursor chains: only server-issued chain ids are accepted, the store is bounded and its
expired entries are swept, so clients cannot grow the server's memory at will."""

from __future__ import annotations

import base64
import json
import time

from serverkit import assert_problem, seed_video


def _cursor(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def test_a_client_chosen_chain_id_is_400(live_server):
    c = live_server.client
    for path in ("/api/feed/for-you", "/api/feed/trending"):
        for chain_id in ("my-own-chain-id", "a" * 16 + "." + "0" * 22, "x" * 400):
            r = c.get(path, params={"cursor": _cursor(chain_id)})
            assert_problem(r, 400)


def test_server_issued_cursors_keep_working(live_server):
    handle = "chainer"
    live_server.register(handle)
    for i in range(3):
        seed_video(live_server, handle, f"clip {i} #chain")
    c = live_server.client
    deadline = time.monotonic() + 15
    while not (first := c.get("/api/feed/for-you", params={"limit": 1}).json())["items"]:
        assert time.monotonic() < deadline  # the engine picks the seeded videos up
        time.sleep(0.2)
    assert first["next_cursor"]
    second = c.get("/api/feed/for-you", params={"limit": 1, "cursor": first["next_cursor"]})
    assert second.status_code == 200, second.text
    seen = {i["video"]["id"] for i in first["items"]}
    assert not seen & {i["video"]["id"] for i in second.json()["items"]}


def test_the_chain_store_is_bounded(make_server):
    live = make_server(feed={"max_chains": 3})
    for _ in range(20):  # every first page starts a chain
        assert live.client.get("/api/feed/trending").status_code == 200
    assert len(live.server.app.stores.get("feed_chains")) == 3


def test_expired_chains_are_swept_and_rate_limit_stores_bounded(make_server):
    live = make_server(
        feed={"chain_ttl_s": 1.0},
        server={"store_sweep_s": 0.2, "store_max_entries": 50},
        limits={"api_rate_per_minute": 1000},
    )
    for _ in range(5):
        assert live.client.get("/api/feed/for-you").status_code == 200
    chains = live.server.app.stores.get("feed_chains")
    assert len(chains) == 5
    deadline = time.monotonic() + 5
    while len(chains) > 0:  # nobody reads them again: only the sweep removes them
        assert time.monotonic() < deadline, len(chains)
        time.sleep(0.2)
    # the per-address rate-limit counters live in a bounded store swept the same way
    rate = live.server.app.stores.get("rate_limit")
    assert len(rate) == 1 and rate.max_entries == 50


def test_an_empty_store_is_kept_not_made_anew_per_request(live_server):
    # Litestar's StoreRegistry replaces a falsy store: an empty bounded store must stay truthy,
    # or every request made (and kept for the sweeps) a new one for the unused login limit
    stores = live_server.server.app.stores
    login = stores.get("login_rate_limit")
    assert len(login) == 0
    for _ in range(3):
        assert live_server.client.get("/api/feed/trending").status_code == 200
    assert stores.get("login_rate_limit") is login
