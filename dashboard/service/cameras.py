"""Camera use cases: add, change, remove, start and stop cameras; their sources and uploads."""
from __future__ import annotations

import logging
import os
import time
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from dashboard.config.camera import Camera, CameraSettings, Presentation, camera_name
from dashboard.config.fields import HIDDEN
from dashboard.config.kinds import BROWSER, CameraId, new_id
from dashboard.errors import Conflict, DashboardError, NotFound, StoreUnavailable
from dashboard.pipeline.runner import CameraRunner
from dashboard.service.access import needs
from dashboard.service.auth import Role
from dashboard.pipeline.snapshot import Snapshot
from dashboard.service.readings import last_answer, reading, silent
from dashboard.service.views import CameraStatus
from dashboard.vision.address import check_address, is_webcam_index
from dashboard.vision.models import check_image_size
from dashboard.vision.secrets import env_names, expand_env, mask_secrets

log = logging.getLogger(__name__)


def shown_source(source: str, media: Path) -> str:
    """What a source may be shown as: credentials masked; a file by its name in the media
    folder, not its path on the server; an upload by the name it was uploaded under.

    Example:
        >>> shown_source("rtsp://admin:pw@cam/live", Path("/m")), shown_source("/m/a.mp4", Path("/m"))
        ('rtsp://***@cam/live', 'a.mp4')
    """
    if "://" not in source and source not in ("demo", BROWSER) and not is_webcam_index(source):
        uploaded = uploaded_name(source)
        if uploaded is not None:
            return f"{uploaded} (uploaded)"
        try:
            return str(Path(source).resolve().relative_to(media.resolve()))
        except ValueError:
            return Path(source).name
    return mask_secrets(source)


NAME_SUFFIX = ".name"   # beside an upload: the name it was uploaded under


def keep_by_hash(folder: Path, data: bytes, suffix: str, name: str | None = None) -> str:
    """Store `data` in `folder` under its content's hash (written whole, then renamed);
    the same content is kept once; `name`, the name it came under, is kept beside it (to
    show, never to open). Returns the path.

    Example:
        >>> import tempfile
        >>> d = Path(tempfile.mkdtemp())
        >>> keep_by_hash(d, b"x", ".mp4", "door.mp4") == keep_by_hash(d, b"x", ".mp4")
        True
        >>> uploaded_name(keep_by_hash(d, b"x", ".mp4"))
        'door.mp4'
    """
    import hashlib

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{hashlib.sha256(data).hexdigest()[:32]}{suffix}"
    if not path.exists():
        tmp = path.with_suffix(".partial")
        tmp.write_bytes(data)
        tmp.replace(path)
    shown = Path(str(name or "")).name.strip()[:80]
    if shown and not any(unicodedata.category(c) in HIDDEN for c in shown):
        Path(str(path) + NAME_SUFFIX).write_text(shown)
    return str(path)


def uploaded_name(path: str) -> str | None:
    """The name an uploaded file (video or model) came under, or None for another file.

    Example:
        >>> uploaded_name("/no/such/file.mp4") is None
        True
    """
    try:
        return Path(str(path) + NAME_SUFFIX).read_text().strip() or None
    except (OSError, ValueError):
        return None


class CameraCases:
    """The cameras part of `Service` (its state: `store`, `_cameras`, `_runners`, `_lock`)."""

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

    def runner(self, cid: str) -> CameraRunner:
        """The runner of a camera (for the CLI and tests; not a use case: a `UserService`
        refuses it to everyone)."""
        self.camera(cid)
        return self._runners[CameraId(cid)]

    def _read(self, cid: str, what: str, unanswered: Callable[[Any, float], Any] = last_answer
              ) -> Any:
        """A camera's reading (`snapshot`, `jpeg`, `store_status`, `behind`) without waiting
        on a runner that does not answer: see `service.readings`."""
        runner = self.runner(cid)
        return self._readings.read(cid, what, runner, lambda: reading(runner, what), unanswered)

    def _snapshot(self, cid: str) -> Snapshot:
        return self._read(cid, "snapshot", silent)

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
        return keep_by_hash(self.media / "uploads", data, suffix, name)

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
        return keep_by_hash(self.models, data, suffix, name)

    def _clean_uploads(self) -> None:
        """Delete uploaded videos no camera uses any more."""
        used = {self._runners[c.id].source for c in self.cameras()}
        for f in (self.media / "uploads").glob("*"):
            if f.suffix == NAME_SUFFIX:
                continue   # goes with its upload
            if f.is_file() and str(f) not in used and str(f.resolve()) not in used:
                f.unlink(missing_ok=True)
                Path(str(f) + NAME_SUFFIX).unlink(missing_ok=True)
                log.info("removed the unused upload %s", f.name)

    @needs(Role.ADMIN)
    def add_camera(self, name: Any, source: Any, settings: dict[str, Any] | None = None,
                   presentation: dict[str, Any] | None = None, enabled: bool = True,
                   start: bool = True) -> Camera:
        """Save a new camera (and start it if enabled); returns it with its id."""
        from dashboard.config.env import blur_default

        with self._lock:
            name = self._check_name(name)
            source = self._check_source(source)
            looks = {"blur": blur_default(), **(presentation or {})}
            cam = Camera(CameraId(new_id("cam")), name, shown_source(source, self.media),
                         CameraSettings.from_dict(settings or {}),
                         Presentation.from_dict(looks), bool(enabled), time.time())
            check_image_size(cam.settings.model, cam.settings.imgsz)
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
            check_image_size(new.settings.model, new.settings.imgsz)
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
        self._readings.forget(cam.id)
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
        self.runner(cid).reset()
        log.info("camera %s reset", cid)

    @needs(Role.VIEWER)
    def status(self, cid: str) -> CameraStatus:
        return CameraStatus.of(self._snapshot(cid), self._read(cid, "store_status"))

    @needs(Role.OPERATOR, audited=False)
    def push_frame(self, cid: str, sender: str, image: Any) -> Any:
        """Count a frame of the camera of the browser that has this camera's page open
        (`sender`: that page's own random id; one browser at a time). Returns the picture to
        send back: the newest overlay (BGR), or None before the first. `DashboardError`
        says why a frame is not taken (stopped, another browser sends, not a browser camera).

        Example:
            >>> import tempfile, numpy as np
            >>> from dashboard.service.core import Service, Path
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> cam = svc.add_camera("Laptop", "browser", enabled=False)
            >>> svc.push_frame(cam.id, "tab-1", np.zeros((360, 640, 3), np.uint8))
            Traceback (most recent call last):
            dashboard.errors.DashboardError: The camera is stopped: press Start ...
            >>> svc.shutdown()
        """
        picture = self.runner(cid).push(sender, image)
        return None if picture is None else picture[0]
