"""Aligned renditions: keyframes at the same fixed times in every rendition, even across scene cuts."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from shortstack.media.hls import package_hls
from shortstack.media.transcode import transcode

CUTS_S = (0.68, 1.32, 3.1, 3.56)  # hard scene cuts, none on a 2 s mark


def write_scene_cuts(path: Path, *, duration_s: float = 5.0, fps: int = 25) -> Path:
    """A clip of unrelated noisy scenes with hard cuts at CUTS_S (x264 would key each cut)."""
    rng = np.random.default_rng(7)
    w, h = 640, 360
    # smooth blobs (coarse noise blown up), a different picture per scene
    scenes = [
        np.kron(rng.integers(0, 256, (14, 22, 3), dtype=np.uint8), np.ones((32, 32, 1), np.uint8))
        for _ in range(len(CUTS_S) + 1)
    ]
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "30", "preset": "veryfast"}
        for i in range(int(duration_s * fps)):
            t = i / fps
            scene = scenes[sum(1 for c in CUTS_S if t >= c)]
            shift = i % 64  # a pan inside inside the scene
            frame = av.VideoFrame.from_ndarray(scene[shift : shift + h, shift : shift + w], "rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def keyframe_times(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        return [
            round(float(p.pts * v.time_base), 3)
            for p in c.demux(v)
            if p.is_keyframe and p.pts is not None
        ]


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("keyframes")
    src = write_scene_cuts(work / "cuts.mp4")
    # left to itself x264 keys a scene cut off the 2 s grid
    assert any(t % 2 for t in keyframe_times(src))
    return transcode(src, work / "out", (360, 240)), work


def test_keyframes_fall_on_the_same_2s_marks_in_every_rendition(ladder) -> None:
    renditions, _ = ladder
    times = [keyframe_times(r.path) for r in renditions]
    assert [r.name for r in renditions] == ["360p", "240p"]
    assert times[0] == times[1]
    assert times[0] == pytest.approx([0.0, 2.0, 4.0], abs=0.02)


def test_hls_segments_have_equal_boundaries_across_renditions(ladder) -> None:
    renditions, work = ladder
    dest = work / "hls"
    package_hls([(r.name, r.path, r.width, r.height) for r in renditions], dest)
    durations = []
    for r in renditions:
        lines = (dest / r.name / "index.m3u8").read_text().splitlines()
        durations.append(
            [float(x[len("#EXTINF:") :].split(",")[0]) for x in lines if x.startswith("#EXTINF:")]
        )
    assert durations[0] == durations[1]
    assert durations[0][:2] == pytest.approx([2.0, 2.0], abs=0.05)
    assert sum(durations[0]) == pytest.approx(5.0, abs=0.1)
