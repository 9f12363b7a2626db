"""`Heatmap`: the ultralytics `solutions.Heatmap` API on top of our detector and engine."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import cv2
import numpy as np

from dashboard.vision.detector import Detector
from dashboard.engine import Engine, HeatmapConfig, LineZone, PolygonZone
from dashboard.engine.zones import Zone
from dashboard.config.camera import DEFAULT_SETTINGS
from dashboard.errors import DashboardError


@dataclass
class HeatmapResults:
    """What `Heatmap.process` returns; the fields of ultralytics' `SolutionResults` it fills."""

    plot_im: np.ndarray
    in_count: int = 0
    out_count: int = 0
    classwise_count: dict[str, dict[str, int]] = field(default_factory=dict)
    total_tracks: int = 0


def region_zone(region: Sequence[Sequence[float]], name: str = "region") -> Zone:
    """An ultralytics-style region as a zone: 2 points a line, 3 or more a polygon.

    A line keeps ultralytics' direction rule: for a near-vertical line moving right is IN,
    otherwise moving down is IN, whichever way round its points are given.

    Example:
        >>> region_zone([(300, 0), (300, 400)]).in_direction()   # vertical: IN is to the right
        (1.0, 0.0)
    """
    pts = [tuple(map(float, p)) for p in region]
    if len(pts) == 2:
        (x0, y0), (x1, y1) = pts
        vertical = abs(x0 - x1) < abs(y0 - y1)
        # Order the ends so that our side rule (left->right: down is IN) gives theirs.
        if (vertical and y1 > y0) or (not vertical and x1 < x0):
            pts = pts[::-1]
        return LineZone(name, pts[0], pts[1], confirm_frames=1)
    if len(pts) >= 3:
        return PolygonZone(name, pts, confirm_frames=1)
    raise DashboardError(f"A region needs 2 points (a line) or 3 or more (a polygon), got {len(pts)}.")


class Heatmap:
    """Drop-in for `ultralytics.solutions.Heatmap`: `process(im0)` tracks, counts and paints.

    Unlike ultralytics, every crossing counts (in and out again is two counts), the frame is
    left untouched where there is no heat, and heat can decay (`half_life_s`).

    Example:
        >>> hm = Heatmap(model="yolo26n.pt", region=[(20, 400), (1260, 400)])  # doctest: +SKIP
        >>> res = hm.process(frame)                                          # doctest: +SKIP
        >>> res.plot_im.shape == frame.shape, res.in_count                   # doctest: +SKIP
        (True, 0)
    """

    def __init__(self, model: str | Path = "yolo26n.pt", region: Sequence[Sequence[float]] | None = None,
                 colormap: int = cv2.COLORMAP_JET, classes: Iterable[int | str] | None = None,
                 conf: float = DEFAULT_SETTINGS.conf, iou: float = 0.7,
                 imgsz: int = DEFAULT_SETTINGS.imgsz, tracker: str = DEFAULT_SETTINGS.tracker,
                 device: str | None = None,
                 half_life_s: float | None = None, opacity: float = 0.5, **_ignored: Any) -> None:
        zones = [region_zone(region)] if region is not None else []
        self.detector = Detector(model, conf=conf, iou=iou, imgsz=imgsz, classes=classes,
                                 tracker=tracker, device=device)
        self.engine = Engine(zones=zones, heatmap=HeatmapConfig(
            half_life_s=half_life_s, colormap=colormap, opacity=opacity))
        self.frame_index = 0

    def process(self, im0: np.ndarray, t: float | None = None) -> HeatmapResults:
        """Track one frame and update heat and counts. `t` defaults to frame count / 30."""
        t = self.frame_index / 30.0 if t is None else t
        self.frame_index += 1
        r = self.engine.update(im0, self.detector.track(im0), t)
        c = next(iter(r.counts.values()), None)
        if c is None:
            return HeatmapResults(r.plot, total_tracks=r.total_tracks)
        classwise = {k: {"IN": v["in"], "OUT": v["out"]} for k, v in c.per_class.items()}
        return HeatmapResults(r.plot, c.in_count, c.out_count, classwise, r.total_tracks)

    __call__ = process
