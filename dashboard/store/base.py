"""`Store`: every query the dashboard makes, the same on SQLite and PostgreSQL. A dialect
(`SQLiteStore`, `PostgresStore`) gives it connections (`_tx` for one write transaction,
`_read` for queries) and upkeep (`check`, `_compact`, `integrity`, `close`).

Nothing counted is lost: events are committed in small batches (see `EventWriter`), running
totals resume after a restart, Reset starts a new epoch and archives the old one, and
retention prunes only raw events past their age. Counts belong to a zone's id, never to its
name: renaming keeps them, deleting archives them (the zone row is marked deleted, nothing
is dropped), and a new zone with an old name starts at zero. Camera addresses are stored
sealed (see `vision.secrets.SourceVault`).
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, ContextManager, Iterable

from dashboard.config.entities import (Camera, CameraId, CameraSettings, Presentation, ZoneId,
                                       ZoneSpec)
from dashboard.engine.alerts import Alert, AlertKind
from dashboard.engine.dwell import Visit
from dashboard.engine.zones import ClassCounts, CrossingEvent, ZoneCounts
from dashboard.errors import DashboardError, StoreUnavailable
from dashboard.store.export import iso

log = logging.getLogger(__name__)

META_UPSERT = ("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
               "value = excluded.value")
HEAT_KEPT = 2   # snapshots kept per camera and epoch
INTERVALS = {"minute": 1, "hour": 60, "day": 1440}
NO_LIMIT = 2 ** 62   # LIMIT for "all": the one value both SQLite and PostgreSQL take


class Store:
    """The queries; a dialect subclasses it with its connections.

    Example:
        >>> from dashboard.store.sqlite import SQLiteStore
        >>> s = SQLiteStore(":memory:")
        >>> s.add_events(CameraId("cam_1"), [CrossingEvent(60.5, "zone_a", 3, "person", "in")])
        1
        >>> s.counts(CameraId("cam_1"))["zone_a"].in_count
        1
    """

    ROWID = "rowid"                  # a row's own id, for "all but the newest few"
    ZONE_ORDER = "created, rowid"    # zones in the order they were added
    path: str                        # what logs and messages name

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._epochs: dict[str, int] = {}
        self._write_fault: str | None = None   # the last write failed: why
        self._file_fault: str | None = None    # what check() found wrong with the file
        self._db: Any = None                   # the connection the lock's holder uses

    # -- what a dialect gives ---------------------------------------------------------------
    def _tx(self) -> ContextManager[Any]:
        """One write transaction under the lock; `StoreUnavailable` saying why it failed."""
        raise NotImplementedError

    def _read(self) -> ContextManager[Any]:
        """Queries under the lock."""
        raise NotImplementedError

    def check(self) -> str | None:
        """Look after the database (the service calls it every second); returns `fault`."""
        raise NotImplementedError

    def _compact(self) -> None:
        """Give freed space back (best effort)."""

    def integrity(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- faults ---------------------------------------------------------------------------
    def _note_write_fault(self, reason: str) -> None:
        if self._write_fault != reason:
            log.error("database %s: cannot write: %s. Counting goes on; crossings are kept "
                      "and written when this clears.", self.path, reason)
        self._write_fault = reason

    @property
    def fault(self) -> str | None:
        """What is wrong with the database now ("disk full", "read-only", ...), or None.

        Example:
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> SQLiteStore(":memory:").fault is None
            True
        """
        return self._write_fault or self._file_fault

    # -- meta -----------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self._read():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx():
            self._db.execute(META_UPSERT, (key, value))

    # -- audit ------------------------------------------------------------------------------
    def sql(self, query: str, *params: Any) -> list[tuple]:
        """Run one statement in its own transaction; the rows it returns (for tests and
        upkeep: the dashboard's own queries are methods here)."""
        with self._tx():
            return self._db.execute(query, params).fetchall()

    def audit(self, username: str, action: str, target: str, ok: bool = True,
              detail: str = "") -> None:
        """Record who did what to which thing, and whether it was allowed. While the
        database cannot be written the record goes to the log instead (never lost)."""
        try:
            self.sql("INSERT INTO audit (t, username, action, target, ok, detail) "
                     "VALUES (?, ?, ?, ?, ?, ?)", time.time(), username, action, target,
                     int(ok), detail[:500])
        except StoreUnavailable:
            log.warning("audit (not stored: %s): %s %s %s ok=%s %s", self.fault, username,
                        action, target, ok, detail[:500])

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        with self._read():
            rows = self._db.execute("SELECT t, username, action, target, ok, detail FROM audit "
                                    "ORDER BY id DESC LIMIT ?", (int(limit),)).fetchall()
        return [{"t": t, "time": iso(t), "user": u, "action": a, "target": g, "ok": bool(ok),
                 "detail": d} for t, u, a, g, ok, d in rows]

    # -- users and tokens (`Auth` keeps the rules; tokens are stored as digests) -----------
    def users(self) -> list[tuple[str, str]]:
        """(name, role) of every user, by name."""
        with self._read():
            return self._db.execute("SELECT username, role FROM users ORDER BY username"
                                    ).fetchall()

    def user_role(self, name: str) -> str | None:
        with self._read():
            row = self._db.execute("SELECT role FROM users WHERE username = ?", (name,)
                                   ).fetchone()
        return row[0] if row else None

    def password_hash(self, name: str) -> str | None:
        with self._read():
            row = self._db.execute("SELECT pw_hash FROM users WHERE username = ?", (name,)
                                   ).fetchone()
        return row[0] if row else None

    def add_user(self, name: str, pw_hash: str, role: str) -> None:
        with self._tx():
            self._db.execute("INSERT INTO users VALUES (?, ?, ?, ?)",
                             (name, pw_hash, role, time.time()))

    def set_password_hash(self, name: str, pw_hash: str) -> None:
        """A new password; every session of the user ends with it (one transaction)."""
        with self._tx():
            self._db.execute("UPDATE users SET pw_hash = ? WHERE username = ?", (pw_hash, name))
            self._db.execute("DELETE FROM tokens WHERE username = ?", (name,))

    def set_user_role(self, name: str, role: str) -> None:
        with self._tx():
            self._db.execute("UPDATE users SET role = ? WHERE username = ?", (role, name))

    def remove_user(self, name: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM tokens WHERE username = ?", (name,))
            self._db.execute("DELETE FROM users WHERE username = ?", (name,))

    def add_token(self, digest: str, name: str, kind: str, expires: float) -> None:
        """Keep a token's digest until `expires`; expired ones go in the same transaction."""
        now = time.time()
        with self._tx():
            self._db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)",
                             (digest, name, kind, now, expires))
            self._db.execute("DELETE FROM tokens WHERE expires < ?", (now,))

    def token_user(self, digest: str) -> tuple[str, str] | None:
        """(name, role) of an unexpired token's user."""
        with self._read():
            row = self._db.execute(
                "SELECT u.username, u.role FROM tokens t JOIN users u ON u.username = "
                "t.username WHERE t.token_hash = ? AND t.expires > ?", (digest, time.time())
            ).fetchone()
        return (row[0], row[1]) if row else None

    def delete_token(self, digest: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM tokens WHERE token_hash = ?", (digest,))

    # -- cameras --------------------------------------------------------------------------
    def add_camera(self, cam: Camera, source_sealed: str) -> None:
        now = time.time()
        with self._tx():
            self._db.execute(
                "INSERT INTO cameras VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (cam.id, cam.name, source_sealed, cam.source, json.dumps(cam.settings.to_dict()),
                 json.dumps(cam.presentation.to_dict()), int(cam.enabled), now, now))

    def update_camera(self, cam: Camera, source_sealed: str | None = None) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE cameras SET name = ?, source_shown = ?, settings_json = ?, "
                "presentation_json = ?, enabled = ?, updated = ? WHERE id = ?",
                (cam.name, cam.source, json.dumps(cam.settings.to_dict()),
                 json.dumps(cam.presentation.to_dict()), int(cam.enabled), time.time(), cam.id))
            if source_sealed is not None:
                self._db.execute("UPDATE cameras SET source_sealed = ? WHERE id = ?",
                                 (source_sealed, cam.id))

    def delete_camera(self, cid: CameraId) -> None:
        """Mark a camera deleted; its events, counts and zones stay in the file, archived."""
        now = time.time()
        with self._tx():
            self._db.execute("UPDATE cameras SET deleted = ?, enabled = 0 WHERE id = ?",
                             (now, cid))
            self._db.execute("UPDATE zones SET deleted = ? WHERE camera_id = ? AND deleted IS NULL",
                             (now, cid))
            self._db.execute("UPDATE epochs SET archived = ? WHERE camera_id = ? AND "
                             "archived IS NULL", (now, cid))

    def cameras(self) -> list[tuple[Camera, str]]:
        """Every camera not deleted, oldest first, with its sealed source."""
        with self._read():
            rows = self._db.execute(
                "SELECT id, name, source_shown, settings_json, presentation_json, enabled, "
                "created, source_sealed FROM cameras WHERE deleted IS NULL ORDER BY created, id"
            ).fetchall()
        out = []
        for cid, name, shown, settings, pres, enabled, created, sealed in rows:
            saved = json.loads(settings)
            # Heat from moving objects only is the default for new cameras; one saved before
            # the setting existed keeps painting every track, as it did.
            saved.setdefault("heat_moving_only", False)
            cam = Camera(CameraId(cid), name, shown, CameraSettings.from_dict(saved),
                         Presentation.from_dict(json.loads(pres)), bool(enabled), created)
            out.append((cam, sealed))
        return out

    # -- zones ----------------------------------------------------------------------------
    def save_zone(self, cid: CameraId, spec: ZoneSpec) -> None:
        """Add or replace (by id) a camera's zone."""
        now = time.time()
        with self._tx():
            self._db.execute(
                "INSERT INTO zones VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT(id) DO UPDATE SET "
                "spec_json = excluded.spec_json, updated = excluded.updated",
                (spec.id, cid, json.dumps(spec.to_dict()), now, now))

    def delete_zone(self, zid: ZoneId) -> None:
        """Archive a zone: it is no longer shown or counted; its past counts stay."""
        with self._tx():
            self._db.execute("UPDATE zones SET deleted = ? WHERE id = ?", (time.time(), zid))

    def restore_zone(self, cid: CameraId, zid: ZoneId) -> ZoneSpec:
        """Undo a delete: the zone comes back with its id, so its counts come back too."""
        with self._tx():
            row = self._db.execute("SELECT spec_json FROM zones WHERE id = ? AND camera_id = ? "
                                   "AND deleted IS NOT NULL", (zid, cid)).fetchone()
            if row is None:
                raise DashboardError(f"Zone {zid!r} of this camera is not a deleted zone.")
            self._db.execute("UPDATE zones SET deleted = NULL, updated = ? WHERE id = ?",
                             (time.time(), zid))
        return ZoneSpec.from_dict(json.loads(row[0]))

    def zones(self, cid: CameraId) -> list[ZoneSpec]:
        """A camera's zones in the order they were added; a row that no longer passes the
        checks is skipped with a warning rather than stopping the camera."""
        with self._read():
            rows = self._db.execute("SELECT spec_json FROM zones WHERE camera_id = ? AND "
                                    f"deleted IS NULL ORDER BY {self.ZONE_ORDER}",
                                    (cid,)).fetchall()
        out = []
        for (text,) in rows:
            try:
                out.append(ZoneSpec.from_dict(json.loads(text)))
            except (DashboardError, ValueError) as e:
                log.warning("camera %s: a saved zone was skipped: %s", cid, e)
        return out

    # -- epochs ---------------------------------------------------------------------------
    def _epoch(self, cid: str) -> int:
        if cid not in self._epochs:
            row = self._db.execute("SELECT MAX(epoch) FROM epochs WHERE camera_id = ?",
                                   (cid,)).fetchone()
            if row[0] is None:
                self._db.execute("INSERT INTO epochs VALUES (?, 1, ?, NULL)", (cid, time.time()))
                self._epochs[cid] = 1
            else:
                self._epochs[cid] = int(row[0])
        return self._epochs[cid]

    def archive(self, cid: CameraId, meta: tuple[str, str] | None = None) -> int:
        """Reset: close the current epoch (its events and counts stay, archived) and start a
        new one at zero, with a `meta` (key, value) in the same transaction. Returns the new
        epoch."""
        with self._tx():
            if meta is not None:
                self._db.execute(META_UPSERT, meta)
            old = self._epoch(cid)
            now = time.time()
            self._db.execute("UPDATE epochs SET archived = ? WHERE camera_id = ? AND epoch = ?",
                             (now, cid, old))
            self._db.execute("INSERT INTO epochs VALUES (?, ?, ?, NULL)", (cid, old + 1, now))
            self._epochs[cid] = old + 1
            return old + 1

    def _current(self, cid: CameraId, sql: str, *params: Any) -> list[tuple]:
        """Rows of a query over a camera's current epoch: `sql` takes (id, epoch, *params)."""
        with self._read():
            return self._db.execute(sql, (cid, self._epoch(cid), *params)).fetchall()

    # -- events and counts ----------------------------------------------------------------
    def add_events(self, cid: CameraId, events: Iterable[CrossingEvent | Visit | Alert],
                   meta: tuple[str, str] | None = None) -> int:
        """Write crossings (their `zone` is the zone id) with their totals and minute
        aggregates, finished visits and alert changes, in one transaction, with a `meta`
        (key, value) in the same one if given (a file camera's position: it can never
        disagree with what was counted). An alert is written by its id: again, it is
        replaced, never doubled; a crossing or visit written before is skipped. Returns the
        number of crossings newly written."""
        records = list(events)
        new: list[tuple] = []
        rows = [(e.t, e.zone, int(e.track_id), e.cls_name, e.direction) for e in records
                if isinstance(e, CrossingEvent)]
        visits = [(v.zone, int(v.track_id), v.cls_name, v.entered, v.left, v.seconds)
                  for v in records if isinstance(v, Visit)]
        alerts = [a for a in records if isinstance(a, Alert)]
        if not records and meta is None:
            return 0
        with self._tx():
            if meta is not None:
                self._db.execute(META_UPSERT, meta)
            if not records:
                return 0
            ep = self._epoch(cid)
            # A crossing is one track through one zone at one instant: written again (a
            # batch retried after a commit whose answer was lost), it is skipped, and only
            # what is new adds to the totals.
            new = []
            for i in range(0, len(rows), 200):
                chunk = rows[i:i + 200]
                new += self._db.execute(
                    "INSERT INTO events (camera_id, epoch, t, zone_id, track_id, cls, direction) "
                    "VALUES " + ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(chunk))
                    + " ON CONFLICT DO NOTHING RETURNING t, zone_id, cls, direction",
                    [v for r in chunk for v in (cid, ep, *r)]).fetchall()
            totals: dict[tuple, int] = {}
            minutes: dict[tuple, int] = {}
            for t, z, c, d in new:
                totals[(z, c, d)] = totals.get((z, c, d), 0) + 1
                key = (int(t // 60), z, c, d)
                minutes[key] = minutes.get(key, 0) + 1
            self._db.executemany(
                "INSERT INTO totals VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(camera_id, epoch, zone_id, cls, direction) DO UPDATE SET "
                "n = totals.n + excluded.n", [(cid, ep, *k, n) for k, n in totals.items()])
            self._db.executemany(
                "INSERT INTO minutes VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(camera_id, epoch, minute, zone_id, cls, direction) DO UPDATE SET "
                "n = minutes.n + excluded.n", [(cid, ep, *k, n) for k, n in minutes.items()])
            self._db.executemany(
                'INSERT INTO visits (camera_id, epoch, zone_id, track_id, cls, entered, "left", '
                "seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                [(cid, ep, *v) for v in visits])
            self._db.executemany(
                "INSERT INTO alerts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT "
                "(camera_id, id) DO UPDATE SET ended = COALESCE(excluded.ended, alerts.ended), "
                "peak = CASE WHEN excluded.peak > alerts.peak THEN excluded.peak "
                "ELSE alerts.peak END",
                [(a.id, cid, ep, a.zone, a.kind.value, a.started, a.ended, a.peak, a.limit,
                  a.track_id) for a in alerts])
        return len(new)

    def visits(self, cid: CameraId, since: float | None = None, until: float | None = None,
               limit: int | None = None) -> list[Visit]:
        """Finished visits of the current epoch that ended in [since, until), oldest first
        (`zone` is the zone id)."""
        rows = self._current(
            cid, 'SELECT zone_id, track_id, cls, entered, "left" FROM visits WHERE camera_id = ? '
                 'AND epoch = ? AND "left" >= ? AND "left" < ? ORDER BY "left", id LIMIT ?',
            -1e18 if since is None else since, 1e18 if until is None else until,
            NO_LIMIT if limit is None else int(limit))
        return [Visit(z, tid, c, e, lft) for z, tid, c, e, lft in rows]

    def dwell(self, cid: CameraId, since: float | None = None, until: float | None = None
              ) -> dict[str, tuple[int, float, float]]:
        """Per zone id: (visits, average seconds, longest seconds) of the visits that ended
        in [since, until) in the current epoch."""
        rows = self._current(
            cid, "SELECT zone_id, COUNT(*), AVG(seconds), MAX(seconds) FROM visits WHERE "
                 'camera_id = ? AND epoch = ? AND "left" >= ? AND "left" < ? GROUP BY zone_id',
            -1e18 if since is None else since, 1e18 if until is None else until)
        return {z: (n, avg, top) for z, n, avg, top in rows}

    def alerts(self, cid: CameraId, since: float | None = None, limit: int = 100
               ) -> list[Alert]:
        """Alerts of the current epoch still going on or started since `since`, newest
        first (`zone` is the zone id)."""
        rows = self._current(
            cid, "SELECT id, zone_id, kind, started, ended, peak, lim, track_id FROM alerts "
                 "WHERE camera_id = ? AND epoch = ? AND (ended IS NULL OR started >= ?) "
                 "ORDER BY started DESC LIMIT ?", -1e18 if since is None else since, int(limit))
        return [Alert(i, z, AlertKind(k), s, e, p, lim, tid)
                for i, z, k, s, e, p, lim, tid in rows]

    def counts(self, cid: CameraId) -> dict[str, ZoneCounts]:
        """Counts of the current epoch per zone id, as the engine keeps them."""
        rows = self._current(cid, "SELECT zone_id, cls, direction, n FROM totals "
                                  "WHERE camera_id = ? AND epoch = ?")
        out: dict[str, ZoneCounts] = {}
        for zone, cls, direction, n in rows:
            c = out.setdefault(zone, ZoneCounts(per_class=ClassCounts()))
            if direction == "in":
                c.in_count += n
            else:
                c.out_count += n
            pc = c.per_class.get(cls) or {"in": 0, "out": 0}
            pc[direction] += n
            c.per_class[cls] = pc
        return out

    def events(self, cid: CameraId, since: float | None = None, until: float | None = None,
               limit: int | None = None, newest_first: bool = False) -> list[CrossingEvent]:
        """Events of the current epoch in [since, until); `zone` is the zone id."""
        order = "DESC" if newest_first else "ASC"
        rows = self._current(
            cid, "SELECT t, zone_id, track_id, cls, direction FROM events WHERE camera_id = ? "
                 f"AND epoch = ? AND t >= ? AND t < ? ORDER BY t {order}, id {order} LIMIT ?",
            -1e18 if since is None else since, 1e18 if until is None else until,
            NO_LIMIT if limit is None else int(limit))
        return [CrossingEvent(t, z, tid, c, d) for t, z, tid, c, d in rows]

    def series(self, cid: CameraId, interval: str = "minute", since: float | None = None,
               until: float | None = None, utc_offset_s: int = 0
               ) -> list[tuple[int, str, str, int, int]]:
        """(bucket start in unix seconds, zone id, class, in, out) per minute, hour or day;
        hours and days start on the clock of a place `utc_offset_s` east of UTC (a day
        bucket starts at its local midnight)."""
        if interval not in INTERVALS:
            raise DashboardError(f"Counts are kept per {', '.join(INTERVALS)}.")
        off, size = int(utc_offset_s) // 60, INTERVALS[interval]
        rows = self._current(
            cid, f"SELECT ((minute + {off}) / {size}) * {size} - {off} AS bucket, zone_id, "
                 "cls, CAST(SUM(CASE direction WHEN 'in' THEN n ELSE 0 END) AS BIGINT), "
                 "CAST(SUM(CASE direction WHEN 'out' THEN n ELSE 0 END) AS BIGINT) FROM minutes "
                 "WHERE camera_id = ? AND epoch = ? AND minute >= ? AND minute <= ? "
                 "GROUP BY bucket, zone_id, cls ORDER BY bucket, zone_id, cls",
            int((-1e18 if since is None else since) // 60),
            int((1e18 if until is None else until) // 60))
        return [(b * 60, z, c, i, o) for b, z, c, i, o in rows]

    # -- heat -----------------------------------------------------------------------------
    def save_heat(self, cid: CameraId, npz: bytes, t: float) -> None:
        """Keep a heatmap snapshot (the last few per camera)."""
        with self._tx():
            ep = self._epoch(cid)
            self._db.execute("INSERT INTO heat VALUES (?, ?, ?, ?)", (cid, ep, t, npz))
            self._db.execute(
                f"DELETE FROM heat WHERE camera_id = ? AND {self.ROWID} NOT IN (SELECT "
                f"{self.ROWID} FROM heat WHERE camera_id = ? AND epoch = ? ORDER BY t DESC "
                "LIMIT ?)",
                (cid, cid, ep, HEAT_KEPT))

    def load_heat(self, cid: CameraId) -> bytes | None:
        """The newest heatmap snapshot of the current epoch, or None."""
        rows = self._current(cid, "SELECT npz FROM heat WHERE camera_id = ? AND epoch = ? "
                                  "ORDER BY t DESC LIMIT 1")
        return bytes(rows[0][0]) if rows else None

    # -- retention ------------------------------------------------------------------------
    def prune(self, older_than_s: float, minutes_older_than_s: float | None = None,
              now: float | None = None) -> int:
        """Delete raw events and visits older than `older_than_s`, per-minute aggregates
        older than `minutes_older_than_s` (default: kept), then give the freed pages back,
        so the file stays bounded. Totals are never pruned: counts stay right. Returns events deleted."""
        now = time.time() if now is None else now
        with self._tx():
            n = self._db.execute("DELETE FROM events WHERE t < ?",
                                 (now - older_than_s,)).rowcount
            self._db.execute('DELETE FROM visits WHERE "left" < ?', (now - older_than_s,))
            if minutes_older_than_s is not None:
                self._db.execute("DELETE FROM minutes WHERE minute < ?",
                                 (int((now - minutes_older_than_s) // 60),))
        self._compact()
        return n
