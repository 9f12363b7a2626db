"""Flows: where each object went between the zones.

Every crossing a track makes is a step of its path (zone, direction, time). When the object
is gone for good its path becomes a `Trip`: its origin is the first step, its destination
the last; a path of one step has an unknown destination (it is kept, never dropped).

Joining (an occlusion splits a track): a track unseen for up to `JOIN_GAP_S` is "missing".
A new track id whose first sighting is within `JOIN_RADIUS` (of the frame's diagonal) of
where a missing track of the same class was heading (its last position moved on by its
velocity for the time it was missing) continues that track's path: the nearest such one,
each missing track joined once. A missing track not joined within `JOIN_GAP_S` has left.
A box touching the picture's edge (within `EDGE`) is coming in or going out, not hidden:
a track last seen there has left, and one first seen there is someone new.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .tracks import Tracks
from .zones import CrossingEvent

JOIN_GAP_S = 2.0      # the longest occlusion a path survives
JOIN_RADIUS = 0.08    # how far from where it was heading a new track may appear, of the diagonal
EDGE = 0.02          # of the picture's smaller side: a box this close to its border is at the edge
UNKNOWN = "unknown"   # a trip's destination when its object made one step only


@dataclass(frozen=True)
class Trip:
    """One object's way through the zones: where it came from and where it went.

    `destination` is None (unknown) when the object crossed one zone only; `joined` counts
    the tracks joined after an occlusion; `track_id` is its first track's.

    Example:
        >>> t = Trip(3, "car", "north", "in", 10.0, "east", "out", 16.5)
        >>> t.seconds, t.route
        (6.5, 'north in -> east out')
    """

    track_id: int
    cls_name: str
    origin: str
    origin_dir: str
    started: float
    destination: str | None
    destination_dir: str | None
    ended: float
    joined: int = 0

    @property
    def seconds(self) -> float | None:
        """From origin to destination; None when the destination is unknown."""
        return None if self.destination is None else self.ended - self.started

    @property
    def route(self) -> str:
        end = UNKNOWN if self.destination is None else f"{self.destination} {self.destination_dir}"
        return f"{self.origin} {self.origin_dir} -> {end}"


@dataclass
class _Path:
    first_id: int
    steps: list[CrossingEvent] = field(default_factory=list)
    classes: Counter = field(default_factory=Counter)
    xy: tuple[float, float] = (0.0, 0.0)
    v: tuple[float, float] = (0.0, 0.0)   # pixels per second, smoothed
    seen_t: float = 0.0
    joined: int = 0
    at_edge: bool = False     # last seen touching the picture's border

    def trip(self) -> Trip | None:
        if not self.steps:
            return None
        o, d = self.steps[0], self.steps[-1]
        cls = self.classes.most_common(1)[0][0] if self.classes else o.cls_name
        if len(self.steps) == 1:
            return Trip(self.first_id, cls, o.zone, o.direction, o.t, None, None, o.t,
                        self.joined)
        return Trip(self.first_id, cls, o.zone, o.direction, o.t, d.zone, d.direction, d.t,
                    self.joined)


class FlowTracker:
    """Keeps every track's path through the zones and gives a `Trip` when its object has
    gone (see the module's text for the joining rule).

    Example:
        >>> ft = FlowTracker()
        >>> box = lambda tid, x: Tracks([[x - 5, 45, x + 5, 55]], [tid], [0], [.9], {0: "car"})
        >>> ft.update(box(1, 10), [CrossingEvent(0.0, "west", 1, "car", "in")], 0.0, (100, 100))
        []
        >>> ft.update(box(1, 90), [CrossingEvent(1.0, "east", 1, "car", "out")], 1.0, (100, 100))
        []
        >>> [t.route for t in ft.update(Tracks.empty(), [], 3.5, (100, 100))]
        ['west in -> east out']
    """

    def __init__(self, join_gap_s: float = JOIN_GAP_S, join_radius: float = JOIN_RADIUS
                 ) -> None:
        self.join_gap_s, self.join_radius = float(join_gap_s), float(join_radius)
        self._paths: dict[int, _Path] = {}   # by the track id now carrying it
        self._missing: set[int] = set()

    def update(self, tracks: Tracks, events: list[CrossingEvent], t: float,
               size: tuple[int, int]) -> list[Trip]:
        """Take one frame's tracks and crossings at time `t` (frame `size` as (h, w));
        return the trips of objects now gone."""
        radius = self.join_radius * math.hypot(*size)
        ids = tracks.ids.tolist()
        names = tracks.class_names()
        feet = tracks.anchors("center").tolist() if len(tracks) else []
        edges = self._at_edge(tracks, size)
        here = set(ids)
        # Missing from this frame on: a track lost now may be found under a new id now.
        self._missing |= {k for k in self._paths if k not in here}
        for tid, name, p, edge in zip(ids, names, feet, edges):
            path = self._paths.get(tid)
            if path is None:
                path = (None if edge else self._join(name, p, t, radius)) or _Path(tid)
                self._paths[tid] = path
            else:
                self._missing.discard(tid)
                dt = t - path.seen_t
                if dt > 0:
                    a = 0.5   # smoothing: a box's jitter is not a change of speed
                    path.v = (a * (p[0] - path.xy[0]) / dt + (1 - a) * path.v[0],
                              a * (p[1] - path.xy[1]) / dt + (1 - a) * path.v[1])
            path.xy, path.seen_t, path.at_edge = (p[0], p[1]), t, edge
            path.classes[name] += 1
        for e in events:
            path = self._paths.get(e.track_id)
            if path is None:   # a crossing settled for a track already unseen
                path = self._paths[e.track_id] = _Path(e.track_id, seen_t=e.t)
            path.steps.append(e)
        gone = [k for k in self._missing if t - self._paths[k].seen_t > self.join_gap_s]
        return self._end(gone)

    @staticmethod
    def _at_edge(tracks: Tracks, size: tuple[int, int]) -> list[bool]:
        if not len(tracks):
            return []
        h, w = size
        m = max(2.0, EDGE * min(h, w))
        b = tracks.xyxy
        return ((b[:, 0] <= m) | (b[:, 1] <= m) | (b[:, 2] >= w - m) | (b[:, 3] >= h - m)).tolist()

    def _join(self, name: str, p: list[float], t: float, radius: float) -> _Path | None:
        best, best_d = None, radius
        for k in self._missing:
            path = self._paths[k]
            dt = t - path.seen_t
            if (not 0 < dt <= self.join_gap_s or path.at_edge or not path.classes
                    or path.classes.most_common(1)[0][0] != name):
                continue
            d = math.hypot(path.xy[0] + path.v[0] * dt - p[0], path.xy[1] + path.v[1] * dt - p[1])
            if d <= best_d:
                best, best_d = k, d
        if best is None:
            return None
        self._missing.discard(best)
        path = self._paths.pop(best)
        path.joined += 1
        return path

    def _end(self, ids: list[int]) -> list[Trip]:
        trips = []
        for k in sorted(ids, key=lambda k: (self._paths[k].seen_t, k)):
            self._missing.discard(k)
            trip = self._paths.pop(k).trip()
            if trip is not None:
                trips.append(trip)
        return trips

    def close(self) -> list[Trip]:
        """Every path ends now (the run ended, or a new tracker numbers anew)."""
        return self._end(list(self._paths))

    def reset(self) -> None:
        """Forget every path without a trip (Reset, or frames counted before)."""
        self._paths.clear()
        self._missing.clear()

    @property
    def open_paths(self) -> int:
        return len(self._paths)


# -- turning movements --------------------------------------------------------------------
class Movement:
    """How a trip from one approach line (IN = into the junction) to another (OUT) turned."""

    LEFT, THROUGH, RIGHT, U_TURN = "left", "through", "right", "u-turn"
    ALL = (LEFT, THROUGH, RIGHT, U_TURN)


def movement(entry_in: tuple[float, float], exit_in: tuple[float, float]) -> str:
    """Left, through, right or U-turn, from the IN direction of the line the object entered
    by and of the line it left by (it left against that one's IN), in image coordinates
    (y down, so a clockwise turn on the screen is a right turn). Within 45 degrees of
    straight on is through, past 135 a U-turn.

    Example:
        >>> north, east = (0.0, 1.0), (-1.0, 0.0)   # into the junction from the top, the right
        >>> movement(north, (0.0, -1.0)), movement(north, east), movement(north, north)
        ('through', 'left', 'u-turn')
    """
    hx, hy = entry_in
    ox, oy = -exit_in[0], -exit_in[1]     # the heading on the way out
    angle = math.degrees(math.atan2(hx * oy - hy * ox, hx * ox + hy * oy))
    if abs(angle) <= 45:
        return Movement.THROUGH
    if abs(angle) >= 135:
        return Movement.U_TURN
    return Movement.RIGHT if angle > 0 else Movement.LEFT


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100, linear), None for no values.

    Example:
        >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([], 90)
        (2.5, None)
    """
    return float(np.percentile(values, q)) if values else None
