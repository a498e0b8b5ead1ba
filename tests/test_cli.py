"""The `shortstack` command: help everywhere, one-line errors, backup, doctor, admin and the
scriptable client commands against a live server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shortstack.cli import build_parser, main
from shortstack.media.fixture_clips import write_test_video

SHORTSTACK = shutil.which("shortstack")


def _subcommands() -> list[list[str]]:
    parser = build_parser()
    commands: list[list[str]] = []
    for action in parser._subparsers._group_actions:  # argparse keeps subparsers here
        for name, sub in action.choices.items():
            commands.append([name])
            if sub._subparsers is not None:
                for inner in sub._subparsers._group_actions:
                    commands += [[name, inner_name] for inner_name in inner.choices]
    return commands


def test_console_script_help_and_version():
    assert SHORTSTACK, "the shortstack console script is not installed"
    r = subprocess.run([SHORTSTACK, "--help"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    for name in ("serve", "demo", "tui", "upload", "feed", "like", "comment", "backup", "doctor"):
        assert name in r.stdout
    r = subprocess.run(
        [sys.executable, "-m", "shortstack", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0
    assert r.stdout.startswith("shortstack ")


def test_every_subcommand_has_help(capsys):
    commands = _subcommands()
    assert {"serve", "demo", "tui", "login", "upload", "feed", "like", "comment"} <= {
        c[0] for c in commands
    }
    assert ["admin", "add"] in commands
    for command in commands:
        with pytest.raises(SystemExit) as exc:
            main([*command, "--help"])
        assert exc.value.code == 0, command
        out = capsys.readouterr().out
        assert out.startswith("usage: shortstack " + " ".join(command)), command


def _one_line_error(capsys, argv: list[str], *, mentions: str = "") -> str:
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, (argv, code, err)
    assert err and "\n" not in err, (argv, err)
    assert err.startswith(f"shortstack {argv[0]}: error:"), err
    assert mentions in err, (mentions, err)
    assert "Traceback" not in err
    return err


def test_bad_input_is_exit_2_with_one_line(capsys, tmp_path):
    empty = tmp_path / "nothing-here"
    _one_line_error(capsys, ["upload", str(tmp_path / "missing.mp4")], mentions="missing.mp4")
    _one_line_error(capsys, ["backup", str(tmp_path / "b.db"), "--data", str(empty)])
    _one_line_error(capsys, ["doctor", "--data", str(empty)])
    _one_line_error(capsys, ["admin", "add", "someone", "--data", str(empty)])
    _one_line_error(capsys, ["import", str(tmp_path / "no-folder")], mentions="not a folder")
    _one_line_error(
        capsys,
        ["serve", "--config", str(Path(__file__).parent / "data" / "bad_unknown_key.toml")],
        mentions="prot",
    )
    _one_line_error(
        capsys, ["serve", "--config", str(tmp_path / "nope.toml")], mentions="nope.toml"
    )
    _one_line_error(capsys, ["eval", "--dataset", str(tmp_path / "none.txt")])
    binary = write_test_video(tmp_path / "v.mp4", width=32, height=32, duration_s=0.2)
    _one_line_error(capsys, ["eval", "--dataset", str(binary)], mentions="not a text file")
    # serve: a data folder that cannot be made, a port another server holds (both used to
    # start the app first and end in a traceback or uvicorn's bind error)
    (tmp_path / "a-file").write_text("")
    _one_line_error(capsys, ["serve", "--data", str(tmp_path / "a-file")], mentions="a-file")
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        _one_line_error(
            capsys,
            ["serve", "--port", str(port), "--data", str(tmp_path / "d")],
            mentions=f"127.0.0.1:{port}: the port is in use",
        )
    # a client command with no server to talk to
    _one_line_error(capsys, ["like", "abc123", "--server", "http://127.0.0.1:9", "--token", "t"])
    # not logged in
    _one_line_error(capsys, ["like", "abc123", "--server", "http://127.0.0.1:9"], mentions="log")
    clip = write_test_video(tmp_path / "c.mp4", width=32, height=32, duration_s=0.2, audio=False)
    _one_line_error(capsys, ["upload", str(clip), "--crossfade", "1"], mentions="--stitch")
    # a server that is not a URL says so (not "cannot reach ... missing protocol")
    _one_line_error(
        capsys, ["feed", "--server", "not-a-url"], mentions="must be an http:// or https:// URL"
    )


def _own_home(tmp_path: Path) -> dict[str, str]:
    """The environment for a console-script run that saves nothing into the real home."""
    return {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}


def test_a_password_with_no_terminal_to_ask_on_is_a_clear_error(tmp_path):
    """A script without a terminal (and without --password-stdin) got getpass's EOFError
    traceback."""
    env = _own_home(tmp_path)
    for argv in (["login", "bob"], ["password"], ["account", "delete", "--yes"]):
        r = subprocess.run(
            [SHORTSTACK, *argv, "--server", "http://127.0.0.1:9"],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            start_new_session=True,  # no controlling terminal: getpass cannot open /dev/tty
        )
        assert r.returncode == 2, (argv, r.stderr)
        assert "Traceback" not in r.stderr and "--password-stdin" in r.stderr, r.stderr
    r = subprocess.run(
        [SHORTSTACK, "account", "delete", "--server", "http://127.0.0.1:9"],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert r.returncode == 2 and "Traceback" not in r.stderr and "--yes" in r.stderr, r.stderr


def test_the_terminal_client_without_a_terminal_says_so(tmp_path):
    """Run from a script it drew escape codes into the pipe and waited for keys forever."""
    env = _own_home(tmp_path)
    for argv, hint in ((["tui"], "feed --json"), (["demo", "--data", str(tmp_path)], "--no-tui")):
        r = subprocess.run(
            [SHORTSTACK, *argv], stdin=subprocess.DEVNULL, capture_output=True, text=True,
            timeout=60, env=env,
        )  # fmt: skip
        assert r.returncode == 2, (argv, r.stderr[-500:])
        assert "needs a terminal" in r.stderr and hint in r.stderr and "\x1b[" not in r.stderr


def test_argparse_errors_exit_2(capsys):
    for argv in (["feed", "--limit", "99"], ["like"], ["no-such-command"], ["admin"],
                 ["serve", "--port", "99999"]):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith("shortstack") and "error:" in err[-1]
        if argv[:2] == ["feed", "--limit"]:  # the range, not fifty choices listed one by one
            assert err[-1].endswith("a whole number from 1 to 50, not '99'"), err[-1]


def test_client_commands_against_live_server(live_server, tmp_path, capsys):
    url = live_server.url
    clip = write_test_video(tmp_path / "cli.mp4", width=160, height=96, duration_s=1.0)

    # login --register --password-stdin (real console script, password on stdin)
    r = subprocess.run(
        [SHORTSTACK, "login", "cli_user", "--register", "--password-stdin", "--server", url],
        input="a good password\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "cli_user" in r.stdout
    login = live_server.client.post(
        "/api/auth/login", json={"handle": "cli_user", "password": "a good password"}
    )
    assert login.status_code == 200  # the password went through stdin intact

    # the saved token is used by the next commands
    assert (
        main(
            [
                "upload",
                str(clip),
                "--caption",
                "from the cli #terminal",
                "--wait",
                "--json",
                "--server",
                url,
            ]
        )
        == 0
    )
    video = json.loads(capsys.readouterr().out)
    assert video["status"] == "ready"
    assert video["hashtags"] == ["terminal"]
    assert video["author"]["handle"] == "cli_user"

    assert main(["like", video["id"], "--server", url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"liked": True, "likes": 1}
    assert main(["like", video["id"], "--undo", "--server", url]) == 0
    assert "0 likes" in capsys.readouterr().out

    assert main(["comment", video["id"], "nice one", "--server", url, "--json"]) == 0
    comment = json.loads(capsys.readouterr().out)
    assert comment["body"] == "nice one"
    assert (
        main(["comment", video["id"], "a reply", "--reply-to", comment["id"], "--server", url]) == 0
    )
    assert "posted" in capsys.readouterr().out
    listed = live_server.client.get(f"/api/videos/{video['id']}/comments").json()["items"]
    assert listed[0]["reply_count"] == 1

    deadline = time.monotonic() + 15
    while True:  # the feed engine picks up new videos in the background
        assert main(["feed", "--json", "--server", url, "--kind", "trending"]) == 0
        page = json.loads(capsys.readouterr().out)
        if page["items"]:
            break
        assert time.monotonic() < deadline, page
        time.sleep(0.3)
    assert [i["video"]["id"] for i in page["items"]] == [video["id"]]
    assert main(["feed", "--json", "--server", url]) == 0
    page = json.loads(capsys.readouterr().out)
    assert set(page) == {"items", "next_cursor"}

    # errors from the server are one line too
    _one_line_error(capsys, ["like", "nosuchvideo1", "--server", url], mentions="404")
    _one_line_error(capsys, ["upload", str(clip), "--server", url], mentions="409")


def _seed_ready_video(db_path: Path, handle: str, caption: str) -> str:
    video_id = f"Cli{abs(hash((handle, caption))) % 10**8:08d}"
    conn = sqlite3.connect(str(db_path), isolation_level=None, timeout=30)
    try:
        conn.execute(
            "INSERT INTO videos (id, author_id, caption, status, progress, duration_s, width, height,"
            " created_at) SELECT ?, id, ?, 'ready', 1, 10, 320, 240, ? FROM users WHERE handle = ?",
            (video_id, caption, time.time(), handle),
        )
        conn.execute(
            "INSERT INTO renditions VALUES (?, '240p', 320, 240, 1000)",
            (video_id,),
        )
    finally:
        conn.close()
    return video_id


TABLES = ("users", "videos", "likes", "comments", "events", "tokens", "renditions")


def _table_counts(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(str(db_path))
    try:
        return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}
    finally:
        conn.close()


def _check_consistent(db_path: Path) -> None:
    conn = sqlite3.connect(str(db_path))
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        drift = conn.execute(
            "SELECT COUNT(*) FROM videos v"
            " WHERE v.likes != (SELECT COUNT(*) FROM likes l WHERE l.video_id = v.id)"
            " OR v.comments != (SELECT COUNT(*) FROM comments c WHERE c.video_id = v.id)"
        ).fetchone()[0]
        assert drift == 0
    finally:
        conn.close()


def test_import_a_folder_says_what_failed_and_why(live_server, tmp_path, capsys):
    """Videos are uploaded, copies skipped, and each failure is named with its reason (the
    text output gave only a count: which file and why were in --json alone)."""
    token = live_server.register("importer")
    folder = tmp_path / "phone"
    (folder / "trip").mkdir(parents=True)
    write_test_video(folder / "a.mp4", width=64, height=112, duration_s=0.5)
    shutil.copy(folder / "a.mp4", folder / "trip" / "a-copy.mov")  # the same bytes
    (folder / "broken.mp4").write_bytes(b"not a video at all")
    (folder / "notes.txt").write_text("not a video, not even tried")
    argv = ["import", str(folder), "--server", live_server.url, "--token", token]
    assert main(argv) == 1  # something failed
    out = capsys.readouterr().out
    assert "imported 1, skipped 1 duplicate, 1 failed" in out, out
    assert "broken.mp4: 422" in out and "not a video we can read" in out, out
    mine = live_server.client.get(
        "/api/users/importer/videos", headers=live_server.auth(token)
    ).json()["items"]
    assert len(mine) == 1  # the owner sees it while it is still processing


def test_backup_while_server_writes(live_server, tmp_path, capsys):
    c, auth = live_server.client, live_server.auth
    live_server.register("backed")
    videos = [_seed_ready_video(live_server.db_path, "backed", f"clip {i}") for i in range(2)]
    tokens = [live_server.register() for _ in range(3)]
    stop = threading.Event()
    writes: list[int] = []

    def writer() -> None:
        import httpx

        with httpx.Client(base_url=live_server.url, timeout=30) as w:
            i = 0
            while not stop.is_set():
                token, video = tokens[i % 3], videos[i % 2]
                h = {"Authorization": f"Bearer {token}"}
                writes.append(w.put(f"/api/videos/{video}/like", headers=h).status_code)
                writes.append(
                    w.post(
                        f"/api/videos/{video}/comments", json={"body": f"c{i}"}, headers=h
                    ).status_code
                )
                writes.append(w.delete(f"/api/videos/{video}/like", headers=h).status_code)
                i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        time.sleep(0.5)
        dest = tmp_path / "backups" / "during.db"
        assert main(["backup", str(dest), "--data", str(live_server.data_dir), "--json"]) == 0
        result = json.loads(capsys.readouterr().out)
        time.sleep(0.3)
    finally:
        stop.set()
        thread.join(30)
    assert writes and set(writes) <= {200, 201}
    assert Path(result["file"]) == dest.resolve()
    _check_consistent(dest)
    manifest = json.loads(Path(result["manifest"]).read_text())
    assert set(manifest["videos"]) == set(videos)
    assert all(e["path"].endswith("240p.mp4") for v in manifest["videos"].values() for e in v)
    assert not [p.name for p in dest.parent.iterdir() if p.name.startswith(".")]  # no temp left

    # with the writes stopped, a backup has exactly the live counts
    after = tmp_path / "backups" / "after.db"
    assert main(["backup", str(after), "--data", str(live_server.data_dir)]) == 0
    assert "backed up 2 videos" in capsys.readouterr().out
    _check_consistent(after)
    assert _table_counts(after) == _table_counts(live_server.db_path)
    assert _table_counts(after)["comments"] >= 1
    # the server kept working
    assert c.get("/api/me", headers=auth(tokens[0])).status_code == 200
    # a destination that cannot be written is one line (it was a sqlite3 traceback)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _one_line_error(
        capsys,
        ["backup", str(blocker / "b.db"), "--data", str(live_server.data_dir)],
        mentions="a-file",
    )
    if Path("/proc/self").is_dir():  # a folder that exists but takes no new files
        _one_line_error(
            capsys,
            ["backup", "/proc/shortstack-backup.db", "--data", str(live_server.data_dir)],
            mentions="cannot write the backup into /proc",
        )


def test_doctor_reports_and_fixes(live_server, capsys):
    live_server.register("doc")
    _seed_ready_video(live_server.db_path, "doc", "checked")
    data = str(live_server.data_dir)
    assert main(["doctor", "--data", data, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["integrity"] == "ok"
    assert report["videos"] == 1
    assert report["counter_mismatches"] == 0
    assert report["orphan_media_folders"] == 0
    orphan = live_server.data_dir / "media" / "Zz" / "ZzOrphan123"
    orphan.mkdir(parents=True)
    (orphan / "source").write_bytes(b"x")
    (live_server.data_dir / "tmp" / "upload-stale.upload").write_bytes(b"x")
    conn = sqlite3.connect(str(live_server.db_path), isolation_level=None)
    conn.execute("UPDATE videos SET likes = likes + 5")
    conn.close()
    assert main(["doctor", "--data", data, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["orphan_media_folders"] == 1
    assert report["temp_files"] == 1
    assert report["counter_mismatches"] == 1
    assert orphan.exists()
    # beside the running server the sweep is skipped (its uploads in flight look like leftovers)
    assert main(["doctor", "--data", data, "--fix"]) == 0
    assert "skipped: a server is using this data dir" in capsys.readouterr().out
    assert orphan.exists()
    live_server.server.stop()
    assert main(["doctor", "--data", data, "--fix"]) == 0
    out = capsys.readouterr().out
    assert "integrity: ok" in out
    assert not orphan.exists()
    assert list((live_server.data_dir / "tmp").iterdir()) == []


def test_no_audio_is_no_sound_for_the_client_commands():
    from shortstack.cli import build_parser

    parser = build_parser()
    for command in ("demo", "tui"):
        assert parser.parse_args([command, "--no-audio"]).no_sound is True
        assert parser.parse_args([command, "--no-sound"]).no_sound is True
        assert parser.parse_args([command]).no_sound is False
