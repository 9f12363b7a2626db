"""Cameras on a Ray cluster, chosen by HEATMAP_DASHBOARD_RAY_ADDRESS ("auto", "host:port" or
"ray://host:port"); without it nothing here is imported, and Ray is never loaded.

Each camera is a `CameraActor` (a `CameraRunner` in a Ray worker) declaring the CPUs it needs
(HEATMAP_DASHBOARD_RAY_CPUS, default 1), spread over the nodes. When its node dies, Ray
starts it again on another node: the actor reads its camera, zones, counts, heat and a
file's position from the shared database (PostgreSQL: HEATMAP_DASHBOARD_DATABASE_URL is
required), starts if the camera is enabled, and a file resumes where its last commit left
it (with the runner's warm-up: nothing lost, nothing counted twice).

The server process keeps a `RayRunner` per camera in place of a `CameraRunner`, with the same
methods, so the service, the pages and the API do not know the difference. Its calls wait a
few seconds at most: while a camera moves, its status says so instead of hanging a page.
"""
from __future__ import annotations

import logging
import tempfile
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import ray

from dashboard.engine import Tracks
from dashboard.config.camera import Camera
from dashboard.config.kinds import CameraState
from dashboard.config.zone import ZoneSpec
from dashboard.errors import DashboardError
from dashboard.integrations.core import Integrations
from dashboard.pipeline.runner import CameraRunner
from dashboard.pipeline.snapshot import Snapshot
from dashboard.pipeline.stand_in import Forwarded
from dashboard.config.env import database_url, mqtt_url, ray_cpus, webhook_url

log = logging.getLogger(__name__)

NAMESPACE = "heatmap-dashboard"
CALL_TIMEOUT_S = 5.0        # a reading (pages do not wait even that: service/readings.py)
COMMAND_TIMEOUT_S = 60.0    # a change an operator made and waits for (a busy node is slow)
_connected = threading.Lock()


def connect(address: str) -> None:
    """Join the cluster once per process (as a driver). `DashboardError` if it cannot be."""
    with _connected:
        if ray.is_initialized():
            return
        if database_url() is None:
            raise DashboardError("Cameras on Ray need a database every node reaches: set "
                                 "HEATMAP_DASHBOARD_DATABASE_URL=postgresql://... too.")
        try:
            ray.init(address=address, namespace=NAMESPACE, logging_level=logging.WARNING,
                     log_to_driver=False)
        except Exception as e:  # noqa: BLE001 - ray raises many kinds; say what to do
            raise DashboardError(f"Cannot join the Ray cluster at {address}: {e}. Is "
                                 "`ray start --head` running there?") from None
        log.info("cameras run on the Ray cluster at %s", address)


@ray.remote(max_restarts=-1, max_task_retries=-1)
class CameraActor:
    """One camera in a Ray worker; built again from the database when Ray restarts it."""

    def __init__(self, cid: str, source: str, url: str, webhook_url: str | None = None,
                 mqtt_url: str | None = None) -> None:
        from dashboard.store.postgres import PostgresStore

        logging.basicConfig(level=logging.INFO)
        self.store = PostgresStore(url)
        cameras = {c.id: c for c, _ in self.store.cameras()}
        if cid not in cameras:
            raise DashboardError(f"There is no camera {cid} in the database.")
        cam = cameras[cid]
        spool = Path(tempfile.gettempdir()) / "heatmap-dashboard-spool" / f"{cid}.jsonl"
        # Alerts and counts go out from where they are counted, to the server's webhook and
        # broker (its settings, handed over), through an outbox of this node's.
        # The server alone speaks for itself on `<prefix>/available`.
        self.integrations = Integrations(webhook_url, mqtt_url, Path(tempfile.gettempdir())
                                         / "heatmap-dashboard-outbox" / cid,
                                         availability=False)
        self.runner = CameraRunner(cam, source, self.store.zones(cam.id), self.store,
                                   spool=spool, integrations=self.integrations)
        # First made, the server starts it (as it starts local cameras); made again after
        # its node died, it carries on by itself if it was meant to run.
        if ray.get_runtime_context().was_current_actor_reconstructed:
            log.warning("camera %s started again on node %s", cid, self.node())
            if cam.enabled:
                self.runner.start()

    def node(self) -> str:
        return ray.get_runtime_context().get_node_id()

    def call(self, method: str, *args: Any) -> Any:
        return getattr(self.runner, method)(*args)

    def get(self, name: str) -> Any:
        return getattr(self.runner, name)

    def snapshot(self) -> Snapshot:
        """The snapshot without its raw frame (pictures come by `call("jpeg")`)."""
        return replace(self.runner.snapshot(), frame=None, tracks=Tracks.empty(),
                       where=self.node())

    def close(self) -> None:
        self.runner.close()
        self.integrations.close()
        self.store.close()


class RayRunner(Forwarded):
    """A camera's runner on the cluster, as the service sees it (`CameraRunner`'s methods).

    Example:
        >>> r = RayRunner(cam, "rtsp://...", zones, store)  # doctest: +SKIP
        >>> r.start(); r.snapshot().state                    # doctest: +SKIP
        <CameraState.LOADING: 'loading model'>
    """

    COMMAND_S = COMMAND_TIMEOUT_S

    def __init__(self, camera: Camera, source: str, zones: list[ZoneSpec], store: Any,
                 **_: Any) -> None:
        # The server's own integrations stay here (the spool too): the actor sends from its
        # node, to the webhook and broker the server's settings name.
        self.camera, self._source, self.store = camera, source, store
        # Its zones are kept here too (every change comes through `set_zones`), so that
        # reading them never waits on the cluster.
        self._zones = list(zones)
        cpus = ray_cpus()
        self._actor = CameraActor.options(
            name=f"camera-{camera.id}", get_if_exists=True, num_cpus=cpus,
            scheduling_strategy="SPREAD").remote(camera.id, source, database_url(),
                                                 webhook_url(), mqtt_url())
        self._last = Snapshot(state=CameraState.LOADING)

    def _call(self, method: str, *args: Any, timeout_s: float = CALL_TIMEOUT_S) -> Any:
        try:
            return ray.get(self._actor.call.remote(method, *args), timeout=timeout_s)
        except ray.exceptions.GetTimeoutError:
            raise DashboardError(f"Camera {self.camera.name} does not answer now (it may be "
                                 "moving to another machine); try again.") from None

    def snapshot(self) -> Snapshot:
        try:
            self._last = ray.get(self._actor.snapshot.remote(), timeout=CALL_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            return replace(self._last, state=CameraState.CONNECTING,
                           detail="Moving to another machine (its node stopped answering).")
        return self._last

    # The commands and readings, forwarded.
    def start(self) -> None:
        self._call("start", timeout_s=COMMAND_TIMEOUT_S)

    def stop(self) -> None:
        self._call("stop", timeout_s=90)

    def reset(self) -> None:
        self._call("reset", timeout_s=90)

    def configure(self, camera: Camera, source: str) -> bool:
        self.camera, self._source = camera, source
        return self._call("configure", camera, source, timeout_s=COMMAND_TIMEOUT_S)

    def record(self, recorder: Any) -> None:
        """Samples are written where the camera runs; a Ray node's disk is not the
        server's media folder, so a camera on the cluster records none (yet)."""
        raise DashboardError("This camera runs on a Ray node: a sample is recorded only by "
                             "a camera on the server's own machine.")

    @property
    def behind(self) -> int:
        return self._get("behind")

    def _get(self, name: str) -> Any:
        try:
            return ray.get(self._actor.get.remote(name), timeout=CALL_TIMEOUT_S)
        except ray.exceptions.GetTimeoutError:
            return 0

    def retry(self) -> None:
        """The actor's own writer retries by itself."""

    def close(self) -> None:
        try:
            ray.get(self._actor.close.remote(), timeout=90)
        except Exception:  # noqa: BLE001 - a dead actor has nothing left to close
            pass
        ray.kill(self._actor, no_restart=True)
