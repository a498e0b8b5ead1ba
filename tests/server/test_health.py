"""Health check and the published OpenAPI document."""

from __future__ import annotations


def test_healthz(module_server):
    r = module_server.client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {
        "status": "ok",
        "db": "ok",
        "workers": "ok",
        "jobs": {"queued": 0, "running": 0, "failed": 0},
        "failing": [],
    }


def test_openapi_document_lists_the_contract(module_server):
    r = module_server.client.get("/schema/openapi.json")
    assert r.status_code == 200
    doc = r.json()
    paths = doc["paths"]
    for path in (
        "/api/auth/register",
        "/api/auth/login",
        "/api/me",
        "/api/users/{handle}",
        "/api/videos",
        "/api/videos/{video_id}",
        "/api/videos/{video_id}/media/{rendition}",
        "/api/videos/{video_id}/like",
        "/api/videos/{video_id}/comments",
        "/api/comments/{comment_id}",
        "/api/feed/for-you",
        "/api/feed/weights",
        "/api/search",
        "/api/events",
        "/healthz",
    ):
        assert path in paths, path
    assert "bearer" in doc["components"]["securitySchemes"]
