"""Heat of a chosen period, from the hours kept (`engine.heat_hours`): as a picture over the
camera's scene, two periods on one colour scale, and as numbers (npz)."""
from __future__ import annotations

import io
import json
from typing import Any

import cv2
import numpy as np

from dashboard.config.kinds import CameraId
from dashboard.engine.heat_hours import presence_picture, smoothed, total, unpack
from dashboard.errors import DashboardError
from dashboard.pipeline.pictures import title_strip
from dashboard.service.access import needs
from dashboard.service.auth import Role
from dashboard.service.periods import Period
from dashboard.service.summaries import every_epoch

UNIT = "seconds of presence per cell"


class HeatHistoryCases:
    """The heat-per-period part of `Service`."""

    def _period_grid(self, cid: str, period: Period) -> np.ndarray | None:
        cam = self.camera(cid)
        rows = self.store.period_heat(CameraId(cid), period.start, period.end,
                                      every_epoch(cam))
        return total([unpack(g) for _, g in rows])

    @needs(Role.VIEWER)
    def period_heat(self, cid: str, *periods: Period) -> list[np.ndarray | None]:
        """Each period's heat over the camera's scene with its zones (BGR; None for a
        period without any), all on the colour scale of the hottest of them, each with
        its period and that scale written above it."""
        grids = [self._period_grid(cid, p) for p in periods]
        tops = [float(smoothed(g).max()) for g in grids if g is not None]
        if not tops:
            return [None for _ in periods]
        top = max(max(tops), 1e-3)
        try:
            scene = self.still(cid)
        except DashboardError:
            scene = None
        shape = next(g for g in grids if g is not None).shape
        if scene is None:   # a camera that never showed a picture: grey, at the grid's shape
            scene = np.full((shape[0] * 8, shape[1] * 8, 3), 96, np.uint8)
        out: list[np.ndarray | None] = []
        for p, g in zip(periods, grids):
            if g is None:
                out.append(None)
                continue
            img = self.with_zones(cid, presence_picture(g, scene, top), counts=False)
            out.append(np.vstack([title_strip(f"{p.label}: up to {top:.0f} s in a cell "
                                              "(same scale for each period shown)",
                                              img.shape[1]), img]))
        return out

    @needs(Role.VIEWER)
    def period_heat_png(self, cid: str, period: Period) -> bytes | None:
        """One period's heat picture as PNG (None when nothing was kept for it)."""
        (img,) = self.period_heat(cid, period)
        if img is None:
            return None
        ok, png = cv2.imencode(".png", img)
        return png.tobytes() if ok else None

    @needs(Role.VIEWER)
    def period_heat_npz(self, cid: str, period: Period) -> bytes | None:
        """One period's heat as numbers: `grid` (seconds per cell) and `meta` (JSON: the
        camera, the period, the unit)."""
        g = self._period_grid(cid, period)
        if g is None:
            return None
        cam = self.camera(cid)
        meta: dict[str, Any] = {"camera": cam.name, "camera_id": cam.id, "unit": UNIT,
                                "start": period.start, "end": period.end,
                                "label": period.label}
        buf = io.BytesIO()
        np.savez_compressed(buf, grid=g, meta=np.array(json.dumps(meta)))
        return buf.getvalue()
