"""Persistent state in SQLite (WAL): crossing events, counts, zones and heat per source.

Nothing counted is lost: events are committed in small batches (at least every
`EventWriter.flush_s`), running totals resume after a restart, Reset starts a new epoch
and archives the old one, and retention prunes only raw events past their age.
Sources are keyed by a hash of what the operator typed, so credentials never reach the
database; the masked name is kept beside it for people reading the file.

`Store` is the interface; `SQLiteStore` the embedded implementation (a server database for
many cameras would be another implementation of the same methods).
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterable, Protocol

from .engine.zones import ClassCounts, CrossingEvent, ZoneCounts
from .errors import DashboardError
from .sources import mask_secrets

SCHEMA = """
CREATE TABLE IF NOT EXISTS zones (
    source_key TEXT PRIMARY KEY, source_name TEXT NOT NULL,
    zones_json TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS epochs (
    source_key TEXT NOT NULL, epoch INTEGER NOT NULL, started REAL NOT NULL,
    archived REAL, PRIMARY KEY (source_key, epoch));
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, source_key TEXT NOT NULL, epoch INTEGER NOT NULL, t REAL NOT NULL,
    zone TEXT NOT NULL, track_id INTEGER NOT NULL, cls TEXT NOT NULL, direction TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS events_by_time ON events (source_key, t);
CREATE TABLE IF NOT EXISTS totals (
    source_key TEXT NOT NULL, epoch INTEGER NOT NULL, zone TEXT NOT NULL, cls TEXT NOT NULL,
    direction TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (source_key, epoch, zone, cls, direction));
CREATE TABLE IF NOT EXISTS minutes (
    source_key TEXT NOT NULL, epoch INTEGER NOT NULL, minute INTEGER NOT NULL,
    zone TEXT NOT NULL, cls TEXT NOT NULL, direction TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (source_key, epoch, minute, zone, cls, direction));
CREATE TABLE IF NOT EXISTS heat (
    source_key TEXT NOT NULL, epoch INTEGER NOT NULL, t REAL NOT NULL, npz BLOB NOT NULL);
"""
HEAT_KEPT = 2   # snapshots kept per source and epoch


def source_key(spec: str) -> str:
    """A stable key for a source that reveals nothing of it.

    Example:
        >>> len(source_key("rtsp://user:pw@cam/live"))
        16
    """
    return hashlib.sha256(spec.strip().encode()).hexdigest()[:16]


class Store(Protocol):
    """What the app needs from a database."""

    def save_zones(self, spec: str, zones: list[dict[str, Any]]) -> None: ...
    def load_zones(self, spec: str) -> list[dict[str, Any]] | None: ...
    def add_events(self, spec: str, events: Iterable[CrossingEvent]) -> int: ...
    def counts(self, spec: str) -> dict[str, ZoneCounts]: ...
    def archive(self, spec: str) -> int: ...
    def save_heat(self, spec: str, npz: bytes, t: float) -> None: ...
    def load_heat(self, spec: str) -> bytes | None: ...
    def events_csv(self, spec: str, t0: float | None = None, t1: float | None = None) -> str: ...
    def counts_csv(self, spec: str, interval: str = "minute", t0: float | None = None,
                   t1: float | None = None) -> str: ...
    def per_minute(self, spec: str, since: float) -> dict[int, dict[str, int]]: ...
    def prune(self, older_than_s: float, minutes_older_than_s: float | None = None,
              now: float | None = None) -> int: ...
    def close(self) -> None: ...


class SQLiteStore:
    """The embedded store; one connection shared by threads under a lock.

    Example:
        >>> s = SQLiteStore(":memory:")
        >>> s.add_events("demo", [CrossingEvent(60.5, "door", 3, "person", "in")])
        1
        >>> s.counts("demo")["door"].in_count
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
            self._db.executescript(SCHEMA)
        except sqlite3.Error as e:
            raise DashboardError(f"Cannot open the database {self.path}: {e}") from e
        self._lock = threading.Lock()
        self._epochs: dict[str, int] = {}

    # -- epochs ---------------------------------------------------------------------------
    def _epoch(self, key: str) -> int:
        if key not in self._epochs:
            row = self._db.execute("SELECT MAX(epoch) FROM epochs WHERE source_key = ?",
                                   (key,)).fetchone()
            if row[0] is None:
                self._db.execute("INSERT INTO epochs VALUES (?, 1, ?, NULL)", (key, time.time()))
                self._epochs[key] = 1
            else:
                self._epochs[key] = int(row[0])
        return self._epochs[key]

    def archive(self, spec: str) -> int:
        """Reset: close the current epoch (its events and counts stay, archived) and start a
        new one at zero. Returns the new epoch."""
        key = source_key(spec)
        with self._lock, self._db:
            old = self._epoch(key)
            now = time.time()
            self._db.execute("UPDATE epochs SET archived = ? WHERE source_key = ? AND epoch = ?",
                             (now, key, old))
            self._db.execute("INSERT INTO epochs VALUES (?, ?, ?, NULL)", (key, old + 1, now))
            self._epochs[key] = old + 1
            return old + 1

    def _current(self, spec: str, sql: str, *params: Any) -> list[tuple]:
        """Rows of a query over a source's current epoch: `sql` takes (key, epoch, *params)."""
        key = source_key(spec)
        with self._lock:
            return self._db.execute(sql, (key, self._epoch(key), *params)).fetchall()

    # -- zones ----------------------------------------------------------------------------
    def save_zones(self, spec: str, zones: list[dict[str, Any]]) -> None:
        """Remember the zones drawn for a source (replacing what was there)."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO zones VALUES (?, ?, ?, ?) ON CONFLICT(source_key) DO UPDATE SET "
                "source_name=excluded.source_name, zones_json=excluded.zones_json, "
                "updated=excluded.updated",
                (source_key(spec), mask_secrets(spec), json.dumps(zones), time.time()))

    def load_zones(self, spec: str) -> list[dict[str, Any]] | None:
        """The zones saved for a source, or None if there are none."""
        with self._lock:
            row = self._db.execute("SELECT zones_json FROM zones WHERE source_key = ?",
                                   (source_key(spec),)).fetchone()
        return json.loads(row[0]) if row else None

    # -- events and counts ----------------------------------------------------------------
    def add_events(self, spec: str, events: Iterable[CrossingEvent]) -> int:
        """Write events with their totals and minute aggregates in one transaction."""
        rows = [(e.t, e.zone, int(e.track_id), e.cls_name, e.direction) for e in events]
        if not rows:
            return 0
        key = source_key(spec)
        with self._lock, self._db:
            ep = self._epoch(key)
            self._db.executemany(
                "INSERT INTO events (source_key, epoch, t, zone, track_id, cls, direction) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", [(key, ep, *r) for r in rows])
            self._db.executemany(
                "INSERT INTO totals VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT DO UPDATE SET n = n + 1",
                [(key, ep, z, c, d) for _, z, _, c, d in rows])
            self._db.executemany(
                "INSERT INTO minutes VALUES (?, ?, ?, ?, ?, ?, 1) "
                "ON CONFLICT DO UPDATE SET n = n + 1",
                [(key, ep, int(t // 60), z, c, d) for t, z, _, c, d in rows])
        return len(rows)

    def counts(self, spec: str) -> dict[str, ZoneCounts]:
        """Counts of the current epoch per zone, as the engine keeps them."""
        rows = self._current(spec, "SELECT zone, cls, direction, n FROM totals "
                                   "WHERE source_key = ? AND epoch = ?")
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

    # -- heat -----------------------------------------------------------------------------
    def save_heat(self, spec: str, npz: bytes, t: float) -> None:
        """Keep a heatmap snapshot (the last few per source)."""
        key = source_key(spec)
        with self._lock, self._db:
            ep = self._epoch(key)
            self._db.execute("INSERT INTO heat VALUES (?, ?, ?, ?)", (key, ep, t, npz))
            self._db.execute(
                "DELETE FROM heat WHERE source_key = ? AND rowid NOT IN (SELECT rowid FROM heat "
                "WHERE source_key = ? AND epoch = ? ORDER BY t DESC LIMIT ?)",
                (key, key, ep, HEAT_KEPT))

    def load_heat(self, spec: str) -> bytes | None:
        """The newest heatmap snapshot of the current epoch, or None."""
        rows = self._current(spec, "SELECT npz FROM heat WHERE source_key = ? AND epoch = ? "
                                   "ORDER BY t DESC LIMIT 1")
        return bytes(rows[0][0]) if rows else None

    # -- exports --------------------------------------------------------------------------
    def events_csv(self, spec: str, t0: float | None = None, t1: float | None = None) -> str:
        """Events of the current epoch between t0 and t1 (unix seconds) as CSV.

        Example:
            >>> SQLiteStore(":memory:").events_csv("demo").splitlines()[0]
            'time,t,zone,track_id,class,direction'
        """
        rows = self._current(
            spec, "SELECT t, zone, track_id, cls, direction FROM events WHERE source_key = ? "
                  "AND epoch = ? AND t >= ? AND t < ? ORDER BY t",
            -1e18 if t0 is None else t0, 1e18 if t1 is None else t1)
        return _csv(["time", "t", "zone", "track_id", "class", "direction"],
                    ([_iso(t), f"{t:.3f}", *rest] for t, *rest in rows))

    def counts_csv(self, spec: str, interval: str = "minute", t0: float | None = None,
                   t1: float | None = None) -> str:
        """In/out counts per minute or hour, zone and class, as CSV.

        Example:
            >>> SQLiteStore(":memory:").counts_csv("demo", "hour").splitlines()[0]
            'start,zone,class,in,out'
        """
        if interval not in ("minute", "hour"):
            raise DashboardError("Counts can be exported per 'minute' or per 'hour'.")
        size = 1 if interval == "minute" else 60
        rows = self._current(
            spec, "SELECT (minute / ?5) * ?5 AS bucket, zone, cls, "
                  "SUM(CASE direction WHEN 'in' THEN n ELSE 0 END), "
                  "SUM(CASE direction WHEN 'out' THEN n ELSE 0 END) FROM minutes "
                  "WHERE source_key = ?1 AND epoch = ?2 AND minute >= ?3 AND minute <= ?4 "
                  "GROUP BY bucket, zone, cls ORDER BY bucket, zone, cls",
            int((-1e18 if t0 is None else t0) // 60), int((1e18 if t1 is None else t1) // 60),
            size)
        return _csv(["start", "zone", "class", "in", "out"],
                    ([_iso(b * 60), *rest] for b, *rest in rows))

    def per_minute(self, spec: str, since: float) -> dict[int, dict[str, int]]:
        """Crossings per minute and zone (in + out) of the current epoch since `since`."""
        rows = self._current(
            spec, "SELECT minute, zone, SUM(n) FROM minutes WHERE source_key = ? AND epoch = ? "
                  "AND minute >= ? GROUP BY minute, zone ORDER BY minute", int(since // 60))
        out: dict[int, dict[str, int]] = {}
        for minute, zone, n in rows:
            out.setdefault(minute, {})[zone] = n
        return out

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


def _csv(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def _iso(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"


class EventWriter:
    """Buffers a pipeline's events and commits them at least every `flush_s` seconds, so a
    killed process loses at most that much.

    Example:
        >>> w = EventWriter(SQLiteStore(":memory:"), "demo", flush_s=0.25)
        >>> w.add([CrossingEvent(1.0, "door", 1, "car", "out")]); w.flush()
        1
    """

    def __init__(self, store: Store, spec: str, flush_s: float = 0.25) -> None:
        self.store, self.spec, self.flush_s = store, spec, flush_s
        self._buf: list[CrossingEvent] = []
        self._last = time.monotonic()

    def add(self, events: Iterable[CrossingEvent]) -> None:
        self._buf.extend(events)
        if self._buf and time.monotonic() - self._last >= self.flush_s:
            self.flush()

    def flush(self) -> int:
        buf, self._buf = self._buf, []
        self._last = time.monotonic()
        return self.store.add_events(self.spec, buf)
