"""The counting part of a store: epochs (Reset archives one and starts the next), crossings,
visits and alerts, running totals and per-minute figures, heat snapshots, retention."""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, ContextManager, Iterable

from dashboard.config.kinds import CameraId
from dashboard.engine.alerts import Alert, AlertKind
from dashboard.engine.dwell import Visit
from dashboard.engine.flows import Trip
from dashboard.engine.zones import ClassCounts, CrossingEvent, ZoneCounts
from dashboard.errors import DashboardError
from dashboard.store.catalog import META_UPSERT

log = logging.getLogger(__name__)

HEAT_KEPT = 2   # snapshots kept per camera and epoch
INTERVALS = {"minute": 1, "hour": 60, "day": 1440}
NO_LIMIT = 2 ** 62   # LIMIT for "all": the one value both SQLite and PostgreSQL take


class Records:
    """Epochs, records, counts, series, heat and retention of a `Store`."""

    ROWID = "rowid"                  # a row's own id, for "all but the newest few"
    _db: Any
    _tx: Callable[[], ContextManager[Any]]     # the dialect's (see `Store`)
    _read: Callable[[], ContextManager[Any]]
    _epochs: dict[str, int]
    _compact: Callable[[], None]

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
    def add_events(self, cid: CameraId,
                   events: Iterable[CrossingEvent | Visit | Alert | Trip],
                   meta: tuple[str, str] | None = None) -> int:
        """Write crossings (their `zone` is the zone id) with their totals and minute
        aggregates, finished visits, trips and alert changes, in one transaction, with a `meta`
        (key, value) in the same one if given (a file camera's position: it can never
        disagree with what was counted). An alert is written by its id: again, it is
        replaced, never doubled; a crossing, visit or trip written before is skipped. Returns the
        number of crossings newly written."""
        records = list(events)
        new: list[tuple] = []
        rows = [(e.t, e.zone, int(e.track_id), e.cls_name, e.direction) for e in records
                if isinstance(e, CrossingEvent)]
        visits = [(v.zone, int(v.track_id), v.cls_name, v.entered, v.left, v.seconds)
                  for v in records if isinstance(v, Visit)]
        alerts = [a for a in records if isinstance(a, Alert)]
        trips = [(int(r.track_id), r.cls_name, r.origin, r.origin_dir, r.started, r.destination,
                  r.destination_dir, r.ended, int(r.joined))
                 for r in records if isinstance(r, Trip)]
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
                "INSERT INTO trips (camera_id, epoch, track_id, cls, origin_id, origin_dir, "
                "started, dest_id, dest_dir, ended, joined) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "?, ?) ON CONFLICT DO NOTHING", [(cid, ep, *r) for r in trips])
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

    def trips(self, cid: CameraId, since: float | None = None, until: float | None = None
              ) -> list[Trip]:
        """Trips of the current epoch that started (crossed their origin) in [since, until),
        oldest first (`origin` and `destination` are zone ids)."""
        rows = self._current(
            cid, "SELECT track_id, cls, origin_id, origin_dir, started, dest_id, dest_dir, "
                 "ended, joined FROM trips WHERE camera_id = ? AND epoch = ? AND started >= ? "
                 "AND started < ? ORDER BY started, id",
            -1e18 if since is None else since, 1e18 if until is None else until)
        return [Trip(*r) for r in rows]

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

    def alert(self, cid: CameraId, alert_id: str) -> Alert | None:
        """One alert of a camera (any epoch), by its id."""
        with self._read():
            row = self._db.execute(
                "SELECT id, zone_id, kind, started, ended, peak, lim, track_id FROM alerts "
                "WHERE camera_id = ? AND id = ?", (cid, alert_id)).fetchone()
        return None if row is None else Alert(row[0], row[1], AlertKind(row[2]), *row[3:])

    def acknowledge(self, cid: CameraId, alert_id: str, username: str, note: str) -> float:
        """Record who acknowledged an alert, when, with a note (again: the newest stands).
        Returns when."""
        now = time.time()
        with self._tx():
            self._db.execute(
                "INSERT INTO acks VALUES (?, ?, ?, ?, ?) ON CONFLICT(camera_id, alert_id) DO "
                "UPDATE SET username = excluded.username, t = excluded.t, note = excluded.note",
                (cid, alert_id, username, now, note))
        return now

    def acks(self, cid: CameraId, alert_ids: Iterable[str]) -> dict[str, tuple[str, float, str]]:
        """(who, when, note) of those of these alerts that were acknowledged."""
        ids = list(alert_ids)
        if not ids:
            return {}
        with self._read():
            rows = self._db.execute(
                "SELECT alert_id, username, t, note FROM acks WHERE camera_id = ? AND alert_id "
                f"IN ({', '.join('?' * len(ids))})", (cid, *ids)).fetchall()
        return {a: (u, t, n) for a, u, t, n in rows}

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
               limit: int | None = None, newest_first: bool = False,
               epoch: int | None = None) -> list[CrossingEvent]:
        """Events in [since, until) of the current epoch, or of an archived `epoch`; `zone`
        is the zone id."""
        order = "DESC" if newest_first else "ASC"
        sql = ("SELECT t, zone_id, track_id, cls, direction FROM events WHERE camera_id = ? "
               f"AND epoch = ? AND t >= ? AND t < ? ORDER BY t {order}, id {order} LIMIT ?")
        params = (-1e18 if since is None else since, 1e18 if until is None else until,
                  NO_LIMIT if limit is None else int(limit))
        if epoch is None:
            rows = self._current(cid, sql, *params)
        else:
            with self._read():
                rows = self._db.execute(sql, (cid, int(epoch), *params)).fetchall()
        return [CrossingEvent(t, z, tid, c, d) for t, z, tid, c, d in rows]

    def archives(self, cid: CameraId) -> list[tuple[int, float, float, dict[str, list[int]]]]:
        """The epochs a Reset archived, newest first: (epoch, started, archived, {zone id:
        [in, out]}), both times by the wall clock."""
        with self._read():
            eps = self._db.execute(
                "SELECT epoch, started, archived FROM epochs WHERE camera_id = ? AND archived "
                "IS NOT NULL ORDER BY epoch DESC", (cid,)).fetchall()
            rows = self._db.execute(
                "SELECT epoch, zone_id, direction, CAST(SUM(n) AS BIGINT) FROM totals WHERE "
                "camera_id = ? GROUP BY epoch, zone_id, direction", (cid,)).fetchall()
        zones: dict[int, dict[str, list[int]]] = {}
        for ep, zone, direction, n in rows:
            zones.setdefault(ep, {}).setdefault(zone, [0, 0])[direction == "out"] += n
        return [(ep, started, archived, zones.get(ep, {})) for ep, started, archived in eps]

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
        """Delete raw events, visits and trips older than `older_than_s`, per-minute aggregates
        older than `minutes_older_than_s` (default: kept), then give the freed pages back,
        so the file stays bounded. Totals are never pruned: counts stay right. Returns events deleted."""
        now = time.time() if now is None else now
        with self._tx():
            n = self._db.execute("DELETE FROM events WHERE t < ?",
                                 (now - older_than_s,)).rowcount
            self._db.execute('DELETE FROM visits WHERE "left" < ?', (now - older_than_s,))
            self._db.execute("DELETE FROM trips WHERE ended < ?", (now - older_than_s,))
            if minutes_older_than_s is not None:   # hours of heat are kept as long
                self._db.execute("DELETE FROM minutes WHERE minute < ?",
                                 (int((now - minutes_older_than_s) // 60),))
                self._db.execute("DELETE FROM heat_hours WHERE hour < ?",
                                 (now - minutes_older_than_s,))
        self._compact()
        return n
