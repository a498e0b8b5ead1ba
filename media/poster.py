"""Poster images and cheap visual feature vectors from a few sampled frames."""

from __future__ import annotations

import bisect
import contextlib
from fractions import Fraction
from itertools import islice
from pathlib import Path

import av
import numpy as np

from .errors import InvalidMedia, MediaError
from .files import write_atomic
from .probe import open_video

FEATURE_LENGTH = 24
_FEATURE_SIDE = 48  # frames are shrunk to about this size before any statistics
_POSTER_POINTS = 5  # frames looked at for the poster
_FEATURE_POINTS = 4  # frame pairs looked at for the features
_MAX_FORWARD = 300  # frames decoded past a seek point at most (long GOPs)
# Clips costing at most this to decode in full (seconds x pixels: 12 s of 360x640) are decoded
# straight through; bigger ones are sampled by seeking (a GOP per point at most).
_SEQUENTIAL_BUDGET = 12.0 * 360 * 640


def _rotate(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """Turn pixels counter-clockwise by the display-matrix rotation."""
    turns = (round((rotation or 0) / 90.0)) % 4
    return np.ascontiguousarray(np.rot90(rgb, k=turns)) if turns else rgb


def _rgb(frame: av.VideoFrame, width: int | None) -> np.ndarray:
    """The picture as rgb24, at most ``width`` wide, turned upright by its rotation."""
    rotation = frame.rotation  # read before reformat, which drops side data
    if width and frame.width > width:
        h = max(2, round(frame.height * width / frame.width))
        frame = frame.reformat(width=width, height=h, format="rgb24")
    return _rotate(frame.to_ndarray(format="rgb24"), rotation)


def _points(count: int) -> list[float]:
    """Where the ``count`` sample points lie, as fractions of the clip."""
    return [(i + 0.5) / count for i in range(count)]


class _Picks:
    """The first picture at or after each wanted time, fed pictures in order (plus the one
    three later with ``pairs``, for motion): (time_s, rgb, next_rgb or None) in ``out``."""

    def __init__(self, wants: list, width: int | None, pairs: bool):
        self.wants, self.width, self.pairs = wants, width, pairs
        self.out: list = []
        self.k, self.pending, self.countdown = 0, None, 0

    def offer(self, when, time_s: float, frame: av.VideoFrame) -> bool:
        """Look at the next picture (``when`` None: always take it); False once done."""
        if self.pending is not None:
            self.countdown -= 1
            if self.countdown == 0:
                self.out.append((*self.pending, _rgb(frame, self.width)))
                self.pending = None
            return self.pending is not None or self.k < len(self.wants)
        if self.k >= len(self.wants):
            return False
        if when is None or when >= self.wants[self.k]:
            while self.k < len(self.wants) and (when is None or when >= self.wants[self.k]):
                self.k += 1
            item = (time_s, _rgb(frame, self.width))
            if self.pairs:
                self.pending, self.countdown = item, 3
            else:
                self.out.append((*item, None))
        return self.pending is not None or self.k < len(self.wants)

    def result(self) -> list:
        """The picks so far (a pick still waiting for its pair comes without one)."""
        return self.out + ([(*self.pending, None)] if self.pending is not None else [])


class LookSampler:
    """Keeps the pictures ``poster_from`` and ``features_from`` need while a clip's pictures go
    by (``offer`` each one, e.g. as a rendition is encoded: see ``transcode(looks=...)``), so
    neither decodes the clip again. The same points as ``make_poster`` and
    ``visual_features`` take from a file, over ``duration_s``."""

    def __init__(self, duration_s: float):
        wants = (lambda n: [f * duration_s for f in _points(n)]) if duration_s > 0 else None
        self._poster = _Picks(wants(_POSTER_POINTS) if wants else [], None, False)
        self._features = _Picks(wants(_FEATURE_POINTS) if wants else [], _FEATURE_SIDE * 2, True)

    def offer(self, time_s: float, frame: av.VideoFrame) -> None:
        """Look at the next picture, ``time_s`` into the clip."""
        self._poster.offer(time_s, time_s, frame)
        self._features.offer(time_s, time_s, frame)

    def poster_frames(self) -> list:
        return self._poster.result()

    def feature_samples(self) -> list:
        return self._features.result()


def _sample_frames(src: Path, count: int, *, width: int | None = None, pairs: bool = False):
    """Yield (time_s, rgb ndarray, next_rgb or None) at ``count`` points spread over the clip.

    Takes the first frame at each point (plus the one three frames later when ``pairs``, for
    motion): short clips in one decoding pass, long ones by seeking. Rotation is applied. Falls
    back to the first frames when the duration is unknown or seeking fails.
    """
    with open_video(src) as (container, stream):
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / 1_000_000

        def to_rgb(frame: av.VideoFrame) -> np.ndarray:
            return _rgb(frame, width)

        points = _points(count) if duration else []
        start = stream.start_time or 0
        wants = [start + int(frac * duration / stream.time_base) for frac in points]
        out = []
        if wants and duration * stream.width * stream.height <= _SEQUENTIAL_BUDGET:
            # short clips: one pass through every frame beats a seek (and a GOP) per point
            out = _pick(container.decode(stream), wants, width, pairs)
        else:
            # seek to each point, unless it lies ahead in the GOP being decoded already
            index = stream.index_entries
            keys = sorted(e.timestamp for e in index if e.is_keyframe) if index else []
            state: dict = {"pts": None}
            decoder = None
            for want in wants:
                key = (
                    keys[bisect.bisect_right(keys, want) - 1] if keys and keys[0] <= want else None
                )
                last = state["pts"]
                try:
                    if decoder is None or last is None or key is None or not key <= last < want:
                        container.seek(want, stream=stream, backward=True, any_frame=False)
                        decoder = _tracked(container.decode(stream), state)
                    out += _pick(islice(decoder, _MAX_FORWARD + 3), [want], width, pairs)
                except av.error.FFmpegError:
                    decoder = None
        if not out:
            with contextlib.suppress(av.error.FFmpegError):
                container.seek(0)
            prev = None
            for i, frame in enumerate(container.decode(stream)):
                rgb = to_rgb(frame)
                if prev is not None:
                    out.append((float(frame.time or 0), prev, rgb if pairs else None))
                prev = rgb
                if i >= count:
                    break
            if not out and prev is not None:
                out.append((0.0, prev, None))
        if not out:
            raise InvalidMedia("No video frame could be decoded; the file is damaged.")
        return out


def _tracked(frames, state: dict):
    """Pass ``frames`` through, remembering the last pts in ``state``."""
    for frame in frames:
        state["pts"] = frame.pts
        yield frame


def _pick(frames, wants: list[int], width: int | None, pairs: bool) -> list:
    """From decoded ``frames`` in order, the first frame at or after each pts in ``wants``.

    With ``pairs``, each pick also gets the frame three later (for motion).
    """
    picks = _Picks(wants, width, pairs)
    for frame in frames:
        if not picks.offer(frame.pts, float(frame.time or 0), frame):
            break
    return picks.result()


def _score(rgb: np.ndarray) -> float:
    """Prefer well-exposed, contrasty frames; near-black or flat frames score ~0."""
    luma = rgb[::4, ::4].astype(np.float32).mean(axis=2) / 255.0
    mean, std = float(luma.mean()), float(luma.std())
    if mean < 0.06 or mean > 0.97:
        return 0.0
    exposure = 1.0 - min(1.0, abs(mean - 0.5) * 1.6)
    return std * (0.3 + exposure)


def _encode_jpeg(rgb: np.ndarray, quality: int = 4) -> bytes:
    h, w = rgb.shape[:2]
    w2, h2 = w - w % 2, h - h % 2
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb[:h2, :w2]), format="rgb24")
    frame = frame.reformat(format="yuvj420p")
    cc = av.CodecContext.create("mjpeg", "w")
    cc.width, cc.height, cc.pix_fmt = w2, h2, "yuvj420p"
    cc.time_base = Fraction(1, 25)
    cc.qscale = quality
    cc.flags |= av.codec.context.Flags.qscale
    cc.global_quality = quality * 118  # FF_QP2LAMBDA
    packets = cc.encode(frame) + cc.encode(None)
    return b"".join(bytes(p) for p in packets)


def make_poster(src: Path, dest: Path, *, max_width: int = 720) -> Path:
    """Write a JPEG of a representative frame of ``src`` to ``dest`` (atomically) and return it.

    Samples a few frames over the clip and keeps the best exposed, most contrasty one, so a
    black or blank opening frame is not chosen. Rotation is applied; width is at most
    ``max_width`` (of the displayed picture).
    """
    return poster_from(_sample_frames(Path(src), _POSTER_POINTS, width=None), dest, max_width)


def poster_from(frames: list, dest: Path, max_width: int = 720) -> Path:
    """``make_poster`` from pictures already sampled (``LookSampler.poster_frames``)."""
    dest = Path(dest)
    best = max(frames, key=lambda item: _score(item[1]))[1]
    h, w = best.shape[:2]
    if w > max_width:
        nh = max(2, round(h * max_width / w))
        frame = av.VideoFrame.from_ndarray(best, format="rgb24")
        best = frame.reformat(width=max_width, height=nh, format="rgb24").to_ndarray()
    try:
        data = _encode_jpeg(best)
        dest.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(dest, data)
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(f"Could not write the poster: {exc}") from exc
    return dest


def _hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x = rgb.astype(np.float32) / 255.0
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    mx, mn = x.max(axis=2), x.min(axis=2)
    delta = mx - mn
    safe = np.where(delta > 1e-6, delta, 1.0)
    h = np.where(
        mx == r,
        ((g - b) / safe) % 6.0,
        np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    h = np.where(delta > 1e-6, h / 6.0, 0.0)
    s = np.where(mx > 1e-6, delta / np.where(mx > 1e-6, mx, 1.0), 0.0)
    return h, s, mx


def visual_features(src: Path) -> np.ndarray:
    """A fixed-length (24) float32 description of how a clip looks, L2-normalised.

    Layout: 12-bin hue histogram weighted by saturation x value, 4-bin saturation histogram,
    4-bin value histogram, then mean brightness, brightness contrast, mean saturation and
    motion energy. Cheap: 4 seek points x 2 frames, shrunk to ~48 px wide.
    """
    return features_from(
        _sample_frames(Path(src), _FEATURE_POINTS, width=_FEATURE_SIDE * 2, pairs=True)
    )


def features_from(samples: list) -> np.ndarray:
    """``visual_features`` from pictures already sampled (``LookSampler.feature_samples``)."""
    hue_hist = np.zeros(12, np.float64)
    sat_hist = np.zeros(4, np.float64)
    val_hist = np.zeros(4, np.float64)
    brightness, contrast, saturation, motion = [], [], [], []
    for _, rgb, nxt in samples:
        h, s, v = _hsv(rgb[::2, ::2])
        weight = (s * v).ravel()
        hue_hist += np.bincount(
            np.minimum((h.ravel() * 12).astype(int), 11), weights=weight, minlength=12
        )
        sat_hist += np.bincount(np.minimum((s.ravel() * 4).astype(int), 3), minlength=4)
        val_hist += np.bincount(np.minimum((v.ravel() * 4).astype(int), 3), minlength=4)
        luma = rgb.astype(np.float32).mean(axis=2) / 255.0
        brightness.append(luma.mean())
        contrast.append(luma.std())
        saturation.append(s.mean())
        if nxt is not None and nxt.shape == rgb.shape:
            diff = np.abs(nxt.astype(np.float32) - rgb.astype(np.float32)).mean() / 255.0
            motion.append(diff)
    hue_hist /= max(hue_hist.sum(), 1e-9)
    sat_hist /= max(sat_hist.sum(), 1e-9)
    val_hist /= max(val_hist.sum(), 1e-9)
    stats = np.array(
        [
            np.mean(brightness),
            np.mean(contrast) * 2.0,
            np.mean(saturation),
            min(1.0, (np.mean(motion) if motion else 0.0) * 10.0),
        ]
    )
    vec = np.concatenate([hue_hist, sat_hist * 0.5, val_hist * 0.5, stats]).astype(np.float32)
    norm = float(np.linalg.norm(vec))
    return vec / norm if norm > 0 else vec
