"""Reliability fixtures: real `shortstack serve` processes on free loopback ports, always stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from reliakit import ServeProcess, make_clip, write_config


@pytest.fixture
def serve(tmp_path: Path) -> Iterator:
    """Factory: start `shortstack serve` on a (new or given) data dir with config overrides."""
    started: list[ServeProcess] = []

    def _serve(data_dir: Path | None = None, **sections: dict) -> ServeProcess:
        data_dir = data_dir or tmp_path / f"data{len(started)}"
        config = write_config(tmp_path / f"config{len(started)}.toml", **sections)
        proc = ServeProcess(data_dir, config)
        started.append(proc)
        return proc.start()

    yield _serve
    for proc in started:
        proc.kill()


@pytest.fixture(scope="session")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1-second 96x64 H.264 clip without sound."""
    return make_clip(tmp_path_factory.mktemp("reliability-clips") / "tiny.mp4")


@pytest.fixture(scope="session")
def ten_second_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 10-second 640x480 clip: its transcode runs for about a second, time to kill it."""
    return make_clip(
        tmp_path_factory.mktemp("reliability-clips") / "ten.mp4", seconds=10.0, size=(640, 480)
    )


@pytest.fixture(scope="session")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-second 640x480 H.264/AAC clip: long enough to kill its transcode midway."""
    return make_clip(
        tmp_path_factory.mktemp("reliability-clips") / "long.mp4", seconds=3.0, size=(640, 480)
    )
