"""One pipeline per source (source -> detector -> engine) running in a background thread.

A `Pipeline` outlives its runs: Stop and Start keep the engine, so counts and heat carry
on; only Reset clears them. Every open page reads the same `Snapshot`; its frame is
JPEG-encoded when a viewer asks, once for all of them (`Pipeline.jpeg`), and not at all
while nobody watches. Zone edits are applied between frames and never touch other zones.
"""
from __future__ import annotations

import io
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import cv2
import numpy as np

from .engine import Engine, HeatmapConfig, Zone, zone_from_dict
from .engine.zones import CrossingEvent, LineZone, ZoneCounts
from .errors import DashboardError
from .settings import retention_s
from .sources import FrameSource, mask_secrets, open_source
from .store import EventWriter, Store

log = logging.getLogger(__name__)

JPEG_QUALITY = 80
HEAT_SNAPSHOT_S = 60.0   # heat is saved this often while running, and on stop
PRUNE_EVERY_S = 600.0


@dataclass(frozen=True)
class PipelineSettings:
    """What the operator chose in the sidebar.

    Example:
        >>> PipelineSettings(source="demo", imgsz=320).model
        'demo'
    """

    source: str
    model: str = "demo"
    classes: tuple[str, ...] | None = None
    conf: float = 0.25
    imgsz: int = 640
    tracker: str = "bytetrack.yaml"
    heatmap: HeatmapConfig = field(default_factory=HeatmapConfig)
    runtime: str = "auto"


@dataclass
class Snapshot:
    """The latest processed frame and figures, as the page shows them."""

    plot: np.ndarray | None = None     # the overlay: heat, boxes, zones (see Pipeline.jpeg)
    still: np.ndarray | None = None    # the raw frame, for drawing zones on
    frame_index: int = -1
    counts: dict[str, ZoneCounts] = field(default_factory=dict)
    total_tracks: int = 0
    processed_fps: float = 0.0
    source_fps: float = 0.0
    frame_age_s: float = 0.0
    frames_read: int = 0
    frames_dropped: int = 0
    status: str = "stopped"
    error: str | None = None
    t: float = 0.0


class _Rate:
    """Frames per second over the last few seconds."""

    def __init__(self) -> None:
        self.times: deque[float] = deque(maxlen=60)

    def tick(self, now: float) -> float:
        self.times.append(now)
        span = self.times[-1] - self.times[0]
        return (len(self.times) - 1) / span if span > 0 else 0.0


class Pipeline:
    """Counts and heat for one source, and the thread that feeds them.

    Example:
        >>> p = Pipeline("demo")
        >>> p.start(PipelineSettings("demo", imgsz=320))    # doctest: +SKIP
        >>> p.snapshot().status                              # doctest: +SKIP
        'live'
        >>> p.stop()
    """

    def __init__(self, spec: str, zones: list[Zone] | None = None,
                 heatmap: HeatmapConfig | None = None, store: Store | None = None) -> None:
        self.spec, self.name = spec, mask_secrets(spec)
        self.engine = Engine(zones=list(zones or []), heatmap=heatmap)
        self.store = store
        self.settings: PipelineSettings | None = None
        self._lock = threading.RLock()
        self._snap = Snapshot()
        self._jpeg_lock = threading.Lock()
        self._jpeg: tuple[np.ndarray | None, bytes | None] = (None, None)
        self._events: deque[CrossingEvent] = deque(maxlen=500)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._source: FrameSource | None = None

    # -- control --------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, settings: PipelineSettings) -> None:
        """Start (or restart with new settings); counts and heat carry on."""
        self.stop()
        with self._lock:
            self.settings = settings
            if settings.heatmap != self.engine.heatmap.config:
                self.engine.heatmap.config = settings.heatmap
                self.engine.heatmap.reset()   # new colours/decay: start a fresh picture
            self._snap = replace(self._snap, status="connecting", error=None)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, args=(settings,),
                                        name=f"pipeline {self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the run and wait for its threads to end."""
        self._stop.set()
        src = self._source
        if src is not None:
            src.close()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None
        with self._lock:
            if self._snap.status not in ("failed", "ended"):
                self._snap = replace(self._snap, status="stopped")

    def reset(self) -> None:
        """Counts, events and heat back to zero; the store archives the old ones."""
        with self._lock:
            if self.store is not None:
                self.store.archive(self.spec)
            self.engine.reset()
            self._events.clear()
            self._snap = replace(self._snap, counts=self.engine.counts)

    # -- zones ----------------------------------------------------------------------------
    def zones(self) -> list[Zone]:
        with self._lock:
            return list(self.engine.zones)

    def add_zone(self, zone: Zone) -> None:
        with self._lock:
            self.engine.add_zone(zone)
            self._snap = replace(self._snap, counts=self.engine.counts)

    def remove_zone(self, name: str) -> None:
        with self._lock:
            self.engine.remove_zone(name)
            self._snap = replace(self._snap, counts=self.engine.counts)

    def flip_zone(self, name: str) -> None:
        with self._lock:
            for z in self.engine.zones:
                if z.name == name and isinstance(z, LineZone):
                    z.flip()
                    return
        raise DashboardError(f"There is no line zone called {name!r}.")

    def zone_dicts(self) -> list[dict[str, Any]]:
        return [z.to_dict() for z in self.zones()]

    def load_zone_dicts(self, dicts: list[dict[str, Any]]) -> list[str]:
        """Add saved zones; return messages for those that could not be restored."""
        problems = []
        for d in dicts:
            try:
                self.add_zone(zone_from_dict(d))
            except DashboardError as e:
                problems.append(str(e))
        return problems

    # -- reading --------------------------------------------------------------------------
    def jpeg(self) -> bytes | None:
        """The latest overlay as JPEG bytes; None before the first frame.

        Encoded on the first call after each new frame and shared by every viewer, so the
        pipeline's own loop never spends time on it, and nothing is encoded while nobody
        watches.

        Example:
            >>> Pipeline("demo").jpeg() is None
            True
        """
        plot = self.snapshot().plot
        with self._jpeg_lock:
            if plot is None:
                return None
            if self._jpeg[0] is not plot:
                ok, buf = cv2.imencode(".jpg", plot, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                self._jpeg = (plot, buf.tobytes() if ok else None)
            return self._jpeg[1]

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snap

    def events(self, n: int = 20) -> list[CrossingEvent]:
        with self._lock:
            return list(self._events)[-n:][::-1]

    def per_minute(self, minutes: int = 60) -> dict[int, dict[str, int]]:
        """Crossings per minute (unix minute -> zone -> in + out) of the last `minutes`."""
        since = time.time() - minutes * 60
        if self.store is not None:
            return self.store.per_minute(self.spec, since)
        out: dict[int, dict[str, int]] = {}
        for e in self.events(len(self._events))[::-1]:   # no store: the recent events
            if e.t >= since:
                minute = out.setdefault(int(e.t // 60), {})
                minute[e.zone] = minute.get(e.zone, 0) + 1
        return out

    def resume(self) -> None:
        """Take up counts and heat where the store left them (after a restart)."""
        if self.store is None:
            return
        saved = self.store.counts(self.spec)
        heat = self.store.load_heat(self.spec)
        with self._lock:
            for z in self.engine.zones:
                if z.name in saved:
                    c = saved[z.name]
                    z.counts.in_count, z.counts.out_count = c.in_count, c.out_count
                    z.counts.per_class = c.per_class
            if heat is not None:
                try:
                    self.engine.heatmap.load(io.BytesIO(heat))
                except DashboardError as e:
                    log.warning("%s: saved heat not restored: %s", self.name, e)
            self._snap = replace(self._snap, counts=self.engine.counts)

    def save_heat(self) -> None:
        """Snapshot the heat into the store."""
        if self.store is None or self.engine.heatmap.shape is None:
            return
        buf = io.BytesIO()
        with self._lock:
            self.engine.heatmap.save(buf)
        self.store.save_heat(self.spec, buf.getvalue(), time.time())

    # -- the run --------------------------------------------------------------------------
    def _status(self, status: str, error: str | None = None) -> None:
        with self._lock:
            self._snap = replace(self._snap, status=status, error=error)

    def _run(self, settings: PipelineSettings) -> None:
        from .detector import Detector  # imports ultralytics: keep it off the page's path

        try:
            self._status("loading model")
            detector = Detector(settings.model, conf=settings.conf, imgsz=settings.imgsz,
                                classes=settings.classes, tracker=settings.tracker,
                                runtime=settings.runtime)
            if self._stop.is_set():
                return
            self._status("connecting")
            self._source = open_source(settings.source, live=True)
        except DashboardError as e:
            log.error("%s: %s", self.name, e)
            self._status("failed", str(e))
            return
        try:
            self._loop(detector, self._source)
        except Exception as e:  # keep the page alive and the counts kept; say what broke
            log.exception("%s: the pipeline stopped", self.name)
            self._status("failed", f"The pipeline stopped: {type(e).__name__}: {e}")
        finally:
            self._source.close()
            self._source = None

    def _loop(self, detector: Any, src: FrameSource) -> None:
        rate = _Rate()
        writer = EventWriter(self.store, self.spec) if self.store is not None else None
        last_heat = last_prune = time.monotonic()
        try:
            while not self._stop.is_set():
                frame = src.read(timeout_s=1.0)
                st = src.status
                if frame is None:
                    if st.state in ("ended", "failed"):
                        if not self._stop.is_set():
                            self._status(st.state, st.last_error)
                        return
                    self._status(str(st), st.last_error if st.state == "reconnecting" else None)
                    continue
                tracks = detector.track(frame.image)
                with self._lock:
                    result = self.engine.update(frame.image, tracks, frame.t)
                    self._events.extend(result.events)
                if writer is not None:
                    writer.add(result.events)
                    mono = time.monotonic()
                    if mono - last_heat >= HEAT_SNAPSHOT_S:
                        last_heat = mono
                        self.save_heat()
                    if mono - last_prune >= PRUNE_EVERY_S:
                        last_prune = mono
                        self.store.prune(retention_s("events"), retention_s("minutes"))
                stats = src.stats
                now = time.time()
                snap = Snapshot(plot=result.plot, still=frame.image,
                                frame_index=frame.index, counts=result.counts,
                                total_tracks=result.total_tracks, processed_fps=rate.tick(now),
                                source_fps=stats.fps, frame_age_s=max(0.0, now - frame.t),
                                frames_read=stats.frames_read,
                                frames_dropped=stats.frames_dropped, status=str(st), t=frame.t)
                with self._lock:
                    self._snap = snap
        finally:
            if writer is not None:   # whatever ended the run, keep what it counted
                writer.flush()
                self.save_heat()


class Registry:
    """Every source's pipeline in this server process, shared by all open pages.

    Example:
        >>> reg = Registry(store=None)
        >>> reg.get("demo") is reg.get("demo")
        True
    """

    def __init__(self, store: Any | None) -> None:
        self.store = store
        self._pipelines: dict[str, Pipeline] = {}
        self._lock = threading.Lock()

    def by_key(self, key: str) -> Pipeline | None:
        """The pipeline whose source hashes to `key` (see `store.source_key`), if any."""
        from .store import source_key

        with self._lock:
            return next((p for s, p in self._pipelines.items() if source_key(s) == key), None)

    def get(self, spec: str) -> Pipeline:
        """The pipeline of a source, created (with its saved zones) on first use."""
        spec = spec.strip()
        with self._lock:
            p = self._pipelines.get(spec)
            if p is None:
                p = self._pipelines[spec] = Pipeline(spec, store=self.store)
                saved = self.store.load_zones(spec) if self.store else None
                for problem in p.load_zone_dicts(saved or []):
                    log.warning("%s: a saved zone was skipped: %s", p.name, problem)
                p.resume()
            return p

    def save_zones(self, p: Pipeline) -> None:
        if self.store is not None:
            self.store.save_zones(p.spec, p.zone_dicts())

    def running(self) -> list[Pipeline]:
        with self._lock:
            return [p for p in self._pipelines.values() if p.running]

    def stop_all(self) -> None:
        with self._lock:
            pipelines = list(self._pipelines.values())
        for p in pipelines:
            p.stop()


_shared: Registry | None = None
_shared_lock = threading.Lock()


def shared_registry() -> Registry:
    """The registry of this server process, with the store in the data directory: the page
    in every tab and the video endpoint all use this one.

    Example:
        >>> shared_registry() is shared_registry()  # doctest: +SKIP
        True
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            from .settings import data_dir
            from .store import SQLiteStore

            _shared = Registry(SQLiteStore(data_dir() / "dashboard.db"))
        return _shared
