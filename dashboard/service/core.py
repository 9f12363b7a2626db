"""The service's composition root: builds the store's users, the integrations and one runner
per saved camera, and puts the use cases (cameras, zones, reports, pictures, people) together
into `Service`. The page, the HTTP API and the CLI all go through it; none of them reaches
into runners, engines or the store.

It keeps one `CameraRunner` per saved camera, starts the enabled ones when the server
starts (whether or not anyone has a page open), and makes every change in one order:
check, store, then the runner.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path
from typing import Any

from dashboard.config.camera import Camera
from dashboard.config.kinds import CameraId
from dashboard.config.zone import ZoneSpec
from dashboard.demo import DEMO_DIR
from dashboard.demo.prepare import DEMO_IMGSZ
from dashboard.errors import DashboardError, StoreUnavailable
from dashboard.integrations.core import Integrations
from dashboard.pipeline.runner import CameraRunner, DetectorFactory

from dashboard.service.access import needs
from dashboard.service.alerts import AlertCases
from dashboard.service.audits import AuditCases
from dashboard.service.auth import Auth, Role
from dashboard.service.cameras import CameraCases
from dashboard.service.flows import FlowCases
from dashboard.service.heat_history import HeatHistoryCases
from dashboard.service.metrics import MetricsCases
from dashboard.service.people import PeopleCases
from dashboard.service.pictures import PictureCases
from dashboard.service.readings import Readings
from dashboard.service.reports import ReportCases
from dashboard.service.summaries import SummaryCases
from dashboard.service.zones import ZoneCases
from dashboard.store.base import Store
from dashboard.store.factory import open_store
from dashboard.vision.secrets import SourceVault
from dashboard.config.kinds import BROWSER

log = logging.getLogger(__name__)

DEMO_FLAG = "demo_created"
DEMO_NAME = "Demo street"
DEMO_SIZE = (640, 360)   # the demo zones file is in pixels of the demo clip
WATCH_S = 1.0            # how often the database file is looked at
PRUNE_EVERY_S = 600.0    # how often retention runs


class Service(CameraCases, ZoneCases, ReportCases, FlowCases, SummaryCases, HeatHistoryCases,
              AlertCases, AuditCases, PictureCases, PeopleCases, MetricsCases):
    """Cameras, zones, counts, events, exports and pictures, by id.

    Example:
        >>> import tempfile
        >>> from dashboard.store.sqlite import SQLiteStore
        >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
        >>> cam = svc.add_camera("Door", "demo", {"imgsz": 320}, enabled=False)
        >>> z = svc.add_zone(cam.id, "gate", "line", [[0.5, 0.1], [0.5, 0.9]])
        >>> [f.name for f in svc.counts(cam.id)], svc.status(cam.id).state.value
        (['gate'], 'stopped')
        >>> svc.shutdown()
    """

    def __init__(self, store: Store, data: Path, demo: bool = True,
                 autostart: bool = True, runner_type: Any = None,
                 detector: DetectorFactory | None = None) -> None:
        from dashboard.config.env import media_dir, ray_address, spool_dir, workers

        self.store = store
        self.spool = spool_dir(data)
        self.vault = SourceVault(data)
        self.media = media_dir(data)
        self.models = data / "models"   # uploaded models, named by their content's hash
        self.auth = Auth(store)
        # A service that runs no cameras (the CLI's) has nothing to send: no connections.
        self.integrations = Integrations.from_env(data) if autostart else Integrations()
        password = self.auth.ensure_admin()
        if password is not None:
            # Shown once, here, by design: the first admin must learn it somehow.
            log.warning("First start: created the user 'admin' with the password %s (shown "
                        "only now; change it on the Users page). Set "
                        "HEATMAP_DASHBOARD_ADMIN_PASSWORD to choose it instead.", password)
        self._lock = threading.RLock()
        self._cameras: dict[CameraId, Camera] = {}
        self._runners: dict[CameraId, CameraRunner] = {}
        self._readings = Readings()     # what pages read of runners, never held by one
        # Cameras on a Ray cluster when one is named; a service that runs none (the CLI's)
        # never joins it.
        # `runner_type`: what runs each camera, when a test hands one in (CameraRunner's
        # constructor and methods).
        self._runner_type: Any = runner_type or CameraRunner
        # `detector`: what makes each camera's detector (its settings -> a detector), when
        # a test or benchmark hands one in; cameras on Ray load their own.
        self._detector = {} if detector is None else {"detector": detector}
        if runner_type is None and autostart and ray_address() is not None:
            from dashboard.pipeline.cluster import RayRunner, connect

            connect(ray_address())
            self._runner_type = RayRunner
        self._workers: Any = None   # worker processes, when the admin asks for them
        if runner_type is None and not detector and autostart and ray_address() is None \
                and workers():
            from dashboard.pipeline.workers import WorkerRunner, Workers

            self._workers = Workers(workers(), data, store)
            self._runner_type = WorkerRunner   # made by `_workers.runner` (which worker)
        for cam, sealed in store.cameras():
            self._cameras[cam.id] = cam
            self._runners[cam.id] = self._new_runner(cam, self._open_source(sealed),
                                                     store.zones(cam.id))
        if demo and store.meta(DEMO_FLAG) is None:
            self._create_demo()
        self._watching = threading.Event()
        self._watch = threading.Thread(target=self._watch_store, name="store watch",
                                       daemon=True)
        self.delivery: Any = None   # scheduled reports, when HEATMAP_DASHBOARD_REPORTS is set
        if autostart:
            self._watch.start()
            self._start_delivery()
            for cam in self.cameras():
                if cam.enabled:
                    self._runners[cam.id].start()

    def _start_delivery(self) -> None:
        from dashboard.config.env import report_settings
        from dashboard.service.delivery import ReportDelivery

        settings = report_settings()
        if settings["kinds"]:
            self.delivery = ReportDelivery(self, settings).start()

    def _new_runner(self, cam: Camera, source: str, zones: list[ZoneSpec]) -> CameraRunner:
        kind = self._runner_class(source)
        make = self._workers.runner if self._workers is not None and kind is not CameraRunner \
            else kind
        return make(cam, source, zones, self.store, spool=self.spool / f"{cam.id}.jsonl",
                    integrations=self.integrations, **self._detector)

    def _runner_class(self, source: str) -> Any:
        """Where a camera runs: a browser's frames arrive in this process, so its camera
        runs here too; the others on the cluster when there is one."""
        return CameraRunner if source == BROWSER else self._runner_type

    def _watch_store(self) -> None:
        """Every second: is the database file still there and writable (see
        `Store.check`), and do stopped cameras have crossings waiting to be written? Every
        `PRUNE_EVERY_S`: retention, once for all cameras."""
        pruned = time.monotonic()
        while not self._watching.wait(WATCH_S):
            try:
                self.store.check()
                with self._lock:
                    runners = list(self._runners.values())
                for r in runners:
                    r.retry()
                if time.monotonic() - pruned >= PRUNE_EVERY_S:
                    pruned = time.monotonic()
                    self.prune()
            except Exception:   # noqa: BLE001 - the watch must outlive any one bad round
                log.exception("store watch")

    def prune(self) -> None:
        """Retention: raw events and visits past their age go, per-minute figures past
        theirs (totals stay: counts stay right). While the database cannot be written it
        waits for the next round (the store says why)."""
        from dashboard.config.env import retention_s

        try:
            self.store.prune(retention_s("events"), retention_s("minutes"))
            now = time.time()
            for cam in self.cameras():   # each camera's pictures: its own age and size cap
                p = cam.presentation
                self.store.prune_evidence(cam.id, now - p.evidence_days * 86400.0,
                                          p.evidence_mb * 1_000_000)
        except StoreUnavailable:
            pass

    @needs(Role.VIEWER)
    def store_health(self) -> str | None:
        """What is wrong with the database now, in words, or None when all is well.

        Example:
            >>> import tempfile
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> svc.store_health() is None
            True
            >>> svc.shutdown()
        """
        fault = self.store.fault
        waiting = sum(self._read(cid, "behind", lambda last, s: last or 0)
                      for cid in list(self._runners))
        if fault is None and not waiting:
            return None
        return f"database: {fault or 'catching up'}" + \
            (f", {waiting} counted events waiting" if waiting else "")

    @needs(Role.VIEWER)
    def integrations_health(self) -> str | None:
        """What is wrong with the webhook or MQTT delivery now, or None."""
        return self.integrations.status()

    def _open_source(self, sealed: str) -> str:
        try:
            return self.vault.open(sealed)
        except DashboardError as e:
            log.error("%s", e)
            return ""   # the camera fails with a clear message when started

    def _create_demo(self) -> None:
        cam = self.add_camera(DEMO_NAME, "demo", {"imgsz": DEMO_IMGSZ, "loop": True}, enabled=True,
                              start=False)
        w, h = DEMO_SIZE
        for d in json.loads((DEMO_DIR / "demo_zones.json").read_text())["zones"]:
            spec = ZoneSpec.from_pixels(d, w, h)
            self.add_zone(cam.id, spec.name, spec.kind.value, spec.points)
        self.store.set_meta(DEMO_FLAG, str(time.time()))
        log.info("created the demo camera %s", cam.id)


    # -- lifecycle ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every runner (each writes what it counted and its heat); cameras stay enabled
        so they start again with the server."""
        self._watching.set()
        if self.delivery is not None:
            self.delivery.close()
        with self._lock:
            runners = list(self._runners.values())
        for r in runners:
            r.close()
        if self._workers is not None:
            self._workers.close()
        self._readings.close()
        self.integrations.close()





_shared: Service | None = None
_shared_lock = threading.Lock()


def shared_service() -> Service:
    """This server process's service, with its store in the data directory.

    Example:
        >>> shared_service() is shared_service()  # doctest: +SKIP
        True
    """
    global _shared
    with _shared_lock:
        if _shared is None:
            from dashboard.config.env import data_dir, demo_enabled

            folder = data_dir()
            _shared = Service(open_store(folder), folder, demo=demo_enabled())
        return _shared


def close_shared_service() -> None:
    """Stop the process's service (on server shutdown)."""
    global _shared
    with _shared_lock:
        svc, _shared = _shared, None
    if svc is not None:
        svc.shutdown()
        svc.store.close()

