"""transcode_isolated(): the same transcode in a child process, with a hard deadline."""

from pathlib import Path

import pytest

from shortstack.media import samples
from shortstack.media.errors import InvalidMedia, TranscodeError
from shortstack.media.isolation import transcode_isolated


def test_child_transcode_relays_progress_and_results(tmp_path: Path, check) -> None:
    src = samples.write_test_video(tmp_path / "a.mp4", width=480, height=270)
    seen: list[float] = []
    renditions = transcode_isolated(src, tmp_path / "out", progress=seen.append, timeout_s=60)
    assert [(r.name, r.width, r.height) for r in renditions] == [("240p", 426, 240)]
    assert seen[0] == 0.0 and seen[-1] == 1.0
    check(renditions[0], 426, 240, 1.0)


def test_child_refusal_is_invalid_media(tmp_path: Path) -> None:
    src = tmp_path / "x.mp4"
    src.write_bytes(b"\x00\x01" * 5000)
    with pytest.raises(InvalidMedia, match="not a video"):
        transcode_isolated(src, tmp_path / "out", timeout_s=60)


def test_deadline_kills_the_child_and_cleans_up(tmp_path: Path) -> None:
    src = samples.write_test_video(tmp_path / "a.mp4", width=480, height=360, duration_s=2)
    out = tmp_path / "out"
    with pytest.raises(TranscodeError, match="longer than"):
        transcode_isolated(src, out, timeout_s=0.01)
    assert not out.exists() or list(out.iterdir()) == []
