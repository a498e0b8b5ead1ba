"""Demo content: a topic catalogue and cheap, good-looking animated clips drawn with numpy."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from . import font
from .probe import ProbeResult
from .transcode import Rendition, plan_ladder

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Topic:
    """How one demo topic looks and sounds, and what its posts say."""

    name: str
    top: RGB  # background gradient, top colour
    bottom: RGB  # background gradient, bottom colour
    accents: tuple[RGB, ...]  # shapes and particles
    style: str  # which animation draws it
    hashtags: tuple[str, ...]
    captions: tuple[str, ...]
    chord_hz: tuple[float, ...]  # audio: a soft chord


TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        Topic(
            "cooking",
            (70, 28, 12),
            (214, 110, 40),
            ((255, 236, 200), (255, 190, 90), (250, 250, 250)),
            "bubbles",
            ("cooking", "recipe", "foodie", "dinner", "homemade"),
            (
                "Ten minute garlic noodles",
                "Crispy potatoes, no oven",
                "Grandma's secret tomato sauce",
                "One pan lemon pasta",
                "Perfect fluffy pancakes",
            ),
            (261.6, 329.6, 392.0),
        ),
        Topic(
            "cats",
            (250, 205, 222),
            (180, 160, 240),
            ((90, 70, 80), (255, 120, 160), (255, 255, 255)),
            "cat",
            ("cats", "catsoftiktok", "kitten", "meow", "pets"),
            (
                "He thinks he is a loaf",
                "Caught stealing ham again",
                "Morning zoomies at 5am",
                "She found the box!",
                "Judging me from the shelf",
            ),
            (349.2, 440.0, 523.3),
        ),
        Topic(
            "sunsets",
            (44, 12, 70),
            (252, 128, 48),
            ((255, 220, 120), (255, 160, 90), (255, 240, 200)),
            "sunset",
            ("sunset", "goldenhour", "sky", "nature", "calm"),
            (
                "Tonight's sky did not disappoint",
                "Golden hour at the pier",
                "Nobody talk, just watch",
                "Last light over the bay",
            ),
            (220.0, 277.2, 329.6),
        ),
        Topic(
            "skate",
            (120, 150, 160),
            (60, 70, 78),
            ((240, 80, 60), (250, 250, 250), (255, 210, 40)),
            "skate",
            ("skate", "skateboarding", "kickflip", "streetstyle", "tricks"),
            (
                "Finally landed the kickflip",
                "Empty park at sunrise",
                "Day 30 of learning to ollie",
                "Bowl session with the crew",
            ),
            (196.0, 246.9, 293.7),
        ),
        Topic(
            "synthwave",
            (16, 0, 40),
            (210, 40, 150),
            ((40, 240, 255), (255, 90, 200), (255, 230, 90)),
            "synthwave",
            ("synthwave", "retrowave", "80s", "neon", "music"),
            (
                "Driving into the neon night",
                "New track, full volume",
                "1986 called, it wants this back",
                "Outrun vibes only",
            ),
            (110.0, 164.8, 220.0, 261.6),
        ),
        Topic(
            "ocean",
            (120, 200, 240),
            (10, 50, 110),
            ((20, 110, 190), (40, 150, 220), (230, 250, 255)),
            "ocean",
            ("ocean", "waves", "surf", "beach", "sea"),
            (
                "Sound on for the waves",
                "Glassy morning swell",
                "Low tide, high spirits",
                "Salt water cures everything",
            ),
            (293.7, 370.0, 440.0),
        ),
        Topic(
            "forest",
            (150, 200, 140),
            (20, 60, 30),
            ((40, 30, 20), (230, 140, 40), (200, 220, 90)),
            "forest",
            ("forest", "hiking", "trees", "outdoors", "autumn"),
            (
                "Autumn walk in the old woods",
                "Listen to the leaves",
                "Found a quiet trail today",
                "Forest bathing is real",
            ),
            (174.6, 220.0, 261.6),
        ),
        Topic(
            "city",
            (8, 10, 40),
            (40, 30, 90),
            ((255, 220, 120), (255, 60, 60), (240, 240, 255)),
            "city",
            ("city", "nightlife", "urban", "streets", "citylights"),
            (
                "City never sleeps",
                "Night drive downtown",
                "Rooftop view after work",
                "Lights, traffic, home",
            ),
            (233.1, 277.2, 349.2),
        ),
    )
}


@dataclass(frozen=True)
class DemoSpec:
    """One demo post: what to draw and what to say."""

    topic: str
    caption: str
    hashtags: list[str]
    seed: int


def demo_catalogue(n: int, seed: int = 0) -> list[DemoSpec]:
    """``n`` demo posts spread evenly over the topics, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    names = list(TOPICS)
    specs = []
    order: list[str] = []
    for i in range(n):
        if not order:
            order = [names[j] for j in rng.permutation(len(names))]
        topic = TOPICS[order.pop()]
        caption = topic.captions[int(rng.integers(len(topic.captions)))]
        k = int(rng.integers(2, 4))
        tags = [
            topic.hashtags[j] for j in sorted(rng.choice(len(topic.hashtags), k, replace=False))
        ]
        specs.append(DemoSpec(topic.name, caption, tags, seed * 100_003 + i))
    return specs


# ----------------------------------------------------------------------------- drawing


def _gradient(h: int, w: int, top: RGB, bottom: RGB) -> np.ndarray:
    t = np.linspace(0.0, 1.0, h, dtype=np.float32)[:, None, None]
    col = (1 - t) * np.array(top, np.float32) + t * np.array(bottom, np.float32)
    return np.ascontiguousarray(np.broadcast_to(col, (h, w, 3)), dtype=np.uint8)


def _disc_mask(r: int) -> np.ndarray:
    yy, xx = np.mgrid[-r : r + 1, -r : r + 1]
    return xx * xx + yy * yy <= r * r


def _paste(img: np.ndarray, mask: np.ndarray, x: int, y: int, color) -> None:
    """Paint ``color`` (RGB or an image the size of ``mask``) where ``mask`` is set, at (x, y)."""
    h, w = mask.shape
    H, W = img.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(W, x + w), min(H, y + h)
    if x0 >= x1 or y0 >= y1:
        return
    m = mask[y0 - y : y1 - y, x0 - x : x1 - x, None]
    region = img[y0:y1, x0:x1]
    if isinstance(color, np.ndarray):
        color = color[y0 - y : y1 - y, x0 - x : x1 - x]
    else:
        color = np.asarray(color, np.uint8)
    np.copyto(region, color, where=m)  # 2-3x faster than boolean-mask assignment


def _dots(img: np.ndarray, xs: np.ndarray, ys: np.ndarray, color, size: int = 2) -> None:
    H, W = img.shape[:2]
    xs = xs.astype(int)
    ys = ys.astype(int)
    ok = (xs >= 0) & (ys >= 0) & (xs < W - size) & (ys < H - size)
    xs, ys = xs[ok], ys[ok]
    for dy in range(size):
        for dx in range(size):
            img[ys + dy, xs + dx] = color


class _Scene:
    """Precomputes everything static; ``draw(i)`` returns frame ``i`` as an RGB array."""

    def __init__(self, topic: Topic, spec: DemoSpec, w: int, h: int, fps: int, n: int):
        self.t, self.w, self.h, self.fps, self.n = topic, w, h, fps, n
        self.rng = np.random.default_rng(spec.seed)
        self.bg = _gradient(h, w, topic.top, topic.bottom)
        self.s = min(w, h) / 360.0  # scale of shapes relative to a 360 px wide frame
        setup: Callable[[], None] = getattr(self, f"_setup_{topic.style}")
        setup()
        # C order matters: copying a channel-planar background each frame costs 20x more
        self.bg = np.ascontiguousarray(self.bg)
        self.draw_style: Callable[[np.ndarray, int], None] = getattr(self, f"_draw_{topic.style}")

    def draw(self, i: int, out: np.ndarray) -> None:
        """Draw frame ``i`` into ``out`` (an H x W x 3 uint8 array, possibly a strided view)."""
        np.copyto(out, self.bg)
        self.draw_style(out, i)

    # bubbles (cooking): a pot and rising steam bubbles
    def _setup_bubbles(self) -> None:
        w, h, s = self.w, self.h, self.s
        pot = _disc_mask(int(150 * s))[int(150 * s) :]
        _paste(self.bg, pot, w // 2 - int(150 * s), int(h * 0.58), (40, 40, 46))
        rim = np.ones((int(10 * s) + 1, int(330 * s)), bool)
        _paste(self.bg, rim, w // 2 - int(165 * s), int(h * 0.58), (90, 90, 100))
        k = 22
        self.bx = self.rng.uniform(w * 0.25, w * 0.75, k)
        self.by = self.rng.uniform(0, h * 0.58, k)
        self.br = self.rng.integers(int(4 * s) + 1, int(16 * s) + 2, k)
        self.bv = self.rng.uniform(1.0, 3.0, k) * s
        self.masks = {int(r): _disc_mask(int(r)) for r in set(self.br.tolist())}

    def _draw_bubbles(self, img: np.ndarray, i: int) -> None:
        top = self.h * 0.58
        for j in range(len(self.bx)):
            y = (self.by[j] - i * self.bv[j]) % top
            x = self.bx[j] + 10 * self.s * np.sin(i / 9 + j)
            r = int(self.br[j])
            colour = self.t.accents[j % 2]
            _paste(img, self.masks[r], int(x) - r, int(y) - r, colour)

    # cat: a bobbing cat face with blinking eyes and floating hearts
    def _setup_cat(self) -> None:
        s = self.s
        r = int(95 * s)
        size = 2 * r + 1
        head = np.zeros((size + int(60 * s), size), bool)
        off = int(60 * s)
        head[off:, :] |= _disc_mask(r)
        yy, xx = np.mgrid[0 : head.shape[0], 0:size]
        for cx in (int(0.25 * size), int(0.75 * size)):
            head |= (np.abs(xx - cx) <= yy * 0.5) & (yy < off + r * 0.5)
        self.head = head
        sprite = np.zeros(head.shape + (3,), np.uint8)
        sprite[:] = self.t.accents[0]
        eye = _disc_mask(int(14 * s))
        self.eye_l = (int(0.3 * size), off + int(0.8 * r))
        self.eye_r = (int(0.7 * size) - 2 * int(14 * s), off + int(0.8 * r))
        nose = _disc_mask(int(8 * s))
        _paste(sprite, nose, size // 2 - int(8 * s), off + int(1.05 * r), self.t.accents[1])
        closed = np.zeros_like(eye)
        closed[eye.shape[0] // 2 - 1 : eye.shape[0] // 2 + 2] = True
        self.sprites = []
        for mask in (eye, closed):
            sp = sprite.copy()
            for ex, ey in (self.eye_l, self.eye_r):
                _paste(sp, mask, ex, ey, (250, 250, 210))
            self.sprites.append(sp)
        k = 12
        self.hx = self.rng.uniform(0, self.w, k)
        self.hy = self.rng.uniform(0, self.h, k)
        r = int(7 * s)
        lobe = _disc_mask(r)
        heart = np.zeros((4 * r, 4 * r + 1), bool)
        heart[: 2 * r + 1, : 2 * r + 1] |= lobe
        heart[: 2 * r + 1, 2 * r :] |= lobe
        yy, xx = np.mgrid[0 : 4 * r, 0 : 4 * r + 1]
        heart |= (yy >= r) & (np.abs(xx - 2 * r) <= (4 * r - yy) * 1.0)
        self.heart = heart

    def _draw_cat(self, img: np.ndarray, i: int) -> None:
        s = self.s
        x = int(self.w / 2 - self.head.shape[1] / 2 + 40 * s * np.sin(i / 14))
        y = int(self.h * 0.3 + 14 * s * np.sin(i / 6))
        _paste(img, self.head, x, y, self.sprites[1 if (i % 70) < 5 else 0])
        for j in range(len(self.hx)):
            hy = (self.hy[j] - i * 1.5 * s) % self.h
            hx = self.hx[j] + 8 * s * np.sin(i / 10 + j)
            _paste(img, self.heart, int(hx), int(hy), self.t.accents[1 + j % 2])

    # sunset: a setting sun over shimmering water
    def _setup_sunset(self) -> None:
        w, h, s = self.w, self.h, self.s
        self.horizon = int(h * 0.62)
        water = _gradient(h - self.horizon, w, (120, 50, 80), (20, 10, 40))
        self.bg[self.horizon :] = water
        tile = np.zeros((h - self.horizon, 2 * w), bool)
        for _ in range(int(140 * s * s) + 20):
            yy = int(self.rng.integers(0, h - self.horizon))
            xx = int(self.rng.integers(0, 2 * w - 40))
            length = int(10 + 40 * (1 - yy / (h - self.horizon)) * self.rng.random())
            tile[yy, xx : xx + length] = True
        self.shimmer = tile
        self.sun = _disc_mask(int(70 * s))

    def _draw_sunset(self, img: np.ndarray, i: int) -> None:
        s = self.s
        r = self.sun.shape[0] // 2
        y = int(self.horizon - 2.6 * r + i * 0.35 * s)
        sky = img[: self.horizon]
        _paste(sky, self.sun, self.w // 2 - r, y, self.t.accents[0])
        off = int(i * 1.2) % self.w
        water = img[self.horizon :]
        water[self.shimmer[:, off : off + self.w]] = self.t.accents[1 + (i // 8) % 2]

    # skate: speed streaks and a board jumping across
    def _setup_skate(self) -> None:
        w, h, s = self.w, self.h, self.s
        noise = self.rng.integers(0, 18, (h, w, 1), dtype=np.uint8)
        self.bg = np.clip(self.bg.astype(np.int16) + noise - 9, 0, 255).astype(np.uint8)
        self.ground = int(h * 0.7)
        self.bg[self.ground : self.ground + int(6 * s)] = (30, 30, 34)
        k = 16
        self.sy = self.rng.uniform(0, h * 0.68, k)
        self.sx = self.rng.uniform(0, w, k)
        self.sl = self.rng.uniform(30, 90, k) * s
        bw, bh = int(120 * s), int(14 * s)
        board = np.zeros((bh + int(22 * s), bw), bool)
        board[:bh, int(6 * s) : bw - int(6 * s)] = True
        board[2 : bh - 2, :] = True
        wheel = _disc_mask(int(10 * s))
        board[bh : bh + wheel.shape[0], int(16 * s) : int(16 * s) + wheel.shape[1]] |= wheel[
            : board.shape[0] - bh
        ]
        board[bh : bh + wheel.shape[0], bw - int(36 * s) : bw - int(36 * s) + wheel.shape[1]] |= (
            wheel[: board.shape[0] - bh]
        )
        self.board = board

    def _draw_skate(self, img: np.ndarray, i: int) -> None:
        s = self.s
        for j in range(len(self.sx)):
            x = int((self.sx[j] - i * 14 * s) % (self.w + self.sl[j])) - int(self.sl[j])
            y = int(self.sy[j])
            img[y : y + 2, max(0, x) : max(0, x + int(self.sl[j]))] = self.t.accents[1]
        period = 45
        phase = (i % period) / period
        bx = int(-self.board.shape[1] + phase * (self.w + self.board.shape[1]))
        jump = max(0.0, np.sin(phase * np.pi * 2)) * 120 * s
        by = int(self.ground - self.board.shape[0] - jump)
        _paste(img, self.board, bx, by, self.t.accents[0])

    # synthwave: striped sun and a perspective grid rushing towards us
    def _setup_synthwave(self) -> None:
        w, h, s = self.w, self.h, self.s
        self.horizon = int(h * 0.55)
        ground = _gradient(h - self.horizon, w, (40, 0, 60), (10, 0, 20))
        self.bg[self.horizon :] = ground
        r = int(110 * s)
        sun = _disc_mask(r)
        colours = _gradient(sun.shape[0], sun.shape[1], (255, 230, 90), (255, 60, 160))
        stripes = np.ones(sun.shape[0], bool)
        for k in range(6):
            y0 = r + k * int(16 * s)
            stripes[y0 : y0 + max(2, int((2 + k) * s))] = False
        sun &= stripes[:, None]
        _paste(self.bg[: self.horizon], sun, w // 2 - r, self.horizon - r - int(30 * s), colours)
        yy, xx = np.mgrid[0 : h - self.horizon, 0:w]
        depth = (yy + 4.0) / (h - self.horizon)
        lines = np.zeros_like(depth, bool)
        for k in range(-8, 9):
            lines |= np.abs((xx - w / 2) - k * 60 * s * depth * 2.2) < 1.2
        self.bg[self.horizon :][lines] = self.t.accents[0]
        self.ground_h = h - self.horizon

    def _draw_synthwave(self, img: np.ndarray, i: int) -> None:
        ground = img[self.horizon :]
        phase = (i % 15) / 15
        for k in range(10):
            z = (k + phase) / 10
            y = int(self.ground_h * z * z)
            if 0 <= y < self.ground_h - 2:
                ground[y : y + 2] = self.t.accents[0]
        img[self.horizon : self.horizon + 2] = self.t.accents[1]

    # ocean: layered waves and foam
    def _setup_ocean(self) -> None:
        self.layers = [
            (0.45, 16, 0.025, 0.09, self.t.accents[0]),
            (0.58, 20, 0.018, -0.12, self.t.accents[1]),
            (0.72, 26, 0.012, 0.16, (10, 60, 130)),
        ]
        self.fx = self.rng.uniform(0, self.w, 40)
        self.fy = self.rng.uniform(self.h * 0.45, self.h, 40)
        self.xs = np.arange(self.w, dtype=np.float32)

    def _draw_ocean(self, img: np.ndarray, i: int) -> None:
        s = self.s
        for level, amp, k, speed, colour in self.layers:
            base = self.h * level
            crest = base + amp * s * np.sin(self.xs * k / s + i * speed)
            top, end = int(base - amp * s) - 1, int(base + amp * s) + 2
            rows = np.arange(top, end, dtype=np.float32)[:, None, None]
            np.copyto(img[top:end], np.asarray(colour, np.uint8), where=rows >= crest[:, None])
            img[end:] = colour
        fy = (self.fy + np.sin(i / 8 + self.fx) * 3).astype(int)
        fx = (self.fx + i * 0.8) % self.w
        _dots(img, fx, fy, self.t.accents[2], size=max(2, int(3 * s)))

    # forest: parallax trunks and falling leaves
    def _setup_forest(self) -> None:
        w, h, s = self.w, self.h, self.s
        self.trunks = []
        for depth, shade in ((0.4, (70, 90, 60)), (0.7, (50, 60, 35)), (1.0, self.t.accents[0])):
            for _ in range(4):
                x = float(self.rng.uniform(0, w * 1.5))
                tw = int((12 + 30 * depth) * s)
                self.trunks.append((depth, x, tw, shade))
        self.bg[int(h * 0.85) :] = (30, 45, 20)
        k = 40
        self.lx = self.rng.uniform(0, w, k)
        self.ly = self.rng.uniform(0, h, k)
        self.lv = self.rng.uniform(1.0, 2.5, k) * s

    def _draw_forest(self, img: np.ndarray, i: int) -> None:
        span = self.w * 1.5
        for depth, x, tw, shade in self.trunks:
            xx = int((x - i * depth * 1.5 * self.s) % span - self.w * 0.25)
            img[:, max(0, xx) : max(0, xx + tw)] = shade
        ly = (self.ly + i * self.lv) % self.h
        lx = self.lx + 20 * self.s * np.sin(i / 12 + self.ly)
        half = len(lx) // 2
        size = max(3, int(5 * self.s))
        _dots(img, lx[:half], ly[:half], self.t.accents[1], size)
        _dots(img, lx[half:], ly[half:], self.t.accents[2], size)

    # city: skyline with flickering windows, stars and car lights
    def _setup_city(self) -> None:
        w, h, s = self.w, self.h, self.s
        _dots(
            self.bg,
            self.rng.uniform(0, w, 60),
            self.rng.uniform(0, h * 0.4, 60),
            (230, 230, 255),
            2,
        )
        tile = np.zeros((h, 2 * w, 3), np.uint8)
        mask = np.zeros((h, 2 * w), bool)
        self.windows = []
        x = 0
        road = int(h * 0.8)
        while x < 2 * w:
            bw = int(self.rng.integers(50, 110) * s)
            top = int(h * self.rng.uniform(0.3, 0.6))
            mask[top:road, x : x + bw - int(4 * s)] = True
            tile[top:road, x : x + bw - int(4 * s)] = (18, 18, 32)
            for wy in range(top + int(10 * s), road - int(14 * s), int(18 * s)):
                for wx in range(x + int(8 * s), x + bw - int(16 * s), int(14 * s)):
                    self.windows.append((wy, wx))
            x += bw
        self.road = road
        self.bg[road:] = (25, 25, 35)
        sky = np.concatenate([self.bg, self.bg], axis=1)
        tile[~mask] = sky[~mask]
        self.tile = tile
        wins = np.array(self.windows)
        self.lit = self.rng.random(len(wins)) < 0.5
        self.wins = wins
        self.win_w = int(7 * s)
        for (wy, wx), on in zip(wins, self.lit, strict=True):
            if on:
                tile[wy : wy + int(9 * s), wx : wx + self.win_w] = self.t.accents[0]
        k = 10
        self.cx = self.rng.uniform(0, w, k)
        self.cv = self.rng.choice([-1.0, 1.0], k) * self.rng.uniform(3, 7, k) * s

    def _draw_city(self, img: np.ndarray, i: int) -> None:
        if i % 6 == 0:
            j = int(self.rng.integers(len(self.wins)))
            self.lit[j] = not self.lit[j]
            wy, wx = self.wins[j]
            colour = self.t.accents[0] if self.lit[j] else (18, 18, 32)
            self.tile[wy : wy + int(9 * self.s), wx : wx + self.win_w] = colour
        off = int(i * 0.7) % self.w
        img[:] = self.tile[:, off : off + self.w]
        cx = (self.cx + i * self.cv) % self.w
        lane = np.where(self.cv > 0, self.road + int(14 * self.s), self.road + int(34 * self.s))
        fwd = self.cv > 0
        size = max(3, int(5 * self.s))
        _dots(img, cx[fwd], lane[fwd], self.t.accents[1], size)
        _dots(img, cx[~fwd], lane[~fwd], self.t.accents[2], size)


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
    targets: list[tuple[Path, int, int]],
    spec: DemoSpec,
    *,
    duration_s: float,
    width: int,
    height: int,
    fps: int,
    video_options: dict[str, str],
    audio_bitrate: int = 96_000,
) -> float:
    """Draw the clip once and encode it to every (temp path, width, height); returns seconds.

    Files are complete and fsynced when this returns; the caller renames them. On failure every
    target is removed.
    """
    topic = TOPICS[spec.topic]
    n = max(1, int(round(duration_s * fps)))
    scene = _Scene(topic, spec, width, height, fps, n)
    caption = _Caption(spec, topic, width, height)
    sound = _audio(topic, spec.seed, n / fps)
    outs = []
    try:
        for tmp, w, h in targets:
            out = av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"})
            outs.append(out)
            vs = out.add_stream("libx264", rate=fps)
            vs.width, vs.height, vs.pix_fmt = w, h, "yuv420p"
            vs.thread_type = "AUTO"
            vs.codec_context.gop_size = fps * 2
            vs.options = dict(video_options)
            aus = out.add_stream("aac", rate=48_000)
            aus.layout = "stereo"
            aus.bit_rate = audio_bitrate
            aus.options = {"aac_coder": "fast"}
        chunk = 48_000 // fps
        # one RGB frame reused for every picture: encoders and reformat make new frames from it,
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
            for out, (_, w, h) in zip(outs, targets, strict=True):
                picture = frame
                if (w, h) != (width, height):
                    picture = frame.reformat(w, h, "yuv420p", interpolation="AREA")
                    picture.pts = i
                for packet in out.streams.video[0].encode(picture):
                    out.mux(packet)
            block = sound[:, i * chunk : (i + 1) * chunk]
            if block.shape[1]:
                for out in outs:
                    af = av.AudioFrame.from_ndarray(
                        np.ascontiguousarray(block), format="fltp", layout="stereo"
                    )
                    af.sample_rate = 48_000
                    af.pts = i * chunk
                    af.time_base = Fraction(1, 48_000)
                    for packet in out.streams.audio[0].encode(af):
                        out.mux(packet)
        for out in outs:
            for packet in out.streams.video[0].encode():
                out.mux(packet)
            for packet in out.streams.audio[0].encode():
                out.mux(packet)
        while outs:
            outs.pop(0).close()
        for tmp, _, _ in targets:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        return n / fps
    except BaseException:
        for out in outs:
            with contextlib.suppress(Exception):
                out.close()
        for tmp, _, _ in targets:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise


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

    Written atomically (temporary name beside ``dest``, fsync, rename). Cheap by design:
    x264 ultrafast at CRF 21, about a second of CPU for a 6 s 360x640 clip.
    """
    dest = Path(dest)
    width, height = max(2, width // 2 * 2), max(2, height // 2 * 2)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:12]}.part.mp4")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _encode(
        [(tmp, width, height)],
        spec,
        duration_s=duration_s,
        width=width,
        height=height,
        fps=fps,
        video_options={"preset": "ultrafast", "crf": "21"},
    )
    os.replace(tmp, dest)
    return dest


def make_demo_renditions(
    out_dir: Path,
    spec: DemoSpec,
    short_sides: Sequence[int] = (360, 240),
    *,
    duration_s: float = 6.0,
    width: int = 360,
    height: int = 640,
    fps: int = 30,
    preset: str = "veryfast",
    crf: int = 26,
    audio_bitrate: int = 96_000,
) -> list[Rendition]:
    """The renditions ``transcode(make_demo_clip(...))`` would give, without the middle file.

    Draws once and encodes straight into ``out_dir/{name}.mp4`` per ``plan_ladder`` (same
    names, sizes, codecs, faststart, atomic rename): no intermediate encode, decode or second
    scale, so seeding a demo costs about half as much CPU.
    """
    out_dir = Path(out_dir)
    width, height = max(2, width // 2 * 2), max(2, height // 2 * 2)
    shape = ProbeResult("mp4", duration_s, width, height, width, height, 0, float(fps),
                        "h264", "aac", True, "yuv420p", 8, False)  # fmt: skip
    plan = plan_ladder(shape, short_sides)
    out_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:12]
    targets = [(out_dir / f".{name}.{token}.part.mp4", w, h) for name, w, h in plan]
    seconds = _encode(
        targets,
        spec,
        duration_s=duration_s,
        width=width,
        height=height,
        fps=fps,
        video_options={"preset": preset, "crf": str(int(crf))},
        audio_bitrate=audio_bitrate,
    )
    renditions = []
    for (name, w, h), (tmp, _, _) in zip(plan, targets, strict=True):
        final = out_dir / f"{name}.mp4"
        os.replace(tmp, final)
        renditions.append(Rendition(name, w, h, final, final.stat().st_size, round(seconds, 3)))
    return renditions
