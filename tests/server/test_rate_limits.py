"""Rate limits: login attempts and the general API limit answer 429 with Retry-After."""

from __future__ import annotations

from serverkit import assert_problem


def test_fourth_login_attempt_is_429_with_retry_after(make_server):
    live = make_server(limits={"login_rate_per_minute": 3})
    c = live.client
    statuses = [
        c.post(
            "/api/auth/login", json={"handle": "nobody", "password": "kettle-harbor-58"}
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [401, 401, 401]
    r = c.post("/api/auth/login", json={"handle": "nobody", "password": "kettle-harbor-58"})
    assert_problem(r, 429)
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 60
    # register shares the login budget; other endpoints are not affected
    assert_problem(
        c.post("/api/auth/register", json={"handle": "newone", "password": "kettle-harbor-58"}), 429
    )
    assert c.get("/healthz").status_code == 200
    assert c.get("/api/feed/trending").status_code == 200


def test_api_rate_limit_is_429_with_retry_after(make_server):
    live = make_server(limits={"api_rate_per_minute": 5})
    c = live.client
    codes = [c.get("/api/feed/trending").status_code for _ in range(5)]
    assert codes == [200] * 5
    r = c.get("/api/feed/trending")
    assert_problem(r, 429)
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # a successful response does not carry Retry-After
    assert c.get("/healthz").status_code == 200
    assert "Retry-After" not in c.get("/healthz").headers


def test_api_rate_limit_headers_count_down_per_window(make_server):
    # the limiter keeps a count per window (server/rate_limit.py), not a list of times
    live = make_server(limits={"api_rate_per_minute": 4})
    c = live.client
    remaining = [int(c.get("/api/feed/trending").headers["RateLimit-Remaining"]) for _ in range(4)]
    assert remaining == [3, 2, 1, 0]
    r = c.get("/api/feed/trending")
    assert_problem(r, 429)
    assert r.headers["RateLimit-Limit"] == "4"
