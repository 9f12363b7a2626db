"""A generated crossroads seen from above, with the true route of every vehicle.

Cars and trucks arrive on each of the four approaches, drive on the right, and turn left,
go straight on, turn right or (rarely) make a U-turn in the middle; a footbridge across the
south arm hides what passes under it, so a tracker loses those vehicles for a moment (the
occlusion that flows must join). Spawning stops `tail_s` before the end, so every vehicle
has left when the clip ends and each route is complete. Same seed, same clip.

The approach lines of `junction_zones` (the product's junction preset, IN = into the
junction) lie on this picture's arms, so the truth's routes are what flows should count.

    python -m dashboard.demo.junction --seconds 60 --out junction.mp4 --truth junction.json
"""
from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import cv2
import numpy as np

from ..config.zone import JUNCTION_APPROACHES
from ..errors import DashboardError
from .scene import TruthBox

if TYPE_CHECKING:
    from ..engine import Tracks
from .video import video_writer

NAMES = {0: "car", 1: "truck"}
ARMS = ("north", "east", "south", "west")
# Unit heading when driving in from each arm (image coordinates, y down).
HEADING_IN = {"north": (0.0, 1.0), "east": (-1.0, 0.0), "south": (0.0, -1.0), "west": (1.0, 0.0)}
TURNS = {"left": 0.25, "through": 0.5, "right": 0.22, "u-turn": 0.03}   # how often each is made
# The arm left by, counted clockwise on the screen from the arm come in by (driving on the
# right from the south, heading north: the right turn leaves east, one step anticlockwise).
_EXIT = {"through": 2, "left": 1, "right": 3, "u-turn": 0}


def exit_arm(entry: str, turn: str) -> str:
    """The arm a vehicle leaves by (driving on the right: a left turn from the south, heading
    north, leaves by the west arm).

    Example:
        >>> exit_arm("south", "left"), exit_arm("south", "right"), exit_arm("north", "through")
        ('west', 'east', 'south')
    """
    return ARMS[(ARMS.index(entry) + _EXIT[turn]) % 4]


def junction_zones() -> list[dict]:
    """The junction preset in the zones-file form, in 0..1 of the frame: one approach line
    per arm, IN into the junction.

    Example:
        >>> [z["name"] for z in junction_zones()]
        ['north', 'east', 'south', 'west']
    """
    return [{"name": arm, "type": "line", "points": [list(a), list(b)]}
            for arm, (a, b) in JUNCTION_APPROACHES.items()]


@dataclass
class _Vehicle:
    id: int
    cls: int
    path: np.ndarray        # (n, 2) points along its route, pixels
    along: np.ndarray       # distance from the start at each point
    speed: float            # pixels per second
    size: tuple[float, float]   # length, width
    color: tuple[int, int, int]
    born: float
    s: float = 0.0

    def where(self) -> tuple[float, float, float]:
        """(x, y, heading angle) at its distance so far."""
        i = int(np.searchsorted(self.along, self.s).clip(1, len(self.along) - 1))
        a, b = self.path[i - 1], self.path[i]
        f = (self.s - self.along[i - 1]) / max(1e-9, self.along[i] - self.along[i - 1])
        p = a + (b - a) * min(1.0, max(0.0, f))
        return float(p[0]), float(p[1]), math.atan2(b[1] - a[1], b[0] - a[0])

    @property
    def done(self) -> bool:
        return self.s >= self.along[-1]


class Junction:
    """The crossroads: frames, their true boxes and every vehicle's route.

    Example:
        >>> j = Junction(seed=3, width=320, height=240, fps=5)
        >>> frames = list(j.frames(20, tail_s=15))
        >>> all(r["destination"] for r in j.routes), frames[-1][1]
        (True, [])
    """

    def __init__(self, seed: int = 5, width: int = 640, height: int = 480, fps: float = 10.0,
                 per_min: float = 24.0) -> None:
        if width < 160 or height < 120:
            raise DashboardError("The junction scene needs at least 160x120 pixels.")
        self.w, self.h, self.fps = width, height, float(fps)
        self.rng = np.random.default_rng(seed)
        self.rate = per_min / 60.0 / 4    # per arm
        self.half = 0.12 * min(width, height)     # half a road's width
        self.lane = self.half / 2                 # a lane's centre from the road's middle
        self.cx, self.cy = width / 2, height / 2
        # The footbridge over the south arm, between the junction and the south line.
        self.bridge = (self.cy + self.half + 0.06 * height, self.cy + self.half + 0.15 * height)
        self.background = self._paint()
        # Sensor noise, a few frames of it taken in turn: drawn afresh it costs more than
        # the rest of a frame, and no detector learns a pattern from four.
        self._noise = [self.rng.normal(0, 2.0, self.background.shape).astype(np.int16)
                       for _ in range(4)]
        self.vehicles: list[_Vehicle] = []
        self.routes: list[dict] = []
        self.t, self.next_id = 0.0, 1

    def _paint(self) -> np.ndarray:
        img = np.full((self.h, self.w, 3), (70, 120, 80), np.uint8)   # grass
        cx, cy, hw = int(self.cx), int(self.cy), int(self.half)
        img[:, cx - hw:cx + hw] = (75, 75, 78)
        img[cy - hw:cy + hw, :] = (75, 75, 78)
        for y in range(0, self.h, 30):              # the middle lines, dashed, off the junction
            if abs(y - cy) > hw:
                cv2.line(img, (cx, y), (cx, y + 14), (210, 210, 210), 2)
        for x in range(0, self.w, 30):
            if abs(x - cx) > hw:
                cv2.line(img, (x, cy), (x + 14, cy), (210, 210, 210), 2)
        grain = self.rng.normal(0, 5, img.shape)
        return np.clip(img + grain, 0, 255).astype(np.uint8)

    # -- routes ---------------------------------------------------------------------------
    def _lane_point(self, arm: str, far: float, going_in: bool) -> np.ndarray:
        """A point on an arm's in- or out-going lane, `far` pixels from the junction's middle."""
        hx, hy = HEADING_IN[arm]
        # Driving on the right: the lane in is to the right of the heading in (rotate the
        # heading a quarter clockwise on the screen: (x, y) -> (-y, x)).
        rx, ry = -hy, hx
        side = 1.0 if going_in else -1.0
        return np.array([self.cx - hx * far + side * rx * self.lane,
                         self.cy - hy * far + side * ry * self.lane])

    def _route(self, arm: str, turn: str) -> np.ndarray:
        out_arm = exit_arm(arm, turn)
        edge, outside = self.half * 1.1, math.hypot(self.w, self.h) / 2 + 40
        p0, p1 = self._lane_point(arm, outside, True), self._lane_point(arm, edge, True)
        p2, p3 = self._lane_point(out_arm, edge, False), self._lane_point(out_arm, outside, False)
        h_in = np.array(HEADING_IN[arm])
        h_out = -np.array(HEADING_IN[out_arm])
        k = self.half * (1.6 if turn == "u-turn" else 1.0)
        c1, c2 = p1 + h_in * k, p2 - h_out * k
        u = np.linspace(0, 1, 40)[:, None]      # a cubic Bezier through the middle
        curve = ((1 - u) ** 3 * p1 + 3 * (1 - u) ** 2 * u * c1 + 3 * (1 - u) * u ** 2 * c2
                 + u ** 3 * p2)
        return np.vstack([p0, curve, p3])

    def _spawn(self, arm: str) -> None:
        rng = self.rng
        turn = str(rng.choice(list(TURNS), p=list(TURNS.values())))
        path = self._route(arm, turn)
        for v in self.vehicles:   # keep a gap to the one that came in on this lane
            if v.s < 2.5 * v.size[0] and np.allclose(v.path[0], path[0]):
                return
        cls = 1 if rng.random() < 0.2 else 0
        length = (0.16 if cls else 0.09) * min(self.w, self.h)
        steps = np.hypot(*np.diff(path, axis=0).T)
        along = np.concatenate([[0.0], np.cumsum(steps)])
        color = tuple(int(c) for c in rng.integers(30, 250, 3))
        v = _Vehicle(self.next_id, cls, path, along, rng.uniform(0.16, 0.26) * self.w,
                     (length, length * 0.45), color, self.t)
        self.vehicles.append(v)
        self.routes.append({"id": v.id, "class": NAMES[cls], "origin": arm,
                            "destination": exit_arm(arm, turn), "movement": turn,
                            "born": round(self.t, 3)})
        self.next_id += 1

    # -- frames ---------------------------------------------------------------------------
    def _draw(self, img: np.ndarray, ids: np.ndarray, v: _Vehicle) -> tuple:
        x, y, a = v.where()
        length, width = v.size
        corners = cv2.boxPoints(((x, y), (length, width), math.degrees(a))).astype(np.int32)
        cv2.fillPoly(img, [corners], v.color)
        cv2.fillPoly(ids, [corners], v.id)
        front = (int(x + math.cos(a) * length * 0.3), int(y + math.sin(a) * length * 0.3))
        cv2.circle(img, front, max(2, int(width * 0.3)), (60, 50, 40), -1)   # windscreen
        return (*corners.min(axis=0).tolist(), *corners.max(axis=0).tolist())

    def render(self) -> tuple[np.ndarray, list[TruthBox]]:
        """The current picture and the true boxes (visible: the part not under the bridge)."""
        img = self.background.copy()
        ids = np.zeros((self.h, self.w), np.int32)
        boxes = {v.id: self._draw(img, ids, v) for v in self.vehicles}
        drawn = np.bincount(ids.ravel(), minlength=self.next_id)
        y0, y1 = (int(b) for b in self.bridge)
        img[y0:y1] = (150, 150, 160)            # the footbridge, above everything
        ids[y0:y1] = 0
        seen = np.bincount(ids.ravel(), minlength=self.next_id)
        truth = []
        for v in self.vehicles:
            x0, yy0, x1, yy1 = boxes[v.id]
            cx0, cy0, cx1, cy1 = max(0, x0), max(0, yy0), min(self.w, x1), min(self.h, yy1)
            if cx1 - cx0 < 4 or cy1 - cy0 < 4 or drawn[v.id] == 0:
                continue
            truth.append(TruthBox(v.id, v.cls, (float(cx0), float(cy0), float(cx1), float(cy1)),
                                  seen[v.id] / drawn[v.id]))
        noise = self._noise[int(round(self.t * self.fps)) % len(self._noise)]
        return np.clip(img + noise, 0, 255).astype(np.uint8), truth

    def frames(self, seconds: float, tail_s: float = 12.0
               ) -> Iterator[tuple[np.ndarray, list[TruthBox]]]:
        """(picture, true boxes) for `seconds` at `fps`; no vehicle arrives in the last
        `tail_s` seconds, so the clip ends empty."""
        dt = 1.0 / self.fps
        for _ in range(int(round(seconds * self.fps))):
            yield self.render()
            if self.t < seconds - tail_s:
                for arm in ARMS:
                    if self.rng.random() < self.rate * dt:
                        self._spawn(arm)
            for v in self.vehicles:
                v.s += v.speed * dt
            self.vehicles = [v for v in self.vehicles if not v.done]
            self.t += dt


def as_tracked(frames: Iterator[tuple[np.ndarray, list[TruthBox]]], hidden_below: float = 0.3
               ) -> Iterator[tuple[np.ndarray, "Tracks", int]]:
    """(picture, tracks, splits so far) per frame, as a tracker that loses what the bridge
    hides would give them: every vehicle seen (`visible` at least `hidden_below`), under a
    new id each time it comes out from under the bridge (its truth id * 100 + how often).

    Example:
        >>> j = Junction(seed=3, width=320, height=240, fps=5)
        >>> [len(t) for _, t, _ in as_tracked(j.frames(2, tail_s=0))][:1]
        [0]
    """
    from ..engine import Tracks

    hidden: set[int] = set()
    again: dict[int, int] = {}
    for img, boxes in frames:
        shown = []
        for b in boxes:
            if b.visible < hidden_below:
                hidden.add(b.id)
                continue
            if b.id in hidden:
                hidden.discard(b.id)
                again[b.id] = again.get(b.id, 0) + 1
            shown.append(b)
        tracks = Tracks([b.xyxy for b in shown], [b.id * 100 + again.get(b.id, 0)
                                                  for b in shown],
                        [b.cls for b in shown], [0.9] * len(shown), NAMES) \
            if shown else Tracks.empty(NAMES)
        yield img, tracks, sum(again.values())


def write_junction(out: str | Path, truth: str | Path | None = None, seconds: float = 60.0,
                   seed: int = 5, width: int = 640, height: int = 480, fps: float = 10.0
                   ) -> tuple[Path, dict]:
    """Write the junction as a video and, if asked, its truth (routes and boxes) as JSON.

    Example:
        >>> path, doc = write_junction("junction.avi", seconds=30)  # doctest: +SKIP
        >>> doc["routes"][0]["movement"]                             # doctest: +SKIP
        'through'
    """
    out = Path(out)
    writer = video_writer(out, fps, width, height)
    scene = Junction(seed=seed, width=width, height=height, fps=fps)
    frames = []
    try:
        for img, boxes in scene.frames(seconds):
            writer.write(img)
            frames.append([b.to_dict() for b in boxes])
    finally:
        writer.release()
    doc = {"fps": fps, "width": width, "height": height, "seed": seed,
           "names": {str(k): v for k, v in NAMES.items()}, "zones": junction_zones(),
           "routes": scene.routes, "frames": frames}
    if truth is not None:
        Path(truth).write_text(json.dumps(doc))
    return out, doc


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dashboard.demo.junction",
                                 description="Write a generated junction clip, its zones and "
                                             "the true route of every vehicle.")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--out", default="junction.mp4")
    ap.add_argument("--truth", default=None, help="where to write the truth JSON")
    args = ap.parse_args(argv)
    try:
        write_junction(args.out, args.truth, args.seconds, args.seed)
    except DashboardError as e:
        print(e)
        return 2
    print(f"wrote {args.out}" + (f" and {args.truth}" if args.truth else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
