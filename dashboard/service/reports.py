"""Figures and exports: counts, dwell, visits, alerts, crossings, series; CSV and JSON."""
from __future__ import annotations

import json
import time
from typing import Any

from dashboard.config.kinds import CameraId, ZoneKind
from dashboard.engine.zones import ZoneCounts
from dashboard.errors import NotFound
from dashboard.service.access import needs
from dashboard.service.auth import Role
from dashboard.service.views import ZoneFigures
from dashboard.store.export import csv_text, iso



class ReportCases:
    """The figures part of `Service`: live ones from the runner, stored ones from the store."""

    @needs(Role.VIEWER)
    def counts(self, cid: str) -> list[ZoneFigures]:
        """Every zone's in, out, occupancy and per-class counts, in the zones' order."""
        snap = self._snapshot(cid)
        alerting = {a.zone for a in snap.alerts}
        return [ZoneFigures(z.id, z.name, z.kind, snap.counts.get(z.id) or ZoneCounts(),
                            z.limit, z.id in alerting)
                for z in self.zones(cid) if z.kind.counts]

    @needs(Role.VIEWER)
    def dwell(self, cid: str, since: float | None = None, until: float | None = None
              ) -> list[dict[str, Any]]:
        """Per area: visits that ended in [since, until) with their average and longest
        seconds, and who is inside now with their time so far.

        Example:
            >>> import tempfile
            >>> from dashboard.service.core import Service, Path
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> cam = svc.add_camera("Shop", "demo", enabled=False)
            >>> _ = svc.add_zone(cam.id, "aisle", "polygon", [[0, 0], [1, 0], [1, 1]])
            >>> [(d["zone"], d["visits"], d["inside"]) for d in svc.dwell(cam.id)]
            [('aisle', 0, [])]
            >>> svc.shutdown()
        """
        snap = self._snapshot(cid)
        stats = self.store.dwell(CameraId(cid), since, until)
        now = snap.t or time.time()   # the camera's own clock (a file's: its video time)
        out = []
        for z in self.zones(cid):
            if z.kind is not ZoneKind.POLYGON:
                continue
            n, avg, top = stats.get(z.id, (0, None, None))
            out.append({"zone_id": z.id, "zone": z.name, "visits": n,
                        "average_s": None if avg is None else round(avg, 3),
                        "longest_s": None if top is None else round(top, 3),
                        "inside": [{"track_id": v.track_id, "class": v.cls_name,
                                    "entered": v.entered, "seconds": round(now - v.entered, 1)}
                                   for v in snap.inside.get(z.id, [])]})
        return out

    @needs(Role.VIEWER)
    def visits(self, cid: str, since: float | None = None, until: float | None = None,
               limit: int = 1000) -> list[dict[str, Any]]:
        """Finished visits (camera, zone, track, class, entered, left, seconds), oldest
        first, that ended in [since, until)."""
        self.camera(cid)
        names = self._names(cid)
        rows = self.store.visits(CameraId(cid), since, until, max(1, min(int(limit),
                                                                         10_000_000)))
        return [{"zone_id": v.zone, "zone": names.get(v.zone, v.zone), "track_id": v.track_id,
                 "class": v.cls_name, "entered": v.entered, "left": v.left,
                 "seconds": round(v.seconds, 3)} for v in rows]

    @needs(Role.VIEWER)
    def visits_csv(self, cid: str, since: float | None = None, until: float | None = None
                   ) -> str:
        cam = self.camera(cid)
        return csv_text(["camera", "zone", "zone_id", "track_id", "class", "entered", "left",
                         "seconds"],
                        ([cam.name, v["zone"], v["zone_id"], v["track_id"], v["class"],
                          iso(v["entered"]), iso(v["left"]), f"{v['seconds']:.1f}"]
                         for v in self.visits(cid, since, until, 10_000_000)))

    def _names(self, cid: str) -> dict[str, str]:
        return {z.id: z.name for z in self.zones(cid)}

    @needs(Role.VIEWER)
    def events(self, cid: str, since: float | None = None, until: float | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        """Stored crossings, oldest first from `since`, or the newest `limit` without it."""
        self.camera(cid)
        limit = max(1, min(int(limit), 10_000))
        rows = self.store.events(CameraId(cid), since, until, limit, newest_first=since is None)
        if since is None:
            rows.reverse()
        names = self._names(cid)
        seen = self.store.with_evidence(CameraId(cid), rows) if limit <= 10_000 else set()
        return [{"t": e.t, "time": iso(e.t), "zone_id": e.zone, "zone": names.get(e.zone, e.zone),
                 "track_id": e.track_id, "class": e.cls_name, "direction": e.direction,
                 "evidence": (e.zone, e.track_id, e.t, e.direction) in seen}
                for e in rows]

    @needs(Role.VIEWER)
    def recent_events(self, cid: str, n: int = 10) -> list[dict[str, Any]]:
        """The newest crossings, newest first (from memory: no database read per refresh)."""
        names = self._names(cid)
        return [{"t": e.t, "zone": names.get(e.zone, e.zone), "zone_id": e.zone,
                 "track_id": e.track_id, "class": e.cls_name, "direction": e.direction}
                for e in self.runner(cid).recent_events(n)]

    @needs(Role.VIEWER)
    def evidence(self, cid: str, zone_id: str, track_id: int, t: float, direction: str
                 ) -> tuple[bytes, bytes | None] | None:
        """The pictures of one crossing: (what crossed, the moment around it, frames two
        before to two after, one above the other), JPEG; None when none were kept."""
        self.camera(cid)
        return self.store.evidence(CameraId(cid), zone_id, int(track_id), float(t), direction)

    @needs(Role.VIEWER)
    def series(self, cid: str, interval: str = "minute", since: float | None = None,
               until: float | None = None) -> list[dict[str, Any]]:
        """Crossings per minute, hour or day and zone: start, zone, class, in, out. Hours
        and days are the server's local ones (a day starts at local midnight; the offset of
        the range's start is used for the whole range)."""
        self.camera(cid)
        names = self._names(cid)
        offset = time.localtime(since if since is not None and since > 0 else time.time()
                                ).tm_gmtoff
        return [{"start": b, "zone_id": z, "zone": names.get(z, z), "class": c, "in": i, "out": o}
                for b, z, c, i, o in self.store.series(CameraId(cid), interval, since, until,
                                                       offset)]

    @needs(Role.VIEWER)
    def archives(self, cid: str) -> list[dict[str, Any]]:
        """The counts each Reset archived, newest first: when that period was counted (wall
        clock) and its in and out per zone (a zone deleted since by its id).

        Example:
            >>> import tempfile
            >>> from dashboard.service.core import Service, Path
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> cam = svc.add_camera("Door", "demo", enabled=False)
            >>> svc.reset(cam.id); [a["epoch"] for a in svc.archives(cam.id)]
            [1]
            >>> svc.shutdown()
        """
        self.camera(cid)
        names = self._names(cid)
        return [{"epoch": ep, "from": iso(started), "to": iso(archived),
                 "zones": [{"zone_id": z, "zone": names.get(z, z), "in": i, "out": o}
                           for z, (i, o) in sorted(zones.items())]}
                for ep, started, archived, zones in self.store.archives(CameraId(cid))]

    @needs(Role.VIEWER)
    def archived_events_csv(self, cid: str, epoch: int) -> str:
        """The crossings of an archived period, as `events_csv` gives the current ones."""
        if int(epoch) not in [a["epoch"] for a in self.archives(cid)]:
            raise NotFound(f"Camera {cid!r} has no archived period {epoch}.")
        names = self._names(cid)
        return csv_text(["time", "t", "zone", "zone_id", "track_id", "class", "direction"],
                        ([iso(e.t), f"{e.t:.3f}", names.get(e.zone, e.zone), e.zone,
                          e.track_id, e.cls_name, e.direction]
                         for e in self.store.events(CameraId(cid), epoch=int(epoch))))

    @needs(Role.VIEWER)
    def events_csv(self, cid: str, since: float | None = None, until: float | None = None
                   ) -> str:
        rows = self.events(cid, since if since is not None else -1e18, until, limit=10_000_000)
        return csv_text(["time", "t", "zone", "zone_id", "track_id", "class", "direction"],
                        ([r["time"], f"{r['t']:.3f}", r["zone"], r["zone_id"], r["track_id"],
                          r["class"], r["direction"]] for r in rows))

    @needs(Role.VIEWER)
    def counts_csv(self, cid: str, interval: str = "minute", since: float | None = None,
                   until: float | None = None) -> str:
        return csv_text(["start", "zone", "zone_id", "class", "in", "out"],
                        ([iso(r["start"]), r["zone"], r["zone_id"], r["class"], r["in"], r["out"]]
                         for r in self.series(cid, interval, since, until)))

    @needs(Role.VIEWER)
    def counts_json(self, cid: str) -> str:
        cam = self.camera(cid)
        snap = self._snapshot(cid)
        as_of = snap.t or time.time()          # the camera's clock: a file's video time
        return json.dumps({"camera": {"id": cam.id, "name": cam.name}, "as_of": iso(as_of),
                           "as_of_t": as_of,
                           "zones": [f.to_dict() for f in self.counts(cid)]}, indent=2)
