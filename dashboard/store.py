"""The store: saved cameras and zones, every crossing, running totals, heat snapshots.

Nothing counted is lost: events are committed in small batches (at least every
`EventWriter.flush_s`), running totals resume after a restart, Reset starts a new epoch
and archives the old one, and retention prunes only raw events past their age.
Counts belong to a zone's id, never to its name: renaming keeps them, deleting archives
them (the zone row is marked deleted, nothing is dropped), and a new zone with an old name
starts at zero. Camera addresses are stored sealed (see `credentials.SourceVault`).

`SQLiteStore` is the embedded implementation; a server database would implement the same
methods.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable

from .engine.zones import ClassCounts, CrossingEvent, ZoneCounts
from .entities import (Camera, CameraId, CameraSettings, Presentation, ZoneId, ZoneSpec)
from .errors import DashboardError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cameras (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, source_sealed TEXT NOT NULL,
    source_shown TEXT NOT NULL, settings_json TEXT NOT NULL, presentation_json TEXT NOT NULL,
    enabled INTEGER NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, deleted REAL);
CREATE TABLE IF NOT EXISTS zones (
    id TEXT PRIMARY KEY, camera_id TEXT NOT NULL, spec_json TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL, deleted REAL);
CREATE INDEX IF NOT EXISTS zones_by_camera ON zones (camera_id);
CREATE TABLE IF NOT EXISTS epochs (
    camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, started REAL NOT NULL,
    archived REAL, PRIMARY KEY (camera_id, epoch));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, t REAL NOT NULL,
    zone_id TEXT NOT NULL, track_id INTEGER NOT NULL, cls TEXT NOT NULL,
    direction TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (camera_id, t);
CREATE TABLE IF NOT EXISTS totals (
    camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, zone_id TEXT NOT NULL, cls TEXT NOT NULL,
    direction TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (camera_id, epoch, zone_id, cls, direction));
CREATE TABLE IF NOT EXISTS minutes (
    camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, minute INTEGER NOT NULL,
    zone_id TEXT NOT NULL, cls TEXT NOT NULL, direction TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (camera_id, epoch, minute, zone_id, cls, direction));
CREATE TABLE IF NOT EXISTS heat (
    camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, t REAL NOT NULL, npz BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    username TEXT PRIMARY KEY, pw_hash TEXT NOT NULL, role TEXT NOT NULL,
    created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
    token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, kind TEXT NOT NULL,
    created REAL NOT NULL, expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, username TEXT NOT NULL, action TEXT NOT NULL,
    target TEXT NOT NULL, ok INTEGER NOT NULL, detail TEXT NOT NULL);
"""
LEGACY_TABLES = ("zones", "epochs", "events", "totals", "minutes", "heat")
HEAT_KEPT = 2   # snapshots kept per camera and epoch
INTERVALS = {"minute": 1, "hour": 60, "day": 1440}


class SQLiteStore:
    """The embedded store; one connection shared by threads under a lock.

    Example:
        >>> s = SQLiteStore(":memory:")
        >>> s.add_events(CameraId("cam_1"), [CrossingEvent(60.5, "zone_a", 3, "person", "in")])
        1
        >>> s.counts(CameraId("cam_1"))["zone_a"].in_count
        1
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only takes on a new file
            self._db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives a power cut too, not only a killed process.
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
            self._db.executescript(SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as e:
            raise DashboardError(f"Cannot open the database {self.path}: {e}") from e
        self._lock = threading.Lock()
        self._epochs: dict[str, int] = {}

    def _migrate(self) -> None:
        """A database of the first version keyed everything by a hash of the typed source;
        its tables are kept, renamed legacy_*, rather than read wrongly or dropped."""
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        cols = [r[1] for r in self._db.execute("PRAGMA table_info(events)")]
        if version < SCHEMA_VERSION and "source_key" in cols:
            with self._db:
                for t in LEGACY_TABLES:
                    self._db.execute(f"ALTER TABLE {t} RENAME TO legacy_{t}")
            log.warning("The database %s came from an older version: its tables are kept as "
                        "legacy_* and cameras start afresh.", self.path)

    # -- meta -----------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
                             "value = excluded.value", (key, value))

    # -- users, tokens, audit -------------------------------------------------------------
    def sql(self, query: str, *params: Any) -> list[tuple]:
        """Run one statement in its own transaction; the rows it returns (auth's tables)."""
        with self._lock, self._db:
            return self._db.execute(query, params).fetchall()

    def audit(self, username: str, action: str, target: str, ok: bool = True,
              detail: str = "") -> None:
        """Record who did what to which thing, and whether it was allowed."""
        self.sql("INSERT INTO audit (t, username, action, target, ok, detail) "
                 "VALUES (?, ?, ?, ?, ?, ?)", time.time(), username, action, target, int(ok),
                 detail[:500])

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        rows = self.sql("SELECT t, username, action, target, ok, detail FROM audit "
                        "ORDER BY id DESC LIMIT ?", int(limit))
        return [{"t": t, "time": iso(t), "user": u, "action": a, "target": g, "ok": bool(ok),
                 "detail": d} for t, u, a, g, ok, d in rows]

    # -- cameras --------------------------------------------------------------------------
    def add_camera(self, cam: Camera, source_sealed: str) -> None:
        now = time.time()
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO cameras VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (cam.id, cam.name, source_sealed, cam.source, json.dumps(cam.settings.to_dict()),
                 json.dumps(cam.presentation.to_dict()), int(cam.enabled), now, now))

    def update_camera(self, cam: Camera, source_sealed: str | None = None) -> None:
        with self._lock, self._db:
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
        with self._lock, self._db:
            self._db.execute("UPDATE cameras SET deleted = ?, enabled = 0 WHERE id = ?",
                             (now, cid))
            self._db.execute("UPDATE zones SET deleted = ? WHERE camera_id = ? AND deleted IS NULL",
                             (now, cid))
            self._db.execute("UPDATE epochs SET archived = ? WHERE camera_id = ? AND "
                             "archived IS NULL", (now, cid))

    def cameras(self) -> list[tuple[Camera, str]]:
        """Every camera not deleted, oldest first, with its sealed source."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id, name, source_shown, settings_json, presentation_json, enabled, "
                "created, source_sealed FROM cameras WHERE deleted IS NULL ORDER BY created, id"
            ).fetchall()
        out = []
        for cid, name, shown, settings, pres, enabled, created, sealed in rows:
            cam = Camera(CameraId(cid), name, shown,
                         CameraSettings.from_dict(json.loads(settings)),
                         Presentation.from_dict(json.loads(pres)), bool(enabled), created)
            out.append((cam, sealed))
        return out

    # -- zones ----------------------------------------------------------------------------
    def save_zone(self, cid: CameraId, spec: ZoneSpec) -> None:
        """Add or replace (by id) a camera's zone."""
        now = time.time()
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO zones VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT(id) DO UPDATE SET "
                "spec_json = excluded.spec_json, updated = excluded.updated",
                (spec.id, cid, json.dumps(spec.to_dict()), now, now))

    def delete_zone(self, zid: ZoneId) -> None:
        """Archive a zone: it is no longer shown or counted; its past counts stay."""
        with self._lock, self._db:
            self._db.execute("UPDATE zones SET deleted = ? WHERE id = ?", (time.time(), zid))

    def zones(self, cid: CameraId) -> list[ZoneSpec]:
        """A camera's zones in the order they were added; a row that no longer passes the
        checks is skipped with a warning rather than stopping the camera."""
        with self._lock:
            rows = self._db.execute("SELECT spec_json FROM zones WHERE camera_id = ? AND "
                                    "deleted IS NULL ORDER BY created, rowid", (cid,)).fetchall()
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

    def archive(self, cid: CameraId) -> int:
        """Reset: close the current epoch (its events and counts stay, archived) and start a
        new one at zero. Returns the new epoch."""
        with self._lock, self._db:
            old = self._epoch(cid)
            now = time.time()
            self._db.execute("UPDATE epochs SET archived = ? WHERE camera_id = ? AND epoch = ?",
                             (now, cid, old))
            self._db.execute("INSERT INTO epochs VALUES (?, ?, ?, NULL)", (cid, old + 1, now))
            self._epochs[cid] = old + 1
            return old + 1

    def _current(self, cid: CameraId, sql: str, *params: Any) -> list[tuple]:
        """Rows of a query over a camera's current epoch: `sql` takes (id, epoch, *params)."""
        with self._lock:
            return self._db.execute(sql, (cid, self._epoch(cid), *params)).fetchall()

    # -- events and counts ----------------------------------------------------------------
    def add_events(self, cid: CameraId, events: Iterable[CrossingEvent],
                   meta: tuple[str, str] | None = None) -> int:
        """Write events (their `zone` is the zone id) with their totals and minute
        aggregates in one transaction, with a `meta` (key, value) in the same one if given
        (a file camera's position: it can never disagree with what was counted)."""
        rows = [(e.t, e.zone, int(e.track_id), e.cls_name, e.direction) for e in events]
        if not rows and meta is None:
            return 0
        with self._lock, self._db:
            if meta is not None:
                self._db.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE "
                                 "SET value = excluded.value", meta)
            if not rows:
                return 0
            ep = self._epoch(cid)
            self._db.executemany(
                "INSERT INTO events (camera_id, epoch, t, zone_id, track_id, cls, direction) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", [(cid, ep, *r) for r in rows])
            self._db.executemany(
                "INSERT INTO totals VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT DO UPDATE SET n = n + 1",
                [(cid, ep, z, c, d) for _, z, _, c, d in rows])
            self._db.executemany(
                "INSERT INTO minutes VALUES (?, ?, ?, ?, ?, ?, 1) "
                "ON CONFLICT DO UPDATE SET n = n + 1",
                [(cid, ep, int(t // 60), z, c, d) for t, z, _, c, d in rows])
        return len(rows)

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
            -1 if limit is None else int(limit))
        return [CrossingEvent(t, z, tid, c, d) for t, z, tid, c, d in rows]

    def series(self, cid: CameraId, interval: str = "minute", since: float | None = None,
               until: float | None = None) -> list[tuple[int, str, str, int, int]]:
        """(bucket start in unix seconds, zone id, class, in, out) per minute, hour or day."""
        if interval not in INTERVALS:
            raise DashboardError(f"Counts are kept per {', '.join(INTERVALS)}.")
        rows = self._current(
            cid, "SELECT (minute / ?5) * ?5 AS bucket, zone_id, cls, "
                 "SUM(CASE direction WHEN 'in' THEN n ELSE 0 END), "
                 "SUM(CASE direction WHEN 'out' THEN n ELSE 0 END) FROM minutes "
                 "WHERE camera_id = ?1 AND epoch = ?2 AND minute >= ?3 AND minute <= ?4 "
                 "GROUP BY bucket, zone_id, cls ORDER BY bucket, zone_id, cls",
            int((-1e18 if since is None else since) // 60),
            int((1e18 if until is None else until) // 60), INTERVALS[interval])
        return [(b * 60, z, c, i, o) for b, z, c, i, o in rows]

    # -- heat -----------------------------------------------------------------------------
    def save_heat(self, cid: CameraId, npz: bytes, t: float) -> None:
        """Keep a heatmap snapshot (the last few per camera)."""
        with self._lock, self._db:
            ep = self._epoch(cid)
            self._db.execute("INSERT INTO heat VALUES (?, ?, ?, ?)", (cid, ep, t, npz))
            self._db.execute(
                "DELETE FROM heat WHERE camera_id = ? AND rowid NOT IN (SELECT rowid FROM heat "
                "WHERE camera_id = ? AND epoch = ? ORDER BY t DESC LIMIT ?)",
                (cid, cid, ep, HEAT_KEPT))

    def load_heat(self, cid: CameraId) -> bytes | None:
        """The newest heatmap snapshot of the current epoch, or None."""
        rows = self._current(cid, "SELECT npz FROM heat WHERE camera_id = ? AND epoch = ? "
                                  "ORDER BY t DESC LIMIT 1")
        return bytes(rows[0][0]) if rows else None

    # -- retention ------------------------------------------------------------------------
    def prune(self, older_than_s: float, minutes_older_than_s: float | None = None,
              now: float | None = None) -> int:
        """Delete raw events older than `older_than_s` and per-minute aggregates older than
        `minutes_older_than_s` (default: kept), then give the freed pages back, so the file
        stays bounded. Totals are never pruned: counts stay right. Returns events deleted."""
        now = time.time() if now is None else now
        with self._lock:
            with self._db:
                n = self._db.execute("DELETE FROM events WHERE t < ?",
                                     (now - older_than_s,)).rowcount
                if minutes_older_than_s is not None:
                    self._db.execute("DELETE FROM minutes WHERE minute < ?",
                                     (int((now - minutes_older_than_s) // 60),))
            self._db.execute("PRAGMA incremental_vacuum")
        return n

    def integrity(self) -> str:
        with self._lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """CSV with every cell that a spreadsheet would run as a formula made inert.

    Example:
        >>> csv_text(["zone"], [["=HYPERLINK(1)"], ["door"]]).splitlines()
        ['zone', "'=HYPERLINK(1)", 'door']
    """
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows([("'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r")
                  else c) for c in row] for row in rows)
    return buf.getvalue()


def iso(t: float) -> str:
    """Local time with milliseconds, as exports write it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


class EventWriter:
    """Buffers a camera's events and commits them at least every `flush_s` seconds, so a
    killed process loses at most that much.

    Example:
        >>> w = EventWriter(SQLiteStore(":memory:"), CameraId("cam_1"), flush_s=0.25)
        >>> w.add([CrossingEvent(1.0, "zone_a", 1, "car", "out")]); w.flush()
        1
    """

    def __init__(self, store: SQLiteStore, cid: CameraId, flush_s: float = 0.25) -> None:
        self.store, self.cid, self.flush_s = store, cid, flush_s
        self._buf: list[CrossingEvent] = []
        self._last = time.monotonic()
        self._lock = threading.Lock()

    def add(self, events: Iterable[CrossingEvent]) -> None:
        with self._lock:
            self._buf.extend(events)
            due = self._buf and time.monotonic() - self._last >= self.flush_s
        if due:
            self.flush()

    def flush(self, meta: tuple[str, str] | None = None) -> int:
        """Commit what is buffered (and `meta`, see `SQLiteStore.add_events`)."""
        with self._lock:
            buf, self._buf = self._buf, []
            self._last = time.monotonic()
            return self.store.add_events(self.cid, buf, meta)
