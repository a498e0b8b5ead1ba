"""probe(): what a file really is, decided by decoding; clear reasons for refusals."""

from pathlib import Path

import pytest

from shortstack.media import fixture_clips
from shortstack.media.errors import InvalidMedia
from shortstack.media.probe import probe


def test_landscape(tmp_path: Path) -> None:
    info = probe(fixture_clips.write_test_video(tmp_path / "a.mp4", width=320, height=240, fps=25))
    assert info.container == "mp4"
    assert (info.width, info.height, info.rotation) == (320, 240, 0)
    assert (info.coded_width, info.coded_height) == (320, 240)
    assert info.fps == 25.0 and abs(info.duration_s - 1.0) < 0.05
    assert (info.video_codec, info.audio_codec, info.has_audio) == ("h264", "aac", True)
    assert (info.pix_fmt, info.bit_depth, info.vfr) == ("yuv420p", 8, False)


def test_rotated_display_size_is_swapped(tmp_path: Path) -> None:
    path = fixture_clips.write_test_video(tmp_path / "r.mp4", width=320, height=240, rotation=90)
    info = probe(path)
    assert info.rotation == 90
    assert (info.width, info.height) == (240, 320)
    assert (info.coded_width, info.coded_height) == (320, 240)
    assert probe(fixture_clips.write_test_video(tmp_path / "l.mp4", rotation=-90)).rotation == 270


def test_codecs_depth_and_containers(tmp_path: Path) -> None:
    hevc = probe(fixture_clips.write_test_video(tmp_path / "h.mp4", codec="libx265", audio=False))
    assert hevc.video_codec == "hevc" and hevc.has_audio is False and hevc.audio_codec is None
    ten = probe(fixture_clips.write_test_video(tmp_path / "t.mkv", pix_fmt="yuv420p10le"))
    assert (ten.container, ten.bit_depth, ten.pix_fmt) == ("matroska", 10, "yuv420p10le")
    vp9 = probe(fixture_clips.write_test_video(tmp_path / "v.webm", codec="libvpx-vp9"))
    assert (vp9.container, vp9.video_codec, vp9.audio_codec) == ("matroska", "vp9", "opus")
    av1 = probe(
        fixture_clips.write_test_video(tmp_path / "a.mkv", codec="libsvtav1", duration_s=0.5)
    )
    assert (av1.container, av1.video_codec) == ("matroska", "av1")  # the codec, not "libdav1d"
    ts = probe(fixture_clips.write_test_video(tmp_path / "t.ts"))
    assert ts.container == "mpegts" and abs(ts.duration_s - 1.0) < 0.05


def test_vfr_is_detected(tmp_path: Path) -> None:
    assert probe(fixture_clips.write_test_video(tmp_path / "v.mp4", vfr=True)).vfr is True
    assert probe(fixture_clips.write_test_video(tmp_path / "c.mp4")).vfr is False


def test_truncated_duration_is_measured_not_taken_from_the_header(tmp_path: Path) -> None:
    whole = fixture_clips.faststart_copy(
        fixture_clips.write_test_video(tmp_path / "w.mp4", duration_s=2.0), tmp_path / "fs.mp4"
    )
    cut = fixture_clips.truncate(whole, tmp_path / "cut.mp4", 0.5)
    info = probe(cut)
    assert 0.3 < info.duration_s < 1.5  # the header still says 2.0 s


def test_truncated_without_index_is_refused(tmp_path: Path) -> None:
    cut = fixture_clips.truncate(
        fixture_clips.write_test_video(tmp_path / "w.mp4"), tmp_path / "c.mp4"
    )
    with pytest.raises(InvalidMedia, match="damaged|not a video"):
        probe(cut)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_bytes(b"") and p, "empty"),
        (lambda p: p.write_bytes(bytes(range(256)) * 40) and p, "not a video"),
        (lambda p: fixture_clips.write_png(p), "still image"),
        (lambda p: fixture_clips.write_gif(p), "Animated images .* not accepted; upload MP4"),
        (lambda p: fixture_clips.write_audio_only(p), "only sound"),
        (lambda p: fixture_clips.write_audio_only(p, cover=True), "only sound"),
        (lambda p: fixture_clips.write_pixel_bomb(p), "picture size"),
    ],
    ids=[
        "zero-bytes",
        "random-bytes",
        "png-renamed",
        "animated-gif-renamed",
        "audio-only",
        "audio-with-cover-art",
        "16000x16000-header",
    ],
)
def test_refusals_give_a_clear_reason(tmp_path: Path, make, reason: str) -> None:
    path = tmp_path / "upload.mp4"
    make(path)
    with pytest.raises(InvalidMedia, match=reason):
        probe(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InvalidMedia, match="could not be read"):
        probe(tmp_path / "nope.mp4")


def test_limits(tmp_path: Path) -> None:
    path = fixture_clips.write_test_video(tmp_path / "a.mp4", width=320, height=240, duration_s=1.0)
    with pytest.raises(InvalidMedia, match="320x240.*200 px"):
        probe(path, max_dimension=200)
    with pytest.raises(InvalidMedia, match="long"):
        probe(path, max_duration_s=0.5)
    assert probe(path, max_dimension=320, max_duration_s=1.0).width == 320
