"""Feed lab endpoints: a small simulation over HTTP, body bounds, and a user's feed diet."""

from __future__ import annotations

import time

import pytest
from serverkit import assert_problem, seed_video

METRIC_NAMES = {"hit_rate", "coverage", "diversity", "bubble", "creator_gini", "new_exposure"}


@pytest.fixture(scope="module")
def live_server(module_server):
    """These tests only touch their own users and videos: the module shares one server."""
    return module_server


def test_simulate_needs_login(live_server):
    r = live_server.client.post("/api/lab/simulate", json={"users": 5, "steps": 2})
    assert_problem(r, 401)


def test_simulate_answers_curves_and_is_deterministic(live_server):
    headers = live_server.auth(live_server.register())
    body = {"weights": {"explore": 0.3}, "users": 12, "steps": 4, "seed": 7}
    r = live_server.client.post("/api/lab/simulate", json=body, headers=headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["users"] == 12 and out["steps"] == 4 and out["seed"] == 7
    assert out["weights"]["explore"] == 0.3
    assert {m["name"] for m in out["metrics"]} == METRIC_NAMES
    assert set(out["curves"]) == METRIC_NAMES
    assert all(len(curve) == 4 for curve in out["curves"].values())
    assert 0.0 <= out["final"]["hit_rate"] <= 1.0
    again = live_server.client.post("/api/lab/simulate", json=body, headers=headers).json()
    assert again["curves"] == out["curves"]  # same seed, same numbers


def test_simulate_uses_your_weights_by_default(live_server):
    token = live_server.register()
    headers = live_server.auth(token)
    live_server.client.put("/api/feed/weights", json={"explore": 0.5}, headers=headers)
    r = live_server.client.post("/api/lab/simulate", json={"users": 5, "steps": 2}, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["weights"]["explore"] == 0.5


def test_simulate_bounds_are_422(live_server):
    headers = live_server.auth(live_server.register())
    for body in (
        {"users": 101},
        {"users": 0},
        {"steps": 31},
        {"seed": -1},
        {"weights": {"explore": 1.5}},
        {"weights": {"nonsense": 1}},
        {"surprise": True},
    ):
        r = live_server.client.post("/api/lab/simulate", json=body, headers=headers)
        assert_problem(r, 422)


def test_diet_needs_login(live_server):
    assert_problem(live_server.client.get("/api/me/diet"), 401)


def test_diet_shows_topics_shown_vs_engaged(live_server):
    live_server.register("chef")
    cooking = [seed_video(live_server, "chef", f"pasta night {i} #cooking") for i in range(3)]
    travel = [seed_video(live_server, "chef", f"beach day {i} #travel") for i in range(3)]
    token = live_server.register()
    headers = live_server.auth(token)
    deadline = time.monotonic() + 15
    served: set[str] = set()
    while len(served) < 6:  # the feed engine picks the new videos up in the background
        page = live_server.client.get(
            "/api/feed/for-you", params={"limit": 10}, headers=headers
        ).json()
        served |= {item["video"]["id"] for item in page["items"]}
        assert time.monotonic() < deadline, f"feed never served all videos: {served}"
        time.sleep(0.2)
    for video_id in cooking[:2]:
        assert live_server.client.put(f"/api/videos/{video_id}/like", headers=headers).is_success
    r = live_server.client.post(
        f"/api/videos/{travel[0]}/views", json={"watch_ms": 20_000}, headers=headers
    )
    assert r.status_code == 204
    r = live_server.client.get("/api/me/diet", headers=headers)
    assert r.status_code == 200, r.text
    diet = r.json()
    topics = {t["tag"]: t for t in diet["topics"]}
    assert topics["cooking"]["shown"] == 3 and topics["cooking"]["engaged"] == 2
    assert topics["travel"]["shown"] == 3 and topics["travel"]["engaged"] == 1  # watched to the end
    assert diet["videos_shown"] == 6 and diet["videos_engaged"] == 3
    assert abs(sum(t["shown_share"] for t in diet["topics"]) - 1.0) < 1e-3
    other = live_server.register()
    empty = live_server.client.get("/api/me/diet", headers=live_server.auth(other)).json()
    assert empty == {"topics": [], "videos_shown": 0, "videos_engaged": 0}
    assert_problem(
        live_server.client.get("/api/me/diet", params={"limit": 0}, headers=headers), (400, 422)
    )
