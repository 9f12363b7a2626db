"""The store: saved cameras and zones, every crossing, running totals, heat snapshots.

Nothing counted is lost: events are committed in small batches (at least every
`EventWriter.flush_s`), running totals resume after a restart, Reset starts a new epoch
and archives the old one, and retention prunes only raw events past their age.
Counts belong to a zone's id, never to its name: renaming keeps them, deleting archives
them (the zone row is marked deleted, nothing is dropped), and a new zone with an old name
starts at zero. Camera addresses are stored sealed (see `credentials.SourceVault`).

Faults lose nothing either: a write that fails (disk full, read-only, I/O error) raises
`StoreUnavailable` and leaves the store as it was; the `EventWriter` keeps such crossings
(in a spool file, or memory when that fails too) and writes them once the fault clears. `check()` notices a
database file deleted, replaced or made read-only under the running server and rewrites it
from the connection that still holds it.

`SQLiteStore` is the embedded implementation; a server database would implement the same
methods.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

from .engine.alerts import Alert, AlertKind
from .engine.dwell import Visit
from .engine.zones import ClassCounts, CrossingEvent, ZoneCounts
from .entities import (Camera, CameraId, CameraSettings, Presentation, ZoneId, ZoneSpec)
from .errors import DashboardError, StoreUnavailable

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
CREATE TABLE IF NOT EXISTS visits (
    id INTEGER PRIMARY KEY, camera_id TEXT NOT NULL, epoch INTEGER NOT NULL,
    zone_id TEXT NOT NULL, track_id INTEGER NOT NULL, cls TEXT NOT NULL, entered REAL NOT NULL,
    left REAL NOT NULL, seconds REAL NOT NULL);
CREATE INDEX IF NOT EXISTS visits_by_time ON visits (camera_id, left);
CREATE TABLE IF NOT EXISTS alerts (
    id TEXT NOT NULL, camera_id TEXT NOT NULL, epoch INTEGER NOT NULL, zone_id TEXT NOT NULL,
    kind TEXT NOT NULL, started REAL NOT NULL, ended REAL, peak INTEGER NOT NULL, lim INTEGER,
    track_id INTEGER, PRIMARY KEY (camera_id, id));
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
# What makes a write idempotent: the same crossing or visit written twice is one row. A
# database from before these (where a bug could have doubled a row) opens without them.
UNIQUE_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS events_once ON events "
    "(camera_id, zone_id, track_id, t, direction)",
    "CREATE UNIQUE INDEX IF NOT EXISTS visits_once ON visits "
    "(camera_id, zone_id, track_id, entered)")


def _reason(e: Exception) -> str:
    """A failed database call in a few words an operator can act on."""
    name = getattr(e, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL" or getattr(e, "errno", None) == 28:
        return "disk full"
    if name.startswith("SQLITE_READONLY") or getattr(e, "errno", None) in (13, 30):
        return "read-only"
    if name.startswith("SQLITE_IOERR"):
        return "disk I/O error"
    if name.startswith("SQLITE_CANTOPEN"):
        return "cannot open the file"
    return str(e) or type(e).__name__


def _safe(fn: Any) -> Any:
    """fn() or None if the database refuses (for best-effort upkeep and probes)."""
    try:
        return fn()
    except sqlite3.Error:
        return None


def _read_only_fs(path: str) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


LEGACY_TABLES = ("zones", "epochs", "events", "totals", "minutes", "heat")
META_UPSERT = ("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
               "value = excluded.value")
HEAT_KEPT = 2   # snapshots kept per camera and epoch
INTERVALS = {"minute": 1, "hour": 60, "day": 1440}
NO_LIMIT = 2 ** 62   # LIMIT for "all": the one value both SQLite and PostgreSQL take


class SQLiteStore:
    """The embedded store; one connection shared by threads under a lock.

    Example:
        >>> s = SQLiteStore(":memory:")
        >>> s.add_events(CameraId("cam_1"), [CrossingEvent(60.5, "zone_a", 3, "person", "in")])
        1
        >>> s.counts(CameraId("cam_1"))["zone_a"].in_count
        1
    """

    ROWID = "rowid"                  # a row's own id, for "all but the newest few"
    ZONE_ORDER = "created, rowid"    # zones in the order they were added

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._epochs: dict[str, int] = {}
        self._write_fault: str | None = None   # the last write failed: why
        self._file_fault: str | None = None    # what check() found wrong with the file
        self._open()

    def _open(self) -> None:
        """(Re)connect. A file that cannot be written opens for reading, as a write fault
        until `check` finds it writable and reopens it."""
        self._db, writable = self._connect()
        self._epochs.clear()
        if not writable:
            self._note_write_fault("read-only")

    @property
    def _on_disk(self) -> bool:
        return self.path != ":memory:" and not self.path.startswith("file:")

    def _connect(self) -> tuple[sqlite3.Connection, bool]:
        """Open the file, in WAL mode with the schema; and whether it can be written. A
        file that cannot be written (made read-only) still opens, for reading: the server
        runs and says so, and writes resume when it can write again (see `check`)."""
        try:
            if self._on_disk:
                owner_only(self.path)
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._identity = self._stat()
        except (sqlite3.Error, OSError) as e:
            raise DashboardError(f"Cannot open the database {self.path}: {e}") from e
        try:
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only takes on a new file
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives a power cut too, not only a killed process.
            db.execute("PRAGMA synchronous=FULL")
            self._migrate(db)
            db.executescript(SCHEMA)
            for index in UNIQUE_INDEXES:
                try:
                    db.execute(index)
                except sqlite3.IntegrityError as e:
                    log.warning("database %s: %s; a retried write could count twice", self.path, e)
            # Also a probe: SQLite opens a file it may not write read-only, silently.
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as e:
            current = _safe(lambda: db.execute("PRAGMA user_version").fetchone()[0])
            if _reason(e) != "read-only" or current != SCHEMA_VERSION:
                db.close()
                raise DashboardError(f"Cannot open the database {self.path}: {e}") from e
            return db, False
        return db, True

    def _stat(self) -> tuple[int, int] | None:
        if not self._on_disk:
            return None
        st = os.stat(self.path)
        return (st.st_dev, st.st_ino)

    def _migrate(self, db: sqlite3.Connection) -> None:
        """A database of the first version keyed everything by a hash of the typed source;
        its tables are kept, renamed legacy_*, rather than read wrongly or dropped."""
        version = db.execute("PRAGMA user_version").fetchone()[0]
        cols = [r[1] for r in db.execute("PRAGMA table_info(events)")]
        if version < SCHEMA_VERSION and "source_key" in cols:
            with db:
                for t in LEGACY_TABLES:
                    db.execute(f"ALTER TABLE {t} RENAME TO legacy_{t}")
            log.warning("The database %s came from an older version: its tables are kept as "
                        "legacy_* and cameras start afresh.", self.path)

    # -- faults ---------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock. A failure rolls it back and raises
        `StoreUnavailable` saying why; the first failure (and the recovery) is logged once."""
        with self._lock:
            before = self._db.total_changes
            try:
                with self._db:
                    yield self._db
            except sqlite3.Error as e:
                self._epochs.clear()   # an epoch made in the failed transaction is not there
                reason = _reason(e)
                self._note_write_fault(reason)
                raise StoreUnavailable(f"The database cannot be written ({reason}); nothing "
                                       "was changed. Try again when it is fixed.") from e
            if self._write_fault is not None and self._db.total_changes != before:
                log.warning("database %s: writes work again", self.path)
                self._write_fault = None

    @contextmanager
    def _read(self) -> Iterator[Any]:
        """Queries under the lock (one connection shared by threads)."""
        with self._lock:
            yield self._db

    def _note_write_fault(self, reason: str) -> None:
        if self._write_fault != reason:
            log.error("database %s: cannot write: %s. Counting goes on; crossings are kept "
                      "and written when this clears.", self.path, reason)
        self._write_fault = reason

    @property
    def fault(self) -> str | None:
        """What is wrong with the database now ("disk full", "read-only", ...), or None.

        Example:
            >>> SQLiteStore(":memory:").fault is None
            True
        """
        return self._write_fault or self._file_fault

    def check(self) -> str | None:
        """Look at the database file: deleted or replaced under us, it is rewritten from
        the connection that still holds it (a replacement is kept aside, renamed); made
        read-only, that is said (once) and writes resume when it is writable again.
        Cheap (a few stat calls): the service calls it every second. Returns `fault`.

        Example:
            >>> import tempfile, os
            >>> s = SQLiteStore(os.path.join(tempfile.mkdtemp(), "d.db"))
            >>> os.unlink(s.path); s.check() is None and os.path.exists(s.path)
            True
        """
        if not self._on_disk:
            return self.fault
        with self._lock:
            try:
                try:
                    identity = self._stat()
                except FileNotFoundError:
                    identity = None
                if identity != self._identity:
                    self._restore("deleted" if identity is None else "replaced by another file")
                elif not os.path.exists(self.path + "-wal"):
                    self._restart_wal()
                writable = os.access(self.path, os.W_OK) and not _read_only_fs(self.path)
                if not writable:
                    self._note_file_fault("the database file is read-only: writes go on "
                                          "through the open file, but a restart could not "
                                          "write it; make it writable again")
                else:
                    if self._file_fault and "read-only" in self._file_fault:
                        self._note_file_fault(None)
                    if self._write_fault == "read-only":
                        self._reopen()   # a connection opened read-only stays read-only
            except (OSError, sqlite3.Error) as e:
                self._note_file_fault(f"cannot repair the database file: {_reason(e)}")
        return self.fault

    def _note_file_fault(self, text: str | None) -> None:
        if text != self._file_fault:
            if text is None:
                log.warning("database %s: the file is all right again", self.path)
            else:
                log.error("database %s: %s", self.path, text)
        self._file_fault = text

    def _restore(self, why: str) -> None:
        """Write everything the open connection holds into a new file at the path (the old
        inode is still readable through it), then use that file."""
        log.error("database %s was %s while the server ran: rewriting it from the open "
                  "copy", self.path, why)
        tmp = self.path + ".restoring"
        for f in (tmp, tmp + "-journal"):
            Path(f).unlink(missing_ok=True)
        dest = sqlite3.connect(tmp)
        try:
            self._db.backup(dest)
        except sqlite3.Error:
            dest.close()
            Path(tmp).unlink(missing_ok=True)
            raise
        dest.close()
        self._db.close()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            if why == "deleted":   # the old file's -wal and -shm: copied, and stale now
                Path(self.path + suffix).unlink(missing_ok=True)
            elif os.path.exists(self.path + suffix):   # a stranger's files are kept, renamed
                aside = f"{self.path}.replaced-{stamp}{suffix}"
                os.replace(self.path + suffix, aside)
                log.error("database: the file found at %s was kept as %s", self.path + suffix,
                          aside)
        os.replace(tmp, self.path)
        self._open()
        self._note_file_fault(None)
        log.error("database %s: rewritten; nothing counted was lost", self.path)

    def _restart_wal(self) -> None:
        """The -wal file was deleted under us: what only it held goes into the main file
        (through the open descriptor), then a new -wal starts."""
        log.error("database %s: its -wal file was deleted; writing everything into the "
                  "main file", self.path)
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()   # before the new connection: two -wal files must never meet
        self._open()

    def _reopen(self) -> None:
        """A new connection in place of this one, if it can write (the -wal and -shm a
        read-only connection made carry its read-only mode: they get the file's)."""
        mode = os.stat(self.path).st_mode & 0o666
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.path + suffix) and not os.access(self.path + suffix,
                                                                    os.W_OK):
                try:
                    os.chmod(self.path + suffix, mode)
                except OSError:
                    pass
        try:
            db, writable = self._connect()
        except DashboardError:
            return
        if not writable:
            db.close()
            return
        self._db.close()
        self._db = db
        self._epochs.clear()
        if self._write_fault is not None:
            log.warning("database %s: writes work again", self.path)
            self._write_fault = None

    # -- meta -----------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self._read():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx():
            self._db.execute(META_UPSERT, (key, value))

    # -- users, tokens, audit -------------------------------------------------------------
    def sql(self, query: str, *params: Any) -> list[tuple]:
        """Run one statement in its own transaction; the rows it returns (auth's tables)."""
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
        rows = self.sql("SELECT t, username, action, target, ok, detail FROM audit "
                        "ORDER BY id DESC LIMIT ?", int(limit))
        return [{"t": t, "time": iso(t), "user": u, "action": a, "target": g, "ok": bool(ok),
                 "detail": d} for t, u, a, g, ok, d in rows]

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

    def _compact(self) -> None:
        """Give freed pages back to the file system (best effort)."""
        with self._lock:
            _safe(lambda: self._db.execute("PRAGMA incremental_vacuum"))

    def integrity(self) -> str:
        with self._lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_store(folder: Path) -> SQLiteStore:
    """The store the settings choose: PostgreSQL at HEATMAP_DASHBOARD_DATABASE_URL (see
    `pgstore`), else SQLite in `folder`/dashboard.db.

    Example:
        >>> import tempfile; type(open_store(Path(tempfile.mkdtemp()))).__name__  # doctest: +SKIP
        'SQLiteStore'
    """
    from .settings import database_url

    url = database_url()
    if url is None:
        return SQLiteStore(folder / "dashboard.db")
    from .pgstore import PostgresStore

    return PostgresStore(url)


def owner_only(path: str) -> None:
    """Make the database readable by its owner only (logins, the audit log and camera
    names are in it), before SQLite opens it: it gives its -wal and -shm files the
    database file's mode.

    Example:
        >>> import tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "db.sqlite"); owner_only(p)
        >>> oct(os.stat(p).st_mode & 0o777)
        '0o600'
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        for f in (path, path + "-wal", path + "-shm"):
            if os.path.exists(f):
                os.chmod(f, 0o600)
    except PermissionError:
        pass   # a file made read-only, or not ours: it opens for reading (see _connect)


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


Record = CrossingEvent | Visit | Alert   # what an EventWriter writes
RECORD_TAGS = {"e": CrossingEvent, "v": Visit, "a": Alert}   # their spool lines' first field


def _to_row(r: Record) -> list[Any]:
    """A record as a spool line's JSON list (see `_from_row`).

    Example:
        >>> _to_row(Visit("z", 3, "person", 1.0, 4.5))
        ['v', 'z', 3, 'person', 1.0, 4.5]
    """
    if isinstance(r, CrossingEvent):
        return ["e", r.t, r.zone, int(r.track_id), r.cls_name, r.direction]
    if isinstance(r, Visit):
        return ["v", r.zone, int(r.track_id), r.cls_name, r.entered, r.left]
    return ["a", r.id, r.zone, r.kind.value, r.started, r.ended, r.peak, r.limit, r.track_id]


def _from_row(row: list[Any]) -> Record:
    """Example:
        >>> _from_row(["e", 1.5, "z", 2, "car", "in"]).direction
        'in'
    """
    tag, *v = row
    if tag == "e":
        return CrossingEvent(float(v[0]), v[1], int(v[2]), v[3], v[4])
    if tag == "v":
        return Visit(v[0], int(v[1]), v[2], float(v[3]), float(v[4]))
    return Alert(v[0], v[1], AlertKind(v[2]), float(v[3]), v[4], int(v[5]), v[6], v[7])


class EventWriter:
    """Buffers a camera's crossings, visits and alert changes and commits them at least every `flush_s` seconds, so a
    killed process loses at most that much.

    While the database cannot be written, nothing is dropped: events wait (retried with
    backoff from RETRY_S up to RETRY_MAX_S) in a spool file (JSON lines, written by the next
    writer of the camera if the process dies) or, if that cannot be written either, in
    memory (said once past `memory_limit`), and they land, in order and once, as soon as a
    write works again. `status` says what waits.

    Example:
        >>> w = EventWriter(SQLiteStore(":memory:"), CameraId("cam_1"), flush_s=0.25)
        >>> w.add([CrossingEvent(1.0, "zone_a", 1, "car", "out")]); w.flush()
        1
    """

    RETRY_S, RETRY_MAX_S = 0.5, 5.0

    def __init__(self, store: SQLiteStore, cid: CameraId, flush_s: float = 0.25,
                 spool: Path | None = None, memory_limit: int = 20_000) -> None:
        self.store, self.cid, self.flush_s = store, cid, flush_s
        self.spool, self.memory_limit = spool, memory_limit
        self._buf: list[Record] = []
        self._meta: tuple[str, str] | None = None   # written with the events, once they are
        self._spooled = self._spooled_crossings = 0
        self._last = time.monotonic()
        self._retry_at, self._backoff = 0.0, self.RETRY_S
        self._fault: str | None = None
        self._spill_failed = False
        self._over_limit = False
        self._lock = threading.RLock()
        if spool is not None and spool.exists():
            kinds = [line[:5] for line in spool.open() if line[2:3] in RECORD_TAGS]
            self._spooled = len(kinds)
            self._spooled_crossings = kinds.count('["e",')
            log.warning("camera %s: %d crossings left waiting by an earlier run; writing them",
                        cid, self._spooled)
            self.flush(force=True)

    @property
    def pending(self) -> int:
        """Records (crossings, visits, alert changes) not yet in the database."""
        return len(self._buf) + self._spooled

    @property
    def behind(self) -> int:
        """Records waiting because writes failed (or an earlier run left them in the spool);
        0 while the writer only batches as usual, so a health line never cries wolf.

        Example:
            >>> w = EventWriter(SQLiteStore(":memory:"), CameraId("cam_1"), flush_s=60)
            >>> w.add([CrossingEvent(1.0, "zone_a", 1, "car", "out")]); (w.pending, w.behind)
            (1, 0)
        """
        with self._lock:
            return self.pending if self._fault is not None or self._spooled else 0

    @property
    def status(self) -> str | None:
        """"database: disk full, 37 crossings waiting" while writes fail; else None.

        Example:
            >>> EventWriter(SQLiteStore(":memory:"), CameraId("cam_1")).status is None
            True
        """
        with self._lock:
            if self._fault is None:
                return None
            crossings = self._spooled_crossings + sum(isinstance(r, CrossingEvent)
                                                      for r in self._buf)
            others = self.pending - crossings
            return (f"database: {self._fault}, {crossings} crossings waiting"
                    + (f" (and {others} visits and alerts)" if others else ""))

    def add(self, events: Iterable[Record]) -> None:
        with self._lock:
            self._buf.extend(events)
            now = time.monotonic()
            due = self._buf and now - self._last >= self.flush_s and now >= self._retry_at
        if due:
            self.flush()

    def flush(self, meta: tuple[str, str] | None = None, force: bool = False) -> int:
        """Commit what waits (and `meta`, see `SQLiteStore.add_events`); returns how many
        events were written. While writes fail this returns 0 and keeps everything, trying
        again no sooner than the backoff allows (`force` tries now)."""
        with self._lock:
            if meta is not None:
                self._meta = meta
            now = time.monotonic()
            if not force and now < self._retry_at:
                return 0
            self._last = now
            spooled = self._read_spool()
            events = spooled + self._buf
            try:
                n = self.store.add_events(self.cid, events, self._meta)
            except StoreUnavailable as e:
                self._failed(e)
                return 0
            self._buf, self._meta = [], None
            if spooled and self.spool is not None:
                self.spool.unlink(missing_ok=True)
            self._spooled = self._spooled_crossings = 0
            if self._fault is not None:
                log.warning("camera %s: the database works again; %d waiting crossings "
                            "written", self.cid, n)
                self._fault, self._backoff, self._retry_at = None, self.RETRY_S, 0.0
                self._spill_failed = self._over_limit = False
            return n

    def close(self) -> None:
        """Last flush; what still cannot be written goes to the spool file, for the next
        run to write (a server stopped during a fault keeps its crossings)."""
        with self._lock:
            if self.flush(force=True) == 0 and (self._buf or self._meta):
                self._spill()

    def _failed(self, e: StoreUnavailable) -> None:
        self._fault = self.store.fault or str(e)
        self._retry_at = time.monotonic() + self._backoff
        self._backoff = min(self._backoff * 2, self.RETRY_MAX_S)
        # To disk at once where there is a spool (a kill during the fault then loses
        # nothing); memory holds them only when that cannot be written either.
        self._spill()
        if len(self._buf) > self.memory_limit and not self._over_limit:
            self._over_limit = True
            log.error("camera %s: %d crossings waiting in memory (no spool can be written): "
                      "free some disk space", self.cid, len(self._buf))

    def _spill(self) -> None:
        """Move waiting events (and the meta they carry) to the spool file; if that cannot
        be written either, they stay in memory (said once)."""
        if self.spool is None or not (self._buf or self._meta):
            return
        lines = [json.dumps(_to_row(r)) for r in self._buf]
        if self._meta is not None:
            lines.append(json.dumps(["m", *self._meta]))
        try:
            self.spool.parent.mkdir(parents=True, exist_ok=True)
            with self.spool.open("a") as f:
                f.write("\n".join(lines) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as e:
            if not self._spill_failed:
                log.error("camera %s: cannot spool waiting crossings to %s (%s); they stay "
                          "in memory", self.cid, self.spool, e)
            self._spill_failed = True
            return
        self._spooled += len(self._buf)
        self._spooled_crossings += sum(isinstance(r, CrossingEvent) for r in self._buf)
        self._buf = []

    def _read_spool(self) -> list[Record]:
        """The spooled events in order; a meta line spooled with them is taken up too
        (memory holds a newer one if it has any)."""
        if not self._spooled or self.spool is None:
            return []
        out = []
        for line in self.spool.read_text().splitlines():
            try:
                row = json.loads(line)
            except ValueError:   # a line cut by a crash: everything before it counts
                continue
            if row[0] in RECORD_TAGS:
                out.append(_from_row(row))
            elif row[0] == "m" and self._meta is None:
                self._meta = (row[1], row[2])
        return out
