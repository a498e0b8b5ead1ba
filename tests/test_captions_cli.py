"""`shortstack upload --captions FILE --captions-lang L` and `shortstack captions VIDEO_ID`
against a live server: exact round trip, user text made inert, one-line errors."""

from __future__ import annotations

import json

from shortstack.cli import main
from shortstack.media.fixture_clips import write_test_video

SRT = "1\n00:00:00,100 --> 00:00:00,800\nHola <i>mundo</i>\n\n2\n00:00:00,800 --> 00:00:00,950\nadiós\n"


def _fails(argv: list[str]) -> bool:
    """The command exits non-zero (returned or raised)."""
    try:
        return main(argv) != 0
    except SystemExit as exc:
        return exc.code not in (0, None)


def test_upload_with_captions_then_print_them(live_server, tmp_path, capsys) -> None:
    url = live_server.url
    token = live_server.register("capcli")
    clip = write_test_video(tmp_path / "c.mp4", width=160, height=96, duration_s=1.0)
    captions = tmp_path / "c.srt"
    captions.write_text(SRT)
    args = ["--server", url, "--token", token]
    assert (
        main(
            ["upload", str(clip), "--captions", str(captions), "--captions-lang", "es", "--wait"]
            + ["--json", *args]
        )
        == 0
    )
    video = json.loads(capsys.readouterr().out)
    assert video["status"] == "ready"
    assert main(["captions", video["id"], "--server", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "# es (uploaded); languages: es",
        "00:00:00.100 --> 00:00:00.800  Hola mundo",
        "00:00:00.800 --> 00:00:00.950  adiós",
    ]
    assert main(["captions", video["id"], "--lang", "es", "--json", "--server", url]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "uploaded"
    assert [c["text"] for c in data["cues"]] == ["Hola mundo", "adiós"]
    # the stored WebVTT is the SRT converted
    vtt = live_server.client.get(f"/api/videos/{video['id']}/captions/es.vtt").text
    assert vtt.startswith("WEBVTT\n\n1\n00:00:00.100 --> 00:00:00.800\nHola <i>mundo</i>\n")

    # errors are one line: another language, a missing file, bad captions (the line named)
    assert _fails(["captions", video["id"], "--lang", "fr", "--server", url])
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "has: es" in err
    assert _fails(["upload", str(clip), "--captions", str(tmp_path / "none.vtt"), *args])
    assert "no such file" in capsys.readouterr().err
    captions.write_text("WEBVTT\n\n00:00:00.500 --> 00:00:00.200\nbackwards\n")
    clip2 = write_test_video(tmp_path / "c2.mp4", width=160, height=96, duration_s=1.2)
    assert _fails(["upload", str(clip2), "--captions", str(captions), *args])
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "captions line 3" in err, err


def test_caption_text_never_reaches_the_terminal_raw(live_server, capsys) -> None:
    """Text the server accepts but a terminal could misread (markup, tags) prints inert."""
    from mediakit import seed_video

    token = live_server.register("capmarkup")
    vid = seed_video(live_server, "capmarkup")
    vtt = "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n[bold red]not markup[/] <b>b</b> &lt;3\n"
    r = live_server.client.put(
        f"/api/videos/{vid}/captions/en",
        content=vtt,
        headers={**live_server.auth(token), "Content-Type": "text/vtt"},
    )
    assert r.status_code == 200
    assert main(["captions", vid, "--server", live_server.url]) == 0
    out = capsys.readouterr().out
    assert "[bold red]not markup[/] b <3" in out
    assert "\x1b" not in out
