"""`shortstack migrate --to postgresql://...` moves a SQLite instance into Postgres: the same
feed and counts served from there; a second run does nothing; `shortstack backup` uses pg_dump."""

from __future__ import annotations

import json

from serverkit import seed_video

from shortstack.cli import main


def _build_instance(live) -> dict:
    c, auth = live.client, live.auth
    tokens = {h: live.register(h) for h in ("mover_a", "mover_b", "mover_c")}
    videos = [seed_video(live, "mover_a", f"clip {i} #move{i % 2}") for i in range(4)]
    videos.append(seed_video(live, "mover_b", "bob's #move0 clip"))
    for who in ("mover_b", "mover_c"):
        for vid in videos[:3]:
            assert c.put(f"/api/videos/{vid}/like", headers=auth(tokens[who])).status_code == 200
        assert c.put("/api/users/mover_a/follow", headers=auth(tokens[who])).status_code == 204
    r = c.post(
        f"/api/videos/{videos[0]}/comments", json={"body": "first"}, headers=auth(tokens["mover_b"])
    )
    parent = r.json()["id"]
    c.post(
        f"/api/videos/{videos[0]}/comments",
        json={"body": "reply", "parent_id": parent},
        headers=auth(tokens["mover_a"]),
    )
    return {"tokens": tokens, "videos": videos}


def _view(live, token: str, videos: list[str]) -> dict:
    c, auth = live.client, live.auth
    return {
        "counts": {v: c.get(f"/api/videos/{v}").json()["counts"] for v in videos},
        "profile": {
            k: v
            for k, v in c.get("/api/users/mover_a").json().items()
            if k in ("followers", "following", "videos")
        },
        "following": [
            i["video"]["id"]
            for i in c.get("/api/feed/following", headers=auth(token), params={"limit": 20}).json()[
                "items"
            ]
        ],
        "comments": [x["body"] for x in c.get(f"/api/videos/{videos[0]}/comments").json()["items"]],
        "search": [v["id"] for v in c.get("/api/search", params={"q": "#move1"}).json()["videos"]],
    }


def test_migrate_moves_an_instance_and_a_second_run_is_a_no_op(
    make_server, pg_url, tmp_path, capsys
):
    source = make_server(database={"url": ""})  # SQLite, also under pytest --postgres
    built = _build_instance(source)
    token = built["tokens"]["mover_b"]
    before = _view(source, token, built["videos"])
    data_dir = source.data_dir

    assert main(["migrate", "--to", pg_url, "--data", str(data_dir), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["already_done"] is False
    assert report["rows"]["users"] == 3 and report["rows"]["videos"] == 5
    assert report["rows"]["likes"] == 6 and report["rows"]["comments"] == 2
    assert report["counters"]["videos.likes"] == 6

    assert main(["migrate", "--to", pg_url, "--data", str(data_dir)]) == 0
    assert "nothing to do" in capsys.readouterr().out

    # served from Postgres (same data dir for the media): the same answers, tokens included
    moved = make_server(data_dir, database={"url": pg_url})
    assert _view(moved, token, built["videos"]) == before
    # new rows get fresh ids after the copied ones
    assert moved.register("after_move")
    new = seed_video(moved, "after_move", "new #move1 clip")
    assert new in _view(moved, token, built["videos"])["search"]


def test_migrate_refuses_a_target_with_other_data(make_server, pg_url, capsys):
    other = make_server(database={"url": pg_url})
    other.register("already_here")
    source = make_server(database={"url": ""})  # SQLite, also under pytest --postgres
    source.register("someone")
    assert main(["migrate", "--to", pg_url, "--data", str(source.data_dir)]) == 2
    err = capsys.readouterr().err
    assert "already holds data" in err and "\n" not in err.strip()


def test_migrate_to_an_unreachable_database_is_one_line(make_server, capsys):
    source = make_server(database={"url": ""})  # SQLite, also under pytest --postgres
    url = "postgresql://nobody:hunter2@127.0.0.1:9/none?connect_timeout=2"
    assert main(["migrate", "--to", url, "--data", str(source.data_dir)]) == 2
    err = capsys.readouterr().err.strip()
    assert "cannot reach the Postgres database" in err and "hunter2" not in err
    assert "\n" not in err


def test_backup_of_postgres_uses_pg_dump(make_server, pg_url, tmp_path, monkeypatch, capsys):
    live = make_server(database={"url": pg_url})
    live.register("dumped")
    video = seed_video(live, "dumped", "in the dump")
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{pg_url}"\n')
    dest = tmp_path / "backup.dump"
    argv = ["backup", str(dest), "--data", str(live.data_dir), "--config", str(config), "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["videos"] == 1
    assert dest.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    manifest = json.loads((tmp_path / "backup.dump.manifest.json").read_text())
    assert video in manifest["videos"]
    # without pg_dump: a clear one-line error, no traceback
    from shortstack.server import maintenance

    monkeypatch.setattr(maintenance, "pg_dump_candidates", lambda: [])
    assert main([*argv[:1], str(tmp_path / "x.dump"), *argv[2:]]) == 2
    assert "needs pg_dump" in capsys.readouterr().err


def test_serve_with_an_unreachable_database_is_one_cli_line(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(
        '[database]\nurl = "postgresql://u:hunter2@127.0.0.1:9/x?connect_timeout=2"\n'
    )
    argv = ["serve", "--data", str(tmp_path / "data"), "--config", str(config)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("shortstack serve: error: cannot reach the Postgres database")
    assert "hunter2" not in err[-1]


def test_migrate_without_to_applies_the_schema_once(pg_url, tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{pg_url}"\n')
    argv = ["migrate", "--data", str(tmp_path / "data"), "--config", str(config), "--json"]
    assert main(argv) == 0
    assert "0001_core" in json.loads(capsys.readouterr().out)["applied"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["applied"] == []


def test_admin_commands_work_on_postgres(make_server, pg_url, tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text(f'[database]\nurl = "{pg_url}"\n')
    data = ["--data", str(tmp_path / "data"), "--config", str(config)]
    password = "kettle-harbor-58"
    stdin_main = ["admin", "create-user", "root_pg", "--admin", "--password-stdin", *data]
    import io
    import sys

    old_stdin = sys.stdin
    sys.stdin = io.StringIO(password + "\n")
    try:
        assert main(stdin_main) == 0
    finally:
        sys.stdin = old_stdin
    assert main(["admin", "terms", "add", "Scamcoin", *data]) == 0
    assert "scamcoin" in capsys.readouterr().out
    assert main(["admin", "invite", "--uses", "1", *data, "--json"]) == 0
    out = capsys.readouterr().out
    code = json.loads(out[out.index("{") :])["code"]

    live = make_server(
        tmp_path / "data", database={"url": pg_url}, server={"registration": "invite"}
    )
    c = live.client
    r = c.post("/api/auth/login", json={"handle": "root_pg", "password": password})
    assert r.status_code == 200, r.text
    admin = {"Authorization": f"Bearer {r.json()['token']}"}
    assert c.get("/api/admin/settings", headers=admin).status_code == 200
    r = c.post(
        "/api/auth/register", json={"handle": "invited_pg", "password": password, "invite": code}
    )
    assert r.status_code == 201, r.text
    assert main(["admin", "add", "invited_pg", *data]) == 0
    assert main(["admin", "add", "nobody_pg", *data]) == 2


def test_doctor_says_it_checks_sqlite_only(tmp_path, capsys):
    config = tmp_path / "config.toml"
    config.write_text('[database]\nurl = "postgresql://db.invalid/shortstack"\n')
    assert main(["doctor", "--data", str(tmp_path), "--config", str(config)]) == 2
    assert "doctor checks a SQLite instance" in capsys.readouterr().err
