"""What a camera keeps in the store: its records (through an `EventWriter`), its heat, a
file's position; and what it takes up again after a restart. Without a store (the CLI's, a
test's) it keeps nothing and says nothing is wrong."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterable

from dashboard.config.kinds import CameraId
from dashboard.engine.heat_hours import HourlyHeat, pack, unpack
from dashboard.engine.zones import ZoneCounts
from dashboard.errors import DashboardError, StoreUnavailable
from dashboard.store.base import Store
from dashboard.store.writer import EventWriter, Record

HEAT_SNAPSHOT_S = 5.0    # heat is saved this often while running (if it changed), and on stop
PROGRESS_KEY = "progress:{}"   # store meta: frames of a file camera already counted
VIDEO_START_KEY = "video_start:{}"   # store meta: when a file camera's frame 0 happened


class Keeper:
    """One camera's records, heat and progress in the store.

    Example:
        >>> from dashboard.store.sqlite import SQLiteStore
        >>> from dashboard.engine.zones import CrossingEvent
        >>> k = Keeper(SQLiteStore(":memory:"), CameraId("cam_1"))
        >>> k.add([CrossingEvent(1.0, "z", 1, "person", "in")]); k.flush(force=True)
        >>> k.saved_counts()["z"].in_count, k.pending, k.status()
        (1, 0, None)
    """

    def __init__(self, store: Store | None, cid: CameraId, spool: Path | None = None) -> None:
        self.store, self.cid = store, cid
        self.writer = EventWriter(store, cid, spool=spool) if store is not None else None
        self.progress_key = PROGRESS_KEY.format(cid)
        self._heat_saved = -1   # the heat version last saved
        self._hours_saved = -1  # the hours' version last saved
        self._last_heat = time.monotonic()

    # -- records ------------------------------------------------------------------------------
    def add(self, records: Iterable[Record]) -> None:
        if self.writer is not None:
            self.writer.add(records)

    def flush(self, meta: tuple[str, str] | None = None, force: bool = False) -> None:
        if self.writer is not None:
            self.writer.flush(meta, force=force)

    @property
    def pending(self) -> int:
        """Records counted but not yet in the database."""
        return self.writer.pending if self.writer is not None else 0

    @property
    def behind(self) -> int:
        """Records waiting because database writes failed (not the usual batching)."""
        return self.writer.behind if self.writer is not None else 0

    def status(self) -> str | None:
        """"database: disk full, 37 crossings waiting" while the store fails, else None."""
        if self.writer is not None and self.writer.status:
            return self.writer.status
        fault = self.store.fault if self.store is not None else None
        return f"database: {fault}" if fault else None

    def retry(self) -> None:
        """Try again to write what waits (when its backoff allows)."""
        if self.writer is not None and self.writer.pending:
            self.writer.flush()

    def close(self) -> None:
        """Keep what could not be written in the spool for the next start."""
        if self.writer is not None:
            self.writer.close()

    def archive(self) -> None:
        """Reset: the counts so far archived, a file's position back to its start."""
        if self.store is not None:
            self.store.archive(self.cid, (self.progress_key, "0"))

    # -- what a restart takes up ---------------------------------------------------------------
    def saved_counts(self) -> dict[str, ZoneCounts]:
        return self.store.counts(self.cid) if self.store is not None else {}

    def saved_heat(self) -> bytes | None:
        return self.store.load_heat(self.cid) if self.store is not None else None

    def progress(self) -> int:
        """Frames of a file counted already (committed with what they counted)."""
        if self.store is None:
            return 0
        return int(self.store.meta(self.progress_key) or 0)

    def set_progress(self, frames: int, force: bool = True) -> None:
        """The position, committed with the records it counted: a restart resumes from it
        and never counts a frame twice."""
        self.flush((self.progress_key, str(frames)), force=force)

    def video_start(self) -> float | None:
        """When the file being counted started (its frame 0, as `VideoClock` dates it)."""
        if self.store is None:
            return None
        value = self.store.meta(VIDEO_START_KEY.format(self.cid))
        return None if value is None else float(value)

    def set_video_start(self, t: float) -> None:
        """Remember when the file's frame 0 happened (best effort: without it a resumed file
        dates its frames from its position and the resume time)."""
        if self.store is not None:
            try:
                self.store.set_meta(VIDEO_START_KEY.format(self.cid), repr(float(t)))
            except StoreUnavailable:
                pass

    def forget_progress(self) -> None:
        """Another file: count it from its start."""
        if self.store is not None:
            self.store.set_meta(self.progress_key, "0")

    # -- heat -----------------------------------------------------------------------
    def save_heat(self, version: int, blob: Any) -> None:
        """Snapshot the heat (`blob()` gives its bytes) if it changed since the last one.
        While the database cannot be written the heat stays in memory (the store says why)."""
        if self.store is None or version == self._heat_saved:
            return
        data = blob()
        if data is None:
            return
        try:
            self.store.save_heat(self.cid, data, time.time())
            self._heat_saved = version
        except StoreUnavailable:
            pass

    def heat_due(self) -> bool:
        """Whether the heat is due for its periodic snapshot (`HEAT_SNAPSHOT_S`)."""
        now = time.monotonic()
        if self.store is None or now - self._last_heat < HEAT_SNAPSHOT_S:
            return False
        self._last_heat = now
        return True

    # -- heat per hour --------------------------------------------------------------------
    def hours(self) -> HourlyHeat | None:
        """Heat per hour for this camera, carrying on from what an hour had kept (None
        without a store: nothing would keep it)."""
        return None if self.store is None else HourlyHeat(loader=self._kept_hour)

    def _kept_hour(self, hour: float) -> Any:
        try:
            data = self.store.heat_hour(self.cid, hour) if self.store is not None else None
            return None if data is None else unpack(data)
        except (StoreUnavailable, DashboardError):
            return None   # this hour starts afresh (what the store had stays there)

    def keep_hours(self, hours: HourlyHeat | None, lock: Any) -> None:
        """Save the hours not yet kept (the current one again as it grows); while the
        database cannot be written they wait in memory."""
        if self.store is None or hours is None or hours.version == self._hours_saved:
            return
        with lock:   # the camera's loop adds to them
            version = hours.version
            rows = [(h, pack(g)) for h, g in hours.grids.items()]
        try:
            self.store.save_heat_hours(self.cid, rows)
        except StoreUnavailable:
            return
        with lock:
            hours.kept([h for h, _ in rows])
        self._hours_saved = version

    # -- evidence -------------------------------------------------------------------------
    def keep_evidence(self, rows: list) -> None:
        """Each crossing's pictures; while the database cannot be written they are not
        kept (the crossings themselves wait in the writer, never lost)."""
        if self.store is None:
            return
        try:
            self.store.save_evidence(self.cid, rows)
        except StoreUnavailable:
            pass
