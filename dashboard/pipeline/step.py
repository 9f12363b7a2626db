"""`FrameStep`: a camera's counting, one frame at a time: tracks -> engine (zones, dwell,
heat) -> alerts -> records (to the store, through the `Keeper`) -> integrations. The runner
feeds it frames; it holds the counting state that Stop and Start keep and Reset clears."""
from __future__ import annotations

import io
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from dashboard.config.camera import Camera, Presentation
from dashboard.config.zone import ZoneSpec
from dashboard.engine import Alert, Engine, Tracks, Visit
from dashboard.engine.engine import FrameResult
from dashboard.engine.zones import CrossingEvent
from dashboard.errors import DashboardError
from dashboard.integrations.core import Integrations
from dashboard.pipeline.alerting import CameraAlerts, tell
from dashboard.pipeline.evidence import Evidence
from dashboard.pipeline.samples import SampleRecorder
from dashboard.pipeline.keeping import Keeper
from dashboard.pipeline.layout import ZoneLayout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Counted:
    """What one frame gave: the engine's result, the alert changes, who is inside now."""

    result: FrameResult
    alerts: list[Alert]
    inside: dict[str, list[Visit]]


class FrameStep:
    """One camera's counting state and the step that advances it. Every change to it
    happens under `lock` (Reset takes it too: no crossing slips past it).

    Example:
        >>> from dashboard.config.camera import CameraSettings
        >>> from dashboard.config.kinds import CameraId
        >>> cam = Camera(CameraId("cam_1"), "Door", "demo", CameraSettings(), Presentation(), True)
        >>> step = FrameStep(cam, Keeper(None, cam.id))
        >>> door = ZoneSpec.create("door", "line", [[0.5, 0], [0.5, 1]])
        >>> step.set_zones([door]); step.fit(100, 100)
        >>> frame = np.zeros((100, 100, 3), np.uint8)
        >>> for x in (40, 45, 55, 60):
        ...     one = Tracks(np.array([[x - 5, 45, x + 5, 55]]), np.array([1]), np.array([0]),
        ...                  np.array([0.9]), {0: "person"})
        ...     c = step.count(frame, one, float(x))
        >>> step.engine.counts[door.id].in_count + step.engine.counts[door.id].out_count
        1
    """

    def __init__(self, camera: Camera, keeper: Keeper,
                 integrations: Integrations | None = None) -> None:
        self.camera, self.keeper, self.integrations = camera, keeper, integrations
        self.lock = threading.RLock()
        self.engine = Engine(heatmap=camera.presentation.heatmap_config(camera.settings))
        self.engine.heatmap.hours = keeper.hours()
        # Pictures of each crossing, when the camera keeps them (and there is a store).
        self.evidence = Evidence(keeper.keep_evidence) if keeper.store is not None else None
        self.sample: SampleRecorder | None = None   # a sample being recorded for an audit
        self.layout = ZoneLayout(self.engine, keeper)
        self.alerts = CameraAlerts()
        self.events: deque[CrossingEvent] = deque(maxlen=500)   # the newest crossings
        self.last_t: float | None = None   # the camera's time at its newest frame
        self.present(camera)

    @property
    def specs(self) -> dict:
        return self.layout.specs

    def present(self, camera: Camera) -> None:
        """Take a camera's new looks (and name); heat is never reset here."""
        with self.lock:
            self.camera = camera
            p: Presentation = camera.presentation
            self.engine.heatmap.config = p.heatmap_config(camera.settings)
            self.engine.draw_heat, self.engine.draw_boxes = p.show_heat, p.show_boxes
            self.engine.blur = p.blur or ()

    def set_zones(self, specs: list[ZoneSpec]) -> None:
        """The zones to count, in this order (see `ZoneLayout.set`)."""
        with self.lock:
            ended: list[Visit] = []
            self.layout.set(specs, ended)
            self.keeper.add(ended)

    def fit(self, width: int, height: int) -> str | None:
        """Lay the zones onto this frame size; a notice when it changed (said in the log)."""
        if self.layout.size == (width, height):
            return None
        with self.lock:
            note = self.layout.fit(width, height)
        if note:
            log.warning("camera %s: %s", self.camera.name, note)
        return note

    def count(self, img: np.ndarray, tracks: Tracks, now: float) -> Counted:
        """Count one frame: crossings, visits and alert changes go to the store's writer,
        alerts and counts to the integrations."""
        with self.lock:
            self.last_t = now
            result = self.engine.update(img, tracks, now, draw=False)
            if self.evidence is not None and self.camera.presentation.evidence_days:
                self.evidence.frame(img, result.tracks, result.events, self.engine.blur)
            if self.sample is not None:
                self.sample.add(img, now)
                if self.sample.finished:
                    self.sample = None
            alerts = self.alerts.check(self.camera.name, self.specs, result.counts,
                                       result.events, now)
            self.events.extend(result.events)
            self.keeper.add([*result.events, *result.visits, *result.trips, *alerts])
            inside = self.engine.inside(now)
        tell(self.integrations, self.camera, self.specs, alerts, result.counts)
        return Counted(result, alerts, inside)

    def warm(self, img: np.ndarray, tracks: Tracks, t: float) -> None:
        """A frame before a resume point: the tracker and zones learn where everyone is;
        nothing is counted (it was, before the stop)."""
        with self.lock:   # the zones cannot change while it is held
            zones = self.engine.zones
            kept = [z.counts for z in zones]
            for z in zones:
                z.counts = z.counts.copy()
            hours, self.engine.heatmap.hours = self.engine.heatmap.hours, None   # kept too
            self.engine.update(img, tracks, t, draw=False)
            self.engine.heatmap.hours = hours
            self.engine.flows.reset()   # its trips were kept when the run before ended
            self.last_t = t
            for z, counts in zip(zones, kept):
                z.counts, z.ended_visits = counts, []

    def forget_tracks(self) -> None:
        """A new tracker (a new detector, or a browser back after a gap) numbers anew:
        the paths so far end as trips."""
        with self.lock:
            for z in self.engine.zones:
                z.forget_tracks()
            self.keeper.add(self.engine.flows.close())

    def end_stays(self) -> list[Alert]:
        """The run ended: what happens while a camera is stopped is not known, so stays end
        at their last sighting, paths as trips, and occupancy alerts now. Returns the alert
        changes."""
        with self.lock:
            ended: list[Any] = [v for z in self.engine.zones for v in z.end_stays()]
            ended += self.engine.flows.close()
            if self.evidence is not None:
                self.evidence.flush()
            if self.sample is not None:
                self.sample.stop()
                self.sample = None
            # At the camera's own time (a file's video time): its alerts began on that clock.
            alerts = self.alerts.end(self.last_t if self.last_t is not None else time.time())
            self.keeper.add([*ended, *alerts])
        if alerts:
            tell(self.integrations, self.camera, self.specs, alerts, {})
        return alerts

    def resume(self) -> None:
        """Take up counts and heat where the store left them (after a restart)."""
        saved = self.keeper.saved_counts()
        heat = self.keeper.saved_heat()
        with self.lock:
            for z in self.engine.zones:
                if z.name in saved:
                    c = saved[z.name]
                    z.counts.in_count, z.counts.out_count = c.in_count, c.out_count
                    z.counts.per_class = c.per_class
            if heat is not None:
                config = self.engine.heatmap.config
                try:
                    self.engine.heatmap.load(io.BytesIO(heat))
                except DashboardError as e:
                    log.warning("camera %s: saved heat not restored: %s", self.camera.name, e)
                self.engine.heatmap.config = config   # today's looks, not the saved ones

    def recent_events(self, n: int = 20) -> list[CrossingEvent]:
        """The newest crossings counted in this process, newest first."""
        with self.lock:
            return list(self.events)[-n:][::-1]

    def recent_alerts(self, n: int = 20) -> list[Alert]:
        with self.lock:
            return self.alerts.recent(n)
