"""What checks the counts: each crossing's pictures (see `pipeline.evidence`), kept by the
crossing they show and pruned by age and by a size cap per camera; the samples recorded
for an audit (`pipeline.samples`); and the audits made on them."""
from __future__ import annotations

from typing import Any, Callable, ContextManager, Iterable

from dashboard.config.kinds import CameraId
from dashboard.engine.zones import CrossingEvent


class EvidenceStore:
    """The evidence part of a `Store`.

    Example:
        >>> from dashboard.store.sqlite import SQLiteStore
        >>> s = SQLiteStore(":memory:")
        >>> e = CrossingEvent(12.5, "door", 3, "person", "in")
        >>> s.save_evidence("cam", [(e, b"crop", b"moment")])
        >>> s.evidence("cam", "door", 3, 12.5, "in"), s.with_evidence("cam", [e])
        ((b'crop', b'moment'), {('door', 3, 12.5, 'in')})
    """

    _db: Any
    _tx: Callable[[], ContextManager[Any]]
    _read: Callable[[], ContextManager[Any]]

    def save_evidence(self, cid: CameraId,
                      rows: Iterable[tuple[CrossingEvent, bytes, bytes | None]]) -> None:
        rows = [(cid, e.zone, int(e.track_id), float(e.t), e.direction, crop, moment,
                 len(crop) + len(moment or b"")) for e, crop, moment in rows if crop]
        if rows:
            with self._tx():
                self._db.executemany("INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                                     "ON CONFLICT DO NOTHING", rows)

    def evidence(self, cid: CameraId, zone: str, track_id: int, t: float, direction: str
                 ) -> tuple[bytes, bytes | None] | None:
        """(crop, moment) of one crossing (its time to the millisecond), or None."""
        with self._read():
            row = self._db.execute(
                "SELECT crop, moment FROM evidence WHERE camera_id = ? AND zone_id = ? AND "
                "track_id = ? AND direction = ? AND t > ? AND t < ?",
                (cid, zone, int(track_id), direction, t - 0.0006, t + 0.0006)).fetchone()
        return None if row is None else (bytes(row[0]), None if row[1] is None else bytes(row[1]))

    def with_evidence(self, cid: CameraId, events: Iterable[CrossingEvent]
                      ) -> set[tuple[str, int, float, str]]:
        """Which of these crossings have pictures, as (zone, track, t, direction)."""
        events = list(events)
        if not events:
            return set()
        lo, hi = min(e.t for e in events) - 0.001, max(e.t for e in events) + 0.001
        with self._read():
            rows = self._db.execute("SELECT zone_id, track_id, t, direction FROM evidence "
                                    "WHERE camera_id = ? AND t >= ? AND t <= ?",
                                    (cid, lo, hi)).fetchall()
        kept = {(z, int(k), round(float(t), 3), d) for z, k, t, d in rows}
        return {(e.zone, int(e.track_id), e.t, e.direction) for e in events
                if (e.zone, int(e.track_id), round(e.t, 3), e.direction) in kept}

    def prune_evidence(self, cid: CameraId, older_than: float, most_bytes: int) -> int:
        """Pictures older than `older_than` go, then the oldest until the camera's are under
        `most_bytes`. Returns how many went."""
        with self._tx():
            gone = self._db.execute("DELETE FROM evidence WHERE camera_id = ? AND t < ?",
                                    (cid, older_than)).rowcount
            total = self._db.execute("SELECT COALESCE(SUM(bytes), 0) FROM evidence WHERE "
                                     "camera_id = ?", (cid,)).fetchone()[0]
            if total > most_bytes:
                rows = self._db.execute("SELECT t, bytes FROM evidence WHERE camera_id = ? "
                                        "ORDER BY t", (cid,)).fetchall()
                cut, excess = None, total - most_bytes
                for t, n in rows:
                    excess -= n
                    cut = t
                    if excess <= 0:
                        break
                gone += self._db.execute("DELETE FROM evidence WHERE camera_id = ? AND t <= ?",
                                         (cid, cut)).rowcount
        return gone

    # -- audits (what a person counted, against the crossings) ---------------------------
    def save_accuracy_audit(self, cid: CameraId, row: dict) -> None:
        with self._tx():
            self._db.execute(
                "INSERT INTO audits VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row["id"], cid, row["created"], row["by"], row["since"], row["until"],
                 row["settings_json"], row["marks_json"], row["result_json"]))

    AUDIT_KEYS = ("id", "created", "by", "since", "until", "settings_json", "marks_json",
                  "result_json")
    AUDIT_SELECT = ("SELECT id, created, username, since, until, settings_json, marks_json, "
                    "result_json FROM audits WHERE camera_id = ?")

    def accuracy_audits(self, cid: CameraId, limit: int = 100) -> list[dict]:
        """A camera's audits, newest first, as saved."""
        with self._read():
            rows = self._db.execute(self.AUDIT_SELECT + " ORDER BY created DESC LIMIT ?",
                                    (cid, int(limit))).fetchall()
        return [dict(zip(self.AUDIT_KEYS, r)) for r in rows]

    def accuracy_audit(self, cid: CameraId, audit_id: str) -> dict | None:
        """One audit of a camera, as saved, whatever its age; None if it has none so."""
        with self._read():
            row = self._db.execute(self.AUDIT_SELECT + " AND id = ?",
                                   (cid, audit_id)).fetchone()
        return None if row is None else dict(zip(self.AUDIT_KEYS, row))

    # -- samples --------------------------------------------------------------------------
    SAMPLE_COLUMNS = ("id", "camera_id", "created", "username", "seconds", "path", "status",
                      "first_t", "last_t", "frames", "error", "zones_json", "settings_json")

    def save_sample(self, row: dict) -> None:
        """A sample, new or as it now stands (by its id)."""
        cols = self.SAMPLE_COLUMNS
        with self._tx():
            self._db.execute(
                f"INSERT INTO samples ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
                "ON CONFLICT (id) DO UPDATE SET status = excluded.status, first_t = "
                "excluded.first_t, last_t = excluded.last_t, frames = excluded.frames, "
                "error = excluded.error", [row[c] for c in cols])

    def samples(self, cid: CameraId) -> list[dict]:
        """A camera's samples, newest first."""
        with self._read():
            rows = self._db.execute(f"SELECT {', '.join(self.SAMPLE_COLUMNS)} FROM samples "
                                    "WHERE camera_id = ? ORDER BY created DESC", (cid,)).fetchall()
        return [dict(zip(self.SAMPLE_COLUMNS, r)) for r in rows]
