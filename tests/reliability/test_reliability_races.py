"""Races: the same write sent many times at once still leaves one row and a counter that agrees."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from reliakit import connect, counter_mismatches, leftovers, make_clip, seed_video, wait_status


async def _many(url: str, n: int, method: str, path: str, **kwargs) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        answers = await asyncio.gather(
            *(client.request(method, path, **kwargs) for _ in range(n)), return_exceptions=True
        )
    return [a.status_code if isinstance(a, httpx.Response) else -1 for a in answers]


def test_concurrent_duplicates(live_server, tmp_path: Path) -> None:
    live = live_server
    codes = asyncio.run(
        _many(
            live.url,
            12,
            "POST",
            "/api/auth/register",
            json={"handle": "twin", "password": "kettle-harbor-58"},
        )
    )
    assert sorted(codes) == [201] + [409] * 11, codes

    owner = live.register("racer_owner")
    fan = live.register("racer_fan")
    video = seed_video(live.db_path, "racer_owner", "raced")
    h = live.auth(fan)
    codes = asyncio.run(_many(live.url, 30, "PUT", f"/api/videos/{video}/like", headers=h))
    assert set(codes) == {200}, codes
    assert live.client.get(f"/api/videos/{video}").json()["counts"]["likes"] == 1
    codes = asyncio.run(_many(live.url, 30, "PUT", "/api/users/racer_owner/follow", headers=h))
    assert set(codes) == {204}, codes
    assert live.client.get("/api/users/racer_owner").json()["followers"] == 1
    codes = asyncio.run(_many(live.url, 30, "DELETE", f"/api/videos/{video}/like", headers=h))
    assert set(codes) == {200}, codes
    codes = asyncio.run(
        _many(
            live.url, 20, "POST", f"/api/videos/{video}/views", json={"watch_ms": 15000}, headers=h
        )
    )
    assert set(codes) == {204}, codes
    counts = live.client.get(f"/api/videos/{video}").json()["counts"]
    assert (counts["likes"], counts["views"]) == (0, 1)
    assert counter_mismatches(live.db_path) == []

    clip = make_clip(tmp_path / "same.mp4").read_bytes()
    codes = asyncio.run(
        _many(
            live.url,
            4,
            "POST",
            "/api/videos",
            files={"file": ("same.mp4", clip, "video/mp4")},
            headers=live.auth(owner),
        )
    )
    assert sorted(codes) == [202, 409, 409, 409], codes
    # the accepted upload's transcode writes hidden partial files until it is done: wait
    conn = connect(live.data_dir / "shortstack.db")
    try:
        (accepted,) = conn.execute(
            "SELECT id FROM videos ORDER BY created_at DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    wait_status(live.url, accepted, headers=live.auth(owner))
    assert leftovers(live.data_dir) == {"tmp": [], "orphans": [], "partials": []}
