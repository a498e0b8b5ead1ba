"""Issue 14 item 12: display names are NFC and refuse control/format characters and blank-looking
names (impersonation); bios, captions and comments refuse control characters other than newline
and tab, and bidi overrides. Each refusal is a 422 naming the field and the rule."""

from __future__ import annotations

import pytest
from serverkit import assert_problem, query, seed_video

STRONG = "kettle-harbor-58"

HOSTILE_NAMES = [
    ("nul\x00byte", "control"),
    ("\x1b[31mred\x1b[0m", "control"),
    ("\x1b]0;pwned\x07", "control"),
    ("two\nlines", "control"),
    ("admin\u202etxt.exe", "control"),  # right-to-left override
    ("a\u2066b\u2069", "control"),  # bidi isolate
    ("zero\u200bwidth", "control"),
    ("   ", "visible"),
    ("\u200b\u200b", "control"),
    ("\u3164", "visible"),  # Hangul filler: looks blank
    ("\u2800\u2800", "visible"),  # braille blank
    ("\u0301\u0301", "visible"),  # combining marks only
    ("no\u00a0break", "plain space"),
    ("line\u2028sep", "control"),
]


@pytest.mark.parametrize(("name", "rule"), HOSTILE_NAMES)
def test_hostile_display_names_are_refused_at_register_and_update(live_server, name, rule):
    c = live_server.client
    r = c.post(
        "/api/auth/register",
        json={"handle": "mallory", "password": STRONG, "display_name": name},
    )
    body = assert_problem(r, 422)
    assert "display_name" in body["detail"] and rule in body["detail"], body
    token = live_server.register("honest", STRONG)
    r = c.patch("/api/me", json={"display_name": name}, headers=live_server.auth(token))
    body = assert_problem(r, 422)
    assert "display_name" in body["detail"] and rule in body["detail"], body
    assert [row[0] for row in query(live_server, "SELECT display_name FROM users")] == ["honest"]


def test_names_are_nfc_and_emoji_sequences_stay(live_server):
    c = live_server.client
    r = c.post(
        "/api/auth/register",
        json={"handle": "jose", "password": STRONG, "display_name": "  Jose\u0301 🧑\u200d💻 "},
    )
    assert r.status_code == 201, r.text
    assert r.json()["user"]["display_name"] == "José 🧑\u200d💻"
    assert c.get("/api/users/jose").json()["display_name"] == "Jos\u00e9 🧑\u200d💻"


def test_bio_captions_and_comments_refuse_control_characters(live_server, clip):
    c = live_server.client
    token = live_server.register("writer", STRONG)
    h = live_server.auth(token)
    ok = c.patch("/api/me", json={"bio": "line one\nline two\twith a tab"}, headers=h)
    assert ok.status_code == 200 and ok.json()["bio"] == "line one\nline two\twith a tab"
    for bio in ("\x1b[2J", "bell\x07", "back\x08space", "csi\x9b31m", "evil\u202efdp.exe"):
        body = assert_problem(c.patch("/api/me", json={"bio": bio}, headers=h), 422)
        assert "bio" in body["detail"] and "control" in body["detail"], body

    video_id = seed_video(live_server, "writer")
    for text in ("\x1b]52;c;ZXZpbA==\x07", "erase\x1b[2K", "nul\x00"):
        r = c.post(f"/api/videos/{video_id}/comments", json={"body": text}, headers=h)
        body = assert_problem(r, 422)
        assert "body" in body["detail"] and "control" in body["detail"], body
    r = c.post(f"/api/videos/{video_id}/comments", json={"body": "fine\nreply"}, headers=h)
    assert r.status_code == 201, r.text

    with clip.open("rb") as f:
        r = c.post(
            "/api/videos",
            files={"file": ("clip.mp4", f, "video/mp4")},
            data={"caption": "title\x1b]0;pwned\x07 #fun"},
            headers=h,
        )
    body = assert_problem(r, 422)
    assert "caption" in body["detail"], body
    assert query(live_server, "SELECT COUNT(*) FROM videos")[0][0] == 1  # only the seeded one
