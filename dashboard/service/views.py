"""What the service answers about a camera: its state and figures, one zone's counts."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dashboard.config.kinds import CameraState, ZoneId, ZoneKind
from dashboard.engine.zones import ZoneCounts
from dashboard.pipeline.snapshot import Snapshot


@dataclass(frozen=True)
class ZoneFigures:
    """One zone's counts as pages and the API show them."""

    id: ZoneId
    name: str
    kind: ZoneKind
    counts: ZoneCounts
    limit: int | None = None
    alert: bool = False          # over its limit now

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.kind.value,
                **self.counts.to_dict(), "limit": self.limit, "alert": self.alert}


@dataclass(frozen=True)
class CameraStatus:
    """A camera's state with its figures (no pictures)."""

    state: CameraState
    detail: str | None
    processed_fps: float
    source_fps: float
    frame_age_s: float
    frames_read: int
    frames_dropped: int
    total_tracks: int
    frame_size: tuple[int, int] | None
    runtime: str | None
    notice: str | None = None   # e.g. the picture changed size
    store: str | None = None    # e.g. "database: disk full, 37 crossings waiting"
    advice: str | None = None   # e.g. objects too small for the image size
    where: str | None = None    # the Ray node it runs on (None: the server's own process)
    behind: str | None = None   # not keeping up: what is lost and what would help
    behind_level: str | None = None   # "warning" (amber) or "error" (red)
    model_ms: float = 0.0       # detector and tracker, a frame
    frames_done: int = 0        # counted in this run
    runtime_why: str | None = None   # why this runtime (the automatic choice, measured here)

    @classmethod
    def of(cls, s: Snapshot, store: str | None = None) -> "CameraStatus":
        return cls(s.state, s.detail, round(s.processed_fps, 2), round(s.source_fps, 2),
                   round(s.frame_age_s, 3), s.frames_read, s.frames_dropped, s.total_tracks,
                   s.frame_size, s.runtime, s.notice, store, s.advice, s.where,
                   s.behind.text if s.behind else None, s.behind.level if s.behind else None,
                   s.model_ms, s.frames_done, s.runtime_why)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["state"] = self.state.value
        d["frame_size"] = list(self.frame_size) if self.frame_size else None
        return d

