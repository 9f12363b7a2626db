"""Counting zones: lines and polygons that turn track motion into crossing events.

Both zone kinds share one per-track state machine (`Zone.trigger`); they differ only in
how a point is classified (`_sides`) and whether a change of side really crossed the zone.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import shapely

from ..errors import DashboardError
from .dwell import DwellTimer, Visit
from .tracks import Tracks, check_anchor

STALE_TRACK_S = 120.0  # forget a track's side after this long unseen (bounds memory)
LOST_AFTER_S = 1.0     # a track unseen this long is lost (it may have left the picture)


@dataclass(frozen=True)
class CrossingEvent:
    """One counted crossing.

    Example:
        >>> CrossingEvent(t=1.5, zone="door", track_id=3, cls_name="person", direction="in")
        CrossingEvent(t=1.5, zone='door', track_id=3, cls_name='person', direction='in')
    """

    t: float
    zone: str
    track_id: int
    cls_name: str
    direction: str  # "in" or "out"


class ClassCounts(dict):
    """Per-class {"in": n, "out": n}; a class never counted reads as zeros.

    Example:
        >>> ClassCounts()["car"]
        {'in': 0, 'out': 0}
    """

    def __missing__(self, key: str) -> dict[str, int]:
        return {"in": 0, "out": 0}


@dataclass
class ZoneCounts:
    """Counts of one zone; `occupancy` is None for lines.

    Example:
        >>> ZoneCounts(in_count=2, out_count=1).net
        1
    """

    in_count: int = 0
    out_count: int = 0
    occupancy: int | None = None
    per_class: ClassCounts = field(default_factory=ClassCounts)

    @property
    def net(self) -> int:
        return self.in_count - self.out_count

    def add(self, cls_name: str, direction: str) -> None:
        if direction == "in":
            self.in_count += 1
        else:
            self.out_count += 1
        c = self.per_class.get(cls_name) or {"in": 0, "out": 0}
        c[direction] += 1
        self.per_class[cls_name] = c

    def copy(self) -> "ZoneCounts":
        return ZoneCounts(self.in_count, self.out_count, self.occupancy,
                          ClassCounts({k: dict(v) for k, v in self.per_class.items()}))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"in": self.in_count, "out": self.out_count,
                             "per_class": {k: dict(v) for k, v in self.per_class.items()}}
        if self.occupancy is not None:
            d["occupancy"] = self.occupancy
        return d


@dataclass
class _TrackState:
    side: int              # confirmed side: +1 / -1 (polygon: +1 inside)
    observed: int          # last side seen, which a point on the boundary keeps
    last_old: list[float]  # last anchor (x, y) seen on the confirmed side
    prev: list[float]      # anchor of the previous update
    seen_t: float
    pending: int = 0       # consecutive updates seen on the other side
    first_new: list[float] | None = None
    cls_name: str = ""     # as last seen


def _as_points(points: Iterable[Sequence[float]], what: str) -> np.ndarray:
    try:
        arr = np.asarray([[float(v) for v in p] for p in points], dtype=np.float64)
    except (TypeError, ValueError):
        raise DashboardError(f"{what}: points must be (x, y) pairs of numbers.") from None
    if arr.ndim != 2 or arr.shape[1] != 2 or not np.isfinite(arr).all():
        raise DashboardError(f"{what}: points must be finite (x, y) pairs.")
    return arr


class Zone:
    """Base of `LineZone` and `PolygonZone`: holds per-track side state and running counts."""

    kind = "zone"

    def __init__(self, name: str, anchor: str = "center", confirm_frames: int = 2,
                 classes: Iterable[str] = ()) -> None:
        if not isinstance(name, str) or not name.strip():
            raise DashboardError("A zone needs a non-empty name.")
        if int(confirm_frames) < 1:
            raise DashboardError(f"Zone {name!r}: confirm_frames must be 1 or more.")
        try:
            self.anchor = check_anchor(anchor)
        except ValueError as e:
            raise DashboardError(f"Zone {name!r}: {e}") from None
        self.name = name.strip()
        self.label = self.name   # what the overlay shows; a service may key counts by an id
        self.confirm_frames = int(confirm_frames)
        if isinstance(classes, str) or not all(isinstance(c, str) for c in classes):
            raise DashboardError(f"Zone {name!r}: classes must be a list of class names.")
        self.classes = frozenset(c.strip() for c in classes if c.strip())   # empty: all
        self.points = np.zeros((0, 2))
        self.counts = ZoneCounts(occupancy=0 if self.kind == "polygon" else None)
        # Areas time each stay (see dwell.py); lines have no inside.
        self.dwell = DwellTimer(self.name) if self.kind == "polygon" else None
        self.ended_visits: list[Visit] = []   # visits the last `trigger` ended
        self._states: dict[int, _TrackState] = {}
        self._pending: set[int] = set()   # tracks seen on the other side, not yet confirmed
        self._pruned_t = -math.inf

    # Subclasses define these three.
    def _sides(self, pts: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _crossed(self, old: list[float], new: list[float]) -> bool:
        return True

    def _passed_through(self, old: list[float], new: list[float]) -> bool:
        return False

    def trigger(self, tracks: Tracks, t: float) -> list[CrossingEvent]:
        """Update every track's side with this frame's tracks; return the crossings counted.

        Example:
            >>> z = LineZone("door", (0, 10), (100, 10), confirm_frames=1)
            >>> mk = lambda y: Tracks([[40, y - 5, 60, y + 5]], [1], [0], [.9], {0: "person"})
            >>> z.trigger(mk(0), 0.0), [e.direction for e in z.trigger(mk(20), 0.1)]
            ([], ['in'])
        """
        if self.classes and len(tracks):
            tracks = tracks.select(np.isin(tracks.class_names(), list(self.classes)))
        anchors = tracks.anchors(self.anchor)
        sides = self._sides(anchors).tolist() if len(anchors) else []
        names = tracks.class_names()
        events: list[CrossingEvent] = []
        inside = 0
        # Plain floats: this loop runs per track and zone, where numpy scalars cost most.
        for i, (tid, p, s) in enumerate(zip(tracks.ids.tolist(), anchors.tolist(), sides)):
            st = self._states.get(tid)
            if st is None:
                if s != 0:  # a first sighting sets the state and counts nothing
                    self._states[tid] = _TrackState(s, s, p, p, t, cls_name=names[i])
                    inside += s > 0
                continue
            if s == 0:
                s = st.observed
            if s == st.side:
                if st.pending:
                    self._pending.discard(tid)
                st.pending, st.first_new, st.last_old = 0, None, p
                # A fast step with both ends outside can still pass through the area.
                if s < 0 and st.observed < 0 and self._passed_through(st.prev, p):
                    events += [self._event(t, tid, names[i], d) for d in ("in", "out")]
            else:
                if st.pending == 0:
                    st.first_new = p
                    self._pending.add(tid)
                st.pending += 1
                if st.pending >= self.confirm_frames:
                    if self._crossed(st.last_old, st.first_new):
                        events.append(self._event(t, tid, names[i], "in" if s > 0 else "out"))
                    st.side, st.pending, st.first_new, st.last_old = s, 0, None, p
                    self._pending.discard(tid)
            st.observed, st.prev, st.seen_t, st.cls_name = s, p, t, names[i]
            inside += st.side > 0
        if self._pending:
            events += self._settle_lost(t)
        if self.counts.occupancy is not None:
            self.counts.occupancy = inside
        if self.dwell is not None:
            self.ended_visits = self.dwell.update(
                self._side_of, tracks.ids.tolist(),
                {e.track_id: e.t for e in events}, t)
        self._prune(t)
        return events

    def _side_of(self, tid: int) -> tuple[int, float, str] | None:
        st = self._states.get(tid)
        return None if st is None else (st.side, st.seen_t, st.cls_name)

    def end_stays(self) -> list[Visit]:
        """End every stay going on at its last sighting (the zone goes, or the run ends);
        empty for lines."""
        return self.dwell.close_all() if self.dwell is not None else []

    def inside(self, t: float) -> list[Visit]:
        """Tracks inside this area now, with when they entered (empty for lines)."""
        return self.dwell.inside(t) if self.dwell is not None else []

    def _settle_lost(self, t: float) -> list[CrossingEvent]:
        """A track lost (unseen for LOST_AFTER_S) while pending on the new side is settled
        there: counted, at the time it was last seen, if its path crossed the zone. It
        crossed and then left the picture (or the detector lost it) before `confirm_frames`
        sightings could confirm it; jitter never gets here, since a track that comes back
        to its side clears its pending count."""
        events = []
        for tid in [k for k in self._pending if t - self._states[k].seen_t >= LOST_AFTER_S]:
            st = self._states[tid]
            self._pending.discard(tid)
            if self._crossed(st.last_old, st.first_new):
                events.append(self._event(st.seen_t, tid, st.cls_name,
                                          "in" if st.observed > 0 else "out"))
            st.side, st.pending, st.first_new, st.last_old = st.observed, 0, None, st.prev
        return events

    def _event(self, t: float, tid: int, cls_name: str, direction: str) -> CrossingEvent:
        self.counts.add(cls_name, direction)
        return CrossingEvent(float(t), self.name, int(tid), cls_name, direction)

    def _prune(self, t: float) -> None:
        if t - self._pruned_t < 10.0:
            return
        self._pruned_t = t
        stale = [k for k, st in self._states.items() if t - st.seen_t > STALE_TRACK_S]
        for k in stale:
            del self._states[k]
            self._pending.discard(k)

    def forget_tracks(self) -> None:
        """A new run numbers its tracks afresh (a new tracker): the old run's track states
        go, so a new track #3 is not taken for the old #3. Counts stay.

        Example:
            >>> z = LineZone("door", (0, 50), (100, 50), confirm_frames=1)
            >>> z.trigger(Tracks([[45, 25, 55, 35]], [3], [0], [.9], {0: "person"}), 0.0)
            []
            >>> z.forget_tracks()   # the next #3, below the line, is someone new: no crossing
            >>> z.trigger(Tracks([[45, 65, 55, 75]], [3], [0], [.9], {0: "person"}), 1.0)
            []
        """
        self._states.clear()
        self._pending.clear()

    def reset(self) -> None:
        """Counts and track states back to zero."""
        self.counts = ZoneCounts(occupancy=0 if self.kind == "polygon" else None)
        if self.dwell is not None:
            self.dwell.open.clear()
        self.ended_visits = []
        self._states.clear()
        self._pending.clear()

    def to_dict(self) -> dict[str, Any]:
        """The zones-file form of this zone.

        Example:
            >>> LineZone("door", (0, 5), (10, 5)).to_dict()["points"]
            [[0.0, 5.0], [10.0, 5.0]]
        """
        d = {"name": self.name, "type": self.kind, "points": self.points.tolist(),
             "anchor": self.anchor, "confirm_frames": self.confirm_frames}
        if self.classes:
            d["classes"] = sorted(self.classes)
        return d

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, points={self.points.tolist()})"


class LineZone(Zone):
    """A counting line from `a` to `b`: moving from its negative to its positive side is IN.

    The side of p is the sign of (bx-ax)(py-ay) - (by-ay)(px-ax): for a line drawn left to
    right, moving down the image is IN. `flip()` swaps the IN direction.

    Example:
        >>> LineZone("door", (100, 240), (540, 240)).in_direction()
        (0.0, 1.0)
    """

    kind = "line"

    def __init__(self, name: str, a: Sequence[float], b: Sequence[float],
                 anchor: str = "center", confirm_frames: int = 2,
                 classes: Iterable[str] = ()) -> None:
        super().__init__(name, anchor, confirm_frames, classes)
        pts = _as_points([a, b], f"Line zone {self.name!r}")
        if np.allclose(pts[0], pts[1]):
            raise DashboardError(f"Line zone {self.name!r}: its two end points are the same; "
                                 "draw a line with some length.")
        self.points = pts
        self._segment = shapely.LineString(pts)

    @property
    def a(self) -> tuple[float, float]:
        return (float(self.points[0, 0]), float(self.points[0, 1]))

    @property
    def b(self) -> tuple[float, float]:
        return (float(self.points[1, 0]), float(self.points[1, 1]))

    def _sides(self, pts: np.ndarray) -> np.ndarray:
        (ax, ay), (bx, by) = self.points
        cross = (bx - ax) * (pts[:, 1] - ay) - (by - ay) * (pts[:, 0] - ax)
        return np.sign(cross).astype(np.int64)

    def _crossed(self, old: list[float], new: list[float]) -> bool:
        return bool(self._segment.intersects(shapely.LineString([old, new])))

    def in_direction(self) -> tuple[float, float]:
        """Unit vector pointing to the IN side (for drawing the arrow)."""
        (ax, ay), (bx, by) = self.points.tolist()
        n = math.hypot(bx - ax, by - ay)
        return (-(by - ay) / n + 0.0, (bx - ax) / n + 0.0)  # + 0.0 turns -0.0 into 0.0

    def flip(self) -> None:
        """Swap IN and OUT for future crossings; counts so far and track continuity are kept."""
        self.points = self.points[::-1].copy()
        self._segment = shapely.LineString(self.points)
        for st in self._states.values():
            st.side, st.observed = -st.side, -st.observed


class PolygonZone(Zone):
    """An area: IN is outside -> inside, OUT inside -> outside; `occupancy` counts who is inside.

    Example:
        >>> z = PolygonZone("shop", [(0, 0), (100, 0), (100, 100), (0, 100)], confirm_frames=1)
        >>> box = lambda x: Tracks([[x - 5, 45, x + 5, 55]], [1], [1], [.9], {1: "car"})
        >>> _ = z.trigger(box(-50, ), 0.0); _ = z.trigger(box(50), 0.1)
        >>> z.counts.in_count, z.counts.occupancy, dict(z.counts.per_class)
        (1, 1, {'car': {'in': 1, 'out': 0}})
    """

    kind = "polygon"

    def __init__(self, name: str, points: Sequence[Sequence[float]], anchor: str = "center",
                 confirm_frames: int = 2, classes: Iterable[str] = ()) -> None:
        super().__init__(name, anchor, confirm_frames, classes)
        pts = _as_points(points, f"Polygon zone {self.name!r}")
        if len(pts) > 1 and np.allclose(pts[0], pts[-1]):
            pts = pts[:-1]  # a closed ring given with its first point repeated
        if len(pts) < 3:
            raise DashboardError(f"Polygon zone {self.name!r} needs at least 3 points, got "
                                 f"{len(pts)}. Click at least three corners.")
        poly = shapely.Polygon(pts)
        if poly.area <= 0:
            raise DashboardError(f"Polygon zone {self.name!r} has no area (its points are on "
                                 "one line). Draw corners that enclose a region.")
        if not poly.is_valid:
            raise DashboardError(f"Polygon zone {self.name!r} crosses itself. Draw its corners "
                                 "in order around the area.")
        self.points = pts
        self._poly = poly
        shapely.prepare(self._poly)
        self._bbox = (*pts.min(axis=0).tolist(), *pts.max(axis=0).tolist())

    def _sides(self, pts: np.ndarray) -> np.ndarray:
        # +1 inside, 0 on an edge, -1 outside (as cv2.pointPolygonTest), for all points at once.
        x, y = pts[:, 0], pts[:, 1]
        touching = shapely.intersects_xy(self._poly, x, y)
        inside = shapely.contains_xy(self._poly, x, y)
        return np.where(inside, 1, np.where(touching, 0, -1))

    def _passed_through(self, old: list[float], new: list[float]) -> bool:
        x0, y0, x1, y1 = self._bbox
        if (max(old[0], new[0]) < x0 or min(old[0], new[0]) > x1
                or max(old[1], new[1]) < y0 or min(old[1], new[1]) > y1
                or old == new):
            return False
        return bool(self._poly.crosses(shapely.LineString([old, new])))


def zone_from_dict(d: dict[str, Any]) -> Zone:
    """Build a zone from its zones-file form (see `Zone.to_dict`).

    Example:
        >>> zone_from_dict({"name": "door", "type": "line", "points": [[0, 5], [10, 5]]})
        LineZone('door', points=[[0.0, 5.0], [10.0, 5.0]])
    """
    if not isinstance(d, dict):
        raise DashboardError(f"A zone must be an object with name, type and points, got {d!r}.")
    name, kind, pts = d.get("name"), d.get("type"), d.get("points")
    opts = {k: d[k] for k in ("anchor", "confirm_frames", "classes") if k in d}
    if not isinstance(pts, list):
        raise DashboardError(f"Zone {name!r}: 'points' must be a list of [x, y] pairs.")
    if kind == "line":
        if len(pts) != 2:
            raise DashboardError(f"Line zone {name!r} needs exactly 2 points, got {len(pts)}.")
        return LineZone(name, pts[0], pts[1], **opts)
    if kind == "polygon":
        return PolygonZone(name, pts, **opts)
    raise DashboardError(f"Zone {name!r}: type must be 'line' or 'polygon', got {kind!r}.")


def load_zones(path: str | Path) -> list[Zone]:
    """Read a zones file: {"zones": [{"name", "type": "line"|"polygon", "points", ...}]}
    (entries of type "mask" are masks: see `load_masks`).

    Example:
        >>> load_zones("zones.json")  # doctest: +SKIP
        [LineZone('door', points=[[100.0, 240.0], [540.0, 240.0]])]
    """
    doc = _zones_file(path)
    zones = [zone_from_dict(d) for d in doc["zones"]
             if not (isinstance(d, dict) and d.get("type") == "mask")]
    names = [z.name for z in zones]
    if len(set(names)) != len(names):
        raise DashboardError(f"Zones file {path} repeats a zone name: {names}.")
    return zones


def load_masks(path: str | Path) -> list[np.ndarray]:
    """The masks of a zones file: entries {"type": "mask", "points": [[x, y], ...]}, areas
    where nothing is counted or heated (see `Engine.masks`).

    Example:
        >>> load_masks("zones.json")  # doctest: +SKIP
        [array([[  0.,   0.], [100.,   0.], [100.,  50.]])]
    """
    return [PolygonZone(d.get("name") or "mask", d.get("points") or []).points
            for d in _zones_file(path)["zones"] if isinstance(d, dict) and d.get("type") == "mask"]


def _zones_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise DashboardError(f"Zones file not found: {path}.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DashboardError(f"Zones file {path} is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("zones"), list):
        raise DashboardError(f"Zones file {path} must hold {{\"zones\": [...]}}.")
    return doc


def save_zones(path: str | Path, zones: Iterable[Zone]) -> Path:
    """Write zones in the form `load_zones` reads.

    Example:
        >>> save_zones("zones.json", [LineZone("door", (0, 5), (10, 5))])  # doctest: +SKIP
    """
    path = Path(path)
    path.write_text(json.dumps({"zones": [z.to_dict() for z in zones]}, indent=2))
    return path
