"""A camera's pictures: the overlay and the scene of its newest frame, drawn when a viewer
asks (once per frame, shared by every viewer: a camera nobody watches draws nothing), its
JPEG, and the heat as a picture."""
from __future__ import annotations

import io
import threading
import time
from typing import Any

import cv2
import numpy as np

from dashboard.config.camera import Presentation
from dashboard.engine import Engine
from dashboard.engine.overlay import draw_zones
from dashboard.pipeline.snapshot import Snapshot

JPEG_QUALITY = 80


def hide_all(img: np.ndarray) -> np.ndarray:
    """The whole picture blurred past recognition (nobody located in it to pixelate).

    Example:
        >>> hide_all(np.zeros((90, 160, 3), np.uint8)).shape
        (90, 160, 3)
    """
    k = max(3, img.shape[1] // 60) | 1
    return cv2.GaussianBlur(img, (k, k), 0)


class Pictures:
    """The drawn pictures of one camera, cached by the snapshot and looks they show.

    Example:
        >>> p = Pictures()
        >>> p.drawn(Snapshot(), Presentation(), Engine()) is None, p.jpeg(None)
        (True, None)
    """

    def __init__(self) -> None:
        self._drawn: tuple[Any, Any, Any] = (None, None, None)   # snapshot, looks, picture
        self._jpeg_lock = threading.Lock()
        self._jpeg: tuple[np.ndarray | None, bytes | None] = (None, None)
        self.preview: np.ndarray | None = None   # a frame read before the first processed

    def drawn(self, snap: Snapshot, looks: Presentation, engine: Engine
              ) -> tuple[np.ndarray, np.ndarray] | None:
        """(overlay, scene) of the snapshot's frame (the scene: the frame as it may be shown,
        blurred classes pixelated); None before the first. Call under the camera's lock."""
        if snap.frame is None:
            return None
        if self._drawn[0] is not snap or self._drawn[1] != looks:
            alerting = {a.zone for a in snap.alerts}     # over their limit now: red
            self._drawn = (snap, looks, engine.draw(snap.frame, snap.tracks, snap.t, alerting))
        return self._drawn[2]

    def jpeg(self, picture: tuple[np.ndarray, np.ndarray] | None) -> bytes | None:
        """The overlay as JPEG bytes, encoded once per drawn picture."""
        if picture is None:
            return None
        plot = picture[0]
        with self._jpeg_lock:
            if self._jpeg[0] is not plot:
                ok, buf = cv2.imencode(".jpg", plot, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
                self._jpeg = (plot, buf.tobytes() if ok else None)
            return self._jpeg[1]


def heat_bytes(engine: Engine, kind: str, scene: np.ndarray | None = None,
               camera: str = "") -> bytes | None:
    """The engine's heat as a colour PNG (alone), an npz, or "scene": the PNG drawn over
    `scene` with the zones. A PNG has a title (the camera, and the period its heat covers)
    above it and the legend under it; the npz says the camera in its meta (None before any
    heat).

    Example:
        >>> heat_bytes(Engine(), "png") is None
        True
    """
    heat = engine.heatmap
    if heat.shape is None:
        return None
    if kind in ("png", "scene"):
        img = heat.colorized()
        if kind == "scene" and scene is not None:
            img = heat.render(scene)
            draw_zones(img, engine.zones, engine.counts, engine.masks)
        img = np.vstack([title_strip(heat_title(camera, heat.period), img.shape[1]), img,
                         heat.legend(img.shape[1])])
        ok, png = cv2.imencode(".png", img)
        return png.tobytes() if ok else None
    buf = io.BytesIO()
    heat.save(buf, camera=camera)
    return buf.getvalue()


def heat_title(camera: str, period: tuple[float, float] | None) -> str:
    """What a heat picture shows: whose, and from when to when (local time, UTC offset).

    Example:
        >>> heat_title("Door", None)
        'Door'
        >>> heat_title("Door", (1796454000.0, 1796457600.0))[:21]
        'Door: heat from 2026-'
    """
    if period is None:
        return camera
    (a, b), fmt = (time.localtime(t) for t in period), "%Y-%m-%d %H:%M:%S"
    until = time.strftime("%H:%M:%S" if a[:3] == b[:3] else fmt, b)
    return f"{camera}: heat from {time.strftime(fmt, a)} to {until} (UTC{time.strftime('%z', b)})"


def title_strip(text: str, width: int) -> np.ndarray:
    """A dark strip `width` wide with `text` on it (BGR)."""
    w = max(int(width), 120)
    strip = np.full((28, w, 3), 32, np.uint8)
    cv2.putText(strip, text, (10, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.4 if w < 640 else 0.5,
                (235, 235, 235), 1, cv2.LINE_AA)
    return strip
