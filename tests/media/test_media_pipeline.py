"""media.pipeline: one upload processed with one probe, in a warm worker; checks in fresh children."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from shortstack.media import fixture_clips
from shortstack.media.edit import parse_recipe
from shortstack.media.errors import InvalidMedia, TranscodeError
from shortstack.media.pipeline import (
    Ladder,
    Limits,
    UploadResult,
    preview_isolated,
    probe_isolated,
    process_upload,
)
from shortstack.media.poster import (
    FEATURE_LENGTH,
    LookSampler,
    features_from,
    make_poster,
    visual_features,
)
from shortstack.media.preview import preview_still
from shortstack.media.probe import ProbeResult, probe
from shortstack.media.runner import Worker
from shortstack.media.transcode import transcode

LADDER = Ladder((240,), preset="ultrafast")


def test_an_upload_is_probed_once_and_comes_back_typed(tmp_path: Path, check) -> None:
    src = fixture_clips.write_test_video(tmp_path / "a.mp4", width=480, height=270, duration_s=1)
    seen: list[float] = []
    result = process_upload(src, tmp_path / "out", LADDER, progress=seen.append)
    assert isinstance(result, UploadResult) and isinstance(result.info, ProbeResult)
    assert [name for name, _ in result.steps] == ["probe", "transcode", "poster", "features"]
    assert result.info == result.source == probe(src)
    (rendition,) = result.renditions
    check(rendition, 426, 240, 1.0)
    assert result.poster == tmp_path / "out" / "poster.jpg" and result.poster.stat().st_size
    assert result.features.dtype == np.float32 and result.features.shape == (FEATURE_LENGTH,)
    assert seen[0] == 0.02 and seen[-1] == 0.96 and seen == sorted(seen)

    # a probe the caller already has is not made again
    again = process_upload(src, tmp_path / "again", LADDER, info=result.source)
    assert "probe" not in dict(again.steps)
    assert [r.bytes for r in again.renditions] == [r.bytes for r in result.renditions]


def test_hls_is_packaged_with_the_renditions_when_asked(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "h.mp4", width=320, height=240, duration_s=1)
    out = tmp_path / "out"
    result = process_upload(src, out, LADDER, hls_dir=out / "hls")
    assert result.hls == out / "hls" and "hls" in dict(result.steps)
    assert (out / "hls" / "master.m3u8").exists() and (out / "hls" / "240p" / "init.mp4").exists()


def test_an_edited_upload_reports_the_edited_video(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "e.mp4", width=480, height=270, duration_s=2)
    recipe = parse_recipe({"crop": "1:1", "trim": [0.5, 1.5], "speed": 2})
    result = process_upload(src, tmp_path / "out", LADDER, recipe=recipe)
    assert (result.source.width, result.source.height) == (480, 270)
    assert (result.info.width, result.info.height) == (270, 270)
    assert result.info.duration_s == 0.5 and result.duration_s == pytest.approx(0.5, abs=0.05)
    assert [(r.width, r.height) for r in result.renditions] == [(240, 240)]
    with pytest.raises(InvalidMedia, match="past the end"):
        process_upload(src, tmp_path / "bad", LADDER, recipe=parse_recipe({"trim": [5, 6]}))


def test_a_warm_worker_processes_uploads_and_sends_back_dataclasses(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "w.mp4", width=320, height=240, duration_s=1)
    worker = Worker("test-transcode", warm=["shortstack.media.pipeline"])
    try:
        seen: list[float] = []
        result = worker.call(
            process_upload, src, tmp_path / "out", LADDER, timeout_s=120, progress=seen.append
        )
        assert isinstance(result, UploadResult) and result.renditions[0].path.exists()
        assert seen[-1] == 0.96
        with pytest.raises(InvalidMedia, match="320x240.*200 px"):  # the limits reach the child
            worker.call(
                process_upload, src, tmp_path / "x", LADDER, limits=Limits(200), timeout_s=120
            )
    finally:
        worker.close()


def test_probe_in_a_child_gives_the_same_answer(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "p.mp4", width=320, height=240, rotation=90)
    assert probe_isolated(src, timeout_s=60) == probe(src)
    with pytest.raises(InvalidMedia, match="320x240.*200 px"):
        probe_isolated(src, timeout_s=60, limits=Limits(max_dimension=200))


def test_probe_refusals_and_time_outs_are_invalid_media(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(bytes(range(256)) * 40)
    with pytest.raises(InvalidMedia, match="not a video"):
        probe_isolated(junk, timeout_s=60)
    src = fixture_clips.write_test_video(tmp_path / "slow.mp4", width=320, height=240)
    with pytest.raises(InvalidMedia, match="took longer than 0.001 s"):
        probe_isolated(src, timeout_s=0.001)


def test_preview_in_a_child_is_the_same_jpeg(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "e.mp4", width=320, height=240, duration_s=1)
    recipe = parse_recipe({"crop": "1:1", "look": "mono", "text": "hi"})
    here = preview_still(src, recipe, tmp_path / "here.jpg", max_width=200)
    there = preview_isolated(src, recipe, tmp_path / "there.jpg", max_width=200, timeout_s=60)
    assert there.read_bytes() == here.read_bytes()
    with pytest.raises(TranscodeError, match="took longer than"):
        preview_isolated(src, recipe, tmp_path / "late.jpg", timeout_s=0.001)
    assert not (tmp_path / "late.jpg").exists()


def test_poster_and_features_come_from_the_encoded_pictures_without_a_decode(
    tmp_path: Path,
) -> None:
    # a black opening: the poster must still skip it, as make_poster on the rendition does
    src = fixture_clips.write_test_video(
        tmp_path / "b.mp4", width=640, height=360, duration_s=4, black_until_s=1.5
    )
    looks = LookSampler(4.0)
    (largest, _) = transcode(src, tmp_path / "t", (360, 240), preset="ultrafast", looks=looks.offer)
    assert [round(t, 1) for t, _, _ in looks.poster_frames()] == [0.4, 1.2, 2.0, 2.8, 3.6]
    samples = looks.feature_samples()
    assert len(samples) == 4 and all(nxt is not None for _, _, nxt in samples)
    from_file = visual_features(largest.path)
    # the same sample points as from the file; only the rendition's coding loss differs
    assert np.abs(features_from(samples) - from_file).max() < 0.01
    assert float(features_from(samples) @ from_file) > 0.999

    result = process_upload(src, tmp_path / "out", Ladder((360, 240), preset="ultrafast"))
    # taken from the pictures before encoding (a decode of the file would differ slightly)
    assert np.array_equal(result.features, features_from(samples))

    def rgb(path: Path) -> np.ndarray:
        with av.open(str(path)) as c:
            return next(c.decode(video=0)).to_ndarray(format="rgb24").astype(np.float32)

    ours, theirs = rgb(result.poster), rgb(make_poster(largest.path, tmp_path / "p.jpg"))
    assert ours.shape == theirs.shape == (360, 640, 3)
    assert ours.mean() > 60 and np.abs(ours - theirs).mean() < 4  # the same, lit frame
