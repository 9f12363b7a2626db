"""One camera's runner: a background thread feeds its frames through a `FrameStep`.

A runner outlives its runs: Stop and Start keep the counting state, so counts and heat carry
on; only Reset clears them. It takes commands from the service (zones, settings, looks,
start, stop, reset) and publishes a `Snapshot` that every reader shares; its frame is drawn
and JPEG-encoded when a viewer asks, once for all of them, and not at all while nobody
watches. The detector comes from a factory handed in (`make_detector` by default), so tests
and benchmarks can run the whole runner with a detector of their own.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dashboard.config.camera import Camera, CameraSettings
from dashboard.config.kinds import CameraState
from dashboard.config.zone import ZoneSpec
from dashboard.engine import Alert
from dashboard.engine.zones import CrossingEvent
from dashboard.errors import DashboardError, StoreUnavailable
from dashboard.integrations.core import Integrations
from dashboard.pipeline.keeping import Keeper
from dashboard.pipeline.loop import FrameLoop
from dashboard.pipeline.pictures import Pictures, heat_bytes, hide_all
from dashboard.pipeline.snapshot import Snapshot
from dashboard.pipeline.step import FrameStep
from dashboard.store.base import Store
from dashboard.vision.address import SourceKind, parse_spec, resolve_address
from dashboard.vision.browser import BrowserSource, STOPPED
from dashboard.vision.capture import FrameSource
from dashboard.vision.sources import open_source

log = logging.getLogger(__name__)

DetectorFactory = Callable[[CameraSettings], Any]   # settings -> a detector (`Detector`'s methods)


def make_detector(s: CameraSettings) -> Any:
    """The camera's detector and tracker, as its settings say (loads the model: seconds).

    Example:
        >>> make_detector(CameraSettings(imgsz=320)).runtime   # doctest: +SKIP
        'onnx'
    """
    from dashboard.vision.detector import Detector   # imports ultralytics: off the page's path

    return Detector(s.model, conf=s.conf, imgsz=s.imgsz, classes=s.classes, tracker=s.tracker,
                    runtime=s.runtime.value, groups=s.groups, one_box=s.one_box,
                    riders=s.riders)


class CameraRunner:
    """Counts and heat for one camera, and the thread that feeds them.

    Example:
        >>> from dashboard.config.camera import Presentation
        >>> from dashboard.config.kinds import CameraId
        >>> cam = Camera(CameraId("cam_1"), "Demo", "demo", CameraSettings(imgsz=320),
        ...              Presentation(), True)
        >>> r = CameraRunner(cam, "demo", [], store=None)
        >>> r.start()                                # doctest: +SKIP
        >>> r.snapshot().state                        # doctest: +SKIP
        <CameraState.LIVE: 'live'>
        >>> r.stop(); r.snapshot().state.value
        'stopped'
    """

    def __init__(self, camera: Camera, source: str, zones: list[ZoneSpec],
                 store: Store | None, spool: Path | None = None,
                 integrations: Integrations | None = None,
                 detector: DetectorFactory = make_detector) -> None:
        self.camera, self.store = camera, store
        self.keeper = Keeper(store, camera.id, spool)
        self.step = FrameStep(camera, self.keeper, integrations)
        self.make_detector = detector
        self._source = source
        self._lock = self.step.lock
        self._snap = Snapshot()
        self._pictures = Pictures()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._control = threading.Lock()   # start/stop one at a time
        self._src: FrameSource | BrowserSource | None = None
        self.set_zones(zones)
        self.step.resume()
        self._snap = replace(self._snap, counts=self.step.engine.counts)

    @property
    def name(self) -> str:
        return self.camera.name

    @property
    def engine(self) -> Any:
        """The camera's engine (zones, dwell, heat): read it under no illusion of a copy."""
        return self.step.engine

    @property
    def source(self) -> str:
        """The real address (credentials included): never to be shown or logged."""
        return self._source

    def zone_specs(self) -> list[ZoneSpec]:
        with self._lock:
            return list(self.step.specs.values())

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- commands -------------------------------------------------------------------------
    def start(self) -> None:
        """Start (or restart, to take new settings); counts and heat carry on."""
        with self._control:   # two starts at once (a page and the API) make one run
            self._halt()
            with self._lock:
                self._snap = replace(self._snap, state=CameraState.LOADING, detail=None)
            self._stop = threading.Event()   # the old run keeps its own, set, event
            self._thread = threading.Thread(target=FrameLoop(self, self._stop).run,
                                            name=f"camera {self.camera.id}", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the run and wait for its threads to end; what it counted is written."""
        with self._control:
            self._halt()

    def _halt(self) -> None:
        self._stop.set()
        src = self._src
        if src is not None:
            src.close()
        if self._thread is not None:
            # A run stuck in a model load ends by itself once the load returns: it sees its
            # own stop event and exits without touching the camera.
            self._thread.join(timeout=60)
            if self._thread.is_alive():
                log.warning("camera %s: the old run is still ending", self.name)
            self._thread = None
        with self._lock:
            if self._snap.state.active:
                self._snap = replace(self._snap, state=CameraState.STOPPED, detail=None)

    def reset(self) -> None:
        """Counts, events and heat back to zero; the store archives the old ones (pending
        crossings are written into the old epoch first). A running video file starts again
        from its first frame, so its counts cover the whole file; one that had counted to its
        end counts it again, as its message says."""
        ended = self.snapshot().state is CameraState.ENDED
        replay = (self.running or ended) and self._counts_a_file_once()
        if replay:
            self.stop()
        with self._lock:
            self.end_stays()   # in the counts being archived
            self.keeper.flush(force=True)
            if self.keeper.pending:   # they belong to the counts being archived
                if replay:
                    self.start()
                raise StoreUnavailable(f"Reset has to wait: {self.keeper.status()}. "
                                       "Nothing was reset.")
            self.keeper.keep_hours(self.step.engine.heatmap.hours, self._lock)
            self.keeper.archive()
            self.step.engine.reset()
            self.step.events.clear()
            self._snap = replace(self._snap, counts=self.step.engine.counts)
        if replay:
            self.start()

    def _counts_a_file_once(self) -> bool:
        if self.camera.settings.loop:
            return False
        try:
            return parse_spec(resolve_address(self._source)).kind is SourceKind.FILE
        except DashboardError:
            return False

    def configure(self, camera: Camera, source: str) -> bool:
        """Take a camera's new name, settings, looks or source; True if a running camera
        must restart to use them (settings or source changed). Heat is never reset here."""
        with self._lock:
            restart = camera.settings != self.camera.settings or source != self._source
            if source != self._source:
                self.keeper.forget_progress()  # another file
            self.camera, self._source = camera, source
            self.step.present(camera)
        return restart and self.running

    def record(self, recorder: Any) -> None:
        """Record the frames it counts from now into a sample (see `pipeline.samples`)."""
        with self._lock:
            if not self.running:
                raise DashboardError("Start the camera first: a sample is recorded while it "
                                     "counts.")
            if self.step.sample is not None:
                raise DashboardError("This camera is recording a sample already.")
            self.step.sample = recorder

    def set_zones(self, specs: list[ZoneSpec]) -> None:
        """Make the zones these, in this order; every zone keeps its counts."""
        with self._lock:
            self.step.set_zones(specs)
            self._snap = replace(self._snap, counts=self.step.engine.counts)

    # -- what the run tells -----------------------------------------------------------------
    def publish(self, snap: Snapshot) -> None:
        """The run's newest snapshot, for every reader. Its counts are the engine's now: a
        zone set or a reset since the frame was counted (another thread, between the count
        and this call) shows, not the frame's older copy (a zone back from a delete read 0
        until the next frame)."""
        with self._lock:
            self._snap = replace(snap, counts=self.step.engine.counts)

    def set_status(self, state: CameraState, detail: str | None = None, **more: Any) -> None:
        with self._lock:
            self._snap = replace(self._snap, state=state, detail=detail, **more)

    def note(self, notice: str) -> None:
        """Something the operator should know (the picture changed size), shown until the
        next one."""
        with self._lock:
            self._snap = replace(self._snap, notice=notice)

    def end_stays(self) -> None:
        """The run ended (see `FrameStep.end_stays`): no one is known to be inside."""
        self.step.end_stays()
        with self._lock:
            self._snap = replace(self._snap, inside={}, alerts=())

    # -- reading --------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snap

    def picture(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(overlay, scene) of the newest frame; None before the first (see `Pictures`)."""
        with self._lock:
            return self._pictures.drawn(self._snap, self.camera.presentation, self.step.engine)

    def jpeg(self) -> bytes | None:
        """The latest overlay as JPEG bytes; None before the first frame. Encoded once per
        drawn frame, outside the camera's loop, and shared by every viewer."""
        return self._pictures.jpeg(self.picture())

    def still(self) -> np.ndarray:
        """The newest frame as it may be shown, to draw zones on; before the first, one
        frame read from the source, all blurred while blur is on (nobody located in it)."""
        picture = self.picture()
        if picture is not None:
            return picture[1]
        preview = self._pictures.preview
        if preview is None and self.camera.from_browser:
            raise DashboardError("the browser's camera has sent no picture yet: press "
                                 "Start my camera above (the browser asks for the camera), "
                                 "then Try again.")
        if preview is None:
            with open_source(resolve_address(self._source), live=False, open_timeout_s=10) as src:
                frame = src.read()
            if frame is None:
                raise DashboardError(f"{self.camera.source} gave no frame to draw on.")
            preview = self._pictures.preview = frame.image
        return hide_all(preview) if self.camera.presentation.blur else preview

    def push(self, sender: str, img: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Hand a frame of a browser's camera to the running camera; returns the newest
        (overlay, scene) to send back (None before the first is processed). `DashboardError`
        if this camera does not take a browser's frames, is stopped, or another browser
        sends (see `BrowserSource.push`).

        Example:
            >>> from dashboard.config.camera import Presentation
            >>> from dashboard.config.kinds import CameraId
            >>> cam = Camera(CameraId("cam_1"), "Laptop", "browser", CameraSettings(),
            ...              Presentation(), True)
            >>> CameraRunner(cam, "browser", [], store=None).push("tab", np.zeros((9, 9, 3), np.uint8))
            Traceback (most recent call last):
            dashboard.errors.DashboardError: The camera is stopped: press Start ...
        """
        if not self.camera.from_browser:
            raise DashboardError(f"{self.name} does not take pictures from a browser: its "
                                 "source is another camera.")
        src = self._src
        if not isinstance(src, BrowserSource):
            if self.running:
                raise DashboardError("The camera is starting (loading its model): its "
                                     "pictures are counted in a moment.")
            raise DashboardError(STOPPED)
        src.push(sender, img)
        return self.picture()

    def recent_alerts(self, n: int = 20) -> list[Alert]:
        """The newest alert changes of this process, newest first (one line per alert)."""
        return self.step.recent_alerts(n)

    def recent_events(self, n: int = 20) -> list[CrossingEvent]:
        """The newest crossings counted in this process, newest first."""
        return self.step.recent_events(n)

    def heat_bytes(self, kind: str) -> bytes | None:
        """The heat as a colour PNG, an npz, or "scene" (over the newest frame, see
        `pictures.heat_bytes`); read under the lock."""
        with self._lock:
            picture = self.picture() if kind == "scene" else None
            return heat_bytes(self.step.engine, kind, None if picture is None else picture[1],
                              self.camera.name)

    # -- keeping --------------------------------------------------------------------------
    def save_heat(self) -> None:
        """Snapshot the heat into the store if it changed since the last snapshot."""
        with self._lock:
            version = self.step.engine.heatmap.version
        self.keeper.save_heat(version, lambda: self.heat_bytes("npz"))
        self.keeper.keep_hours(self.step.engine.heatmap.hours, self._lock)

    def store_status(self) -> str | None:
        """"database: disk full, 37 crossings waiting" while the store fails, else None."""
        return self.keeper.status()

    @property
    def pending(self) -> int:
        """Crossings counted but not yet in the database."""
        return self.keeper.pending

    @property
    def behind(self) -> int:
        """Records waiting because database writes failed (not the usual batching)."""
        return self.keeper.behind

    def retry(self) -> None:
        """Try again to write what waits (when its backoff allows): a stopped camera has no
        frames to do it, and a quiet one no new crossings."""
        self.keeper.retry()

    def close(self) -> None:
        """Stop, and keep what could not be written in the spool for the next start."""
        self.stop()
        self.keeper.close()
