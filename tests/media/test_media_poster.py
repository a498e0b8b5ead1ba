"""make_poster() and visual_features(): representative frames and cheap descriptors."""

from pathlib import Path

import av
import numpy as np
import pytest

from shortstack.demo_clips import make_demo_clip
from shortstack.demo_topics import DemoSpec
from shortstack.media import fixture_clips
from shortstack.media.errors import InvalidMedia
from shortstack.media.poster import FEATURE_LENGTH, make_poster, visual_features


def _read(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).to_ndarray(format="rgb24")


def test_poster_skips_a_black_opening(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "b.mp4", duration_s=2.0, black_until_s=0.6)
    dest = make_poster(src, tmp_path / "p" / "poster.jpg")
    assert dest.read_bytes()[:2] == b"\xff\xd8"
    img = _read(dest)
    assert img.shape == (240, 320, 3)
    assert img.mean() > 60
    assert [p.name for p in dest.parent.iterdir()] == ["poster.jpg"]


def test_poster_is_rotated_and_bounded(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "r.mp4", width=640, height=480, rotation=270)
    img = _read(make_poster(src, tmp_path / "p.jpg", max_width=240))
    assert img.shape == (320, 240, 3)  # portrait after rotation, width capped


def test_poster_of_invalid_file(tmp_path: Path) -> None:
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(InvalidMedia):
        make_poster(bad, tmp_path / "p.jpg")
    assert not (tmp_path / "p.jpg").exists()


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def test_visual_features_shape_norm_and_discrimination(tmp_path: Path) -> None:
    def clip(topic: str, seed: int) -> Path:
        spec = DemoSpec(topic, "hello", ["x"], seed)
        dest = tmp_path / f"{topic}{seed}.mp4"
        return make_demo_clip(dest, spec, duration_s=1.0, width=180, height=320, fps=15)

    ocean1, ocean2, cook = clip("ocean", 1), clip("ocean", 2), clip("cooking", 1)
    f1, f2, f3 = visual_features(ocean1), visual_features(ocean2), visual_features(cook)
    assert f1.shape == (FEATURE_LENGTH,) and f1.dtype == np.float32
    assert abs(float(np.linalg.norm(f1)) - 1.0) < 1e-5
    assert np.array_equal(f1, visual_features(ocean1))  # deterministic
    assert _cos(f1, f2) > _cos(f1, f3) + 0.1


def test_visual_features_see_motion(tmp_path: Path) -> None:
    moving = visual_features(fixture_clips.write_test_video(tmp_path / "m.mp4", duration_s=2))
    still = visual_features(
        fixture_clips.write_test_video(tmp_path / "s.mp4", duration_s=2, black_until_s=2)
    )
    assert moving[-1] > 0.1 and still[-1] == 0.0


def test_long_or_large_clips_are_sampled_by_seeking(tmp_path: Path) -> None:
    # 960x540 for 6 s is over the straight-through budget: points are reached by seeking
    src = fixture_clips.write_test_video(
        tmp_path / "big.mp4", width=960, height=540, duration_s=6, fps=25, black_until_s=2.5
    )
    img = _read(make_poster(src, tmp_path / "p.jpg", max_width=480))
    assert img.shape == (270, 480, 3) and img.mean() > 60
    features = visual_features(src)
    assert features.shape == (FEATURE_LENGTH,) and features[-1] > 0.05
