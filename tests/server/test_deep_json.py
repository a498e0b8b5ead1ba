"""Hostile JSON: bodies nested thousands deep, sent to every JSON operation of the OpenAPI
document with and without a token, are a 400 problem, never a 500 or a logged traceback."""

from __future__ import annotations

import re

import pytest
from serverkit import assert_problem

from shortstack.server.maintenance import make_admin

DEEP_BODIES = {
    "arrays": b"[" * 1000,
    "objects": b'{"a":' * 12000,
    "closed arrays": b"[" * 5000 + b"]" * 5000,
}


def _json_operations(live) -> list[tuple[str, str]]:
    """(method, path) of every operation whose request body is JSON, ids filled in."""
    doc = live.client.get("/schema/openapi.json").json()
    found = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            content = (op.get("requestBody") or {}).get("content", {})
            if any("json" in media for media in content):
                found.append((method.upper(), re.sub(r"\{[^}]+\}", "x1", path)))
    return found


def test_every_json_operation_refuses_deep_nesting_with_400(live_server):
    live = live_server
    token = live.register("deepjson")
    operations = _json_operations(live)
    # the contract's JSON bodies, at least: auth, feed weights, views, comments, lab
    assert len(operations) >= 6, operations
    assert ("POST", "/api/auth/register") in operations
    admin = live.register("deepadmin")
    assert make_admin(live.data_dir, "deepadmin")
    for method, path in operations:
        # admin operations turn everyone else away before reading a body: 401, never a 500
        guarded = path.startswith("/api/admin/")
        for headers, who in (({}, "anon"), (live.auth(token), "user"), (live.auth(admin), "admin")):
            for name, body in DEEP_BODIES.items():
                r = live.client.request(
                    method,
                    path,
                    content=body,
                    headers={**headers, "content-type": "application/json"},
                )
                problem = assert_problem(r, 400 if who == "admin" or not guarded else (401, 403))
                assert problem["type"], (method, path, name)
                assert "Traceback" not in r.text
    log = (live.data_dir / "server.log").read_text()
    assert "Traceback" not in log and "RecursionError" not in log, log[-2000:]


@pytest.mark.parametrize("depth", [10, 200, 900, 990])
def test_nesting_just_under_the_decoder_limit_is_a_client_error(live_server, depth):
    """Nesting the decoder still accepts must not fail further on (schema checks, handlers)."""
    live = live_server
    token = live.register(f"nest{depth}")
    for method, path in _json_operations(live):
        r = live.client.request(
            method,
            path,
            content=b"[" * depth + b"]" * depth,
            headers={**live.auth(token), "content-type": "application/json"},
        )
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text[:300])
    assert "Traceback" not in (live.data_dir / "server.log").read_text()


def test_a_deeply_nested_edit_recipe_is_422(live_server, clip):
    """The upload's `edit` form field is JSON too (a bad one is a 422 naming the field)."""
    live = live_server
    token = live.register("deepedit")
    for edit in ("[" * 5000, '{"a":' * 3000):
        with open(clip, "rb") as fh:
            r = live.client.post(
                "/api/videos",
                files={"file": ("clip.mp4", fh, "video/mp4")},
                data={"caption": "deep", "edit": edit},
                headers=live.auth(token),
            )
        assert "nested too deeply" in assert_problem(r, 422)["detail"]
    assert list((live.data_dir / "tmp").iterdir()) == []
