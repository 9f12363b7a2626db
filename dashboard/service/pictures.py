"""Pictures of a camera: its overlay frame, a still with zones, the heat and its legend."""
from __future__ import annotations

from typing import Any

from dashboard.engine.heatmap import HeatmapAccumulator
from dashboard.service.access import needs
from dashboard.service.auth import Role



class PictureCases:
    """The pictures part of `Service`."""

    @needs(Role.VIEWER)
    def jpeg(self, cid: str) -> bytes | None:
        """The newest overlay frame as JPEG (None before the first frame)."""
        return self._read(cid, "jpeg")

    @needs(Role.VIEWER)
    def frame_index(self, cid: str) -> int:
        """Grows with every new frame: a stream sends a part when it changes."""
        return self._snapshot(cid).frame_index

    @needs(Role.VIEWER)
    def still(self, cid: str) -> Any:
        """The newest raw frame (BGR array) to draw zones on; for a camera that has shown
        none yet, one frame is read from its source (`DashboardError` if it cannot be)."""
        return self.runner(cid).still()

    @needs(Role.VIEWER)
    def with_zones(self, cid: str, img: Any, counts: bool = True) -> Any:
        """A copy of a picture of this camera with its zones and (unless not `counts`: a
        picture of another period) their live counts drawn."""
        from dashboard.engine.overlay import draw_zones

        img = img.copy()
        h, w = img.shape[:2]
        zones = [(z, z.to_zone(w, h)) for z in self.zones(cid)]
        figures = self.counts(cid) if counts else []
        draw_zones(img, [zone for z, zone in zones if z.kind.counts],
                   {f.id: f.counts for f in figures},
                   [zone.points for z, zone in zones if not z.kind.counts],
                   {f.id for f in figures if f.alert})
        return img

    @needs(Role.VIEWER)
    def heat_png(self, cid: str, over_scene: bool = True) -> bytes | None:
        """The heatmap as PNG with its legend: over the camera's newest frame with the zones
        (the scene stays readable: heat is translucent, no heat leaves pixels untouched), or
        the heat alone."""
        return self.runner(cid).heat_bytes("scene" if over_scene else "png")

    @needs(Role.VIEWER)
    def heat_legend(self, cid: str, width: int = 640) -> Any:
        """What the heat's colours mean for this camera, as a BGR strip `width` wide."""
        cam = self.camera(cid)
        return HeatmapAccumulator(cam.presentation.heatmap_config(cam.settings)).legend(width)

    @needs(Role.VIEWER)
    def heat_npz(self, cid: str) -> bytes | None:
        return self.runner(cid).heat_bytes("npz")
