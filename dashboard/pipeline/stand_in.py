"""What a camera's stand-in forwards as it is: the server's side of a runner that runs
elsewhere (`workers.WorkerRunner` in a worker process, `cluster.RayRunner` on a Ray node)
has `CameraRunner`'s readings and these commands, each one call over its own channel."""
from __future__ import annotations

from typing import Any

from dashboard.config.camera import Camera
from dashboard.config.zone import ZoneSpec
from dashboard.errors import DashboardError


class Forwarded:
    """The readings and commands a stand-in passes on unchanged, over its `_call(method,
    *args, timeout_s=...)`; its zones are kept here too (every change comes through
    `set_zones`), so reading them never waits on the camera.

    Example:
        >>> class Echo(Forwarded):
        ...     _zones = []
        ...     def _call(self, method, *args, timeout_s=5.0):
        ...         return (method, *args)
        >>> Echo().heat_bytes("png")
        ('heat_bytes', 'png')
    """

    COMMAND_S: float     # how long a change an operator made is waited for: each stand-in's
    camera: Camera
    _source: str
    _zones: list[ZoneSpec]

    def _call(self, method: str, *args: Any, timeout_s: float = 5.0) -> Any:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return self.camera.name

    @property
    def source(self) -> str:
        """The real address (credentials included): never to be shown or logged."""
        return self._source

    def set_zones(self, specs: list[ZoneSpec]) -> None:
        self._zones = list(specs)       # as stored already: what a rebuilt runner reads
        self._call("set_zones", specs, timeout_s=self.COMMAND_S)

    def zone_specs(self) -> list[ZoneSpec]:
        return list(self._zones)

    def jpeg(self) -> bytes | None:
        return self._call("jpeg")

    def still(self) -> Any:
        return self._call("still", timeout_s=20)

    def heat_bytes(self, kind: str) -> bytes | None:
        return self._call("heat_bytes", kind)

    def recent_events(self, n: int = 20) -> list:
        return self._call("recent_events", n)

    def recent_alerts(self, n: int = 20) -> list:
        return self._call("recent_alerts", n)

    def store_status(self) -> str | None:
        try:
            return self._call("store_status")
        except DashboardError:
            return None
