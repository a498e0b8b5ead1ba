"""Captions over HTTP: upload (VTT, SRT), exact round trip, errors naming the line, languages,
visibility, delete, the upload field, and the HLS SUBTITLES group."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from serverkit import assert_problem, query, seed_video, wait_ready

VTT = (
    "WEBVTT - a test track\n"
    "\n"
    "NOTE written by hand\n"
    "\n"
    "intro\n"
    "00:00:00.500 --> 00:00:02.000 align:start\n"
    "Hello <i>there</i> &amp; welcome\n"
    "\n"
    "00:01.000 --> 00:00:04.250\n"
    "Overlapping, two lines\n"
    "— and ünïcödé 🎬\n"
)

SRT = (
    "1\r\n"
    "00:00:01,000 --> 00:00:02,500\r\n"
    '<font color="red">Red</font> & <b>bold</b>\r\n'
    "\r\n"
    "2\r\n"
    "00:00:03,000 --> 00:00:04,000\r\n"
    "Second < third\r\n"
)

SRT_AS_VTT = (
    "WEBVTT\n"
    "\n"
    "1\n"
    "00:00:01.000 --> 00:00:02.500\n"
    "Red &amp; <b>bold</b>\n"
    "\n"
    "2\n"
    "00:00:03.000 --> 00:00:04.000\n"
    "Second &lt; third\n"
)


def _put(live, token, video_id, lang, body, ctype="text/vtt"):
    data = body.encode() if isinstance(body, str) else body
    return live.client.put(
        f"/api/videos/{video_id}/captions/{lang}",
        content=data,
        headers={**live.auth(token), "Content-Type": ctype},
    )


def test_uploaded_webvtt_round_trips_exactly_and_is_listed(live_server, owner) -> None:
    _, token, vid = owner
    r = _put(live_server, token, vid, "en", VTT)
    assert r.status_code == 200, r.text
    assert r.json()["lang"] == "en" and r.json()["kind"] == "uploaded" and r.json()["cues"] == 2
    got = live_server.client.get(f"/api/videos/{vid}/captions/en.vtt")
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/vtt; charset=utf-8"  # one charset parameter
    assert got.content == VTT.encode()
    head = live_server.client.head(f"/api/videos/{vid}/captions/en.vtt")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(VTT.encode()))
    assert head.headers["content-type"] == "text/vtt; charset=utf-8"
    # a second language, case made canonical; SRT detected without a content type
    r = _put(live_server, token, vid, "PT-br", SRT, ctype="application/octet-stream")
    assert r.status_code == 200, r.text
    assert r.json()["lang"] == "pt-BR"
    assert live_server.client.get(f"/api/videos/{vid}/captions/pt-BR.vtt").text == SRT_AS_VTT
    listed = live_server.client.get(f"/api/videos/{vid}/captions").json()["items"]
    assert [(t["lang"], t["kind"], t["url"]) for t in listed] == [
        ("en", "uploaded", f"/api/videos/{vid}/captions/en.vtt"),
        ("pt-BR", "uploaded", f"/api/videos/{vid}/captions/pt-BR.vtt"),
    ]
    # replacing a language keeps one track
    assert _put(live_server, token, vid, "en", SRT, ctype="application/x-subrip").status_code == 200
    assert live_server.client.get(f"/api/videos/{vid}/captions/en.vtt").text == SRT_AS_VTT
    assert len(live_server.client.get(f"/api/videos/{vid}/captions").json()["items"]) == 2


def test_a_bom_is_dropped_and_crlf_becomes_lf(live_server, owner) -> None:
    _, token, vid = owner
    body = b"\xef\xbb\xbf" + VTT.replace("\n", "\r\n").encode()
    assert _put(live_server, token, vid, "en", body).status_code == 200
    assert live_server.client.get(f"/api/videos/{vid}/captions/en.vtt").content == VTT.encode()


BAD = [
    ("WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nhi\n", 3, "not a cue timing"),
    (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nok\n\n00:00:03.000 --> 00:00:02.000\nx\n",
        6,
        "ends before",
    ),
    ("WEBVTT\n\n00:00:01.000 --> 00:00:40.000\nlong\n", 3, "after the video"),
    (
        "WEBVTT\n\n00:00:05.000 --> 00:00:06.000\na\n\n00:00:01.000 --> 00:00:02.000\nb\n",
        6,
        "time order",
    ),
    ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nred \x1b[31m alert\n", 4, "control characters"),
    ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nbidi \u202e text\n", 4, "bidi"),
    (
        "1\n00:00:01,000 --> 00:00:02,000\nfine\n\nx\n00:00:03,000 --> 00:00:04,000\nno\n",
        5,
        "cue number",
    ),
    ("WEBVTT\n00:00:01.000 --> 00:00:02.000\nno blank\n", 2, "blank line"),
    (
        "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nmissing blank\n00:00:02.000 --> 00:00:03.000\n",
        5,
        "-->",
    ),
    ("not captions at all", 1, "cue number"),
]


@pytest.mark.parametrize(("body", "line", "words"), BAD)
def test_bad_caption_files_are_422_naming_the_line(live_server, owner, body, line, words) -> None:
    _, token, vid = owner
    problem = assert_problem(_put(live_server, token, vid, "en", body, ctype="text/plain"), 422)
    assert f"line {line}:" in problem["detail"], problem
    assert words in problem["detail"], problem
    assert live_server.client.get(f"/api/videos/{vid}/captions").json()["items"] == []


def test_encoding_size_count_and_language_limits(make_server) -> None:
    live = make_server(captions={"max_kb": 4, "max_cues": 3, "max_languages": 2})
    handle = "capsowner"
    token = live.register(handle)
    vid = seed_video(live, handle)
    latin1 = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\ncaf\xe9\n".encode("latin-1")
    assert (
        "line 4: not UTF-8" in assert_problem(_put(live, token, vid, "en", latin1), 422)["detail"]
    )
    big = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n" + "x" * 5000 + "\n"
    assert_problem(_put(live, token, vid, "en", big), 413)
    cues = "WEBVTT\n" + "".join(f"\n00:00:0{i}.000 --> 00:00:0{i}.500\n{i}\n" for i in range(5))
    assert "more than 3 cues" in assert_problem(_put(live, token, vid, "en", cues), 422)["detail"]
    assert assert_problem(_put(live, token, vid, "en", ""), 422)["detail"]
    assert "not a language tag" in assert_problem(_put(live, token, vid, "e_n", VTT), 422)["detail"]
    assert_problem(_put(live, token, vid, "english-language-x", VTT), 422)
    assert _put(live, token, vid, "en", VTT).status_code == 200
    assert _put(live, token, vid, "fr", VTT).status_code == 200
    assert "at most 2" in assert_problem(_put(live, token, vid, "de", VTT), 422)["detail"]


def test_only_the_owner_uploads_and_owner_or_admin_deletes(live_server, owner) -> None:
    _, token, vid = owner
    other = live_server.register("captionother")
    assert_problem(_put(live_server, other, vid, "en", VTT), 403)
    r = live_server.client.put(f"/api/videos/{vid}/captions/en", content=VTT.encode())
    assert_problem(r, 401)
    assert _put(live_server, token, vid, "en", VTT).status_code == 200
    url = f"/api/videos/{vid}/captions/en"
    assert_problem(live_server.client.delete(url, headers=live_server.auth(other)), 403)
    assert live_server.client.delete(url, headers=live_server.auth(token)).status_code == 204
    assert_problem(live_server.client.get(url + ".vtt"), 404)
    assert_problem(live_server.client.delete(url, headers=live_server.auth(token)), 404)
    assert_problem(live_server.client.get(f"/api/videos/{vid}/captions/en.srt"), 404)
    assert_problem(live_server.client.get("/api/videos/nosuchvideo1/captions"), 404)


def test_captions_follow_the_video_visibility(live_server) -> None:
    token = live_server.register("capsauthor")
    viewer = live_server.register("capsviewer")
    ready = seed_video(live_server, "capsauthor")
    processing = seed_video(live_server, "capsauthor", status="processing")
    for vid in (ready, processing):
        assert _put(live_server, token, vid, "en", VTT).status_code == 200
    c = live_server.client
    # a video someone may not see: its captions are 404 to them, as an unknown id
    assert_problem(c.get(f"/api/videos/{processing}/captions/en.vtt"), 404)
    assert_problem(c.get(f"/api/videos/{processing}/captions"), 404)
    assert (
        c.get(f"/api/videos/{processing}/captions/en.vtt", headers=live_server.auth(token)).text
        == VTT
    )
    assert (
        c.get(f"/api/videos/{ready}/captions/en.vtt", headers=live_server.auth(viewer)).text == VTT
    )
    assert c.put("/api/users/capsviewer/block", headers=live_server.auth(token)).status_code == 204
    assert_problem(
        c.get(f"/api/videos/{ready}/captions/en.vtt", headers=live_server.auth(viewer)), 404
    )
    assert_problem(c.get(f"/api/videos/{ready}/captions", headers=live_server.auth(viewer)), 404)


def test_deleting_the_video_leaves_no_captions(live_server, owner) -> None:
    _, token, vid = owner
    assert _put(live_server, token, vid, "en", VTT).status_code == 200
    assert query(live_server, "SELECT count(*) FROM captions")[0][0] == 1
    assert (
        live_server.client.delete(f"/api/videos/{vid}", headers=live_server.auth(token)).status_code
        == 204
    )
    assert query(live_server, "SELECT count(*) FROM captions")[0][0] == 0
    leftovers = [p for p in Path(live_server.server.data_dir).rglob("*") if "vtt" in p.name]
    assert leftovers == []


def test_upload_with_captions_and_the_hls_subtitles_group(live_server, clip) -> None:
    token = live_server.register("capsuploader")
    c = live_server.client
    vtt = "WEBVTT\n\n00:00:00.100 --> 00:00:00.900\nA one second clip\n"
    bad = "WEBVTT\n\n00:00:00.100 --> 00:00:09.000\ntoo long\n"
    with open(clip, "rb") as fh:
        r = c.post(
            "/api/videos",
            files={"file": ("c.mp4", fh, "video/mp4"), "captions": ("c.vtt", bad, "text/vtt")},
            headers=live_server.auth(token),
        )
    assert "captions line 3" in assert_problem(r, 422)["detail"]
    assert query(live_server, "SELECT count(*) FROM videos")[0][0] == 0
    with open(clip, "rb") as fh:
        r = c.post(
            "/api/videos",
            files={"file": ("c.mp4", fh, "video/mp4"), "captions": ("c.vtt", vtt, "text/vtt")},
            data={"caption": "with words", "captions_lang": "de"},
            headers=live_server.auth(token),
        )
    assert r.status_code == 202, r.text
    video = wait_ready(live_server, token, r.json()["id"])
    assert video["status"] == "ready", video
    vid = video["id"]
    assert c.get(f"/api/videos/{vid}/captions/de.vtt").text == vtt
    master = c.get(video["hls_url"]).text
    assert (
        '#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="subs",LANGUAGE="de",NAME="de",DEFAULT=YES' in master
    ), master
    streams = [line for line in master.splitlines() if line.startswith("#EXT-X-STREAM-INF")]
    assert streams and all(line.endswith(',SUBTITLES="subs"') for line in streams)
    # relative URIs resolve against the playlist's own URL, as a player does
    uri = master.split('URI="')[1].split('"')[0]
    playlist_url = httpx.URL(live_server.server.url + video["hls_url"]).join(uri)
    assert playlist_url.path == f"/api/videos/{vid}/captions/de.m3u8"
    playlist = c.get(str(playlist_url))
    assert playlist.status_code == 200
    assert playlist.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert "#EXT-X-ENDLIST" in playlist.text
    segment = [line for line in playlist.text.splitlines() if not line.startswith("#")][0]
    assert c.get(str(playlist_url.join(segment))).text == vtt
    # a second language joins the group; deleting both removes it
    assert _put(live_server, token, vid, "fr", vtt).status_code == 200
    master = c.get(video["hls_url"]).text
    assert master.count("TYPE=SUBTITLES") == 2
    for lang in ("de", "fr"):
        c.delete(f"/api/videos/{vid}/captions/{lang}", headers=live_server.auth(token))
    master = c.get(video["hls_url"]).text
    assert "SUBTITLES" not in master


def test_deleting_the_account_leaves_no_captions(live_server, clip) -> None:
    """A transcoded video with captions (HLS made, naming them), then the account goes."""
    c = live_server.client
    token = live_server.register("capsleaver")
    with open(clip, "rb") as fh:
        r = c.post(
            "/api/videos",
            files={
                "file": ("c.mp4", fh, "video/mp4"),
                "captions": ("c.srt", "1\n00:00:00,100 --> 00:00:00,900\nbye\n", "x"),
            },
            headers=live_server.auth(token),
        )
    assert r.status_code == 202, r.text
    vid = wait_ready(live_server, token, r.json()["id"])["id"]
    assert "TYPE=SUBTITLES" in c.get(f"/api/videos/{vid}/hls/master.m3u8").text
    assert query(live_server, "SELECT count(*) FROM captions")[0][0] == 1
    r = c.request(
        "DELETE", "/api/me", json={"password": "kettle-harbor-58"}, headers=live_server.auth(token)
    )
    assert r.status_code == 204, r.text
    assert query(live_server, "SELECT count(*) FROM captions")[0][0] == 0
    data = Path(live_server.server.data_dir)
    assert [p for p in data.rglob("*") if vid in str(p)] == []
    assert_problem(c.get(f"/api/videos/{vid}/captions/en.vtt"), 404)
