"""What every frame source shares: a frame, a status, measured figures, the size it may have."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, replace

import numpy as np

from dashboard.config.env import max_frame_pixels

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Frame:
    """One frame: BGR image, capture time in seconds (wall clock for live sources, position
    in the video for batch reads) and its index among frames read."""

    image: np.ndarray
    t: float
    index: int


@dataclass(frozen=True)
class SourceStatus:
    """Where a source stands: connecting, live, reconnecting, waiting (a browser's camera
    between visits), ended or failed.

    Example:
        >>> str(SourceStatus("reconnecting", attempt=3, last_error="no frames for 2 s"))
        'reconnecting (attempt 3; last error: no frames for 2 s)'
    """

    state: str
    attempt: int = 0
    last_error: str | None = None

    def __str__(self) -> str:
        if self.state == "reconnecting":
            return f"reconnecting (attempt {self.attempt}; last error: {self.last_error})"
        if self.state in ("failed", "waiting") and self.last_error:
            return f"{self.state}: {self.last_error}"
        return self.state


@dataclass
class SourceStats:
    """Measured figures: source frame rate, frames read and dropped, reconnections."""

    fps: float = 0.0
    frames_read: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    last_frame_t: float | None = None


OVERSIZED = "its pictures are "


def oversized(width: int, height: int) -> str | None:
    """Why a picture of this size is refused, or None: past HEATMAP_DASHBOARD_MAX_FRAME_PIXELS
    (an 8192x8192 video took the whole server down in OpenCV once).

    Example:
        >>> oversized(1920, 1080)
        >>> oversized(8192, 8192)[:60]
        'its pictures are 8192x8192 (67.1 megapixels), more than this'
    """
    limit = max_frame_pixels()
    if width * height <= limit:
        return None
    return (f"{OVERSIZED}{width}x{height} ({width * height / 1e6:.1f} megapixels), more "
            f"than this server takes ({limit / 1e6:.1f} megapixels, "
            "HEATMAP_DASHBOARD_MAX_FRAME_PIXELS): send it at a lower resolution")


class Frames:
    """What every source shares: its status and its figures."""

    name: str
    live: bool = True

    def _init_frames(self, status: SourceStatus) -> None:
        self._status = status
        self._stats = SourceStats()
        self._arrivals: deque[float] = deque(maxlen=30)
        self._lock = threading.Condition()
        self._index = 0

    @property
    def status(self) -> SourceStatus:
        with self._lock:
            return self._status

    @property
    def stats(self) -> SourceStats:
        with self._lock:
            return replace(self._stats)

    def _set_status(self, status: SourceStatus) -> None:
        with self._lock:
            changed = status != self._status
            self._status = status
            self._lock.notify_all()
        if changed:
            level = logging.WARNING if status.state in ("reconnecting", "failed") else logging.INFO
            log.log(level, "source %s: %s", self.name, status)

    def _arrived(self, img: np.ndarray, t: float) -> Frame:
        """A new frame, numbered and counted in the figures (under the lock)."""
        frame = Frame(img, t, self._index)
        self._index += 1
        self._stats.frames_read += 1
        self._stats.last_frame_t = t
        self._arrivals.append(time.monotonic())
        if len(self._arrivals) > 1:
            span = self._arrivals[-1] - self._arrivals[0]
            self._stats.fps = (len(self._arrivals) - 1) / span if span > 0 else 0.0
        return frame
