"""One camera's runner: source -> detector -> engine in a background thread.

A runner outlives its runs: Stop and Start keep the engine, so counts and heat carry on;
only Reset clears them. It takes commands from the service (zones, settings, looks, start,
stop, reset) and publishes a `Snapshot` that every reader shares; its frame is JPEG-encoded
when a viewer asks, once for all of them (`jpeg`), and not at all while nobody watches.

Zones come in 0..1 of the frame and are laid onto the frame's real size when the first
frame arrives (and again if the size changes), keeping each zone's counts by its id.
Video files are read frame by frame (none dropped, so counts do not depend on how fast the
machine is), paced to their own frame rate or as fast as possible; live streams offer the
newest frame.
"""
from __future__ import annotations

import io
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from dashboard.engine import Alert, AlertMonitor, Engine, Tracks, Visit, Zone
from dashboard.engine.overlay import draw_zones
from dashboard.engine.zones import CrossingEvent, ZoneCounts
from dashboard.config.entities import Camera, CameraState, Pacing, Presentation, ZoneId, ZoneKind, ZoneSpec
from dashboard.errors import DashboardError, StoreUnavailable
from dashboard.config.env import retention_s
from dashboard.vision.sources import (STOPPED, BrowserSource, FrameSource, SourceKind, mask_secrets,
                      open_source, parse_spec, resolve_address)
from dashboard.integrations.core import Integrations
from dashboard.store.base import Store
from dashboard.store.writer import EventWriter

log = logging.getLogger(__name__)

JPEG_QUALITY = 80
# A file resumed mid-way is read from this many frames earlier, counting nothing there: the
# tracker and the zones learn where everyone is, so a crossing under way at the resume point
# is counted once, as an uninterrupted run counts it (not missed, not doubled).
RESUME_WARMUP_FRAMES = 30
HEAT_SNAPSHOT_S = 5.0    # heat is saved this often while running (if it changed), and on stop
PRUNE_EVERY_S = 600.0
PROGRESS_KEY = "progress:{}"   # store meta: frames of a file camera already counted


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
    source_fps: float = 0.0
    frame_age_s: float = 0.0
    frames_read: int = 0
    frames_dropped: int = 0
    frames_done: int = 0            # counted in this run (a resumed file: from its resume point)
    runtime: str | None = None      # the inference runtime really in use
    where: str | None = None        # the cluster node running it (None: this process)
    notice: str | None = None       # something the operator should know, said once
    advice: str | None = None       # e.g. objects too small for the image size
    t: float = 0.0


def _hide_all(img: np.ndarray) -> np.ndarray:
    """The whole picture blurred past recognition (nobody located in it to pixelate)."""
    k = max(3, img.shape[1] // 60) | 1
    return cv2.GaussianBlur(img, (k, k), 0)


def _shape(spec: ZoneSpec) -> ZoneSpec:
    """What of a zone the engine uses: a change here makes a new engine zone (name, limit
    and wrong way are read from the spec each frame)."""
    return replace(spec, name="", limit=None, wrong_way=False)


class _Rate:
    """Frames per second over the last few seconds."""

    def __init__(self) -> None:
        self.times: deque[float] = deque(maxlen=60)

    def tick(self, now: float) -> float:
        self.times.append(now)
        span = self.times[-1] - self.times[0]
        return (len(self.times) - 1) / span if span > 0 else 0.0


ALERT_LOG_S = 60.0


class QuietLog:
    """WARNING lines that say one kind of thing at most once per `every_s`, then how many
    more there were (one line per wrong-way crossing filled a log with 374 in 3.5 minutes;
    every alert is still stored, shown and sent).

    Example:
        >>> import logging
        >>> q = QuietLog(logging.getLogger("doc"), 60.0)
        >>> [q.say("door", "wrong way") for _ in range(3)]
        [True, False, False]
    """

    def __init__(self, logger: logging.Logger, every_s: float) -> None:
        self.logger, self.every_s = logger, every_s
        self._said: dict[str, tuple[float, int]] = {}

    def say(self, kind: str, text: str) -> bool:
        """Log `text` unless this kind was said within `every_s`; whether it was."""
        now = time.monotonic()
        last, held = self._said.get(kind, (-math.inf, 0))
        if now - last < self.every_s:
            self._said[kind] = (last, held + 1)
            return False
        if held:
            text += f" (and {held} more like it in the last {now - last:.0f} s)"
        self.logger.warning("%s", text)
        self._said[kind] = (now, 0)
        return True


class CameraRunner:
    """Counts and heat for one camera, and the thread that feeds them.

    Example:
        >>> from dashboard.config.entities import CameraId, CameraSettings
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
                 integrations: Integrations | None = None) -> None:
        self.camera, self.store = camera, store
        self.integrations = integrations
        self.alerts = AlertMonitor()
        self._said = QuietLog(log, ALERT_LOG_S)   # alerts in the log: each kind once a minute
        self._alerts: deque[Alert] = deque(maxlen=100)   # the newest alert changes
        self._source = source
        self.engine = Engine(heatmap=camera.presentation.heatmap_config(camera.settings))
        self._apply_presentation(camera.presentation)
        self._specs: dict[ZoneId, ZoneSpec] = {}
        self._size: tuple[int, int] = (1, 1)   # until the first frame: 0..1 coordinates
        self._lock = threading.RLock()
        self._snap = Snapshot()
        self._jpeg_lock = threading.Lock()
        self._jpeg: tuple[np.ndarray | None, bytes | None] = (None, None)
        self._drawn: tuple[Any, Any, Any] = (None, None, None)   # snapshot, looks, picture
        self._preview: np.ndarray | None = None   # a frame read before the first processed
        self._events: deque[CrossingEvent] = deque(maxlen=500)
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._control = threading.Lock()   # start/stop one at a time
        self._src: FrameSource | BrowserSource | None = None
        self._writer = EventWriter(store, camera.id, spool=spool) \
            if store is not None else None
        self._heat_saved = -1   # the heat version last saved
        self._warm = 0          # frames to read again before counting resumes (see _open)
        self.set_zones(zones)
        self._resume()

    @property
    def name(self) -> str:
        return self.camera.name

    @property
    def _progress_key(self) -> str:
        return PROGRESS_KEY.format(self.camera.id)

    @property
    def source(self) -> str:
        """The real address (credentials included): never to be shown or logged."""
        return self._source

    def zone_specs(self) -> list[ZoneSpec]:
        with self._lock:
            return list(self._specs.values())

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
            self._thread = threading.Thread(target=self._run, args=(self._stop,),
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
        from its first frame, so its counts cover the whole file."""
        replay = self.running and self._counts_a_file_once()
        if replay:
            self.stop()
        with self._lock:
            self._end_stays()   # in the counts being archived
            if self._writer is not None:
                self._writer.flush(force=True)
                if self._writer.pending:   # they belong to the counts being archived
                    if replay:
                        self.start()
                    raise StoreUnavailable(f"Reset has to wait: {self._writer.status}. "
                                           "Nothing was reset.")
            if self.store is not None:
                self.store.archive(self.camera.id, (self._progress_key, "0"))
            self.engine.reset()
            self._events.clear()
            self._snap = replace(self._snap, counts=self.engine.counts)
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
            if source != self._source and self.store is not None:
                self.store.set_meta(self._progress_key, "0")  # another file
            self.camera, self._source = camera, source
            self._apply_presentation(camera.presentation)
        return restart and self.running

    def _apply_presentation(self, p: Presentation) -> None:
        self.engine.heatmap.config = p.heatmap_config(self.camera.settings)
        self.engine.draw_heat, self.engine.draw_boxes = p.show_heat, p.show_boxes
        self.engine.blur = p.blur or ()

    def set_zones(self, specs: list[ZoneSpec]) -> None:
        """Make the engine's zones these, in this order. A zone whose shape and rules are
        unchanged keeps its object (and its tracks' state); every zone keeps its counts."""
        with self._lock:
            old = {z.name: z for z in self.engine.zones}
            zones = []
            for spec in specs:
                if not spec.kind.counts:
                    continue
                z, before = old.get(spec.id), self._specs.get(spec.id)
                if z is None or before is None or _shape(before) != _shape(spec):
                    z = self._zone_at_size(spec, z)
                z.label = spec.name
                zones.append(z)
            kept = {s.id for s in specs}
            ended = [v for z in old.values() if z.name not in kept for v in z.end_stays()]
            if ended and self._writer is not None:   # a removed area's stays end now
                self._writer.add(ended)
            self.engine.zones = zones
            self._specs = {s.id: s for s in specs}
            self._fit_masks()
            self._snap = replace(self._snap, counts=self.engine.counts)

    def _fit_masks(self) -> None:
        self.engine.masks = [s.to_zone(*self._size).points for s in self._specs.values()
                             if not s.kind.counts]

    def _zone_at_size(self, spec: ZoneSpec, previous: Zone | None) -> Zone:
        """The zone at the frame's size, with the counts (and open visits) it had; one
        new here (added, or back from a delete) takes its counts from the store."""
        z = spec.to_zone(*self._size)
        if previous is not None:
            z.counts = previous.counts
            if previous.dwell is not None and z.dwell is not None:
                z.dwell = previous.dwell
        elif self.store is not None:
            saved = self.store.counts(self.camera.id).get(spec.id)
            if saved is not None:
                z.counts.in_count, z.counts.out_count = saved.in_count, saved.out_count
                z.counts.per_class = saved.per_class
        return z

    def _fit_zones(self, width: int, height: int) -> bool:
        """Lay the zones onto a frame of this size (first frame, or a new resolution); True
        when the size changed from an earlier frame's."""
        if self._size == (width, height):
            return False
        changed = self._size != (1, 1)
        with self._lock:
            if changed:
                note = (f"The picture changed from {self._size[0]}x{self._size[1]} to "
                        f"{width}x{height} at {time.strftime('%H:%M:%S')}: zones and heat "
                        "follow it.")
                log.warning("camera %s: %s", self.name, note)
                self._snap = replace(self._snap, notice=note)
            self._size = (width, height)
            old = {z.name: z for z in self.engine.zones}
            self.engine.zones = [self._zone_at_size(s, old.get(s.id))
                                 for s in self._specs.values() if s.kind.counts]
            self._fit_masks()
        return changed

    # -- reading --------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snap

    def picture(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(overlay, scene) of the newest frame; None before the first. Drawn on the first
        ask after each frame (or change of looks) and shared by every viewer, so a camera
        nobody watches spends nothing on drawing, and one watched draws only the frames
        sent. The scene is the frame as it may be shown: blurred classes pixelated."""
        with self._lock:
            snap, looks = self._snap, self.camera.presentation
            if snap.frame is None:
                return None
            if self._drawn[0] is not snap or self._drawn[1] != looks:
                self._drawn = (snap, looks, self.engine.draw(snap.frame, snap.tracks, snap.t))
            return self._drawn[2]

    def jpeg(self) -> bytes | None:
        """The latest overlay as JPEG bytes; None before the first frame. Encoded once per
        drawn frame, outside the camera's loop, and shared by every viewer."""
        picture = self.picture()
        if picture is None:
            return None
        plot = picture[0]
        with self._jpeg_lock:
            if self._jpeg[0] is not plot:
                ok, buf = cv2.imencode(".jpg", plot, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                self._jpeg = (plot, buf.tobytes() if ok else None)
            return self._jpeg[1]

    def still(self) -> np.ndarray:
        """The newest frame as it may be shown, to draw zones on; before the first, one
        frame read from the source, all blurred while blur is on (nobody located in it)."""
        picture = self.picture()
        if picture is not None:
            return picture[1]
        if self._preview is None and self.camera.from_browser:
            raise DashboardError("the browser's camera has sent no picture yet: press "
                                 "Start my camera above (the browser asks for the camera), "
                                 "then Try again.")
        if self._preview is None:
            with open_source(resolve_address(self._source), live=False, open_timeout_s=10) as src:
                frame = src.read()
            if frame is None:
                raise DashboardError(f"{self.camera.source} gave no frame to draw on.")
            self._preview = frame.image
        return _hide_all(self._preview) if self.camera.presentation.blur else self._preview

    def push(self, sender: str, img: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Hand a frame of a browser's camera to the running camera; returns the newest
        (overlay, scene) to send back (None before the first is processed). `DashboardError`
        if this camera does not take a browser's frames, is stopped, or another browser
        sends (see `BrowserSource.push`).

        Example:
            >>> from dashboard.config.entities import CameraId, CameraSettings
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

    def _check_alerts(self, counts: dict[str, ZoneCounts], events: list[CrossingEvent],
                      t: float) -> list[Alert]:
        """This frame's alert changes, from each zone's limit and wrong way."""
        values = {}
        for spec in self._specs.values():
            c = counts.get(spec.id)
            if spec.kind.counts and c is not None:
                value = c.occupancy if spec.kind is ZoneKind.POLYGON else c.net
                values[spec.id] = (value or 0, spec.limit)
        wrong = {s.id for s in self._specs.values() if s.wrong_way}
        before = {a.id for a in self.alerts.active.values()}
        changed = self.alerts.update(values, events, wrong, t)
        for a in changed:
            if a.id in before and a.active:
                continue   # a new peak: the start was said
            spec = self._specs.get(ZoneId(a.zone))
            what = (f"track {a.track_id} crossed the wrong way" if a.limit is None else
                    f"{a.peak} over its limit of {a.limit}" if a.active else
                    f"back under its limit of {a.limit} (peak {a.peak})")
            self._said.say(f"{a.zone} {a.limit is None}",
                           f"camera {self.name}: alert: zone "
                           f"{spec.name if spec else a.zone}: {what}")
        self._alerts.extend(changed)
        return changed

    def _tell(self, alerts: list[Alert], counts: dict[str, ZoneCounts]) -> None:
        """Alerts to the webhook and MQTT, and counts to MQTT when they changed."""
        cam = {"id": self.camera.id, "name": self.camera.name}
        names = {s.id: s.name for s in self._specs.values()}
        for a in alerts:
            self.integrations.alert(cam, {**a.to_dict(), "zone_id": a.zone,
                                          "zone": names.get(ZoneId(a.zone), a.zone)})
        self.integrations.counts(cam, [{"id": zid, "name": names.get(ZoneId(zid), zid),
                                        **c.to_dict()} for zid, c in counts.items()])

    def recent_alerts(self, n: int = 20) -> list[Alert]:
        """The newest alert changes of this process, newest first (one line per alert)."""
        with self._lock:
            seen, out = set(), []
            for a in reversed(self._alerts):
                if a.id not in seen:
                    seen.add(a.id)
                    out.append(a)
            return out[:n]

    def recent_events(self, n: int = 20) -> list[CrossingEvent]:
        """The newest crossings counted in this process, newest first."""
        with self._lock:
            return list(self._events)[-n:][::-1]

    def heat_bytes(self, kind: str) -> bytes | None:
        """The heat as a colour PNG (alone), an npz, or "scene": the PNG drawn over the
        newest frame with the legend under it (None before any heat); read under the lock."""
        with self._lock:
            heat = self.engine.heatmap
            if heat.shape is None:
                return None
            if kind in ("png", "scene"):
                img = heat.colorized()
                picture = self.picture() if kind == "scene" else None
                if picture is not None:
                    img = heat.render(picture[1])
                    draw_zones(img, self.engine.zones, self.engine.counts, self.engine.masks)
                img = np.vstack([img, heat.legend(img.shape[1])])
                ok, png = cv2.imencode(".png", img)
                return png.tobytes() if ok else None
            buf = io.BytesIO()
            heat.save(buf)
            return buf.getvalue()

    # -- persistence ----------------------------------------------------------------------
    def _resume(self) -> None:
        """Take up counts and heat where the store left them (after a restart)."""
        if self.store is None:
            return
        saved = self.store.counts(self.camera.id)
        heat = self.store.load_heat(self.camera.id)
        with self._lock:
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
                    log.warning("camera %s: saved heat not restored: %s", self.name, e)
                self.engine.heatmap.config = config   # today's looks, not the saved ones
            self._snap = replace(self._snap, counts=self.engine.counts)

    def save_heat(self) -> None:
        """Snapshot the heat into the store if it changed since the last snapshot. While
        the database cannot be written the heat stays in memory (the store says why)."""
        with self._lock:
            version = self.engine.heatmap.version
        if self.store is None or version == self._heat_saved:
            return
        blob = self.heat_bytes("npz")
        if blob is None:
            return
        try:
            self.store.save_heat(self.camera.id, blob, time.time())
            self._heat_saved = version
        except StoreUnavailable:
            pass

    def store_status(self) -> str | None:
        """"database: disk full, 37 crossings waiting" while the store fails, else None."""
        if self._writer is not None and self._writer.status:
            return self._writer.status
        fault = self.store.fault if self.store is not None else None
        return f"database: {fault}" if fault else None

    @property
    def pending(self) -> int:
        """Crossings counted but not yet in the database."""
        return self._writer.pending if self._writer is not None else 0

    @property
    def behind(self) -> int:
        """Records waiting because database writes failed (not the usual batching)."""
        return self._writer.behind if self._writer is not None else 0

    def retry(self) -> None:
        """Try again to write what waits (when its backoff allows): a stopped camera has no
        frames to do it, and a quiet one no new crossings."""
        if self._writer is not None and self._writer.pending:
            self._writer.flush()

    def close(self) -> None:
        """Stop, and keep what could not be written in the spool for the next start."""
        self.stop()
        if self._writer is not None:
            self._writer.close()

    def _progress(self) -> int:
        if self.store is None:
            return 0
        return int(self.store.meta(self._progress_key) or 0)

    def _set_progress(self, frames: int) -> None:
        if self._writer is not None:
            self._writer.flush((self._progress_key, str(frames)), force=True)

    # -- the run --------------------------------------------------------------------------
    def _status(self, state: CameraState, detail: str | None = None) -> None:
        with self._lock:
            self._snap = replace(self._snap, state=state, detail=detail)

    def _run(self, stop: threading.Event) -> None:
        from dashboard.vision.detector import Detector  # imports ultralytics: keep it off the page's path

        s = self.camera.settings
        try:
            source = resolve_address(self._source)
            # A file paced LIVE is read as a camera would send it: newest frame, none kept.
            is_file = parse_spec(source).kind is SourceKind.FILE and s.pacing is not Pacing.LIVE
            start = 0 if s.loop or not is_file else self._progress()
            if is_file:   # a file counted to its end needs no model: say so at once
                self._status(CameraState.CONNECTING)
                if self._open(source, is_file, start) is None:
                    return
            self._status(CameraState.LOADING)
            detector = Detector(s.model, conf=s.conf, imgsz=s.imgsz, classes=s.classes,
                                tracker=s.tracker, runtime=s.runtime.value, groups=s.groups)
            with self._lock:
                self._snap = replace(self._snap, runtime=detector.runtime)
                for z in self.engine.zones:   # the new detector's tracker numbers anew
                    z.forget_tracks()
            if stop.is_set():
                return
            self._status(CameraState.CONNECTING)
            if not is_file:
                self._open(source, is_file, start)
            self._done = start
            self._loop(detector, self._src, is_file, start, stop)
        except DashboardError as e:
            log.error("camera %s: %s", self.name, e)
            self._status(CameraState.FAILED, str(e))
        except Exception as e:  # keep the server up and the counts kept; say what broke
            log.exception("camera %s stopped", self.name)
            self._status(CameraState.FAILED, f"The camera stopped: {type(e).__name__}: "
                                             f"{mask_secrets(str(e))}")
        finally:
            # A run that outlived its stop (a slow model load) leaves the new run's source
            # alone: stop() already closed the one it had.
            if stop is self._stop and self._src is not None:
                self._src.close()
                self._src = None
            self._end_stays()
            if self._writer is not None:   # whatever ended the run, keep what it counted
                self._writer.flush(force=True)
            self.save_heat()

    def _end_stays(self) -> None:
        """The run ended: what happens while a camera is stopped is not known, so stays
        end at their last sighting and occupancy alerts end now."""
        with self._lock:
            ended: list[Any] = [v for z in self.engine.zones for v in z.end_stays()]
            alerts = self.alerts.update({}, [], set(), time.time())
            self._alerts.extend(alerts)
            if self._writer is not None:
                self._writer.add([*ended, *alerts])
            self._snap = replace(self._snap, inside={}, alerts=())
        if alerts and self.integrations is not None and self.integrations.active:
            self._tell(alerts, {})

    def _open(self, source: str, is_file: bool, start: int
              ) -> FrameSource | BrowserSource | None:
        """Open the source as `self._src`; None (and ENDED) for a file already counted."""
        self._warm = min(start, RESUME_WARMUP_FRAMES) if is_file else 0
        src = self._src = open_source(source, live=not is_file, start_frame=start - self._warm,
                                      loop=not is_file and self.camera.settings.loop)
        if is_file and src.frame_count and start >= src.frame_count:
            src.close()
            self._src = None
            self._status(CameraState.ENDED, f"Counted to the end ({src.frame_count} frames); "
                                            "Reset to count the file again.")
            return None
        return src

    def _loop(self, detector: Any, src: FrameSource | BrowserSource, is_file: bool, done: int,
              stop: threading.Event) -> None:
        try:
            self._frames(detector, src, is_file, done, stop)
        finally:
            if is_file and not self.camera.settings.loop:
                self._set_progress(self._done)

    def _frames(self, detector: Any, src: FrameSource | BrowserSource, is_file: bool, done: int,
                stop: threading.Event) -> None:
        from dashboard.vision.detector import SizeCheck

        rate = _Rate()
        s = self.camera.settings
        sizes, advice = SizeCheck(s.imgsz), None
        last_heat = last_prune = time.monotonic()
        paced_from, paced_n = time.monotonic(), 0
        warm = self._warm   # frames before the resume point: state only, nothing counted
        gap = False         # the source went quiet (a browser's camera between visits)
        while not stop.is_set():
            frame = src.read(timeout_s=1.0)
            st = src.status
            if frame is None:
                if stop.is_set():
                    return
                if is_file and s.loop and st.state == "ended":
                    src.close()
                    src = self._open(resolve_address(self._source), True, 0)
                    paced_from, paced_n = time.monotonic(), 0
                    continue
                if st.state in ("ended", "failed"):
                    state = CameraState.ENDED if st.state == "ended" else CameraState.FAILED
                    detail = st.last_error
                    if is_file:
                        detail = f"Played to the end: {done} frames counted."
                        if src.truncated:
                            detail = (f"The file ended early: {src.truncated}. "
                                      f"{done} frames counted.")
                    self._status(state, detail)
                    return
                state = {"reconnecting": CameraState.RECONNECTING,
                         "waiting": CameraState.WAITING}.get(st.state, CameraState.CONNECTING)
                self._status(state, st.last_error)
                gap = gap or state is CameraState.WAITING
                continue
            if gap:   # a browser back after a gap: who is where now is not known
                gap = False
                detector.reset()
                self._end_stays()
                with self._lock:
                    for z in self.engine.zones:
                        z.forget_tracks()
            if is_file and s.pacing is Pacing.NATIVE and src.native_fps and not warm:
                paced_n += 1
                wait = paced_from + paced_n / src.native_fps - time.monotonic()
                if wait > 0 and stop.wait(wait):
                    return
            img = frame.image
            h, w = img.shape[:2]
            if self._fit_zones(w, h):
                detector.reset()   # its tracks are in the old size's pixels
            tracks = detector.track(img)
            if warm:
                warm -= 1
                with self._lock:   # the zones cannot change while it is held
                    zones = self.engine.zones
                    kept = [z.counts for z in zones]
                    for z in zones:
                        z.counts = z.counts.copy()
                    self.engine.update(img, tracks, time.time(), draw=False)
                    for z, counts in zip(zones, kept):   # counted already, before the stop
                        z.counts, z.ended_visits = counts, []
                continue
            sizes.observe(detector, img, tracks, done)
            if done % 100 == 0 and (now_advice := sizes.advice()) != advice:
                advice = now_advice
                if advice:
                    log.warning("camera %s: %s", self.name, advice)
            now = time.time()
            with self._lock:   # Reset takes this lock too: no crossing slips past it
                result = self.engine.update(img, tracks, now, draw=False)
                alerts = self._check_alerts(result.counts, result.events, now)
                self._events.extend(result.events)
                if self._writer is not None:
                    self._writer.add([*result.events, *result.visits, *alerts])
                inside = self.engine.inside(now)
            if self.integrations is not None and self.integrations.active:
                self._tell(alerts, result.counts)
            done += 1
            self._done = done
            mono = time.monotonic()
            if self._writer is not None:
                if is_file and not s.loop and (result.events or done % 50 == 0):
                    # The position is committed with what it counted: a restart resumes
                    # from it and never counts a frame twice.
                    self._writer.flush((self._progress_key, str(done)))
                if mono - last_heat >= HEAT_SNAPSHOT_S:
                    last_heat = mono
                    self.save_heat()
                if mono - last_prune >= PRUNE_EVERY_S:
                    last_prune = mono
                    try:
                        self.store.prune(retention_s("events"), retention_s("minutes"))
                    except StoreUnavailable:
                        pass   # the store said why; pruning waits for the next round
            stats = src.stats
            snap = Snapshot(state=CameraState.LIVE, frame=img, tracks=result.tracks,
                            frame_index=frame.index, frame_size=(w, h), counts=result.counts,
                            total_tracks=result.total_tracks, processed_fps=rate.tick(now),
                            source_fps=src.native_fps if is_file else stats.fps,
                            frame_age_s=0.0 if is_file else max(0.0, now - frame.t),
                            frames_read=stats.frames_read, frames_dropped=stats.frames_dropped,
                            frames_done=done, runtime=detector.runtime, notice=self._snap.notice,
                            advice=advice, t=now, inside=inside,
                            alerts=tuple(self.alerts.active.values()))
            with self._lock:
                self._snap = snap
