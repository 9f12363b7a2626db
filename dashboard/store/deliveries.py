"""Scheduled reports to deliver: one row per camera, period and target (mail or folder),
kept until it is delivered, with its tries and the last error (nothing is lost while a
mail server refuses or a disk is full)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, ContextManager

COLUMNS = ("id, camera_id, kind, target, period_start, period_end, label, created, attempts, "
           "next_try, last_error, sent")


@dataclass(frozen=True)
class Delivery:
    """One report to deliver (`sent` None until it is)."""

    id: str
    camera_id: str
    kind: str             # daily, weekly
    target: str           # mail, folder
    period_start: float
    period_end: float
    label: str
    created: float
    attempts: int = 0
    next_try: float = 0.0
    last_error: str | None = None
    sent: float | None = None


class Deliveries:
    """The deliveries part of a `Store`.

    Example:
        >>> from dashboard.store.sqlite import SQLiteStore
        >>> s = SQLiteStore(":memory:")
        >>> d = Delivery("daily:cam:0:mail", "cam", "daily", "mail", 0.0, 86400.0, "Thu 1 Jan", 1.0)
        >>> s.add_delivery(d), s.add_delivery(d), [x.id for x in s.due_deliveries(2.0)]
        (True, False, ['daily:cam:0:mail'])
    """

    _db: Any
    _tx: Callable[[], ContextManager[Any]]
    _read: Callable[[], ContextManager[Any]]

    def add_delivery(self, d: Delivery) -> bool:
        """Plan a delivery; False if it was planned before (whatever became of it)."""
        with self._tx():
            return self._db.execute(
                f"INSERT INTO deliveries ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (d.id, d.camera_id, d.kind, d.target, d.period_start, d.period_end, d.label,
                 d.created, d.attempts, d.next_try, d.last_error, d.sent)).rowcount == 1

    def due_deliveries(self, now: float) -> list[Delivery]:
        """Those not yet delivered whose next try is due, oldest period first."""
        with self._read():
            rows = self._db.execute(f"SELECT {COLUMNS} FROM deliveries WHERE sent IS NULL AND "
                                    "next_try <= ? ORDER BY period_start, id", (now,)).fetchall()
        return [Delivery(*r) for r in rows]

    def deliveries(self, limit: int = 50) -> list[Delivery]:
        """The newest planned, delivered or not."""
        with self._read():
            rows = self._db.execute(f"SELECT {COLUMNS} FROM deliveries ORDER BY period_start "
                                    "DESC, id LIMIT ?", (int(limit),)).fetchall()
        return [Delivery(*r) for r in rows]

    def delivery_done(self, did: str, t: float) -> None:
        with self._tx():
            self._db.execute("UPDATE deliveries SET sent = ?, attempts = attempts + 1, "
                             "last_error = NULL WHERE id = ?", (t, did))

    def delivery_failed(self, did: str, error: str, next_try: float) -> None:
        with self._tx():
            self._db.execute("UPDATE deliveries SET attempts = attempts + 1, last_error = ?, "
                             "next_try = ? WHERE id = ?", (error[:500], next_try, did))
