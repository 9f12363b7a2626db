"""The service: the one place that knows cameras and zones by id. The page, the HTTP API
and the CLI all go through it; none of them reaches into runners, engines or the store.

It keeps one `CameraRunner` per saved camera, starts the enabled ones when the server
starts (whether or not anyone has a page open), and makes every change in one order:
check, store, then the runner.
"""
from __future__ import annotations

import functools
import inspect
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, TypeVar

from .auth import Auth, Role, User
from .credentials import SourceVault, env_names, expand_env
from .demo import DEMO_DIR
from .engine.zones import ZoneCounts
from .engine.heatmap import HeatmapAccumulator
from .entities import (CONFIRM_FRAMES, ZONE_ANCHOR, Camera, CameraId, CameraSettings,
                       CameraState, Presentation, ZoneId, ZoneKind, ZoneSpec, camera_name,
                       new_id)
from .errors import (Conflict, DashboardError, LoginFailed, NotAllowed, NotFound, SessionEnded,
                     StoreUnavailable)
from .runner import CameraRunner, Snapshot
from .sources import BROWSER, check_address, is_webcam_index, mask_secrets
from .integrations import Integrations
from .store import SQLiteStore, csv_text, iso, open_store

log = logging.getLogger(__name__)

DEMO_FLAG = "demo_created"
DEMO_NAME = "Demo street"
DEMO_SIZE = (640, 360)   # the demo zones file is in pixels of the demo clip
WATCH_S = 1.0            # how often the database file is looked at


def shown_source(source: str, media: Path) -> str:
    """What a source may be shown as: credentials masked; a file by its name in the media
    folder, not its path on the server.

    Example:
        >>> shown_source("rtsp://admin:pw@cam/live", Path("/m")), shown_source("/m/a.mp4", Path("/m"))
        ('rtsp://***@cam/live', 'a.mp4')
    """
    if "://" not in source and source not in ("demo", BROWSER) and not is_webcam_index(source):
        try:
            return str(Path(source).resolve().relative_to(media.resolve()))
        except ValueError:
            return Path(source).name
    return mask_secrets(source)


def keep_by_hash(folder: Path, data: bytes, suffix: str) -> str:
    """Store `data` in `folder` under its content's hash (written whole, then renamed);
    the same content is kept once. Returns the path.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> keep_by_hash(d, b"x", ".mp4") == keep_by_hash(d, b"x", ".mp4")
        True
    """
    import hashlib

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}{suffix}"
    if not path.exists():
        tmp = path.with_suffix(".partial")
        tmp.write_bytes(data)
        tmp.replace(path)
    return str(path)


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

    @classmethod
    def of(cls, s: Snapshot, store: str | None = None) -> "CameraStatus":
        return cls(s.state, s.detail, round(s.processed_fps, 2), round(s.source_fps, 2),
                   round(s.frame_age_s, 3), s.frames_read, s.frames_dropped, s.total_tracks,
                   s.frame_size, s.runtime, s.notice, store, s.advice, s.where)

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["state"] = self.state.value
        d["frame_size"] = list(self.frame_size) if self.frame_size else None
        return d


F = TypeVar("F", bound=Callable[..., Any])


def needs(role: Role, audited: bool | None = None) -> Callable[[F], F]:
    """Declare, on a use case itself, the least role that may call it through a
    `UserService` (checked each time it acts; a method without it is refused to everyone).
    Changes (anything an operator or admin may do) go to the audit log, unless `audited`
    says otherwise (reads of admin data, frames many times a second).

    Example:
        >>> @needs(Role.OPERATOR)
        ... def stop(self, cid): ...
        >>> stop.needs, stop.audited
        (<Role.OPERATOR: 'operator'>, True)
    """
    def mark(fn: F) -> F:
        fn.needs = role                                          # type: ignore[attr-defined]
        fn.audited = role is not Role.VIEWER if audited is None else audited  # type: ignore[attr-defined]
        return fn
    return mark


class Service:
    """Cameras, zones, counts, events, exports and pictures, by id.

    Example:
        >>> import tempfile
        >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
        >>> cam = svc.add_camera("Door", "demo", {"imgsz": 320}, enabled=False)
        >>> z = svc.add_zone(cam.id, "gate", "line", [[0.5, 0.1], [0.5, 0.9]])
        >>> [f.name for f in svc.counts(cam.id)], svc.status(cam.id).state.value
        (['gate'], 'stopped')
        >>> svc.shutdown()
    """

    def __init__(self, store: SQLiteStore, data: Path, demo: bool = True,
                 autostart: bool = True, runner_type: Any = None) -> None:
        from .settings import media_dir, ray_address, spool_dir

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
        # Cameras on a Ray cluster when one is named; a service that runs none (the CLI's)
        # never joins it.
        # `runner_type`: what runs each camera, when a test hands one in (CameraRunner's
        # constructor and methods).
        self._runner_type: Any = runner_type or CameraRunner
        if runner_type is None and autostart and ray_address() is not None:
            from .cluster import RayRunner, connect

            connect(ray_address())
            self._runner_type = RayRunner
        for cam, sealed in store.cameras():
            self._cameras[cam.id] = cam
            self._runners[cam.id] = self._new_runner(cam, self._open_source(sealed),
                                                     store.zones(cam.id))
        if demo and store.meta(DEMO_FLAG) is None:
            self._create_demo()
        self._watching = threading.Event()
        self._watch = threading.Thread(target=self._watch_store, name="store watch",
                                       daemon=True)
        if autostart:
            self._watch.start()
            for cam in self.cameras():
                if cam.enabled:
                    self._runners[cam.id].start()

    def _new_runner(self, cam: Camera, source: str, zones: list[ZoneSpec]) -> CameraRunner:
        return self._runner_class(source)(cam, source, zones, self.store,
                                          spool=self.spool / f"{cam.id}.jsonl",
                                          integrations=self.integrations)

    def _runner_class(self, source: str) -> Any:
        """Where a camera runs: a browser's frames arrive in this process, so its camera
        runs here too; the others on the cluster when there is one."""
        return CameraRunner if source == BROWSER else self._runner_type

    def _watch_store(self) -> None:
        """Every second: is the database file still there and writable (see
        `SQLiteStore.check`), and do stopped cameras have crossings waiting to be written?"""
        while not self._watching.wait(WATCH_S):
            try:
                self.store.check()
                with self._lock:
                    runners = list(self._runners.values())
                for r in runners:
                    r.retry()
            except Exception:   # noqa: BLE001 - the watch must outlive any one bad round
                log.exception("store watch")

    @needs(Role.VIEWER)
    def store_health(self) -> str | None:
        """What is wrong with the database now, in words, or None when all is well.

        Example:
            >>> import tempfile
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> svc.store_health() is None
            True
            >>> svc.shutdown()
        """
        fault = self.store.fault
        waiting = sum(r.behind for r in self._runners.values())
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
        cam = self.add_camera(DEMO_NAME, "demo", {"imgsz": 320, "loop": True}, enabled=True,
                              start=False)
        w, h = DEMO_SIZE
        for d in json.loads((DEMO_DIR / "demo_zones.json").read_text())["zones"]:
            spec = ZoneSpec.from_pixels(d, w, h)
            self.add_zone(cam.id, spec.name, spec.kind.value, spec.points)
        self.store.set_meta(DEMO_FLAG, str(time.time()))
        log.info("created the demo camera %s", cam.id)

    # -- cameras --------------------------------------------------------------------------
    @needs(Role.VIEWER)
    def cameras(self) -> list[Camera]:
        with self._lock:
            return list(self._cameras.values())

    @needs(Role.VIEWER)
    def camera(self, cid: str) -> Camera:
        with self._lock:
            cam = self._cameras.get(CameraId(cid))
        if cam is None:
            raise NotFound(f"There is no camera {cid!r}.")
        return cam

    def _runner(self, cid: str) -> CameraRunner:
        self.camera(cid)
        return self._runners[CameraId(cid)]

    def _check_name(self, name: Any, exclude: str | None = None) -> str:
        name = camera_name(name)
        if any(c.name.lower() == name.lower() and c.id != exclude for c in self.cameras()):
            raise Conflict(f"A camera called {name!r} exists already: pick another name.")
        return name

    def _check_source(self, source: Any) -> str:
        """The source to store, checked: "demo", a webcam index, an rtsp(s)/http(s) URL (to
        an allowed host, if a list is set), or a video file inside the media folder (given
        by its name there or its path; one answer for every way a path can be wrong, so the
        answer tells nothing of the server's other files)."""
        if not isinstance(source, str) or not source.strip():
            raise DashboardError("A camera needs a source: 'demo', a video in the media "
                                 "folder, a webcam index, an rtsp:// or http(s):// address, "
                                 "or 'browser' (the camera of the browser that opens its page).")
        source = source.strip()
        if source in ("demo", BROWSER) or is_webcam_index(source):
            return source
        if "://" in source:
            # Checked now as far as it can be (a variable may be set later), and again with
            # the variables filled in each time the camera opens (`resolve_address`).
            unset = [n for n in env_names(source) if n not in os.environ]
            if not unset:
                check_address(expand_env(source))
            return source
        media = self.media.resolve()
        try:
            path = (media / source).resolve(strict=True)   # an absolute path stays itself
            path.relative_to(media)
            if not path.is_file():
                raise ValueError
        except (OSError, ValueError, RuntimeError):
            raise DashboardError(f"There is no video {Path(source).name[:80]!r} in the media "
                                 f"folder: put the file in {media} (or upload it) and give "
                                 "its name.") from None
        return str(path)

    @needs(Role.ADMIN)
    def save_upload(self, name: str, data: bytes) -> str:
        """Keep an uploaded video in the media folder's uploads/, named by its content's
        hash (the same file uploaded twice is kept once; a name says nothing); returns
        the source to give `add_camera`."""
        suffix = Path(str(name)).suffix.lower()
        if suffix not in (".mp4", ".avi", ".mkv", ".mov", ".webm"):
            raise DashboardError("Upload a video file (mp4, avi, mkv, mov, webm).")
        return keep_by_hash(self.media / "uploads", data, suffix)

    @needs(Role.ADMIN)
    def save_model(self, name: str, data: bytes) -> str:
        """Keep an uploaded model (.pt or .onnx) in the data directory's models/, named by
        its content's hash (a name says nothing; the same file is kept once); returns the
        path to give as a camera's model. A checkpoint is only ever unpickled through
        ultralytics' restricted loader, so a crafted one cannot run code."""
        suffix = Path(str(name)).suffix.lower()
        if suffix not in (".pt", ".onnx"):
            raise DashboardError("Upload a model file: .pt (ultralytics) or .onnx.")
        if not data:
            raise DashboardError("The uploaded model file is empty.")
        return keep_by_hash(self.models, data, suffix)

    def _clean_uploads(self) -> None:
        """Delete uploaded videos no camera uses any more."""
        used = {self._runners[c.id].source for c in self.cameras()}
        for f in (self.media / "uploads").glob("*"):
            if f.is_file() and str(f) not in used and str(f.resolve()) not in used:
                f.unlink(missing_ok=True)
                log.info("removed the unused upload %s", f.name)

    @needs(Role.ADMIN)
    def add_camera(self, name: Any, source: Any, settings: dict[str, Any] | None = None,
                   presentation: dict[str, Any] | None = None, enabled: bool = True,
                   start: bool = True) -> Camera:
        """Save a new camera (and start it if enabled); returns it with its id."""
        from .settings import blur_default

        with self._lock:
            name = self._check_name(name)
            source = self._check_source(source)
            looks = {"blur": blur_default(), **(presentation or {})}
            cam = Camera(CameraId(new_id("cam")), name, shown_source(source, self.media),
                         CameraSettings.from_dict(settings or {}),
                         Presentation.from_dict(looks), bool(enabled), time.time())
            self.store.add_camera(cam, self.vault.seal(source))
            self._cameras[cam.id] = cam
            runner = self._runners[cam.id] = self._new_runner(cam, source, [])
        log.info("camera %s added: %s (%s)", cam.id, cam.name, cam.source)
        if cam.enabled and start:
            runner.start()
        return cam

    @needs(Role.ADMIN)
    def update_camera(self, cid: str, name: Any = None, source: Any = None,
                      settings: dict[str, Any] | None = None,
                      presentation: dict[str, Any] | None = None) -> Camera:
        """Change a camera's name, source, settings (merged over the current ones) or looks.
        Its id, zones, counts and heat stay; a running camera restarts if it must."""
        with self._lock:
            cam = self.camera(cid)
            runner = self._runners[cam.id]
            new = replace(
                cam,
                name=cam.name if name is None else self._check_name(name, cam.id),
                settings=cam.settings if settings is None
                else CameraSettings.from_dict(settings, cam.settings),
                presentation=cam.presentation if presentation is None
                else Presentation.from_dict(presentation, cam.presentation))
            sealed = None
            real = runner.source
            if source is not None:
                real = self._check_source(source)
                new = replace(new, source=shown_source(real, self.media))
                sealed = self.vault.seal(real)
            self.store.update_camera(new, sealed)
            self._cameras[cam.id] = new
            if type(runner) is not self._runner_class(real):   # to or from a browser, on Ray
                runner.close()
                runner = self._runners[cam.id] = self._new_runner(new, real, runner.zone_specs())
                restart = new.enabled
            else:
                restart = runner.configure(new, real)
        if source is not None:
            self._clean_uploads()
        log.info("camera %s updated", cam.id)
        if restart:
            runner.start()
        return new

    @needs(Role.ADMIN)
    def remove_camera(self, cid: str) -> None:
        """Stop a camera and archive it with its zones and counts."""
        with self._lock:
            cam = self.camera(cid)
            runner = self._runners.pop(cam.id)
            del self._cameras[cam.id]
        runner.close()
        self.store.delete_camera(cam.id)
        self._clean_uploads()
        log.info("camera %s removed", cam.id)

    def _set_enabled(self, cam: Camera, enabled: bool) -> None:
        """Remember whether the camera runs after a restart. While the database cannot be
        written Start and Stop still act (the store has said why); only that memory waits."""
        if cam.enabled != enabled:
            new = replace(cam, enabled=enabled)
            with self._lock:
                self._cameras[cam.id] = new
            try:
                self.store.update_camera(new)
            except StoreUnavailable:
                log.warning("camera %s: %s, but a restart will not remember it (the database "
                            "cannot be written)", cam.id, "started" if enabled else "stopped")

    @needs(Role.OPERATOR)
    def start(self, cid: str) -> CameraStatus:
        """Enable a camera and start it; it starts again after a server restart."""
        cam = self.camera(cid)
        self._set_enabled(cam, True)
        self._runners[cam.id].start()
        return self.status(cid)

    @needs(Role.OPERATOR)
    def stop(self, cid: str) -> CameraStatus:
        """Disable a camera and stop it until Start; counts are kept."""
        cam = self.camera(cid)
        self._set_enabled(cam, False)
        self._runners[cam.id].stop()
        return self.status(cid)

    @needs(Role.OPERATOR)
    def reset(self, cid: str) -> None:
        """Counts, events and heat to zero; the old ones are archived, not deleted."""
        self._runner(cid).reset()
        log.info("camera %s reset", cid)

    @needs(Role.VIEWER)
    def status(self, cid: str) -> CameraStatus:
        runner = self._runner(cid)
        return CameraStatus.of(runner.snapshot(), runner.store_status())

    @needs(Role.OPERATOR, audited=False)
    def push_frame(self, cid: str, sender: str, image: Any) -> Any:
        """Count a frame of the camera of the browser that has this camera's page open
        (`sender`: that page's own random id; one browser at a time). Returns the picture to
        send back: the newest overlay (BGR), or None before the first. `DashboardError`
        says why a frame is not taken (stopped, another browser sends, not a browser camera).

        Example:
            >>> import tempfile, numpy as np
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> cam = svc.add_camera("Laptop", "browser", enabled=False)
            >>> svc.push_frame(cam.id, "tab-1", np.zeros((360, 640, 3), np.uint8))
            Traceback (most recent call last):
            dashboard.errors.DashboardError: The camera is stopped: press Start ...
            >>> svc.shutdown()
        """
        picture = self._runner(cid).push(sender, image)
        return None if picture is None else picture[0]

    # -- zones ----------------------------------------------------------------------------
    @needs(Role.VIEWER)
    def zones(self, cid: str) -> list[ZoneSpec]:
        self.camera(cid)
        return self._runners[CameraId(cid)].zone_specs()

    @needs(Role.VIEWER)
    def zone(self, cid: str, zid: str) -> ZoneSpec:
        for z in self.zones(cid):
            if z.id == zid:
                return z
        raise NotFound(f"Camera {cid!r} has no zone {zid!r}.")

    def _check_zone_name(self, cid: str, name: str, exclude: str | None = None) -> None:
        if any(z.name.lower() == name.lower() and z.id != exclude for z in self.zones(cid)):
            raise Conflict(f"This camera has a zone called {name!r} already: pick another name.")

    def _put_zones(self, cid: str, specs: list[ZoneSpec]) -> None:
        self._runners[CameraId(cid)].set_zones(specs)

    @needs(Role.OPERATOR)
    def add_zone(self, cid: str, name: Any, kind: Any, points: Any,
                 anchor: Any = ZONE_ANCHOR, confirm_frames: Any = CONFIRM_FRAMES,
                 **rules: Any) -> ZoneSpec:
        """Add a zone (points in 0..1 of the frame); it starts at zero, whatever its name.
        `rules`: classes (counted), limit, wrong_way (see `ZoneSpec`)."""
        with self._lock:
            spec = ZoneSpec.create(name, kind, points, anchor, confirm_frames, **rules)
            self._check_zone_name(cid, spec.name)
            self.store.save_zone(CameraId(cid), spec)
            self._put_zones(cid, [*self.zones(cid), spec])
        log.info("camera %s: zone %s added (%s)", cid, spec.id, spec.name)
        return spec

    @needs(Role.OPERATOR)
    def update_zone(self, cid: str, zid: str, **changes: Any) -> ZoneSpec:
        """Rename, reshape or change a zone's rules; its id and counts stay."""
        with self._lock:
            new = self.zone(cid, zid).updated(changes)
            self._check_zone_name(cid, new.name, exclude=zid)
            self.store.save_zone(CameraId(cid), new)
            self._put_zones(cid, [new if z.id == zid else z for z in self.zones(cid)])
        return new

    @needs(Role.OPERATOR)
    def flip_zone(self, cid: str, zid: str) -> ZoneSpec:
        """Swap a line's IN and OUT sides for future crossings."""
        with self._lock:
            new = self.zone(cid, zid).flipped()
            self.store.save_zone(CameraId(cid), new)
            self._put_zones(cid, [new if z.id == zid else z for z in self.zones(cid)])
        return new

    @needs(Role.OPERATOR)
    def delete_zone(self, cid: str, zid: str) -> None:
        """Remove a zone; its counts are archived under its id, never given to another
        (`restore_zone` brings it back with them)."""
        with self._lock:
            self.zone(cid, zid)
            self.store.delete_zone(ZoneId(zid))
            self._put_zones(cid, [z for z in self.zones(cid) if z.id != zid])
        log.info("camera %s: zone %s deleted", cid, zid)

    @needs(Role.OPERATOR)
    def restore_zone(self, cid: str, zid: str) -> ZoneSpec:
        """Undo a delete: the zone is back with its id and its counts (unless its name was
        taken meanwhile: then rename that one first)."""
        with self._lock:
            self.camera(cid)
            if any(z.id == zid for z in self.zones(cid)):
                raise Conflict(f"Zone {zid!r} is not deleted.")
            try:
                spec = self.store.restore_zone(CameraId(cid), ZoneId(zid))
            except StoreUnavailable:
                raise
            except DashboardError as e:
                raise NotFound(str(e)) from None
            try:
                self._check_zone_name(cid, spec.name)
            except Conflict:
                self.store.delete_zone(ZoneId(zid))
                raise
            self._put_zones(cid, [*self.zones(cid), spec])
        log.info("camera %s: zone %s restored", cid, zid)
        return spec

    # -- figures --------------------------------------------------------------------------
    @needs(Role.VIEWER)
    def counts(self, cid: str) -> list[ZoneFigures]:
        """Every zone's in, out, occupancy and per-class counts, in the zones' order."""
        snap = self._runner(cid).snapshot()
        alerting = {a.zone for a in snap.alerts}
        return [ZoneFigures(z.id, z.name, z.kind, snap.counts.get(z.id) or ZoneCounts(),
                            z.limit, z.id in alerting)
                for z in self.zones(cid) if z.kind.counts]

    @needs(Role.VIEWER)
    def dwell(self, cid: str, since: float | None = None, until: float | None = None
              ) -> list[dict[str, Any]]:
        """Per area: visits that ended in [since, until) with their average and longest
        seconds, and who is inside now with their time so far.

        Example:
            >>> import tempfile
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> cam = svc.add_camera("Shop", "demo", enabled=False)
            >>> _ = svc.add_zone(cam.id, "aisle", "polygon", [[0, 0], [1, 0], [1, 1]])
            >>> [(d["zone"], d["visits"], d["inside"]) for d in svc.dwell(cam.id)]
            [('aisle', 0, [])]
            >>> svc.shutdown()
        """
        snap = self._runner(cid).snapshot()
        stats = self.store.dwell(CameraId(cid), since, until)
        now = time.time()
        out = []
        for z in self.zones(cid):
            if z.kind is not ZoneKind.POLYGON:
                continue
            n, avg, top = stats.get(z.id, (0, None, None))
            out.append({"zone_id": z.id, "zone": z.name, "visits": n,
                        "average_s": None if avg is None else round(avg, 3),
                        "longest_s": None if top is None else round(top, 3),
                        "inside": [{"track_id": v.track_id, "class": v.cls_name,
                                    "entered": v.entered, "seconds": round(now - v.entered, 1)}
                                   for v in snap.inside.get(z.id, [])]})
        return out

    @needs(Role.VIEWER)
    def visits(self, cid: str, since: float | None = None, until: float | None = None,
               limit: int = 1000) -> list[dict[str, Any]]:
        """Finished visits (camera, zone, track, class, entered, left, seconds), oldest
        first, that ended in [since, until)."""
        self.camera(cid)
        names = self._names(cid)
        rows = self.store.visits(CameraId(cid), since, until, max(1, min(int(limit),
                                                                         10_000_000)))
        return [{"zone_id": v.zone, "zone": names.get(v.zone, v.zone), "track_id": v.track_id,
                 "class": v.cls_name, "entered": v.entered, "left": v.left,
                 "seconds": round(v.seconds, 3)} for v in rows]

    @needs(Role.VIEWER)
    def visits_csv(self, cid: str, since: float | None = None, until: float | None = None
                   ) -> str:
        cam = self.camera(cid)
        return csv_text(["camera", "zone", "zone_id", "track_id", "class", "entered", "left",
                         "seconds"],
                        ([cam.name, v["zone"], v["zone_id"], v["track_id"], v["class"],
                          iso(v["entered"]), iso(v["left"]), f"{v['seconds']:.1f}"]
                         for v in self.visits(cid, since, until, 10_000_000)))

    @needs(Role.VIEWER)
    def alerts(self, cid: str, since: float | None = None, limit: int = 100
               ) -> list[dict[str, Any]]:
        """Alerts going on now and those started since `since`, newest first."""
        self.camera(cid)
        names = self._names(cid)
        return [{**a.to_dict(), "zone_id": a.zone, "zone": names.get(a.zone, a.zone),
                 "active": a.active}
                for a in self.store.alerts(CameraId(cid), since, max(1, min(int(limit), 10_000)))]

    @needs(Role.VIEWER)
    def recent_alerts(self, cid: str, n: int = 10) -> list[dict[str, Any]]:
        """The newest alerts of this run, newest first (from memory, for the page)."""
        names = self._names(cid)
        return [{**a.to_dict(), "zone_id": a.zone, "zone": names.get(a.zone, a.zone),
                 "active": a.active} for a in self._runner(cid).recent_alerts(n)]

    def _names(self, cid: str) -> dict[str, str]:
        return {z.id: z.name for z in self.zones(cid)}

    @needs(Role.VIEWER)
    def events(self, cid: str, since: float | None = None, until: float | None = None,
               limit: int = 100) -> list[dict[str, Any]]:
        """Stored crossings, oldest first from `since`, or the newest `limit` without it."""
        self.camera(cid)
        limit = max(1, min(int(limit), 10_000))
        rows = self.store.events(CameraId(cid), since, until, limit, newest_first=since is None)
        if since is None:
            rows.reverse()
        names = self._names(cid)
        return [{"t": e.t, "time": iso(e.t), "zone_id": e.zone, "zone": names.get(e.zone, e.zone),
                 "track_id": e.track_id, "class": e.cls_name, "direction": e.direction}
                for e in rows]

    @needs(Role.VIEWER)
    def recent_events(self, cid: str, n: int = 10) -> list[dict[str, Any]]:
        """The newest crossings, newest first (from memory: no database read per refresh)."""
        names = self._names(cid)
        return [{"t": e.t, "zone": names.get(e.zone, e.zone), "track_id": e.track_id,
                 "class": e.cls_name, "direction": e.direction}
                for e in self._runner(cid).recent_events(n)]

    @needs(Role.VIEWER)
    def series(self, cid: str, interval: str = "minute", since: float | None = None,
               until: float | None = None) -> list[dict[str, Any]]:
        """Crossings per minute, hour or day and zone: start, zone, class, in, out. Hours
        and days are the server's local ones (a day starts at local midnight; the offset of
        the range's start is used for the whole range)."""
        self.camera(cid)
        names = self._names(cid)
        offset = time.localtime(since if since is not None and since > 0 else time.time()
                                ).tm_gmtoff
        return [{"start": b, "zone_id": z, "zone": names.get(z, z), "class": c, "in": i, "out": o}
                for b, z, c, i, o in self.store.series(CameraId(cid), interval, since, until,
                                                       offset)]

    @needs(Role.VIEWER)
    def events_csv(self, cid: str, since: float | None = None, until: float | None = None
                   ) -> str:
        rows = self.events(cid, since if since is not None else -1e18, until, limit=10_000_000)
        return csv_text(["time", "t", "zone", "zone_id", "track_id", "class", "direction"],
                        ([r["time"], f"{r['t']:.3f}", r["zone"], r["zone_id"], r["track_id"],
                          r["class"], r["direction"]] for r in rows))

    @needs(Role.VIEWER)
    def counts_csv(self, cid: str, interval: str = "minute", since: float | None = None,
                   until: float | None = None) -> str:
        return csv_text(["start", "zone", "zone_id", "class", "in", "out"],
                        ([iso(r["start"]), r["zone"], r["zone_id"], r["class"], r["in"], r["out"]]
                         for r in self.series(cid, interval, since, until)))

    @needs(Role.VIEWER)
    def counts_json(self, cid: str) -> str:
        cam = self.camera(cid)
        return json.dumps({"camera": {"id": cam.id, "name": cam.name},
                           "zones": [f.to_dict() for f in self.counts(cid)]}, indent=2)

    # -- pictures -------------------------------------------------------------------------
    @needs(Role.VIEWER)
    def jpeg(self, cid: str) -> bytes | None:
        """The newest overlay frame as JPEG (None before the first frame)."""
        return self._runner(cid).jpeg()

    @needs(Role.VIEWER)
    def frame_index(self, cid: str) -> int:
        """Grows with every new frame: a stream sends a part when it changes."""
        return self._runner(cid).snapshot().frame_index

    @needs(Role.VIEWER)
    def still(self, cid: str) -> Any:
        """The newest raw frame (BGR array) to draw zones on; for a camera that has shown
        none yet, one frame is read from its source (`DashboardError` if it cannot be)."""
        return self._runner(cid).still()

    @needs(Role.VIEWER)
    def with_zones(self, cid: str, img: Any) -> Any:
        """A copy of a picture of this camera with its zones and their counts drawn."""
        from .engine.overlay import draw_zones

        img = img.copy()
        h, w = img.shape[:2]
        zones = [(z, z.to_zone(w, h)) for z in self.zones(cid)]
        draw_zones(img, [zone for z, zone in zones if z.kind.counts],
                   {f.id: f.counts for f in self.counts(cid)},
                   [zone.points for z, zone in zones if not z.kind.counts])
        return img

    @needs(Role.VIEWER)
    def heat_png(self, cid: str, over_scene: bool = True) -> bytes | None:
        """The heatmap as PNG with its legend: over the camera's newest frame with the zones
        (the scene stays readable: heat is translucent, no heat leaves pixels untouched), or
        the heat alone."""
        return self._runner(cid).heat_bytes("scene" if over_scene else "png")

    @needs(Role.VIEWER)
    def heat_legend(self, cid: str, width: int = 640) -> Any:
        """What the heat's colours mean for this camera, as a BGR strip `width` wide."""
        cam = self.camera(cid)
        return HeatmapAccumulator(cam.presentation.heatmap_config(cam.settings)).legend(width)

    @needs(Role.VIEWER)
    def heat_npz(self, cid: str) -> bytes | None:
        return self._runner(cid).heat_bytes("npz")

    # -- people ---------------------------------------------------------------------------
    def login(self, name: str, password: str, client: str, kind: str = "session",
              device: str | None = None) -> str:
        """A token for a right name and password (audited, ok or not); `device`: the mark
        of a browser that logged in as this user before (`Auth.login`)."""
        try:
            token = self.auth.login(name, password, client, kind, device)
        except LoginFailed as e:
            self.store.audit(str(name)[:64], "login", client, ok=False, detail=str(e))
            raise
        self.store.audit(name, "login", client, detail=kind)
        return token

    def user_for(self, token: str | None) -> User | None:
        return self.auth.user_for(token)

    def logout(self, token: str | None) -> None:
        user = self.auth.user_for(token)
        self.auth.logout(token)
        if user is not None:
            self.store.audit(user.name, "logout", "")

    @needs(Role.ADMIN, audited=False)
    def users(self) -> list[User]:
        return self.auth.users()

    @needs(Role.ADMIN)
    def add_user(self, name: str, password: str, role: str) -> None:
        self.auth.add_user(name, password, role)

    @needs(Role.ADMIN)
    def set_role(self, name: str, role: str) -> None:
        self.auth.set_role(name, role)

    @needs(Role.ADMIN)
    def set_password(self, name: str, password: str) -> None:
        self.auth.set_password(name, password)

    @needs(Role.ADMIN)
    def remove_user(self, name: str) -> None:
        self.auth.remove_user(name)

    @needs(Role.ADMIN, audited=False)
    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        return self.store.audit_log(limit)

    def as_user(self, user: User) -> "UserService":
        """This service as `user` may use it (the CLI's system user, tests): every call
        checked against their role."""
        return UserService(self, lambda: user, user.name)

    def as_session(self, token: str | None, seen: str = "unknown") -> "UserService":
        """This service as the holder of a session or API token may use it: the token's
        user and role are looked up again at every call, so nothing built with it (a page's
        fragment, a stream, a browser camera's sender) outlives a logout, a password change,
        a removal or a lost role. `seen`: who the caller already knows holds it (the gate
        does), named in the audit if the session ends before a call finds the user.

        Example:
            >>> import tempfile
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> svc.auth.add_user("op", "password1", Role.OPERATOR)
            >>> token = svc.login("op", "password1", "127.0.0.1")
            >>> page = svc.as_session(token)
            >>> page.cameras(), page.user.role.value
            ([], 'operator')
            >>> svc.logout(token)
            >>> page.cameras()
            Traceback (most recent call last):
            dashboard.errors.SessionEnded: Your session has ended (logged out, expired, password changed or user removed): log in again.
        """
        return UserService(self, functools.partial(self.auth.user_for, token), seen)

    # -- lifecycle ------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop every runner (each writes what it counted and its heat); cameras stay enabled
        so they start again with the server."""
        self._watching.set()
        with self._lock:
            runners = list(self._runners.values())
        for r in runners:
            r.close()
        self.integrations.close()




class UserService:
    """The service as one user may use it. Every call is checked here, on the server, when
    it acts: the user is looked up again (so a page, stream or token opened before a logout,
    a password change, a removal or a demotion loses its powers at its next call), then
    their role is checked (hidden buttons are only a courtesy); changes are written to the
    audit log with who made them, and so are refusals.

    Example:
        >>> import tempfile
        >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
        >>> viewer = svc.as_user(User("vic", Role.VIEWER))
        >>> viewer.cameras()
        []
        >>> viewer.add_camera("Door", "demo")
        Traceback (most recent call last):
        dashboard.errors.NotAllowed: vic is a viewer: add_camera needs the admin role.
    """

    def __init__(self, service: Service, who: Callable[[], User | None], seen: str) -> None:
        self._svc, self._who, self._seen = service, who, seen

    @property
    def user(self) -> User:
        """Who acts, as the store says now; `SessionEnded` once their login has ended."""
        user = self._who()
        if user is None:
            raise SessionEnded("Your session has ended (logged out, expired, password changed "
                               "or user removed): log in again.")
        self._seen = user.name
        return user

    def change_my_password(self, old: str, new: str, client: str = "page") -> None:
        """The acting user's own new password, given the current one (any role); every
        session of theirs ends, this one too (audited)."""
        user = self.user
        try:
            try:
                self._svc.auth.change_own_password(user.name, old, new, client)
            except LoginFailed as e:
                if e.retry_after_s:      # too many tries: say so, with when to try again
                    raise
                raise DashboardError("The current password is not right: nothing was "
                                     "changed.") from None
        except DashboardError as e:
            self._svc.store.audit(user.name, "change_my_password", user.name, ok=False,
                                  detail=str(e)[:200])
            raise
        self._svc.store.audit(user.name, "change_my_password", user.name)

    def peek_frame_index(self, cid: str) -> int:
        """The newest frame's number, unchecked: a stream polls it every few milliseconds
        only to learn whether a new picture is there; the picture itself (`jpeg`) is a
        checked call."""
        return self._svc.frame_index(cid)

    def __getattr__(self, name: str) -> Any:
        declared = getattr(Service, name, None)
        if getattr(declared, "needs", None) is None:   # not a use case (`needs`): refused
            raise AttributeError(name)
        fn = getattr(self._svc, name)
        signature = _signature(name)
        audited: bool = declared.audited              # type: ignore[union-attr]

        def call(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(self._svc, *args, **kwargs).arguments
            needed: Role = declared.needs             # type: ignore[union-attr]
            if name == "update_camera" and all(bound.get(k) is None
                                               for k in ("name", "source", "settings")):
                needed = Role.OPERATOR            # only the looks: an operator's business
            target = str(bound.get("cid") or bound.get("name") or "")
            try:
                user = self.user
            except SessionEnded:
                if audited:
                    self._svc.store.audit(self._seen, name, target, ok=False,
                                          detail="session ended")
                raise
            if not user.role.allows(needed):
                self._svc.store.audit(user.name, name, target, ok=False, detail="not allowed")
                raise NotAllowed(f"{user.name} is a {user.role.value}: {name} needs "
                                 f"the {needed.value} role.")
            result = fn(*args, **kwargs)
            if audited:
                detail = {k: v for k, v in bound.items()
                          if k not in ("self", "cid", "password", "source", "data")}
                self._svc.store.audit(user.name, name, target,
                                      detail=json.dumps(detail, default=str)[:500])
            return result

        call.__name__ = name
        return call


@functools.lru_cache(maxsize=None)
def _signature(name: str) -> inspect.Signature:
    """A use case's parameters (looked up once, not on every call)."""
    return inspect.signature(getattr(Service, name))


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
            from .settings import data_dir, demo_enabled

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

