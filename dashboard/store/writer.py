"""`EventWriter`: a camera's crossings, visits and alert changes to the store in small batches;
what the store cannot take now waits in a spool file (or memory) until it can."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from dashboard.config.kinds import CameraId
from dashboard.engine.alerts import Alert, AlertKind
from dashboard.engine.dwell import Visit
from dashboard.engine.flows import Trip
from dashboard.engine.zones import CrossingEvent
from dashboard.errors import StoreUnavailable

if TYPE_CHECKING:
    from dashboard.store.base import Store

log = logging.getLogger(__name__)


Record = CrossingEvent | Visit | Alert | Trip   # what an EventWriter writes
RECORD_TAGS = {"e": CrossingEvent, "v": Visit, "a": Alert, "t": Trip}   # spool lines' first field


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
    if isinstance(r, Trip):
        return ["t", int(r.track_id), r.cls_name, r.origin, r.origin_dir, r.started,
                r.destination, r.destination_dir, r.ended, r.joined]
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
    if tag == "t":
        return Trip(int(v[0]), v[1], v[2], v[3], float(v[4]), v[5], v[6], float(v[7]),
                    int(v[8]))
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
        >>> from dashboard.store.sqlite import SQLiteStore
        >>> w = EventWriter(SQLiteStore(":memory:"), CameraId("cam_1"), flush_s=0.25)
        >>> w.add([CrossingEvent(1.0, "zone_a", 1, "car", "out")]); w.flush()
        1
    """

    RETRY_S, RETRY_MAX_S = 0.5, 5.0

    def __init__(self, store: Store, cid: CameraId, flush_s: float = 0.25,
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
            >>> from dashboard.store.sqlite import SQLiteStore
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
            >>> from dashboard.store.sqlite import SQLiteStore
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
        """Commit what waits (and `meta`, see `Store.add_events`); returns how many
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
