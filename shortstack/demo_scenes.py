"""The demo's animated pictures: one numpy scene per topic style, drawn frame by frame."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from shortstack.demo_topics import RGB, DemoSpec, Topic


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


class Scene:
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
