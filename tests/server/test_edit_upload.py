"""Uploads with an edit recipe: validated (422), stored, shown, applied by the transcode job; previews."""

from __future__ import annotations

import json
from pathlib import Path

import av
import pytest
from serverkit import assert_problem, query, wait_ready

from shortstack.media.fixture_clips import write_test_video
from shortstack.media.looks import LOOKS


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2 s, 240x320 portrait clip (unique content for this module)."""
    return write_test_video(
        tmp_path_factory.mktemp("edit") / "edit.mp4", width=240, height=320, duration_s=2.0, fps=20
    )


def _post(live, token: str, path: Path, edit: dict | str | None, url: str = "/api/videos"):
    data = {"caption": "edited #clip"}
    if edit is not None:
        data["edit"] = edit if isinstance(edit, str) else json.dumps(edit)
    with path.open("rb") as fh:
        return live.client.post(
            url, data=data, files={"file": (path.name, fh, "video/mp4")}, headers=live.auth(token)
        )


def test_edited_upload_is_stored_shown_and_applied(live_server, long_clip: Path) -> None:
    token = live_server.register()
    edit = {"trim": "0.5-1.5", "crop": "1:1", "filter": "mono", "speed": 2, "text": "hello"}
    r = _post(live_server, token, long_clip, edit)
    assert r.status_code == 202, r.text
    video = r.json()
    canonical = {
        "trim": {"start": 0.5, "end": 1.5},
        "crop": "1:1",
        "look": "mono",
        "speed": 2.0,
        "text": {"text": "hello", "position": "bottom", "size": "medium"},
    }
    assert video["edit"] == canonical
    assert (video["width"], video["height"], video["duration_s"]) == (240, 240, 0.5)
    (row,) = query(live_server, "SELECT edit FROM videos WHERE id = ?", (video["id"],))
    assert json.loads(row["edit"]) == canonical
    (job,) = query(live_server, "SELECT payload FROM jobs WHERE video_id = ?", (video["id"],))
    assert json.loads(job["payload"])["edit"] == canonical

    ready = wait_ready(live_server, token, video["id"])
    assert ready["status"] == "ready", ready
    assert ready["edit"] == canonical
    assert (ready["width"], ready["height"]) == (240, 240)
    assert abs(ready["duration_s"] - 0.5) <= 0.06
    (rendition,) = ready["renditions"]
    media = live_server.client.get(rendition["url"], headers=live_server.auth(token))
    assert media.status_code == 200
    out = long_clip.parent / "edited-result.mp4"
    out.write_bytes(media.content)
    with av.open(str(out)) as c:
        assert abs(c.duration / 1e6 - 0.5) <= 0.08
        frame = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert frame.shape == (240, 240, 3)
    assert (frame.max(axis=2).astype(int) - frame.min(axis=2)).mean() < 3  # mono
    listed = live_server.client.get(f"/api/videos/{video['id']}").json()
    assert listed["edit"] == canonical


def test_unedited_upload_has_no_recipe(live_server, clip: Path) -> None:
    token = live_server.register()
    r = _post(live_server, token, clip, None)
    assert r.status_code == 202, r.text
    assert r.json()["edit"] is None


@pytest.mark.parametrize(
    ("edit", "detail"),
    [
        ({"filter": "sepia"}, "known looks: mono, warm, vivid, vintage, sharpen"),
        ({"trim": [0.5, 9.0]}, "past the end"),
        ({"trim": [3.0, 4.0]}, "past the end"),
        ({"speed": 9}, "speed must be between"),
        ("{not json", "not JSON"),
        ({"crop": "4:3"}, "known crops"),
    ],
)
def test_bad_recipes_are_422_with_the_reason(live_server, clip: Path, edit, detail: str) -> None:
    token = live_server.register()
    body = assert_problem(_post(live_server, token, clip, edit), 422)
    assert detail in body["detail"]
    assert query(live_server, "SELECT COUNT(*) AS n FROM videos")[0]["n"] == 0


def test_preview_endpoint_returns_an_edited_jpeg(live_server, long_clip: Path) -> None:
    token = live_server.register()
    r = _post(
        live_server, token, long_clip, {"crop": "1:1", "look": "mono"}, url="/api/edit/preview"
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/jpeg") and r.content[:2] == b"\xff\xd8"
    jpeg = long_clip.parent / "preview.jpg"
    jpeg.write_bytes(r.content)
    with av.open(str(jpeg)) as c:
        rgb = next(c.decode(video=0)).to_ndarray(format="rgb24")
    assert rgb.shape == (240, 240, 3)
    assert (rgb.max(axis=2).astype(int) - rgb.min(axis=2)).mean() < 3
    body = assert_problem(
        _post(live_server, token, long_clip, {"look": "nope"}, url="/api/edit/preview"), 422
    )
    assert "known looks" in body["detail"]


def test_cli_upload_with_edit_flags_and_stitch(
    live_server, long_clip: Path, clip: Path, monkeypatch, capsys
) -> None:
    from shortstack.cli import main

    monkeypatch.setenv("SHORTSTACK_SERVER", live_server.url)
    monkeypatch.setenv("SHORTSTACK_TOKEN", live_server.register())
    argv = ["upload", str(long_clip), "--caption", "cli #edit", "--wait", "--json"]
    argv += ["--trim", "0.5-2.1", "--filter", "vintage", "--speed", "1.6", "--text", "hello"]
    argv += ["--mute", "--stitch", str(clip), "--crossfade", "0.4"]
    assert main(argv) == 0
    video = json.loads(capsys.readouterr().out)
    assert video["status"] == "ready", video
    assert video["edit"] == {
        "trim": {"start": 0.5, "end": 2.1},
        "look": "vintage",
        "speed": 1.6,
        "text": {"text": "hello", "position": "bottom", "size": "medium"},
        "audio": "mute",
    }
    # 2 s + 1 s - 0.4 s crossfade = 2.6 s stitched; 0.5..2.1 at 1.6x = 1.0 s
    assert abs(video["duration_s"] - 1.0) <= 0.06
    assert main(["upload", str(long_clip), "--filter", "sepia"]) == 2
    assert "known looks: " + ", ".join(LOOKS) in capsys.readouterr().err


async def test_server_cli_and_client_list_the_registrys_looks(live_server) -> None:
    import asyncio
    import os
    import subprocess
    import sys

    from shortstack.tui.api import ApiClient

    registry = [{"name": name, "description": look.description} for name, look in LOOKS.items()]
    # the server, over HTTP (no login needed)
    options = live_server.client.get("/api/edit/options").json()
    assert options["looks"] == registry
    # ... and in the preview endpoint's documentation
    schema = live_server.client.get("/schema/openapi.json").json()
    described = schema["paths"]["/api/edit/preview"]["post"]["description"]
    assert all(f"{look['name']} ({look['description']})" in described for look in registry)
    # the CLI's `upload --filter` help
    shown = subprocess.run(
        [sys.executable, "-m", "shortstack", "upload", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "200"},
    ).stdout
    upload_help = " ".join(shown.split())
    assert all(f"{look['name']} ({look['description']})" in upload_help for look in registry)
    # the terminal client's API module
    api = ApiClient(live_server.url)
    try:
        fetched = await asyncio.wait_for(api.edit_options(), 10)
    finally:
        await api.aclose()
    assert fetched["looks"] == registry
