"""Demo clips: a topic's scene, caption band and soft chord encoded to an MP4, in worker processes."""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import dataclasses
import multiprocessing as mp
import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from shortstack.demo_scenes import Scene
from shortstack.demo_topics import TOPICS, DemoSpec, Topic, demo_catalogue
from shortstack.media import font
from shortstack.media.files import atomic_path


class _Caption:
    """Caption and hashtags in a darkened band near the bottom, precomputed as pixel indices."""

    def __init__(self, spec: DemoSpec, topic: Topic, w: int, h: int):
        scale = 2 if w < 540 else 3
        margin = max(8, w // 24)
        lines = font.wrap(spec.caption, w - 2 * margin, scale)[:3]
        tags = font.wrap(" ".join(f"#{t}" for t in spec.hashtags), w - 2 * margin, scale)[:2]
        cap = font.block_mask(lines, scale)
        tag = font.block_mask(tags, scale)
        pitch = font.LINE * scale
        height = cap.shape[0] + tag.shape[0] + pitch // 2
        self.y0 = max(0, h - height - 3 * margin)
        self.y1 = min(h, self.y0 + height + 2 * margin)
        canvas_caption = np.zeros((h, w), bool)
        canvas_tags = np.zeros((h, w), bool)
        y = self.y0 + margin
        ch, cw = min(cap.shape[0], h - y), min(cap.shape[1], w - margin)
        canvas_caption[y : y + ch, margin : margin + cw] = cap[:ch, :cw]
        y += cap.shape[0] + pitch // 2
        th, tw = max(0, min(tag.shape[0], h - y)), min(tag.shape[1], w - margin)
        canvas_tags[y : y + th, margin : margin + tw] = tag[:th, :tw]
        self.caption_px = np.nonzero(canvas_caption)
        self.tags_px = np.nonzero(canvas_tags)
        self.tag_colour = max(topic.accents, key=lambda c: sum(c))
        badge = font.block_mask([topic.name.upper()], scale)
        self.badge_px = np.nonzero(np.pad(badge, ((margin, 0), (margin, 0))))

    def draw(self, img: np.ndarray) -> None:
        img[self.y0 : self.y1] >>= 1
        img[self.caption_px] = (255, 255, 255)
        img[self.tags_px] = self.tag_colour
        img[self.badge_px] = (255, 255, 255)


def _audio(topic: Topic, seed: int, duration_s: float, rate: int = 48_000) -> np.ndarray:
    """A soft chord with a slow swell and a gentle pulse, stereo float32 (2, n)."""
    n = int(round(duration_s * rate))
    t = np.arange(n, dtype=np.float32) / rate
    rng = np.random.default_rng(seed)
    detune = float(rng.uniform(0.98, 1.02))
    left = np.zeros(n, np.float32)
    right = np.zeros(n, np.float32)
    for k, f in enumerate(topic.chord_hz):
        f *= detune
        tone = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)
        pan = 0.5 + 0.3 * np.sin(k * 1.7)
        left += tone * pan
        right += tone * (1 - pan)
    pulse = 0.75 + 0.25 * np.sin(2 * np.pi * t * (1.5 + rng.uniform(0, 1)))
    fade = np.minimum(1.0, np.minimum(t / 0.3, (duration_s - t) / 0.5)).clip(0, 1)
    gain = 0.18 / len(topic.chord_hz)
    return np.stack([left, right]) * (pulse * fade * gain)[None, :].astype(np.float32)


def _encode(
    path: Path,
    spec: DemoSpec,
    *,
    duration_s: float,
    width: int,
    height: int,
    fps: int,
    video_options: dict[str, str],
    audio_bitrate: int = 96_000,
) -> None:
    """Draw the clip for ``spec`` and encode it to ``path`` (H.264/AAC MP4, faststart)."""
    topic = TOPICS[spec.topic]
    n = max(1, int(round(duration_s * fps)))
    scene = Scene(topic, spec, width, height, fps, n)
    caption = _Caption(spec, topic, width, height)
    sound = _audio(topic, spec.seed, n / fps)
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        vs = out.add_stream("libx264", rate=fps)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        vs.thread_type = "AUTO"
        vs.codec_context.gop_size = fps * 2
        vs.options = dict(video_options)
        aus = out.add_stream("aac", rate=48_000)
        aus.layout = "stereo"
        aus.bit_rate = audio_bitrate
        aus.options = {"aac_coder": "fast"}
        chunk = 48_000 // fps
        # one RGB frame reused for every picture: the encoder makes new frames from it,
        # and skipping a per-frame allocation halves the cost
        frame = av.VideoFrame(width, height, "rgb24")
        plane = frame.planes[0]
        view = np.frombuffer(plane, np.uint8).reshape(height, plane.line_size)
        target = view[:, : width * 3].reshape(height, width, 3)
        img = np.empty((height, width, 3), np.uint8)  # contiguous: drawing is 3x faster
        for i in range(n):
            scene.draw(i, img)
            caption.draw(img)
            np.copyto(target, img)
            frame.pts = i
            for packet in vs.encode(frame):
                out.mux(packet)
            block = sound[:, i * chunk : (i + 1) * chunk]
            if block.shape[1]:
                af = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(block), format="fltp", layout="stereo"
                )
                af.sample_rate = 48_000
                af.pts = i * chunk
                af.time_base = Fraction(1, 48_000)
                for packet in aus.encode(af):
                    out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        for packet in aus.encode():
            out.mux(packet)


def make_demo_clip(
    dest: Path,
    spec: DemoSpec,
    *,
    duration_s: float = 6.0,
    width: int = 360,
    height: int = 640,
    fps: int = 30,
) -> Path:
    """Draw the animated clip for ``spec`` and write it to ``dest`` (H.264/AAC MP4, faststart).

    Written whole or not at all (media/files.py). Cheap by design: x264 ultrafast at CRF 21,
    about a second of CPU for a 6 s 360x640 clip.
    """
    dest = Path(dest)
    width, height = max(2, width // 2 * 2), max(2, height // 2 * 2)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dest, suffix=".mp4") as tmp:
        _encode(
            tmp,
            spec,
            duration_s=duration_s,
            width=width,
            height=height,
            fps=fps,
            video_options={"preset": "ultrafast", "crf": "21"},
        )
    return dest


# ----------------------------------------------------------------------------- worker pool


def _lower_priority() -> None:
    """Clip drawing yields the CPU to transcodes, so the first videos are ready sooner."""
    with contextlib.suppress(OSError, AttributeError):
        os.nice(10)


def _make_clip(dest: str, spec_fields: dict) -> str:
    return str(make_demo_clip(Path(dest), DemoSpec(**spec_fields)))


class ClipMaker:
    """Draws the demo clips in two low-priority processes, starting before the server is up."""

    def __init__(self, data_dir: Path, videos: int, seed: int) -> None:
        self.specs = demo_catalogue(videos, seed=seed)
        clips = data_dir / "clips"
        clips.mkdir(parents=True, exist_ok=True)
        self.pool = cf.ProcessPoolExecutor(
            max_workers=2, mp_context=mp.get_context("spawn"), initializer=_lower_priority
        )
        self.futures = [
            self.pool.submit(_make_clip, str(clips / f"clip{i:03d}.mp4"), dataclasses.asdict(spec))
            for i, spec in enumerate(self.specs)
        ]

    def done(self) -> Iterator[tuple[DemoSpec, Path]]:
        """(spec, clip path) in catalogue order, as each is drawn."""
        for spec, fut in zip(self.specs, self.futures, strict=True):
            yield spec, Path(fut.result())

    def shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
