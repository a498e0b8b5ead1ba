"""Helpers for the media tests: MP4 atom layout and end-to-end rendition checks."""

from __future__ import annotations

import struct
from pathlib import Path

import av
import numpy as np
import pytest

from shortstack.media.transcode import Rendition


def top_level_atoms(path: Path) -> list[tuple[str, int]]:
    """(type, byte offset) of each top-level MP4 box, read from the file itself."""
    atoms = []
    data = Path(path).read_bytes()
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size == 1:
            size = struct.unpack(">Q", data[at + 8 : at + 16])[0]
        elif size == 0:
            size = len(data) - at
        atoms.append((kind.decode("latin-1"), at))
        if size < 8:
            break
        at += size
    return atoms


def check_rendition(r: Rendition, width: int, height: int, duration_s: float) -> dict:
    """Assert ``r`` is a complete faststart H.264/AAC yuv420p MP4 of the given size and length.

    Decodes every video and audio frame. Returns facts for further checks.
    """
    assert r.path.name == f"{r.name}.mp4"
    assert r.path.stat().st_size == r.bytes > 0
    assert (r.width, r.height) == (width, height)
    assert r.name == f"{min(width, height)}p"
    atoms = dict(top_level_atoms(r.path))
    assert "moov" in atoms and "mdat" in atoms
    assert atoms["moov"] < atoms["mdat"], f"moov after mdat: {atoms}"
    with av.open(str(r.path)) as c:
        assert c.format.name.startswith("mov,mp4")
        v = c.streams.video[0]
        a = c.streams.audio[0]
        assert v.codec_context.name == "h264"
        assert a.codec_context.name == "aac"
        assert (v.width, v.height) == (width, height)
        assert c.duration is not None
        assert abs(c.duration / 1e6 - duration_s) <= 0.1, (c.duration, duration_s)
        assert abs(r.duration_s - duration_s) <= 0.1
        frames, times, first = 0, [], None
        samples = []
        for frame in c.decode(v, a):
            if isinstance(frame, av.VideoFrame):
                assert frame.format.name == "yuv420p"
                assert (frame.width, frame.height) == (width, height)
                assert not frame.rotation
                if first is None:
                    first = frame.to_ndarray(format="rgb24")
                frames += 1
                times.append(float(frame.time))
            else:
                samples.append(frame.to_ndarray())
        audio = np.concatenate(samples, axis=1) if samples else np.zeros((2, 0))
    assert frames > 0
    return {"frames": frames, "times": times, "first": first, "audio": audio}


@pytest.fixture
def check():
    return check_rendition


@pytest.fixture
def mp4_atoms():
    return top_level_atoms
