"""Accuracy audits: the crossings a person marked over a period of a camera's video, against
those the camera counted then (`engine.audit`): per zone and direction right, missed,
extra, accuracy and its 95% interval, kept with the settings they were made under."""
from __future__ import annotations

import json
import time
from typing import Any

from dashboard.config.kinds import CameraId, new_id
from dashboard.engine.audit import WITHIN_S, Mark, match, tallies
from dashboard.errors import DashboardError, NotFound
from dashboard.service.access import needs
from dashboard.service.auth import Role
from dashboard.service.periods import check_range
from dashboard.store.export import csv_text, iso

MAX_MARKS = 10_000


class AuditCases:
    """The audits part of `Service`."""

    def _marks(self, cid: str, since: float, until: float, marks: Any) -> list[Mark]:
        """The marks given, checked: each in the period, on a zone of the camera (its id
        or its name), in or out."""
        if not isinstance(marks, list) or len(marks) > MAX_MARKS:
            raise DashboardError(f"Marks are a list of at most {MAX_MARKS} crossings: "
                                 '[{"t": unix seconds, "zone": id or name, "direction": '
                                 '"in" or "out", "class": optional}].')
        zones = {z.id: z.id for z in self.zones(cid)} | {z.name.lower(): z.id
                                                         for z in self.zones(cid)}
        out = []
        for k, m in enumerate(marks, 1):
            try:
                t, zone, d = float(m["t"]), str(m["zone"]), str(m["direction"])
            except (KeyError, TypeError, ValueError):
                raise DashboardError(f"Mark {k}: it needs t (unix seconds), zone and "
                                     "direction.") from None
            if not since <= t < until:
                raise DashboardError(f"Mark {k} ({iso(t)}) is outside the audited period "
                                     f"({iso(since)} to {iso(until)}).")
            if zone not in zones and zone.lower() not in zones:
                raise DashboardError(f"Mark {k}: this camera has no zone {zone!r}.")
            if d not in ("in", "out"):
                raise DashboardError(f"Mark {k}: direction is in or out, not {d!r}.")
            out.append(Mark(t, zones.get(zone) or zones[zone.lower()], d,
                            str(m.get("class") or "")))
        return out

    @needs(Role.OPERATOR, acting=True)
    def accuracy_audit(self, cid: str, since: float, until: float, marks: Any,
              within_s: float = WITHIN_S, by: str = "system") -> dict[str, Any]:
        """Audit [since, until) of a camera against `marks` (see `_marks`), keep it, and
        return it: per zone and direction and in all, right, missed, extra, accuracy with
        its 95% interval.

        Example:
            >>> import tempfile
            >>> from dashboard.service.core import Service, Path
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> cam = svc.add_camera("Door", "demo", enabled=False)
            >>> _ = svc.add_zone(cam.id, "door", "line", [[0, .5], [1, .5]])
            >>> a = svc.accuracy_audit(cam.id, 0.0, 100.0, [{"t": 5, "zone": "door",
            ...                                              "direction": "in"}])
            >>> a["all"]["missed"], a["summary"][:19]
            (1, 'door in: 0% (n=1), ')
            >>> svc.shutdown()
        """
        cam = self.camera(cid)
        check_range(since, until, time.time())
        if not 0 < float(within_s) <= 10:
            raise DashboardError("A mark and a count match within 0 to 10 seconds.")
        given = self._marks(cid, since, until, marks)
        counted = [Mark(e.t, e.zone, e.direction, e.cls_name)
                   for e in self.store.events(CameraId(cid), since, until)]
        names = self._names(cid)
        result = {"zones": [{"zone_id": k[0], "zone": names.get(k[0], k[0]),
                             "direction": k[1], **v.to_dict()}
                            for k, v in tallies(given, counted, within_s).items() if k != "all"],
                  "all": tallies(given, counted, within_s)["all"].to_dict(),
                  "within_s": float(within_s)}
        row = {"id": new_id("audit"), "created": time.time(), "by": by, "since": since,
               "until": until, "settings_json": json.dumps(cam.settings.to_dict()),
               "marks_json": json.dumps([m.__dict__ for m in given]),
               "result_json": json.dumps(result)}
        self.store.save_accuracy_audit(CameraId(cid), row)
        return self._shown_audit(row)

    @staticmethod
    def _shown_audit(row: dict) -> dict[str, Any]:
        result = json.loads(row["result_json"])
        day = time.strftime("%Y-%m-%d", time.localtime(row["created"]))
        summary = "; ".join(
            f"{z['zone']} {z['direction']}: "
            f"{'–' if z['accuracy'] is None else format(z['accuracy'], '.0%')} (n={z['n']})"
            for z in result["zones"])
        return {"id": row["id"], "created": row["created"], "by": row["by"],
                "since": row["since"], "until": row["until"],
                "settings": json.loads(row["settings_json"]), **result,
                "marks": len(json.loads(row["marks_json"])),
                "summary": f"{summary or 'nothing marked or counted'}, audited {day}"}

    @needs(Role.VIEWER)
    def accuracy_audits(self, cid: str) -> list[dict[str, Any]]:
        """A camera's audits, newest first."""
        self.camera(cid)
        return [self._shown_audit(r) for r in self.store.accuracy_audits(CameraId(cid))]

    @needs(Role.VIEWER)
    def accuracy_audit_csv(self, cid: str, audit_id: str) -> str:
        """One audit, crossing by crossing: each mark and each count, and what it was
        (right: both; missed: a mark only; extra: a count only)."""
        row = next((r for r in self.store.accuracy_audits(CameraId(cid), 10_000)
                    if r["id"] == audit_id), None)
        if row is None:
            raise NotFound(f"Camera {cid!r} has no audit {audit_id!r}.")
        marks = [Mark(**m) for m in json.loads(row["marks_json"])]
        within = json.loads(row["result_json"])["within_s"]
        counted = [Mark(e.t, e.zone, e.direction, e.cls_name)
                   for e in self.store.events(CameraId(cid), row["since"], row["until"])]
        pairs, missed, extra = match(marks, counted, within)
        names = self._names(cid)
        rows = ([("right", m, c) for m, c in pairs] + [("missed", m, None) for m in missed]
                + [("extra", None, c) for c in extra])
        rows.sort(key=lambda r: (r[1] or r[2]).t)
        return csv_text(["what", "zone", "direction", "marked_at", "counted_at", "class"],
                        ([what, names.get((m or c).zone, (m or c).zone), (m or c).direction,
                          iso(m.t) if m else "", iso(c.t) if c else "",
                          (c.cls if c else m.cls)] for what, m, c in rows))
