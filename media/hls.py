"""HLS packaging: the MP4 renditions cut, without re-encoding, into fMP4 segments and playlists.

Layout under ``dest`` (what a player fetches, every URI relative)::

    master.m3u8            one EXT-X-STREAM-INF per rendition (bandwidth, size, codecs);
                           a SUBTITLES group per caption language (``set_subtitles``)
    360p/index.m3u8        VOD media playlist
    360p/init.mp4          the fMP4 initialisation segment
    360p/seg000.m4s ...    segments of about ``segment_s`` (cut at keyframes: every 2 s)

The whole folder is built beside ``dest`` under a temporary name and renamed into place, so a
reader sees all of it or none of it; when another packager got there first its folder stays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av

from .errors import TranscodeError
from .files import commit, discard, temp_beside

#: what the playlists may name: anything else under an HLS folder is not ours to serve
FILE_RE = re.compile(r"^(index\.m3u8|init\.mp4|seg[0-9]{3,6}\.m4s)$")
MASTER = "master.m3u8"
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
}


@dataclass(frozen=True)
class HlsVariant:
    """One rendition as HLS: its folder name, picture size and bit rates (bits per second)."""

    name: str
    width: int
    height: int
    codecs: str
    fps: float
    peak_bps: int
    average_bps: int


def _codecs(container: av.container.InputContainer) -> str:
    """RFC 6381 codec string of an H.264/AAC rendition, e.g. ``avc1.64001e,mp4a.40.2``."""
    video = container.streams.video[0]
    avcc = video.codec_context.extradata or b""
    parts = [f"avc1.{avcc[1:4].hex()}" if len(avcc) >= 4 and avcc[0] == 1 else "avc1.64001f"]
    if container.streams.audio:
        parts.append("mp4a.40.2")  # AAC-LC, what the transcode writes
    return ",".join(parts)


def _segment(src: Path, folder: Path, segment_s: float) -> tuple[str, float]:
    """Cut one MP4 into ``folder``: (codec string, frame rate)."""
    folder.mkdir()
    with av.open(str(src)) as inp:
        codecs = _codecs(inp)
        fps = float(inp.streams.video[0].average_rate or 0)
        options = {
            "hls_time": f"{segment_s:g}",
            "hls_playlist_type": "vod",
            "hls_segment_type": "fmp4",
            "hls_fmp4_init_filename": "init.mp4",
            "hls_segment_filename": str(folder / "seg%03d.m4s"),
            "hls_flags": "independent_segments",
        }
        with av.open(str(folder / "index.m3u8"), "w", format="hls", options=options) as out:
            streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
            for packet in inp.demux():
                if packet.dts is None:  # the demuxer's flush packets
                    continue
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return codecs, fps


def _rates(folder: Path) -> tuple[int, int]:
    """(peak, average) bits per second over the segments named in ``folder/index.m3u8``."""
    lines = (folder / "index.m3u8").read_text().splitlines()
    peak, total_bits, total_s = 0.0, 0, 0.0
    init_bits = (folder / "init.mp4").stat().st_size * 8
    for extinf, uri in zip(lines, lines[1:], strict=False):
        if extinf.startswith("#EXTINF:") and FILE_RE.match(uri):
            seconds = float(extinf[len("#EXTINF:") :].split(",")[0]) or 1e-3
            bits = (folder / uri).stat().st_size * 8
            peak = max(peak, (bits + init_bits) / seconds)
            total_bits, total_s = total_bits + bits, total_s + seconds
    average = (total_bits + init_bits) / total_s if total_s else peak
    return math.ceil(peak), math.ceil(average)


def _master(variants: Sequence[HlsVariant]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for v in sorted(variants, key=lambda v: -v.peak_bps):  # best first: players start there
        lines.append(
            f"#EXT-X-STREAM-INF:BANDWIDTH={v.peak_bps},AVERAGE-BANDWIDTH={v.average_bps},"
            f'RESOLUTION={v.width}x{v.height},CODECS="{v.codecs}"'
            + (f",FRAME-RATE={v.fps:.3f}" if v.fps else "")
        )
        lines.append(f"{v.name}/index.m3u8")
    return "\n".join(lines) + "\n"


SUBTITLES_GROUP = "subs"


@dataclass(frozen=True)
class SubtitleTrack:
    """A caption language as an HLS SUBTITLES rendition: tag, name and its playlist's URI."""

    lang: str
    name: str
    uri: str
    automatic: bool = False


def _quoted(value: str) -> str:
    return value.replace('"', "'").replace("\n", " ").replace("\r", " ")


def master_with_subtitles(master: str, tracks: Sequence[SubtitleTrack]) -> str:
    """The master playlist ``master`` with one SUBTITLES group naming ``tracks`` (none: the
    group goes); the variant streams refer to it."""
    lines = [
        line for line in master.splitlines() if not line.startswith("#EXT-X-MEDIA:TYPE=SUBTITLES")
    ]
    lines = [
        line.replace(f',SUBTITLES="{SUBTITLES_GROUP}"', "")
        if line.startswith("#EXT-X-STREAM-INF:")
        else line
        for line in lines
    ]
    if tracks:
        at = next(
            (i for i, line in enumerate(lines) if line.startswith("#EXT-X-STREAM-INF:")), len(lines)
        )
        media = [
            f'#EXT-X-MEDIA:TYPE=SUBTITLES,GROUP-ID="{SUBTITLES_GROUP}",'
            f'LANGUAGE="{_quoted(t.lang)}",NAME="{_quoted(t.name)}",'
            f"DEFAULT={'YES' if i == 0 else 'NO'},AUTOSELECT=YES,"
            + (
                'CHARACTERISTICS="public.accessibility.transcribes-spoken-dialog",'
                if not t.automatic
                else ""
            )
            + f'URI="{_quoted(t.uri)}"'
            for i, t in enumerate(tracks)
        ]
        lines[at:at] = media
        lines = [
            line + f',SUBTITLES="{SUBTITLES_GROUP}"'
            if line.startswith("#EXT-X-STREAM-INF:")
            else line
            for line in lines
        ]
    return "\n".join(lines) + "\n"


def set_subtitles(dest: Path, tracks: Sequence[SubtitleTrack]) -> bool:
    """Rewrite the master playlist in the HLS folder ``dest`` to list ``tracks`` (atomically);
    False when the folder has no master yet (it is made at transcode time)."""
    master = Path(dest) / MASTER
    try:
        text = master.read_text()
    except FileNotFoundError:
        return False
    updated = master_with_subtitles(text, tracks)
    if updated != text:
        tmp = temp_beside(master)
        try:
            tmp.write_text(updated)
            commit(tmp, master)
        finally:
            discard(tmp)
    return True


def package_hls(
    renditions: Sequence[tuple[str, Path, int, int]], dest: Path, *, segment_s: float = 2.0
) -> list[HlsVariant]:
    """Write HLS for ``renditions`` (name, MP4 path, width, height) into the folder ``dest``.

    Packets are copied, not re-encoded (milliseconds for a short clip). Raises TranscodeError
    when a rendition cannot be read or written; nothing is left behind then.
    """
    dest = Path(dest)
    work = temp_beside(dest)
    try:
        work.mkdir(parents=True)
        variants = []
        for name, path, width, height in renditions:
            codecs, fps = _segment(Path(path), work / name, segment_s)
            peak, average = _rates(work / name)
            variants.append(HlsVariant(name, width, height, codecs, fps, peak, average))
        (work / MASTER).write_text(_master(variants))
        try:
            commit(work, dest)
        except OSError:
            if not (dest / MASTER).exists():  # not another packager's finished folder
                raise
        return variants
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise TranscodeError(f"HLS packaging failed: {exc}") from exc
    finally:
        discard(work)
