"""One rule set for engagement signals: a live For You request, the fit and `shortstack eval`
build the same user state from the same events; every kind the server logs has a rule; the
weight types are declared once."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import re
import time
from pathlib import Path
from types import SimpleNamespace

import msgspec
from serverkit import db_connect, seed_video

from shortstack.recommender.evaluation import interactions_from_events
from shortstack.recommender.signals import KIND_WEIGHTS, user_state_from_events
from shortstack.recommender.weights import BlendWeights, SignalWeights
from shortstack.server.config import Config, FeedWeights, SignalsConfig
from shortstack.server.feed import WeightsIn
from shortstack.server.feed_data import load_log

ROOT = Path(__file__).resolve().parents[2]


def _engine_state(live, user_id: int) -> dict[str, object]:
    """The UserState a For You request of this user builds, keyed by video id."""
    engine = live.server.app.state.engine
    snap = engine.snapshot
    future = asyncio.run_coroutine_threadsafe(
        engine.user_state(snap, SimpleNamespace(id=user_id), set()), engine._task.get_loop()
    )
    return _by_id(future.result(10), snap.item_ids)


def _by_id(state, item_ids: list[str]) -> dict[str, object]:
    return {
        "positives": {item_ids[i]: round(w, 6) for i, w in state.positives.items()},
        "order": [item_ids[i] for i in state.positives],
        "negatives": {item_ids[i] for i in state.negatives},
        "seen": {item_ids[i] for i in state.seen},
    }


def test_for_you_state_is_the_eval_state(live_server):
    live = live_server
    live.register("maker")
    videos = [seed_video(live, "maker", f"clip {i} #t{i}", duration_s=20.0) for i in range(8)]
    token = live.register("watcher")
    auth = live.auth(token)
    engine = live.server.app.state.engine
    deadline = time.monotonic() + 20
    while engine.snapshot is None or not set(videos) <= set(engine.snapshot.item_index):
        assert time.monotonic() < deadline, "the feed engine never loaded the videos"
        time.sleep(0.1)
    v = videos

    def ok(r):
        assert r.is_success, r.text

    def view(i: int, watch_ms: int) -> None:
        ok(live.client.post(f"/api/videos/{v[i]}/views", json={"watch_ms": watch_ms}, headers=auth))

    ok(live.client.get("/api/feed/for-you", params={"limit": 8}, headers=auth))  # impressions
    view(0, 20_000)  # a full watch ...
    ok(live.client.put(f"/api/videos/{v[0]}/like", headers=auth))  # ... and a like: 3
    view(1, 500)  # a skip (0.5 s < skip_seconds): -0.5 ...
    ok(live.client.put(f"/api/videos/{v[1]}/like", headers=auth))  # ... then a like: 1.5
    view(2, 40_000)  # watched twice: completion + rewatch = 1.5
    view(3, 20_000)  # everything at once: 1 + 2 + 3 + 1.5 + 1.5 = 9, capped at 8
    ok(live.client.put(f"/api/videos/{v[3]}/like", headers=auth))
    ok(live.client.post(f"/api/videos/{v[3]}/share", headers=auth))
    for text in ("nice", "again"):
        r = live.client.post(f"/api/videos/{v[3]}/comments", json={"body": text}, headers=auth)
        ok(r)
    view(4, 20_000)  # watched, then not interested: a negative, never a positive
    ok(live.client.post(f"/api/videos/{v[4]}/not-interested", headers=auth))
    ok(live.client.put(f"/api/videos/{v[5]}/like", headers=auth))  # liked and unliked: 0
    ok(live.client.delete(f"/api/videos/{v[5]}/like", headers=auth))
    view(6, 5_000)  # a quarter: 0.25, seen but not a positive
    ok(live.client.put("/api/users/maker/follow", headers=auth))

    conn = db_connect(live.db_path)
    try:
        user_id = conn.execute("SELECT id FROM users WHERE handle = 'watcher'").fetchone()[0]
        logged = {r[0] for r in conn.execute("SELECT DISTINCT kind FROM events")}
    finally:
        conn.close()
    assert logged - set(KIND_WEIGHTS) == set(), "the server logged a kind with no signal rule"

    server = _engine_state(live, user_id)
    assert server["positives"] == {v[0]: 3.0, v[1]: 1.5, v[2]: 1.5, v[3]: 8.0}
    assert server["order"] == [v[0], v[1], v[2], v[3]]  # oldest first
    assert server["negatives"] == {v[4]}
    assert server["seen"] == set(v[:7])  # impressions alone do not make v[7] seen

    # the eval path: the log read as a fit reads it, then the same state function ...
    log = load_log(live.db_path)
    signals = live.config.feed.signals.as_dataclass()
    u = log.user_index[user_id]
    offline = user_state_from_events(log.events, u, log.catalogue.duration_s, signals)
    assert _by_id(offline, log.catalogue.item_ids) == server
    # ... and the positives `shortstack eval` scores against, by the fit's own aggregation
    data = interactions_from_events(log.events, log.catalogue, len(log.user_index), signals)
    mine = data.user == u
    evaluated = {
        data.item_ids[i]: round(float(w), 6)
        for i, w in zip(data.item[mine], data.weight[mine], strict=True)
    }
    assert evaluated == server["positives"]


def _logged_kinds() -> set[str]:
    """Every event kind the server's source writes: log_event(..., kind) arguments and
    literal kinds in `INSERT INTO events` statements."""
    kinds: set[str] = set()
    for path in (ROOT / "server").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "log_event":
                arg = node.args[3] if len(node.args) > 3 else None
                arg = next((k.value for k in node.keywords if k.arg == "kind"), arg)
                assert arg is not None, f"{path}: log_event without a kind"
                found = {
                    c.value
                    for c in ast.walk(arg)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str)
                }
                assert found, f"{path}: log_event's kind is not a literal: {ast.unparse(arg)}"
                kinds |= found
        inserts = r"INSERT INTO events \([^)]*\) (?:VALUES \(([^)]*)\)|SELECT ([^\n]*?) FROM )"
        for sql in map("".join, re.findall(inserts, text)):
            kinds |= set(re.findall(r"'(\w+)'", sql))
    return kinds


def test_every_kind_the_server_logs_has_a_signal_rule():
    kinds = _logged_kinds()
    # the scan sees the server's kinds (so an empty result cannot pass)
    assert {"view", "like", "unlike", "comment", "share", "not_interested"} <= kinds
    assert {"follow", "unfollow", "impression"} <= kinds
    missing = kinds - set(KIND_WEIGHTS)
    assert not missing, f"add a rule to recommender/signals.py KIND_WEIGHTS for {missing}"
    for kind, rule in KIND_WEIGHTS.items():
        if rule is not None:
            assert rule[0] in {f.name for f in dataclasses.fields(SignalWeights)}, kind


def _names(cls: type) -> list[str]:
    if dataclasses.is_dataclass(cls):
        return [f.name for f in dataclasses.fields(cls)]
    return [f.name for f in msgspec.structs.fields(cls)]


def test_weights_are_declared_once():
    assert _names(FeedWeights) == _names(BlendWeights) == _names(WeightsIn)
    assert _names(SignalsConfig) == _names(SignalWeights)
    assert Config().feed.weights.as_dataclass() == BlendWeights()
    assert Config().feed.signals.as_dataclass() == SignalWeights()
    from shortstack.tui.commands import WEIGHT_KEYS  # the client talks HTTP: names only
    from shortstack.tui.screens.lab import DEFAULT_WEIGHTS, WEIGHTS

    assert list(WEIGHT_KEYS) == list(WEIGHTS) == _names(BlendWeights)
    assert BlendWeights().to_dict() == DEFAULT_WEIGHTS


def test_weights_api_keeps_its_shape(live_server):
    auth = live_server.auth(live_server.register())
    got = live_server.client.get("/api/feed/weights", headers=auth).json()
    assert got == BlendWeights().to_dict()
    r = live_server.client.put("/api/feed/weights", json={"explore": 0.4}, headers=auth)
    assert r.status_code == 200 and r.json() == {**got, "explore": 0.4}
    for bad in ({"explore": 1.5}, {"content": 11}, {"popularity": 1}):
        r = live_server.client.put("/api/feed/weights", json=bad, headers=auth)
        assert r.status_code in (400, 422), bad


def test_pre_fit_trending_weighs_kinds_by_the_signal_weights(make_server):
    """The SQL trending served before the first fit uses [feed.signals], not its own numbers."""
    for like, first in ((2.0, "shared"), (5.0, "liked")):  # share is 3.0 by default
        live = make_server(feed={"signals": {"like": like}})
        live.register("poster")
        liked, shared = (seed_video(live, "poster", f"clip {n}") for n in ("a", "b"))
        auth = live.auth(live.register())
        assert live.client.put(f"/api/videos/{liked}/like", headers=auth).is_success
        assert live.client.post(f"/api/videos/{shared}/share", headers=auth).is_success
        engine = live.server.app.state.engine
        future = asyncio.run_coroutine_threadsafe(
            engine._sql_trending(k=2, exclude=set()), engine._task.get_loop()
        )
        order = [item.video_id for item in future.result(10)]
        assert order == ([shared, liked] if first == "shared" else [liked, shared])
