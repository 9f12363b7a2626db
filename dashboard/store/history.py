"""What reports read: a period's records, of the current epoch or of every epoch.

A live camera's Reset zeroes its counters but not what happened: a report on last week
reads every epoch. A video file counted again after a Reset has the same video times twice;
its reports read the current epoch only (`every_epoch=False`)."""
from __future__ import annotations

from typing import Any, Callable, ContextManager

from dashboard.config.kinds import CameraId
from dashboard.engine.dwell import Visit
from dashboard.engine.flows import Trip


class History:
    """Period queries of a `Store`; each takes [since, until) and which epochs."""

    _db: Any
    _read: Callable[[], ContextManager[Any]]
    _tx: Callable[[], ContextManager[Any]]
    _epoch: Callable[[str], int]

    def _period(self, cid: CameraId, sql: str, every_epoch: bool, *params: Any) -> list[tuple]:
        """Rows of `sql`, whose first condition is "camera_id = ? AND (? OR epoch = ?)"."""
        with self._read():
            return self._db.execute(sql, (cid, bool(every_epoch), self._epoch(cid),
                                          *params)).fetchall()

    def minute_counts(self, cid: CameraId, since: float, until: float,
                      every_epoch: bool = True) -> list[tuple[float, str, str, str, int]]:
        """(minute start, zone id, class, direction, crossings) of the minutes in
        [since, until), summed over the epochs read.

        Example:
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> from dashboard.engine.zones import CrossingEvent
            >>> s = SQLiteStore(":memory:")
            >>> _ = s.add_events("cam", [CrossingEvent(125.0, "door", 1, "person", "in")])
            >>> s.minute_counts("cam", 0, 3600)
            [(120.0, 'door', 'person', 'in', 1)]
        """
        rows = self._period(
            cid, "SELECT minute, zone_id, cls, direction, CAST(SUM(n) AS BIGINT) FROM minutes "
                 "WHERE camera_id = ? AND (? OR epoch = ?) AND minute >= ? AND minute < ? "
                 "GROUP BY minute, zone_id, cls, direction ORDER BY minute",
            every_epoch, int(since // 60), int(-(-until // 60)))
        return [(m * 60.0, z, c, d, int(n)) for m, z, c, d, n in rows]

    def period_trips(self, cid: CameraId, since: float, until: float,
                     every_epoch: bool = True) -> list[Trip]:
        """Trips that started in [since, until), oldest first."""
        rows = self._period(
            cid, "SELECT track_id, cls, origin_id, origin_dir, started, dest_id, dest_dir, "
                 "ended, joined FROM trips WHERE camera_id = ? AND (? OR epoch = ?) AND "
                 "started >= ? AND started < ? ORDER BY started, id",
            every_epoch, since, until)
        return [Trip(*r) for r in rows]

    def period_visits(self, cid: CameraId, since: float, until: float,
                      every_epoch: bool = True) -> list[Visit]:
        """Visits that overlap [since, until): those inside at some moment of it."""
        rows = self._period(
            cid, 'SELECT zone_id, track_id, cls, entered, "left" FROM visits WHERE '
                 'camera_id = ? AND (? OR epoch = ?) AND "left" >= ? AND entered < ? '
                 "ORDER BY entered, id",
            every_epoch, since, until)
        return [Visit(*r) for r in rows]

    def period_alerts(self, cid: CameraId, since: float, until: float,
                      every_epoch: bool = True) -> list[tuple[str, str, float, int]]:
        """(zone id, kind, started, peak) of the alerts that started in [since, until)."""
        return [tuple(r) for r in self._period(
            cid, "SELECT zone_id, kind, started, peak FROM alerts WHERE camera_id = ? AND "
                 "(? OR epoch = ?) AND started >= ? AND started < ? ORDER BY started",
            every_epoch, since, until)]

    # -- heat per hour --------------------------------------------------------------------
    def save_heat_hours(self, cid: CameraId, hours: list[tuple[float, bytes]]) -> None:
        """Keep hours of heat (see `engine.heat_hours`), replacing what an hour had."""
        if not hours:
            return
        with self._tx():
            ep = self._epoch(cid)
            self._db.executemany(
                "INSERT INTO heat_hours VALUES (?, ?, ?, ?) ON CONFLICT (camera_id, epoch, "
                "hour) DO UPDATE SET grid = excluded.grid",
                [(cid, ep, float(h), data) for h, data in hours])

    def heat_hour(self, cid: CameraId, hour: float) -> bytes | None:
        """One hour of the current epoch, as kept."""
        rows = self._period(cid, "SELECT grid FROM heat_hours WHERE camera_id = ? AND "
                                 "(? OR epoch = ?) AND hour = ?", False, float(hour))
        return bytes(rows[0][0]) if rows else None

    def period_heat(self, cid: CameraId, since: float, until: float,
                    every_epoch: bool = True) -> list[tuple[float, bytes]]:
        """(hour, grid) of the hours that start in [since, until), oldest first.

        Example:
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> s = SQLiteStore(":memory:"); s.save_heat_hours("cam", [(3600.0, b"x")])
            >>> s.period_heat("cam", 0, 7200), s.heat_hour("cam", 3600.0)
            ([(3600.0, b'x')], b'x')
        """
        rows = self._period(cid, "SELECT hour, grid FROM heat_hours WHERE camera_id = ? AND "
                                 "(? OR epoch = ?) AND hour >= ? AND hour < ? ORDER BY hour",
                            every_epoch, since, until)
        return [(float(h), bytes(g)) for h, g in rows]
