"""What a camera shows everyone who reads it: the newest processed frame with its figures."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from dashboard.config.kinds import CameraState
from dashboard.engine import Alert, Tracks, Visit
from dashboard.engine.zones import ZoneCounts
from dashboard.pipeline.pace import Behind


@dataclass(frozen=True)
class Snapshot:
    """The latest processed frame and figures of one camera, as pages and the API read them."""

    state: CameraState = CameraState.STOPPED
    detail: str | None = None
    frame: np.ndarray | None = field(default=None, repr=False)  # raw: never shown as is
    tracks: Tracks = field(default_factory=Tracks.empty, repr=False)   # its tracks
    frame_index: int = -1
    frame_size: tuple[int, int] | None = None                   # (width, height)
    counts: dict[str, ZoneCounts] = field(default_factory=dict)  # by zone id
    inside: dict[str, list[Visit]] = field(default_factory=dict)  # areas: who is in, since
    alerts: tuple[Alert, ...] = ()                               # going on now
    total_tracks: int = 0
    processed_fps: float = 0.0
    model_ms: float = 0.0           # detector and tracker, a frame (smoothed)
    source_fps: float = 0.0
    frame_age_s: float = 0.0
    frames_read: int = 0
    frames_dropped: int = 0
    frames_done: int = 0            # counted in this run (a resumed file: from its resume point)
    runtime: str | None = None      # the inference runtime really in use
    runtime_why: str | None = None  # why that one (the automatic choice's measurements)
    where: str | None = None        # the cluster node running it (None: this process)
    notice: str | None = None       # something the operator should know, said once
    advice: str | None = None       # e.g. objects too small for the image size
    behind: Behind | None = None    # not keeping up with its source: how far, what helps
    t: float = 0.0                  # the camera's time at this frame (a file's: its video's)


class Rate:
    """Frames per second over the last few seconds.

    Example:
        >>> r = Rate(); [r.tick(t) for t in (0.0, 0.5, 1.0)][-1]
        2.0
    """

    def __init__(self) -> None:
        self.times: deque[float] = deque(maxlen=60)

    def tick(self, now: float) -> float:
        self.times.append(now)
        span = self.times[-1] - self.times[0]
        return (len(self.times) - 1) / span if span > 0 else 0.0
