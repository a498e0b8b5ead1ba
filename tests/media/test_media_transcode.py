"""transcode(): one decode pass to faststart H.264/AAC renditions, or a clear refusal."""

import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from shortstack.media import fixture_clips
from shortstack.media.errors import InvalidMedia, TranscodeError
from shortstack.media.probe import ProbeResult, probe
from shortstack.media.transcode import AUDIO_RATE, _AudioTimeline, plan_ladder, transcode


def _info(width: int, height: int) -> ProbeResult:
    return ProbeResult("mp4", 1.0, width, height, width, height, 0, 30.0, "h264", None, False,
                       "yuv420p", 8, False)  # fmt: skip


def test_plan_ladder_never_upscales_and_keeps_aspect() -> None:
    assert plan_ladder(_info(1080, 1920), (360, 240)) == [("360p", 360, 640), ("240p", 240, 426)]
    assert plan_ladder(_info(1920, 1080), (240, 360)) == [("360p", 640, 360), ("240p", 426, 240)]
    assert plan_ladder(_info(853, 479), (360, 240)) == [("360p", 642, 360), ("240p", 428, 240)]
    assert plan_ladder(_info(320, 240), (360, 240)) == [("240p", 320, 240)]
    assert plan_ladder(_info(300, 200), (360, 240)) == [("200p", 300, 200)]
    assert plan_ladder(_info(201, 357), (360, 240)) == [("200p", 200, 356)]
    assert plan_ladder(_info(640, 640), (360, 360)) == [("360p", 360, 360)]
    for name, w, h in plan_ladder(_info(1001, 1777), (720, 480, 360, 240, 144)):
        assert w % 2 == 0 and h % 2 == 0 and name == f"{w}p"
        assert abs(h / w - 1777 / 1001) < 0.02


def _no_temp_files(out: Path) -> None:
    assert not [p.name for p in out.glob(".*")], "temporary files left behind"


CASES = {
    # name: (sample kwargs, [(width, height) per rendition])
    "landscape": ({"width": 320, "height": 240}, [(320, 240)]),
    "portrait": ({"width": 272, "height": 480}, [(240, 424)]),
    "rotated-90": ({"width": 320, "height": 240, "rotation": 90}, [(240, 320)]),
    "rotated-180": ({"width": 320, "height": 240, "rotation": 180}, [(320, 240)]),
    "odd-853x479": ({"width": 853, "height": 479, "pix_fmt": "yuv444p"}, [(642, 360), (428, 240)]),
    "no-audio": ({"width": 320, "height": 240, "audio": False}, [(320, 240)]),
    "hevc": ({"codec": "libx265"}, [(320, 240)]),
    "10-bit": ({"pix_fmt": "yuv420p10le"}, [(320, 240)]),
    "vp9-webm": ({"codec": "libvpx-vp9", "suffix": ".webm"}, [(320, 240)]),
    "av1-mkv": ({"codec": "libsvtav1", "suffix": ".mkv", "duration_s": 0.5}, [(320, 240)]),
    "mpegts": ({"suffix": ".ts"}, [(320, 240)]),
    "vfr": ({"vfr": True, "duration_s": 1.5}, [(320, 240)]),
    "one-frame": ({"duration_s": 0.04}, [(320, 240)]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_transcodes_end_to_end(tmp_path: Path, case: str, check) -> None:
    kwargs, sizes = CASES[case]
    kwargs = dict(kwargs)
    suffix = kwargs.pop("suffix", ".mp4")
    src = fixture_clips.write_test_video(tmp_path / f"src{suffix}", **kwargs)
    info = probe(src)
    out = tmp_path / "out"
    seen: list[float] = []
    renditions = transcode(src, out, progress=seen.append)
    assert [(r.width, r.height) for r in renditions] == sizes
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    for r in renditions:
        facts = check(r, r.width, r.height, info.duration_s)
        if case != "vfr":
            assert facts["frames"] == round(info.duration_s * info.fps)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{r.name}.mp4" for r in renditions)
    _no_temp_files(out)


def test_rotation_turns_the_pixels(tmp_path: Path, check) -> None:
    # the sample has a white block in the top-left corner of its coded picture; rotating the
    # display 90 degrees counter-clockwise moves it to the bottom-left of the displayed one
    src = fixture_clips.write_test_video(tmp_path / "r.mp4", width=320, height=240, rotation=90)
    (r,) = transcode(src, tmp_path / "out")
    first = check(r, 240, 320, 1.0)["first"].astype(float).mean(axis=2)
    assert first[250:315, 5:55].mean() > 225  # bottom-left: the block
    assert first[5:55, 5:55].mean() < 200  # top-left: no block
    assert first[250:315, 185:235].mean() < 200


def test_no_audio_gets_a_silent_track_as_long_as_the_video(tmp_path: Path, check) -> None:
    src = fixture_clips.write_test_video(tmp_path / "s.mp4", duration_s=1.2, fps=25, audio=False)
    (r,) = transcode(src, tmp_path / "out")
    audio = check(r, 320, 240, 1.2)["audio"]
    assert audio.shape[0] == 2 and audio.shape[1] > 48_000
    assert float(np.abs(audio).max()) < 1e-3


def test_audio_is_kept(tmp_path: Path, check) -> None:
    (r,) = transcode(fixture_clips.write_test_video(tmp_path / "a.mp4"), tmp_path / "out")
    audio = check(r, 320, 240, 1.0)["audio"]
    assert float(np.abs(audio).max()) > 0.1  # the sample's 440 Hz tone


def test_vfr_keeps_each_frame_time(tmp_path: Path, check) -> None:
    import av

    src = fixture_clips.write_test_video(tmp_path / "v.mp4", vfr=True, duration_s=1.5)
    with av.open(str(src)) as c:
        source_times = [float(f.time) for f in c.decode(video=0)]
    (r,) = transcode(src, tmp_path / "out")
    times = check(r, 320, 240, probe(src).duration_s)["times"]
    assert len(times) == len(source_times)
    assert np.allclose(times, np.array(source_times) - source_times[0], atol=0.002)


def test_truncated_upload_reports_its_real_length(tmp_path: Path, check) -> None:
    whole = fixture_clips.faststart_copy(
        fixture_clips.write_test_video(tmp_path / "w.mp4", duration_s=2.0), tmp_path / "fs.mp4"
    )
    cut = fixture_clips.truncate(whole, tmp_path / "cut.mp4", 0.5)
    (r,) = transcode(cut, tmp_path / "out")
    assert r.duration_s < 1.5
    check(r, 320, 240, probe(cut).duration_s)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(bytes(range(256)) * 40), "not a video"),
        (lambda p: fixture_clips.write_png(p), "still image"),
        (lambda p: fixture_clips.write_audio_only(p), "only sound"),
        (lambda p: fixture_clips.write_audio_only(p, cover=True), "only sound"),
        (lambda p: fixture_clips.write_pixel_bomb(p), "picture size"),
        (
            lambda p: fixture_clips.truncate(
                fixture_clips.write_test_video(p.with_suffix(".x")), p
            ),
            "damaged",
        ),
    ],
    ids=[
        "zero-bytes",
        "random-bytes",
        "png-renamed",
        "audio-only",
        "audio-with-cover-art",
        "pixel-bomb",
        "truncated",
    ],
)
def test_invalid_uploads_are_refused_without_leaving_files(tmp_path: Path, make, reason) -> None:
    src = tmp_path / "upload.mp4"
    make(src)
    out = tmp_path / "out"
    with pytest.raises(InvalidMedia, match=reason):
        transcode(src, out)
    assert not out.exists() or not list(out.iterdir())


def test_encoder_failure_is_a_transcode_error_and_cleans_up(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "a.mp4")
    out = tmp_path / "out"
    with pytest.raises(TranscodeError, match="Transcoding failed"):
        transcode(src, out, preset="no-such-preset")
    assert list(out.iterdir()) == []


def test_unwritable_destination_is_a_transcode_error(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "a.mp4")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(TranscodeError, match="output folder"):
        transcode(src, blocker / "out")


def test_rerun_replaces_outputs_atomically(tmp_path: Path) -> None:
    src = fixture_clips.write_test_video(tmp_path / "a.mp4", width=480, height=360)
    out = tmp_path / "out"
    first = transcode(src, out, info=probe(src))
    second = transcode(src, out, crf=40)
    assert [r.path for r in first] == [r.path for r in second]
    assert second[0].bytes < first[0].bytes  # the new, smaller files replaced the old ones
    assert sorted(p.name for p in out.iterdir()) == ["240p.mp4", "360p.mp4"]


def test_picture_type_is_cleared_so_x264_picks_keyframes(tmp_path: Path) -> None:
    import av

    # all-intra source: copying its picture types would make every output frame a keyframe
    src = tmp_path / "intra.mkv"
    fixture_clips.write_test_video(src, codec="mjpeg", pix_fmt="yuvj420p", audio=False)
    (r,) = transcode(src, tmp_path / "out")
    with av.open(str(r.path)) as c:
        keys = sum(1 for p in c.demux(video=0) if p.is_keyframe)
    assert keys == 1


def test_high_frame_rate_is_capped_at_30(tmp_path: Path, check) -> None:
    src = fixture_clips.write_test_video(tmp_path / "slowmo.mp4", fps=120, duration_s=0.5)
    (r,) = transcode(src, tmp_path / "out")
    facts = check(r, 320, 240, 0.5)
    assert facts["frames"] == 15


class _AudioSink:
    """Stands where an output file would: keeps the fltp stereo 48 kHz samples it is given."""

    def __init__(self) -> None:
        self.chunks: list[np.ndarray] = []

    def encode_audio(self, frame) -> None:
        assert frame.sample_rate == AUDIO_RATE and frame.format.name == "fltp"
        self.chunks.append(frame.to_ndarray().copy())

    def samples(self) -> np.ndarray:
        return np.concatenate(self.chunks, axis=1)


def _play(timeline: _AudioTimeline, signal: np.ndarray, chunk: int = 1024) -> None:
    import av

    for at in range(0, signal.shape[1], chunk):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(signal[:, at : at + chunk]), format="fltp", layout="stereo"
        )
        frame.sample_rate, frame.pts, frame.time_base = AUDIO_RATE, at, Fraction(1, AUDIO_RATE)
        timeline.add(frame)
    timeline.add(None)
    timeline.pad_to(timeline.limit)


def test_audio_timeline_cuts_frames_sample_exact() -> None:
    """Samples before the picture are skipped and none pass its end, each channel intact."""
    sink, limit = _AudioSink(), 2500
    timeline = _AudioTimeline([sink], limit_s=limit / AUDIO_RATE)  # type: ignore[list-item]
    timeline.align(-300 / AUDIO_RATE)  # the sound starts 300 samples before the picture
    ramp = np.arange(4 * 1024, dtype=np.float32) / 10_000
    _play(timeline, np.stack([ramp, -ramp]))
    got = sink.samples()
    assert got.shape == (2, limit)
    assert np.array_equal(got[0], ramp[300 : 300 + limit])
    assert np.array_equal(got[1], -ramp[300 : 300 + limit])


def test_audio_timeline_pads_with_silence_to_the_picture_end() -> None:
    sink = _AudioSink()
    timeline = _AudioTimeline([sink], limit_s=3000 / AUDIO_RATE)  # type: ignore[list-item]
    timeline.align(500 / AUDIO_RATE)  # the sound starts 500 samples after the picture
    _play(timeline, np.full((2, 1000), 0.5, dtype=np.float32))
    got = sink.samples()
    assert got.shape == (2, 3000)
    assert not got[:, :500].any() and not got[:, 1500:].any()
    assert np.allclose(got[:, 500:1500], 0.5)


_FULL_DISK = """
import resource, signal, sys, threading
from pathlib import Path
from shortstack.media.errors import TranscodeError
from shortstack.media.transcode import transcode
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[3]), resource.RLIM_INFINITY))
try:
    transcode(Path(sys.argv[1]), Path(sys.argv[2]), (240,), preset="ultrafast")
except TranscodeError as exc:
    print("TranscodeError", threading.active_count(), exc)
"""


def test_a_write_failing_on_an_encoder_thread_is_a_transcode_error_and_cleans_up(
    tmp_path: Path,
) -> None:
    # the renditions are muxed on worker threads: a write that fails there (a file-size
    # limit, like a full disk) must come back to the caller, stop every thread, leave no file
    src = fixture_clips.write_test_video(tmp_path / "a.mp4", width=640, height=360, duration_s=2)
    out = tmp_path / "out"
    out.mkdir()
    limit = 40_000  # the source is far bigger; a 2 s 240p rendition too
    assert src.stat().st_size > limit
    proc = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(src), str(out), str(limit)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("TranscodeError 1 "), proc.stdout + proc.stderr
    assert list(out.iterdir()) == []
