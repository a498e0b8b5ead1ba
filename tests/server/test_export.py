"""Export my data: a job (202), its progress, a zip downloadable once by its owner. Real HTTP."""

from __future__ import annotations

import io
import json
import time
import zipfile

import pytest
from mediakit import upload_and_wait
from serverkit import assert_problem, seed_video


@pytest.fixture(scope="module")
def live_server(module_server):
    return module_server


def _wait(live, token: str, export_id: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        job = live.client.get(f"/api/me/export/{export_id}", headers=live.auth(token)).json()
        if job["status"] != "running":
            return job
        assert 0 <= job["progress"] <= 1
        assert time.monotonic() < deadline, job
        time.sleep(0.05)


def test_export_zip_once_and_only_mine(live_server, clip):
    s, c, auth = live_server, live_server.client, live_server.auth
    me, other = s.register("exporter"), s.register("exportfan")
    uploaded = upload_and_wait(s.url, me, clip, "exported #mine")["id"]
    seeded = seed_video(s, "exporter", "seeded #mine")
    theirs = seed_video(s, "exportfan", "theirs")
    assert c.put(f"/api/videos/{theirs}/like", headers=auth(me)).status_code == 200
    assert (
        c.post(f"/api/videos/{theirs}/views", json={"watch_ms": 4000}, headers=auth(me)).status_code
        == 204
    )
    c.post(f"/api/videos/{theirs}/comments", json={"body": "my comment"}, headers=auth(me))
    assert c.put("/api/users/exportfan/follow", headers=auth(me)).status_code == 204
    assert c.put("/api/users/exporter/follow", headers=auth(other)).status_code == 204
    vtt = "WEBVTT\n\n00:00:00.000 --> 00:00:00.500\nmy own words\n"
    for vid, lang, token in ((seeded, "pt-BR", me), (theirs, "en", other)):
        r = c.put(
            f"/api/videos/{vid}/captions/{lang}",
            content=vtt.encode(),
            headers={**auth(token), "Content-Type": "text/vtt"},
        )
        assert r.status_code == 200, r.text

    assert_problem(c.post("/api/me/export"), 401)
    r = c.post("/api/me/export", headers=auth(me))
    assert r.status_code == 202, r.text
    export_id = r.json()["id"]
    job = _wait(s, me, export_id)
    assert job["status"] == "ready" and job["progress"] == 1 and job["bytes"] > 0, job
    assert job["download_url"] == f"/api/me/export/{export_id}/download"
    # somebody else's export is not there for them
    assert_problem(c.get(f"/api/me/export/{export_id}", headers=auth(other)), 404)
    assert_problem(c.get(f"/api/me/export/{export_id}/download", headers=auth(other)), 404)
    assert_problem(c.get("/api/me/export/nosuchexport1", headers=auth(me)), 404)

    r = c.get(job["download_url"], headers=auth(me))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/zip")
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    assert zf.testzip() is None
    names = set(zf.namelist())
    data = {}
    for category in ("profile", "videos", "comments", "likes", "follows", "watch_history"):
        assert f"{category}.json" in names
        data[category] = json.loads(zf.read(f"{category}.json"))
    assert data["profile"]["handle"] == "exporter"
    assert {v["id"] for v in data["videos"]} == {uploaded, seeded}
    for video in data["videos"]:
        assert video["file"] in names and zf.getinfo(video["file"]).file_size > 0
    # my videos' caption tracks, as WebVTT files beside them (not theirs)
    tracks = {v["id"]: v["captions"] for v in data["videos"]}
    assert tracks[uploaded] == []
    assert [(t["lang"], t["kind"], t["cues"]) for t in tracks[seeded]] == [("pt-BR", "uploaded", 1)]
    assert zf.read(tracks[seeded][0]["file"]).decode() == vtt
    assert [n for n in names if n.endswith(".vtt")] == [tracks[seeded][0]["file"]]
    assert [x["body"] for x in data["comments"]] == ["my comment"]
    assert [x["video_id"] for x in data["likes"]] == [theirs]
    assert {(f["handle"], f["direction"]) for f in data["follows"]} == {
        ("exportfan", "following"),
        ("exportfan", "follower"),
    }
    assert [(h["video_id"], h["watch_ms"]) for h in data["watch_history"]] == [(theirs, 4000)]
    assert "password_hash" not in json.dumps(data)

    # once only: then gone, and so is the file
    assert_problem(c.get(job["download_url"], headers=auth(me)), 410)
    assert c.get(f"/api/me/export/{export_id}", headers=auth(me)).json()["status"] == "downloaded"
    deadline = time.monotonic() + 5
    while list((s.data_dir / "exports").iterdir()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list((s.data_dir / "exports").iterdir()) == []


def test_export_expires(live_server):
    s, c, auth = live_server, live_server.client, live_server.auth
    me = s.register("expirer")
    export_id = c.post("/api/me/export", headers=auth(me)).json()["id"]
    job = _wait(s, me, export_id)
    assert job["status"] == "ready" and job["expires_at"]
    s.server.app.state.exports.jobs[export_id].expires_at = time.time() - 1  # a day later
    assert c.get(f"/api/me/export/{export_id}", headers=auth(me)).json()["status"] == "expired"
    assert_problem(c.get(f"/api/me/export/{export_id}/download", headers=auth(me)), 410)
    assert not (s.data_dir / "exports" / f"{export_id}.zip").exists()
