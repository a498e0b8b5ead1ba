"""The media work of one upload: probe once, transcode the ladder, poster and visual features.

``process_upload`` is what a transcode worker runs (in a long-lived child, see ``runner.py``):
paths and dataclasses in, an ``UploadResult`` out. The probe result and the edit recipe are
passed down, never worked out again; the edited video's metadata is computed once.
``probe_isolated`` and ``preview_isolated`` look at an upload while it is being received,
each in a fresh child with a deadline, and say what went wrong as media errors.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .edit import EditRecipe
from .edit_graph import EditSession
from .errors import InvalidMedia, MediaError, TranscodeError
from .hls import package_hls
from .poster import LookSampler, features_from, make_poster, poster_from, visual_features
from .preview import preview_still
from .probe import ProbeResult, probe
from .runner import ChildDied, OutOfMemory, RunnerError, TimedOut, run_isolated
from .transcode import Rendition, transcode


@dataclass(frozen=True)
class Ladder:
    """How renditions are encoded: short sides (e.g. 360, 240) and the encoder settings."""

    short_sides: tuple[int, ...] = (360, 240)
    preset: str = "veryfast"
    crf: int = 26
    audio_bitrate: int = 96_000


@dataclass(frozen=True)
class Limits:
    """What a source may be: largest side in pixels and longest duration in seconds."""

    max_dimension: int = 8192
    max_duration_s: float = 600.0


@dataclass(frozen=True)
class UploadResult:
    """A processed upload: what to publish about it and the files written."""

    info: ProbeResult  # the published video (after the edit): size, duration, rate, codecs
    source: ProbeResult  # the upload as probed
    renditions: tuple[Rendition, ...]
    poster: Path
    features: np.ndarray = field(compare=False)  # float32, poster.FEATURE_LENGTH long
    steps: tuple[tuple[str, float], ...] = field(default=())  # (step, seconds) in order
    hls: Path | None = None  # the HLS folder when it was made (None: not asked, or it failed)

    @property
    def duration_s(self) -> float:
        """The published length: as encoded when there are renditions."""
        return self.renditions[0].duration_s if self.renditions else self.info.duration_s


def process_upload(
    src: Path,
    out_dir: Path,
    ladder: Ladder = Ladder(),
    *,
    recipe: EditRecipe | None = None,
    info: ProbeResult | None = None,
    limits: Limits = Limits(),
    progress: Callable[[float], None] | None = None,
    hls_dir: Path | None = None,
) -> UploadResult:
    """Renditions, ``poster.jpg`` and visual features of ``src``, written into ``out_dir``;
    with ``hls_dir``, the renditions packaged as HLS there too (see ``hls.package_hls``; a
    packaging failure only leaves ``UploadResult.hls`` None: the MP4s still play).

    ``info`` is the source's probe when the caller has it (else it is probed here, within
    ``limits``); ``recipe`` is applied while transcoding. Raises InvalidMedia for a file or
    recipe we refuse and TranscodeError when writing fails. ``progress`` rises from 0.02 to
    0.96 (the rest is the caller's: recording the result).
    """
    src, out_dir = Path(src), Path(out_dir)
    steps: list[tuple[str, float]] = []
    report = progress or (lambda _f: None)

    @contextmanager
    def step(name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        steps.append((name, round(time.perf_counter() - started, 4)))

    if info is None:
        with step("probe"):
            info = probe(
                src, max_dimension=limits.max_dimension, max_duration_s=limits.max_duration_s
            )
    source = info
    session = None
    if recipe is not None and not recipe.is_identity:
        session = EditSession(recipe, source)  # validates it against the clip, once
        info = session.output
    # the poster's and the features' pictures are taken as the largest rendition is encoded
    looks = LookSampler(info.duration_s)
    with step("transcode"):
        renditions = transcode(
            src,
            out_dir,
            ladder.short_sides,
            progress=lambda p: report(round(0.02 + 0.9 * float(p), 4)),
            preset=ladder.preset,
            crf=ladder.crf,
            audio_bitrate=ladder.audio_bitrate,
            info=source,
            edit=session,
            looks=looks.offer,
        )
    # poster and features from the largest rendition's pictures (already rotated and edited);
    # decoded from its file only if none were taken (a clip of unknown length)
    largest = max(renditions, key=lambda r: r.width * r.height).path if renditions else src
    with step("poster"):
        frames, dest = looks.poster_frames(), out_dir / "poster.jpg"
        poster = poster_from(frames, dest) if frames else make_poster(largest, dest)
    report(0.96)
    with step("features"):
        samples = looks.feature_samples()
        features = features_from(samples) if samples else visual_features(largest)
        features = np.asarray(features, dtype=np.float32)
    hls = None
    if hls_dir is not None and renditions:
        with step("hls"):
            try:
                package_hls([(r.name, r.path, r.width, r.height) for r in renditions], hls_dir)
                hls = Path(hls_dir)
            except TranscodeError:
                hls = None
    return UploadResult(info, source, tuple(renditions), poster, features, tuple(steps), hls)


def probe_isolated(
    path: Path,
    *,
    timeout_s: float = 30.0,
    limits: Limits = Limits(),
    memory_limit_mb: int | None = None,
) -> ProbeResult:
    """``probe(path)`` within ``limits`` in a fresh child process, killed after ``timeout_s``,
    its address space capped at ``memory_limit_mb`` MiB (None: no cap).

    A file made to hang or crash a demuxer or decoder costs a child, not the caller's thread.
    Raises InvalidMedia for every refusal, a time-out, a memory blow-up and a crashed reader.
    """
    try:
        return run_isolated(
            probe,
            Path(path),
            timeout_s=timeout_s,
            memory_limit_mb=memory_limit_mb,
            max_dimension=limits.max_dimension,
            max_duration_s=limits.max_duration_s,
        )
    except InvalidMedia:
        raise
    except TimedOut as exc:
        raise InvalidMedia(f"Reading the file {exc}; it may be damaged.") from exc
    except OutOfMemory as exc:
        raise InvalidMedia(f"Reading the file {exc}.") from exc
    except ChildDied as exc:
        raise InvalidMedia(f"The file could not be read (the reader {exc}).") from exc
    except MediaError as exc:
        raise InvalidMedia(str(exc)) from exc
    except Exception as exc:
        raise InvalidMedia(f"Reading the file failed: {exc!r}") from exc


def preview_isolated(
    src: Path,
    recipe: EditRecipe,
    dest: Path,
    *,
    max_width: int = 360,
    timeout_s: float = 30.0,
    memory_limit_mb: int | None = None,
) -> Path:
    """``edit.preview_still(src, recipe, dest)`` in a fresh child process, killed after ``timeout_s``,
    its address space capped at ``memory_limit_mb`` MiB (None: no cap).

    Raises InvalidMedia when the file cannot be read and TranscodeError when the child times
    out, dies or fails otherwise; a half-written ``dest`` is removed.
    """
    try:
        return run_isolated(
            preview_still,
            Path(src),
            recipe,
            Path(dest),
            max_width=max_width,
            timeout_s=timeout_s,
            memory_limit_mb=memory_limit_mb,
        )
    except BaseException as exc:
        Path(dest).unlink(missing_ok=True)
        if isinstance(exc, InvalidMedia) or not isinstance(exc, Exception):
            raise
        if isinstance(exc, RunnerError):
            raise TranscodeError(f"Making the preview {exc}.") from exc
        if isinstance(exc, MediaError):
            raise TranscodeError(str(exc)) from exc
        raise TranscodeError(f"The preview failed: {exc!r}") from exc
