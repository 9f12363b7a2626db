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
SAMPLES = "samples"   # the media folder's subfolder samples are recorded into


class AuditCases:
    """The audits part of `Service`: samples recorded to audit, and the audits."""

    @needs(Role.OPERATOR, acting=True)
    def record_sample(self, cid: str, minutes: Any, by: str = "system") -> dict[str, Any]:
        """Record the next `minutes` of what a running camera counts (at most
        `MAX_MINUTES`) into the media folder, with its zones and settings beside it; the
        crossings it counts meanwhile are the ones an audit of the sample checks."""
        from dashboard.pipeline.samples import MAX_MINUTES, SampleRecorder

        cam = self.camera(cid)
        try:
            minutes = float(minutes)
        except (TypeError, ValueError):
            minutes = -1.0
        if not 0 < minutes <= MAX_MINUTES:
            raise DashboardError(f"A sample is 0 to {MAX_MINUTES} minutes long: a person "
                                 "reviews it frame by frame.")
        stamp = time.strftime("%Y%m%d-%H%M%S")
        safe = "".join(c if c.isalnum() else "-" for c in cam.name)[:40]
        sid = new_id("sample")
        row = {"id": sid, "camera_id": cid, "created": time.time(),
               "username": by, "seconds": minutes * 60,
               "path": f"{SAMPLES}/{safe}-{stamp}-{sid[-6:]}.avi", "status": "recording",
               "first_t": None, "last_t": None, "frames": 0, "error": None,
               "zones_json": json.dumps([z.to_dict() for z in self.zones(cid)]),
               "settings_json": json.dumps(cam.settings.to_dict())}
        fps = self._snapshot(cid).source_fps or 10.0

        def done(d: Any) -> None:
            self.store.save_sample({**row, "status": "failed" if d.error else "done",
                                    "first_t": d.first_t, "last_t": d.last_t,
                                    "frames": d.frames, "error": d.error})

        recorder = SampleRecorder(row["id"], self.media / row["path"], row["seconds"], fps,
                                  {"camera": cam.name, "zones": json.loads(row["zones_json"]),
                                   "settings": json.loads(row["settings_json"])}, done)
        self.runner(cid).record(recorder)   # refused (not running, recording): nothing kept
        self.store.save_sample(row)
        return self._shown_sample(row)

    @staticmethod
    def _shown_sample(row: dict) -> dict[str, Any]:
        return {k: row[k] for k in ("id", "created", "seconds", "path", "status", "first_t",
                                    "last_t", "frames", "error")} | {"by": row["username"]}

    @needs(Role.VIEWER)
    def samples(self, cid: str) -> list[dict[str, Any]]:
        """A camera's samples, newest first: recording, done (with their first and last
        frame's times) or failed (with why)."""
        self.camera(cid)
        return [self._shown_sample(r) for r in self.store.samples(CameraId(cid))]

    def _sample(self, cid: str, sample_id: str) -> dict:
        for r in self.store.samples(CameraId(cid)):
            if r["id"] == sample_id:
                return r
        raise NotFound(f"Camera {cid!r} has no sample {sample_id!r}.")

    @needs(Role.VIEWER)
    def sample_frame(self, cid: str, sample_id: str, index: int) -> Any:
        """Frame `index` of a recorded sample with the zones it was recorded with drawn
        (BGR), and its time on the camera's clock."""
        import cv2

        from dashboard.config.zone import ZoneSpec
        from dashboard.engine.overlay import draw_zones

        row = self._sample(cid, sample_id)
        if row["status"] != "done":
            raise DashboardError(f"Sample {sample_id} is {row['status']}: nothing to show.")
        index = max(0, min(int(index), int(row["frames"]) - 1))
        cap = cv2.VideoCapture(str(self.media / row["path"]))
        try:
            cap.set(cv2.CAP_PROP_POS_FRAMES, index)
            ok, img = cap.read()
        finally:
            cap.release()
        if not ok:
            raise DashboardError(f"Sample {sample_id}: frame {index} cannot be read (was the "
                                 "file moved?).")
        h, w = img.shape[:2]
        zones = [ZoneSpec.from_dict(z) for z in json.loads(row["zones_json"])]
        drawn = [z.to_zone(w, h) for z in zones if z.kind.counts]
        draw_zones(img, drawn, {})
        try:   # each frame's time, as recorded beside the video
            times = json.loads((self.media / row["path"]).with_suffix(".json").read_text())["times"]
            t = float(times[index])
        except (OSError, ValueError, KeyError, IndexError):
            t = row["first_t"] + (row["last_t"] - row["first_t"]) * index / max(1, row["frames"] - 1)
        return img, t

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
                       within_s: float = WITHIN_S, by: str = "system",
                       sample_id: str | None = None) -> dict[str, Any]:
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
        tally = tallies(given, counted, within_s)
        result = {"zones": _zone_rows(tally, names), "all": tally["all"].to_dict(),
                  "within_s": float(within_s), "sample_id": sample_id}
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
                "sample_id": result.get("sample_id"),
                "since": row["since"], "until": row["until"],
                "settings": json.loads(row["settings_json"]), **result,
                "marks": len(json.loads(row["marks_json"])),
                "summary": f"{summary or 'nothing marked or counted'}, audited {day}"}

    @needs(Role.OPERATOR)
    def audit_what_if(self, cid: str, audit_id: str, settings: dict[str, Any] | None = None,
                      confirm_frames: int | None = None) -> dict[str, Any]:
        """What other settings would have counted on an audit's sample, against the same
        marks: the sample's frames through a detector with these settings (the camera's,
        changed) and its zones (with `confirm_frames`, if given). Nothing is applied."""
        from dashboard.config.camera import CameraSettings
        from dashboard.config.zone import ZoneSpec

        row = self._audit_row(cid, audit_id)
        audit = self._shown_audit(row)
        if not audit.get("sample_id"):
            raise DashboardError("This audit was made without a sample: there is nothing to "
                                 "count again.")
        sample = self._sample(cid, audit["sample_id"])
        s = CameraSettings.from_dict(settings or {}, base=self.camera(cid).settings)
        zones = [ZoneSpec.from_dict(z) for z in json.loads(sample["zones_json"])]
        if confirm_frames is not None:
            zones = [z.updated({"confirm_frames": confirm_frames}) for z in zones]
        counted = _count_sample(self.media / sample["path"], zones,
                                self.runner(cid).make_detector(s), s.classes)
        marks = [Mark(**m) for m in json.loads(row["marks_json"])]
        t = tallies(marks, counted, audit["within_s"])
        names = self._names(cid)
        return {"settings": s.to_dict(), "confirm_frames": confirm_frames,
                "zones": _zone_rows(t, names), "all": t["all"].to_dict(),
                "now": audit["all"]}

    def _audit_row(self, cid: str, audit_id: str) -> dict:
        self.camera(cid)
        row = self.store.accuracy_audit(CameraId(cid), str(audit_id))
        if row is None:
            raise NotFound(f"Camera {cid!r} has no audit {audit_id!r}.")
        return row

    @needs(Role.VIEWER)
    def accuracy_audits(self, cid: str) -> list[dict[str, Any]]:
        """A camera's audits, newest first."""
        self.camera(cid)
        return [self._shown_audit(r) for r in self.store.accuracy_audits(CameraId(cid))]

    @needs(Role.VIEWER)
    def accuracy_audit_csv(self, cid: str, audit_id: str) -> str:
        """One audit, crossing by crossing: each mark and each count, and what it was
        (right: both; missed: a mark only; extra: a count only)."""
        row = self._audit_row(cid, audit_id)
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


def _zone_rows(t: dict, names: dict[str, str]) -> list[dict[str, Any]]:
    return [{"zone_id": k[0], "zone": names.get(k[0], k[0]), "direction": k[1], **v.to_dict()}
            for k, v in t.items() if k != "all"]


def _count_sample(path: Any, zones: list, detector: Any, classes: Any = None) -> list[Mark]:
    """The crossings of a recorded sample through this detector and these zones (of these
    classes only, if given), at the times its frames were recorded at."""
    import cv2
    import numpy as np

    from dashboard.engine import Engine

    times = json.loads(path.with_suffix(".json").read_text())["times"]
    cap = cv2.VideoCapture(str(path))
    engine, out, k = None, [], 0
    try:
        while k < len(times):
            ok, img = cap.read()
            if not ok:
                break
            if engine is None:
                h, w = img.shape[:2]
                engine = Engine(zones=[z.to_zone(w, h) for z in zones if z.kind.counts])
            tracks = detector.track(img)
            if classes and len(tracks):
                tracks = tracks.select(np.isin(tracks.class_names(), [str(c) for c in classes]))
            r = engine.update(img, tracks, times[k], draw=False)
            out += [Mark(e.t, e.zone, e.direction, e.cls_name) for e in r.events]
            k += 1
    finally:
        cap.release()
    return out
