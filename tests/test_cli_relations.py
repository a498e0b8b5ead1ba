"""`shortstack block` and `shortstack mute` (with --undo) against a live server."""

from __future__ import annotations

import json
import os
import subprocess
import sys


def _run(live, token: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, SHORTSTACK_SERVER=live.url, SHORTSTACK_TOKEN=token)
    return subprocess.run(
        [sys.executable, "-m", "shortstack", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_block_and_mute_from_the_shell(live_server):
    c = live_server.client
    me = live_server.register("cli_me")
    live_server.register("cli_other")
    auth = live_server.auth(me)

    r = _run(live_server, me, "block", "@cli_other")
    assert r.returncode == 0, r.stderr
    assert "@cli_other blocked" in r.stdout
    assert c.get("/api/users/cli_other", headers=auth).status_code == 404
    r = _run(live_server, me, "block", "cli_other", "--undo", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"handle": "cli_other", "block": False}
    assert c.get("/api/users/cli_other", headers=auth).status_code == 200

    r = _run(live_server, me, "mute", "cli_other")
    assert r.returncode == 0, r.stderr
    mutes = c.get("/api/me/mutes", headers=auth).json()["items"]
    assert [m["handle"] for m in mutes] == ["cli_other"]
    assert _run(live_server, me, "mute", "cli_other", "--undo").returncode == 0
    assert c.get("/api/me/mutes", headers=auth).json()["items"] == []

    r = _run(live_server, me, "block", "cli_me")
    assert r.returncode != 0 and "yourself" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _run(live_server, me, "mute", "nobody_here")
    assert r.returncode != 0 and "404" in r.stderr
