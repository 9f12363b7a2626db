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

import logging
import threading
from typing import Any, ContextManager

from dashboard.errors import StoreUnavailable
from dashboard.store.catalog import Catalog
from dashboard.store.deliveries import Deliveries
from dashboard.store.evidence import EvidenceStore
from dashboard.store.history import History
from dashboard.store.records import Records

log = logging.getLogger(__name__)


class Store(Catalog, Records, History, Deliveries, EvidenceStore):
    """The queries; a dialect subclasses it with its connections.

    Example:
        >>> from dashboard.store.sqlite import SQLiteStore
        >>> from dashboard.config.kinds import CameraId
        >>> from dashboard.engine.zones import CrossingEvent
        >>> s = SQLiteStore(":memory:")
        >>> s.add_events(CameraId("cam_1"), [CrossingEvent(60.5, "zone_a", 3, "person", "in")])
        1
        >>> s.counts(CameraId("cam_1"))["zone_a"].in_count
        1
    """

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

    def follow(self) -> None:
        """In a process that shares the database and does not look after it (a camera
        worker): take up a file the server rewrote (see `check`)."""

    def forget_epoch(self, cid: str) -> None:
        """Another process archived this camera's counts (a Reset in a worker): read its
        current epoch anew."""
        with self._lock:
            self._epochs.pop(cid, None)

    def integrity(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- faults ---------------------------------------------------------------------------
    def _failed(self, reason: str, what: str = "written") -> StoreUnavailable:
        """A write failed: an epoch made in it is not there; said once (`_note_write_fault`).
        Returns the error to raise."""
        self._epochs.clear()
        self._note_write_fault(reason)
        return StoreUnavailable(f"The database cannot be {what} ({reason}); nothing was "
                                "changed. Try again when it is fixed.")

    def _recovered(self) -> None:
        """A write went through: a fault said before is over (said once too)."""
        if self._write_fault is not None:
            log.warning("database %s: writes work again", self.path)
            self._write_fault = None

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
