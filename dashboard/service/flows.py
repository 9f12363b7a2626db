"""Flows: where objects went between a camera's zones (origin-destination), and the turning
movements at a junction, per period and interval; CSV for both."""
from __future__ import annotations

import time
from collections import defaultdict
from typing import Any

from dashboard.config.kinds import CameraId, ZoneKind
from dashboard.config.zone import ZoneSpec
from dashboard.engine.flows import UNKNOWN, Trip, movement, percentile
from dashboard.config.env import time_zone
from dashboard.errors import DashboardError
from dashboard.service.access import needs
from dashboard.service.auth import Role
from dashboard.service.periods import Interval, bucket_end, bucket_start, check_range
from dashboard.store.export import csv_text, iso

FLOW_INTERVAL = Interval.QUARTER   # traffic engineers report turning movements per 15 minutes


def _interval(value: str | Interval | None) -> Interval | None:
    if value is None or isinstance(value, Interval):
        return value
    try:
        return Interval(value)
    except ValueError:
        raise DashboardError(f"Flows are counted per {', '.join(i.value for i in Interval)}; "
                             f"not {value!r}.") from None


class FlowCases:
    """The flows part of `Service`: trips as the store keeps them, named by the zones."""

    def _trips(self, cid: str, since: float | None, until: float | None) -> list[Trip]:
        check_range(since, until, time.time())
        self.camera(cid)
        return self.store.trips(CameraId(cid), since, until)

    @needs(Role.VIEWER)
    def flows(self, cid: str, since: float | None = None, until: float | None = None,
              interval: str | Interval | None = None) -> dict[str, Any]:
        """The origin-destination matrix of trips that started in [since, until): per
        (interval,) origin, destination and class, the count and the time from origin to
        destination (median, p90, seconds). A trip that crossed one zone only goes to
        "unknown"; deleted zones keep their ids as names.

        Example:
            >>> import tempfile
            >>> from dashboard.service.core import Service, Path
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> cam = svc.add_camera("Junction", "demo", enabled=False)
            >>> svc.flows(cam.id)["cells"], [z.name for z in svc.add_junction(cam.id)]
            ([], ['north', 'east', 'south', 'west'])
            >>> svc.shutdown()
        """
        names, interval, tz = self._names(cid), _interval(interval), time_zone()
        groups: dict[tuple, list[Trip]] = defaultdict(list)
        trips = self._trips(cid, since, until)
        for t in trips:
            start = bucket_start(t.started, interval, tz) if interval else None
            groups[(start, t.origin, t.origin_dir, t.destination, t.destination_dir,
                    t.cls_name)].append(t)
        cells = []
        for (start, o, od, d, dd, cls), group in sorted(groups.items(), key=_order):
            secs = [t.seconds for t in group if t.seconds is not None]
            cells.append({
                **({"start": start, "end": bucket_end(start, interval, tz)} if interval else {}),
                "origin_id": o, "origin": names.get(o, o), "origin_dir": od,
                "destination_id": d, "destination": UNKNOWN if d is None else names.get(d, d),
                "destination_dir": dd, "class": cls, "count": len(group),
                "median_s": _round(percentile(secs, 50)), "p90_s": _round(percentile(secs, 90))})
        return {"camera_id": cid, "since": since, "until": until,
                "interval": interval.value if interval else None,
                "trips": len(trips), "unknown": sum(t.destination is None for t in trips),
                "joined": sum(t.joined > 0 for t in trips), "cells": cells}

    @needs(Role.VIEWER)
    def turns(self, cid: str, since: float | None = None, until: float | None = None,
              interval: str | Interval = FLOW_INTERVAL) -> list[dict[str, Any]]:
        """Turning movement counts: trips that came in over one line (its IN) and left over
        another (against its IN), per interval, approach (the line came in by), movement
        (left, through, right, u-turn: from the two lines' directions) and class."""
        lines = {z.id: z for z in self.zones(cid) if z.kind is ZoneKind.LINE}
        interval, tz = _interval(interval), time_zone()
        counts: dict[tuple, int] = defaultdict(int)
        for t in self._trips(cid, since, until):
            a, b = lines.get(t.origin), lines.get(t.destination or "")
            if a is None or b is None or t.origin_dir != "in" or t.destination_dir != "out":
                continue
            key = (bucket_start(t.started, interval, tz), a.name, _movement(a, b), t.cls_name)
            counts[key] += 1
        return [{"start": s, "end": bucket_end(s, interval, tz), "approach": a, "movement": m,
                 "class": c, "count": n} for (s, a, m, c), n in sorted(counts.items())]

    @needs(Role.VIEWER)
    def flows_csv(self, cid: str, since: float | None = None, until: float | None = None,
                  interval: str | Interval = FLOW_INTERVAL) -> str:
        """One row per interval, origin, destination and class: its count and times."""
        cells = self.flows(cid, since, until, interval)["cells"]
        return csv_text(["interval_start", "interval_end", "origin", "origin_direction",
                         "destination", "destination_direction", "class", "count",
                         "median_s", "p90_s"],
                        ([iso(c["start"]), iso(c["end"]), c["origin"], c["origin_dir"],
                          c["destination"], c["destination_dir"] or "", c["class"], c["count"],
                          "" if c["median_s"] is None else c["median_s"],
                          "" if c["p90_s"] is None else c["p90_s"]] for c in cells))

    @needs(Role.VIEWER)
    def turns_csv(self, cid: str, since: float | None = None, until: float | None = None,
                  interval: str | Interval = FLOW_INTERVAL) -> str:
        return csv_text(["interval_start", "interval_end", "approach", "movement", "class",
                         "count"],
                        ([iso(r["start"]), iso(r["end"]), r["approach"], r["movement"],
                          r["class"], r["count"]] for r in self.turns(cid, since, until,
                                                                      interval)))


    @needs(Role.VIEWER)
    def flow_picture(self, cid: str, since: float | None = None, until: float | None = None
                     ) -> Any:
        """The flow diagram (BGR): the camera's newest picture (grey before it has one)
        with its zones and an arrow per origin and destination of the period's trips."""
        import numpy as np

        from dashboard.engine.overlay import draw_flows

        try:
            img = self.still(cid)
        except DashboardError:
            img = None
        img = np.full((360, 640, 3), 96, np.uint8) if img is None else img
        img = self.with_zones(cid, img, counts=False)
        h, w = img.shape[:2]
        zones = [z.to_zone(w, h) for z in self.zones(cid) if z.kind.counts]
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for c in self.flows(cid, since, until)["cells"]:
            if c["destination_id"] is not None:
                totals[(c["origin_id"], c["destination_id"])] += c["count"]
        draw_flows(img, zones, [(o, d, n) for (o, d), n in totals.items()])
        return img


def _movement(a: ZoneSpec, b: ZoneSpec) -> str:
    # Directions in the frame's 0..1 square: a left turn stays left on any picture size.
    return movement(a.to_zone(1000, 1000).in_direction(), b.to_zone(1000, 1000).in_direction())


def _order(item: tuple) -> tuple:
    (start, o, od, d, dd, cls), _ = item
    return (start or 0.0, o, od, d is None, d or "", dd or "", cls)


def _round(v: float | None) -> float | None:
    return None if v is None else round(v, 2)
