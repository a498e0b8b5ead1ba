"""HLS packaging: playlists a player can follow, segments that decode to the whole rendition."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from shortstack.media import fixture_clips
from shortstack.media.errors import TranscodeError
from shortstack.media.hls import FILE_RE, MASTER, package_hls
from shortstack.media.transcode import transcode


@pytest.fixture(scope="module")
def ladder(tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("hls")
    src = fixture_clips.write_test_video(work / "src.mp4", width=640, height=360, duration_s=5.0)
    return transcode(src, work / "out", (360, 240))


def _sources(ladder) -> list[tuple[str, Path, int, int]]:
    return [(r.name, r.path, r.width, r.height) for r in ladder]


def _media_playlist(folder: Path) -> list[tuple[float, str]]:
    lines = (folder / "index.m3u8").read_text().splitlines()
    assert lines[0] == "#EXTM3U" and lines[-1] == "#EXT-X-ENDLIST"
    assert '#EXT-X-MAP:URI="init.mp4"' in lines and "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    return [
        (float(a[len("#EXTINF:") :].split(",")[0]), b)
        for a, b in zip(lines, lines[1:], strict=False)
        if a.startswith("#EXTINF:")
    ]


def _decode(data: bytes, tmp: Path) -> tuple[int, float, int]:
    """(video frames, seconds from the first frame to the end of the last, audio samples)."""
    path = tmp / "joined.mp4"
    path.write_bytes(data)
    frames, times, samples_ = 0, [], 0
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        for frame in c.decode(v, *c.streams.audio):
            if isinstance(frame, av.VideoFrame):
                frames += 1
                times.append(float(frame.time))
            else:
                samples_ += frame.samples
    step = (times[-1] - times[0]) / max(len(times) - 1, 1)
    return frames, times[-1] - times[0] + step, samples_


def test_master_and_media_playlists_cover_every_rendition(ladder, tmp_path: Path) -> None:
    dest = tmp_path / "hls"
    variants = package_hls(_sources(ladder), dest)
    assert [v.name for v in variants] == ["360p", "240p"]
    master = (dest / MASTER).read_text().splitlines()
    assert master[0] == "#EXTM3U"
    infs = [line for line in master if line.startswith("#EXT-X-STREAM-INF:")]
    uris = [line for line in master if line and not line.startswith("#")]
    assert uris == ["360p/index.m3u8", "240p/index.m3u8"]  # the bigger one first
    assert "RESOLUTION=640x360" in infs[0] and "RESOLUTION=426x240" in infs[1]
    for inf in infs:
        assert 'CODECS="avc1.' in inf and ',mp4a.40.2"' in inf
    assert variants[0].peak_bps > variants[1].peak_bps > 0
    assert all(v.peak_bps >= v.average_bps > 0 for v in variants)
    for r in ladder:
        segments = _media_playlist(dest / r.name)
        assert len(segments) >= 2  # 5 s in segments of about 2 s (keyframes every 2 s)
        assert all(FILE_RE.match(uri) and secs <= 2.5 for secs, uri in segments)
        assert abs(sum(secs for secs, _ in segments) - r.duration_s) <= 0.1
        # the init segment plus every media segment, in order, is the whole rendition
        data = (dest / r.name / "init.mp4").read_bytes()
        data += b"".join((dest / r.name / uri).read_bytes() for _, uri in segments)
        frames, seconds, audio = _decode(data, tmp_path)
        with av.open(str(r.path)) as c:
            want = sum(1 for _ in c.decode(video=0))
        assert frames == want
        assert abs(seconds - r.duration_s) <= 0.1
        assert abs(audio / 48_000 - r.duration_s) <= 0.1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hls", "joined.mp4"]  # no temp folder


def test_a_finished_folder_is_kept_and_a_failure_leaves_nothing(ladder, tmp_path: Path) -> None:
    dest = tmp_path / "hls"
    package_hls(_sources(ladder), dest)
    before = {p: p.stat().st_mtime_ns for p in dest.rglob("*")}
    package_hls(_sources(ladder), dest)  # another packager got there first: theirs stays
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*")} == before
    other = tmp_path / "other"
    with pytest.raises(TranscodeError, match="HLS packaging failed"):
        package_hls([("360p", tmp_path / "missing.mp4", 640, 360)], other)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hls"]
