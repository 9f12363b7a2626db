"""A deterministic synthetic street / shop-front scene with its ground truth.

People walk on the pavements and cross the road on diagonals, sometimes pausing; cars drive
in both directions; everything enters and leaves the frame and occludes what is behind it.
The background has texture, slow lighting drift and sensor noise. Same seed, same clip.

    python -m dashboard.demo.scene --seconds 60 --seed 7 --out demo.mp4 --truth truth.json
"""
from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from ..errors import DashboardError
from .video import video_writer

log = logging.getLogger(__name__)

NAMES = {0: "person", 1: "car"}
PERSON, CAR = 0, 1


@dataclass
class TruthBox:
    """One object in one frame: id, class and its box in pixels (clipped to the frame)."""

    id: int
    cls: int
    xyxy: tuple[float, float, float, float]
    visible: float = 1.0   # fraction of the sprite not hidden by nearer objects

    def to_dict(self) -> dict:
        return {"id": self.id, "cls": self.cls, "xyxy": [round(v, 1) for v in self.xyxy],
                "visible": round(self.visible, 3)}


@dataclass
class _Agent:
    id: int
    cls: int
    x: float                # feet / wheel-base centre, pixels
    y: float
    vx: float               # pixels per second
    vy: float
    w: float                # size at this agent's depth
    h: float
    color: tuple[int, int, int]
    color2: tuple[int, int, int]
    pause_left: float = 0.0
    phase: float = 0.0
    done: bool = False
    extra: dict = field(default_factory=dict)


class Scene:
    """A street scene that yields frames and the true boxes of every object in them.

    Example:
        >>> scene = Scene(seed=7, width=320, height=180, fps=10)
        >>> img, truth = next(scene.frames(1.0))
        >>> img.shape, all(b.cls in (0, 1) for b in truth)
        ((180, 320, 3), True)
    """

    def __init__(self, seed: int = 7, width: int = 640, height: int = 360, fps: float = 15.0,
                 people_per_min: float = 40.0, cars_per_min: float = 14.0) -> None:
        if width < 160 or height < 90:
            raise DashboardError("The demo scene needs at least 160x90 pixels.")
        self.seed, self.w, self.h, self.fps = seed, width, height, float(fps)
        self.rng = np.random.default_rng(seed)
        self.people_rate = people_per_min / 60.0
        self.car_rate = cars_per_min / 60.0
        self.s = height / 360.0  # sizes are designed at 640x360
        # Layout: buildings above, far pavement, two-lane road, near pavement.
        self.far_walk = (0.40 * height, 0.50 * height)
        self.lanes = (0.60 * height, 0.72 * height)
        self.near_walk = (0.82 * height, 0.97 * height)
        self.background = self._paint_background()
        self.agents: list[_Agent] = []
        self.next_id = 1
        self.t = 0.0

    # -- background -----------------------------------------------------------------------
    def _paint_background(self) -> np.ndarray:
        w, h, rng = self.w, self.h, self.rng
        img = np.zeros((h, w, 3), np.uint8)
        top = int(0.40 * h)
        x = 0
        while x < w:  # shop fronts of varied width and colour, with windows and doors
            bw = int(rng.uniform(0.12, 0.25) * w)
            base = rng.integers(60, 200, 3)
            img[:top, x:x + bw] = base
            for wx in range(x + 8, x + bw - 20, 34):
                for wy in range(int(0.05 * h), top - int(0.15 * h), int(0.12 * h)):
                    cv2.rectangle(img, (wx, wy), (wx + 16, wy + int(0.07 * h)),
                                  tuple(int(c) for c in base // 3), -1)
            door_x = x + bw // 2
            cv2.rectangle(img, (door_x - 10, top - int(0.13 * h)), (door_x + 10, top),
                          (40, 30, 25), -1)
            x += bw
        img[top:int(0.52 * h)] = (150, 150, 155)        # far pavement
        img[int(0.52 * h):int(0.80 * h)] = (70, 70, 72)  # road
        img[int(0.80 * h):] = (160, 158, 150)           # near pavement
        mid = int(0.66 * h)
        for x in range(0, w, 60):                        # lane markings
            cv2.rectangle(img, (x, mid - 1), (x + 30, mid + 1), (220, 220, 220), -1)
        for y in (int(0.52 * h), int(0.80 * h)):         # kerbs
            cv2.line(img, (0, y), (w, y), (200, 200, 200), 2)
        # Texture: smooth blotches plus fine grain, so the background is not flat.
        blotch = cv2.GaussianBlur(rng.normal(0, 25, (h, w)).astype(np.float32), (0, 0), 6)
        grain = rng.normal(0, 6, (h, w)).astype(np.float32)
        tex = (blotch + grain)[..., None]
        return np.clip(img.astype(np.float32) + tex, 0, 255).astype(np.float32)

    # -- agents ---------------------------------------------------------------------------
    def _depth_scale(self, y: float) -> float:
        """Things further up the frame are further away, hence smaller."""
        return 0.75 + 0.45 * (y / self.h)

    def _spawn_person(self) -> None:
        rng, s = self.rng, self.s
        crossing = rng.random() < 0.3
        left = rng.random() < 0.5
        speed = rng.uniform(25, 60) * s
        if crossing:  # walk diagonally from one pavement to the other across the road
            down = rng.random() < 0.5
            y0 = rng.uniform(*self.far_walk) if down else rng.uniform(*self.near_walk)
            y1 = rng.uniform(*self.near_walk) if down else rng.uniform(*self.far_walk)
            x0 = rng.uniform(0.1, 0.9) * self.w
            dx = rng.uniform(0.2, 0.6) * self.w * (1 if left else -1)
            dist = math.hypot(dx, y1 - y0)
            vx, vy, x = speed * dx / dist, speed * (y1 - y0) / dist, x0
            y = y0
        else:
            walk = self.far_walk if rng.random() < 0.5 else self.near_walk
            y = rng.uniform(*walk)
            x = -30 * s if left else self.w + 30 * s
            vx, vy = (speed if left else -speed), rng.uniform(-3, 3) * s
        k = self._depth_scale(y) * rng.uniform(0.85, 1.15)
        shirt = tuple(int(c) for c in rng.integers(30, 255, 3))
        trousers = tuple(int(c) for c in rng.integers(10, 120, 3))
        a = _Agent(self.next_id, PERSON, x, y, vx, vy, 20 * s * k, 56 * s * k, shirt, trousers,
                   phase=rng.uniform(0, 6.28))
        a.extra["crossing"] = crossing
        self.agents.append(a)
        self.next_id += 1

    def _spawn_car(self) -> None:
        rng, s = self.rng, self.s
        lane = int(rng.integers(0, 2))
        # Upper lane drives right to left, lower lane left to right.
        going_right = lane == 1
        y = self.lanes[lane] + rng.uniform(-3, 3) * s
        k = self._depth_scale(y) * rng.uniform(0.85, 1.2)
        w, h = 96 * s * k, 40 * s * k
        speed = rng.uniform(60, 140) * s
        x = -w if going_right else self.w + w
        for other in self.agents:  # do not spawn into a car already entering this lane
            if other.cls == CAR and abs(other.y - y) < 12 * s and abs(other.x - x) < 2.2 * w:
                return
        body = tuple(int(c) for c in rng.integers(20, 235, 3))
        a = _Agent(self.next_id, CAR, x, y, speed if going_right else -speed, 0.0, w, h, body,
                   (40, 40, 40))
        self.agents.append(a)
        self.next_id += 1

    def _step(self, dt: float) -> None:
        rng, s = self.rng, self.s
        if rng.random() < self.people_rate * dt:
            self._spawn_person()
        if rng.random() < self.car_rate * dt:
            self._spawn_car()
        for a in self.agents:
            if a.pause_left > 0:
                a.pause_left -= dt
                continue
            if a.cls == PERSON and rng.random() < 0.04 * dt and not a.extra.get("paused"):
                a.pause_left = rng.uniform(1.0, 3.0)  # stop to look at a shop window
                a.extra["paused"] = True
                continue
            if a.cls == CAR:  # keep a gap to the car ahead in the same lane
                for b in self.agents:
                    if (b is not a and b.cls == CAR and abs(b.y - a.y) < 12 * s
                            and 0 < (b.x - a.x) * np.sign(a.vx) < 1.3 * a.w):
                        a.vx = b.vx if abs(b.vx) < abs(a.vx) else a.vx
            a.x += a.vx * dt
            a.y += a.vy * dt
            a.phase += dt * 8
            if a.extra.get("crossing"):  # end a crossing on the pavement, then walk along it
                on_walk = any(lo <= a.y <= hi for lo, hi in (self.far_walk, self.near_walk))
                if on_walk and a.vy and abs(a.y - a.extra.setdefault("y0", a.y)) > 0.2 * self.h:
                    a.vx, a.vy = math.copysign(math.hypot(a.vx, a.vy), a.vx), 0.0
            margin = a.w + 40 * s
            if a.x < -margin or a.x > self.w + margin or a.y < 0.3 * self.h or a.y > 1.1 * self.h:
                a.done = True
        self.agents = [a for a in self.agents if not a.done]

    # -- drawing --------------------------------------------------------------------------
    def _draw_person(self, img: np.ndarray, a: _Agent, mask: np.ndarray) -> tuple:
        w, h, x, y = a.w, a.h, a.x, a.y
        head_r = max(2, int(0.16 * h / 2 * 1.2))
        top = y - h
        swing = math.sin(a.phase) * w * 0.35 if a.pause_left <= 0 else 0.0
        hip = (int(x), int(y - 0.45 * h))
        lt = max(2, int(w * 0.22))
        parts = [
            ("line", hip, (int(x - swing), int(y)), a.color2, lt),
            ("line", hip, (int(x + swing), int(y)), a.color2, lt),
            ("ellipse", (int(x), int(y - 0.66 * h)), (max(2, int(w / 2)), max(3, int(0.24 * h))),
             a.color),
            ("line", (int(x), int(y - 0.80 * h)), (int(x + swing * 0.8), int(y - 0.45 * h)),
             a.color, max(2, lt - 1)),
            ("circle", (int(x), int(top + head_r)), head_r, (140, 170, 215)),
        ]
        for m in (img, mask):
            v = None if m is img else 255
            for p in parts:
                col = p[-2] if p[0] == "line" else p[-1]
                col = col if v is None else v
                if p[0] == "line":
                    cv2.line(m, p[1], p[2], col, p[4], cv2.LINE_AA if v is None else cv2.LINE_8)
                elif p[0] == "ellipse":
                    cv2.ellipse(m, p[1], p[2], 0, 0, 360, col, -1)
                else:
                    cv2.circle(m, p[1], p[2], col, -1)
        return (x - w / 2, top, x + w / 2, y)

    def _draw_car(self, img: np.ndarray, a: _Agent, mask: np.ndarray) -> tuple:
        w, h, x, y = a.w, a.h, a.x, a.y
        x0, x1 = x - w / 2, x + w / 2
        body_top = y - 0.62 * h
        front = 1 if a.vx > 0 else -1
        cab0 = x - w * 0.28 - front * w * 0.06
        cab1 = x + w * 0.22 - front * w * 0.06
        cabin = np.array([[cab0, body_top], [cab0 + w * 0.08, y - h], [cab1 - w * 0.06, y - h],
                          [cab1 + w * 0.06, body_top]], np.int32)
        wheel_r = max(2, int(0.2 * h))
        for m, v in ((img, None), (mask, 255)):
            cv2.fillPoly(m, [cabin], a.color if v is None else v)
            cv2.rectangle(m, (int(x0), int(body_top)), (int(x1), int(y - 0.15 * h)),
                          a.color if v is None else v, -1)
            for wx in (x0 + w * 0.2, x1 - w * 0.2):
                cv2.circle(m, (int(wx), int(y - wheel_r * 0.9)), wheel_r,
                           (20, 20, 20) if v is None else v, -1)
        win = cabin.copy()
        win[:, 1] = np.clip(win[:, 1], y - 0.92 * h, body_top - 1)
        win[[0, 3], 0] += np.array([int(w * 0.04), -int(w * 0.04)])
        cv2.fillPoly(img, [win], (90, 70, 50))
        light = int(x1 - 4) if front > 0 else int(x0 + 1)
        cv2.rectangle(img, (light, int(body_top + 3)), (light + 3, int(body_top + 0.2 * h + 3)),
                      (200, 240, 255), -1)
        return (x0, y - h, x1, y)

    def render(self) -> tuple[np.ndarray, list[TruthBox]]:
        """Draw the current state; return the frame and the true boxes."""
        t = self.t
        light = 1.0 + 0.12 * math.sin(2 * math.pi * t / 40.0)   # slow lighting drift
        img = np.clip(self.background * light, 0, 255).astype(np.uint8)
        ids = np.zeros((self.h, self.w), np.int32)
        boxes: dict[int, tuple] = {}
        areas: dict[int, int] = {}
        for a in sorted(self.agents, key=lambda a: a.y):  # nearer (lower) drawn last
            m = np.zeros((self.h, self.w), np.uint8)
            box = (self._draw_person if a.cls == PERSON else self._draw_car)(img, a, m)
            sel = m > 0
            areas[a.id] = int(sel.sum())
            ids[sel] = a.id
            boxes[a.id] = box
        noise = self.rng.normal(0, 3.0, img.shape).astype(np.float32)
        img = np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)
        counts = np.bincount(ids.ravel(), minlength=self.next_id + 1)
        truth = []
        for a in self.agents:
            x0, y0, x1, y1 = boxes[a.id]
            cx0, cy0 = max(0.0, x0), max(0.0, y0)
            cx1, cy1 = min(float(self.w), x1), min(float(self.h), y1)
            if cx1 - cx0 < 4 or cy1 - cy0 < 4 or areas[a.id] == 0:
                continue  # off screen
            truth.append(TruthBox(a.id, a.cls, (cx0, cy0, cx1, cy1),
                                  counts[a.id] / areas[a.id]))
        return img, truth

    def frames(self, seconds: float, warm_s: float = 8.0
               ) -> Iterator[tuple[np.ndarray, list[TruthBox]]]:
        """Yield (frame, truth) for `seconds` of scene time at `fps`, after `warm_s` seconds
        unseen for the street to fill up (0: it starts empty and everyone walks in)."""
        dt = 1.0 / self.fps
        for _ in range(int(warm_s * self.fps)):
            self._step(dt)
        for _ in range(int(round(seconds * self.fps))):
            yield self.render()
            self._step(dt)
            self.t += dt


def write_clip(out: str | Path, truth: str | Path | None = None, seconds: float = 60.0,
               seed: int = 7, width: int = 640, height: int = 360, fps: float = 15.0,
               progress: bool = False) -> Path:
    """Write the scene as a video (.mp4 or .avi) and, if asked, its ground truth as JSON.

    Example:
        >>> write_clip("demo.mp4", "truth.json", seconds=20, seed=11)  # doctest: +SKIP
    """
    out = Path(out)
    writer = video_writer(out, fps, width, height)
    scene = Scene(seed=seed, width=width, height=height, fps=fps)
    frames_truth = []
    total = int(round(seconds * fps))
    try:
        for i, (img, boxes) in enumerate(scene.frames(seconds)):
            writer.write(img)
            frames_truth.append([b.to_dict() for b in boxes])
            if progress and (i % 25 == 0 or i == total - 1):
                print(f"\rframe {i + 1}/{total}", end="", file=sys.stderr, flush=True)
    finally:
        writer.release()
        if progress:
            print(file=sys.stderr)
    if truth is not None:
        doc = {"fps": fps, "width": width, "height": height,
               "names": {str(k): v for k, v in NAMES.items()}, "seed": seed,
               "frames": frames_truth}
        Path(truth).write_text(json.dumps(doc))
    return out


_demo_lock = threading.Lock()


def demo_clip_path(cache_dir: str | Path | None = None, seconds: float = 60.0) -> Path:
    """Where the demo clip is (or will be) cached."""
    from dashboard.config.env import cache_dir as default_cache

    return Path(cache_dir or default_cache()) / f"demo_seed7_640x360_{seconds:g}s.mp4"


def demo_clip(cache_dir: str | Path | None = None, seconds: float = 60.0) -> Path:
    """The bundled demo clip (seed 7, 640x360), generated on first use and cached.

    Safe when several threads or processes ask at once: one writes it (a thread lock and a
    file lock), each into a temporary file of its own, renamed into place when complete.

    Example:
        >>> demo_clip().name  # doctest: +SKIP
        'demo_seed7_640x360_60s.mp4'
    """
    import fcntl
    import tempfile

    path = demo_clip_path(cache_dir, seconds)
    folder = path.parent
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    with _demo_lock, open(folder / ".demo.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # another process may be writing it right now
        if not path.exists():
            log.info("generating the demo clip (once): %s", path)
            fd, tmp = tempfile.mkstemp(suffix=".partial.mp4", dir=folder)
            os.close(fd)
            try:
                write_clip(tmp, seconds=seconds, seed=7)
                os.replace(tmp, path)  # a killed run leaves no half clip behind
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dashboard.demo.scene",
                                 description="Write a synthetic street clip and its ground truth.")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--width", type=int, default=640)
    ap.add_argument("--height", type=int, default=360)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--out", default="demo.mp4")
    ap.add_argument("--truth", default=None, help="where to write the ground truth JSON")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        path = write_clip(args.out, args.truth, args.seconds, args.seed, args.width,
                          args.height, args.fps, progress=True)
    except DashboardError as e:
        log.error("%s", e)
        return 2
    log.info("wrote %s%s", path, f" and {args.truth}" if args.truth else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
