"""transcode_isolated() and probe_isolated(): the same work in a child process, with a deadline."""

from pathlib import Path

import pytest

from shortstack.media import samples
from shortstack.media.errors import InvalidMedia, TranscodeError
from shortstack.media.isolation import preview_isolated, probe_isolated, transcode_isolated
from shortstack.media.probe import probe


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


def test_probe_in_a_child_gives_the_same_answer(tmp_path: Path) -> None:
    src = samples.write_test_video(tmp_path / "p.mp4", width=320, height=240, rotation=90)
    assert probe_isolated(src, timeout_s=60) == probe(src)
    with pytest.raises(InvalidMedia, match="320x240.*200 px"):
        probe_isolated(src, timeout_s=60, max_dimension=200)  # the limits reach the child


def test_probe_refusals_and_time_outs_are_invalid_media(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(InvalidMedia, match="not a video"):
        probe_isolated(junk, timeout_s=60)
    src = samples.write_test_video(tmp_path / "slow.mp4", width=320, height=240)
    with pytest.raises(InvalidMedia, match="took longer than 0.001 s"):
        probe_isolated(src, timeout_s=0.001)


def test_preview_in_a_child_is_the_same_jpeg(tmp_path: Path) -> None:
    from shortstack.media.edit import parse_recipe, preview_still

    src = samples.write_test_video(tmp_path / "e.mp4", width=320, height=240, duration_s=1.0)
    recipe = parse_recipe({"crop": "1:1", "look": "mono", "text": "hi"})
    here = preview_still(src, recipe, tmp_path / "here.jpg", max_width=200)
    there = preview_isolated(src, recipe, tmp_path / "there.jpg", max_width=200, timeout_s=60)
    assert there.read_bytes() == here.read_bytes()
    with pytest.raises(TranscodeError, match="took longer than"):
        preview_isolated(src, recipe, tmp_path / "late.jpg", timeout_s=0.001)
    assert not (tmp_path / "late.jpg").exists()
