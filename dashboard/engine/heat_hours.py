"""Heat per hour: for each hour, how many seconds an object's anchor spent in each cell of a
coarse grid (at most `CELLS` across). Small enough to keep every hour (a few KB), so heat
can be shown for any period afterwards and two periods compared on one colour scale; the
live heat, with its half-life, is `HeatmapAccumulator`'s."""
from __future__ import annotations

import io
from typing import Callable

import cv2
import numpy as np

from ..errors import DashboardError

CELLS = 96        # grid cells across the picture (a 640x360 picture: 96x54 cells)
HOUR = 3600.0
MAX_STEP_S = 1.0  # a gap between frames longer than this counts as this (a stall, a stop)


def grid_shape(shape: tuple[int, int], cells: int = CELLS) -> tuple[int, int]:
    """(rows, columns) of the grid for a picture of `shape` (h, w).

    Example:
        >>> grid_shape((360, 640))
        (54, 96)
    """
    h, w = shape
    gw = max(1, min(cells, w))
    return max(1, int(round(gw * h / w))), gw


class HourlyHeat:
    """Seconds of presence per cell, per hour (hours of UTC; every whole-hour time zone
    shares them). Hours not yet kept stay in `grids`; `loader(hour)` gives an hour's grid
    kept before (a restart within the hour carries on from it).

    Example:
        >>> hh = HourlyHeat()
        >>> for t in (0.0, 0.5, 1.0):
        ...     hh.add(np.array([[320.0, 180.0]]), t, (360, 640))
        >>> float(hh.grids[0.0].sum()), hh.grids[0.0].shape
        (1.0, (54, 96))
    """

    def __init__(self, loader: Callable[[float], np.ndarray | None] | None = None) -> None:
        self.grids: dict[float, np.ndarray] = {}
        self.loader = loader
        self.version = 0
        self._t: float | None = None

    @property
    def now_hour(self) -> float | None:
        """The hour of the newest frame."""
        return None if self._t is None else self._t // HOUR * HOUR

    def add(self, anchors: np.ndarray, t: float, shape: tuple[int, int]) -> None:
        """Count the time since the frame before at each anchor (pixels, (n, 2))."""
        step = 0.0 if self._t is None else min(max(t - self._t, 0.0), MAX_STEP_S)
        self._t = t
        if step <= 0 or not len(anchors):
            return
        gh, gw = grid_shape(shape)
        hour = t // HOUR * HOUR
        grid = self.grids.get(hour)
        if grid is None or grid.shape != (gh, gw):
            kept = self.loader(hour) if self.loader is not None else None
            grid = kept if kept is not None and kept.shape == (gh, gw) else \
                np.zeros((gh, gw), np.float32)
            self.grids[hour] = grid
        h, w = shape
        ix = np.clip((anchors[:, 0] / w * gw).astype(np.int64), 0, gw - 1)
        iy = np.clip((anchors[:, 1] / h * gh).astype(np.int64), 0, gh - 1)
        np.add.at(grid, (iy, ix), np.float32(step))
        self.version += 1

    def kept(self, hours: list[float]) -> None:
        """These hours are in the store: forget those that are over."""
        for hour in hours:
            if hour != self.now_hour:
                self.grids.pop(hour, None)

    def reset(self) -> None:
        self.grids.clear()
        self._t = None


def pack(grid: np.ndarray) -> bytes:
    """An hour's grid as compressed bytes (float16: tenths of a second are plenty).

    Example:
        >>> g = np.zeros((54, 96), np.float32); g[3, 4] = 2.5
        >>> float(unpack(pack(g))[3, 4]), len(pack(g)) < 400
        (2.5, True)
    """
    buf = io.BytesIO()
    np.savez_compressed(buf, grid=grid.astype(np.float16))
    return buf.getvalue()


def unpack(data: bytes) -> np.ndarray:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            return z["grid"].astype(np.float32)
    except (ValueError, KeyError, OSError) as e:
        raise DashboardError(f"A stored hour of heat cannot be read: {e}") from None


def total(grids: list[np.ndarray]) -> np.ndarray | None:
    """The sum of hours' grids (each resized to the first's shape, should the picture's
    size have changed between them, keeping its seconds); None for none.

    Example:
        >>> total([np.ones((2, 2), np.float32), np.ones((4, 4), np.float32)]).tolist()
        [[5.0, 5.0], [5.0, 5.0]]
    """
    if not grids:
        return None
    out = grids[0].astype(np.float32).copy()
    for g in grids[1:]:
        if g.shape != out.shape:   # area-weighted, so the seconds add up
            g = cv2.resize(g, out.shape[::-1], interpolation=cv2.INTER_AREA) * \
                (g.size / out.size)
        out += g
    return out


def smoothed(grid: np.ndarray) -> np.ndarray:
    """The grid spread over neighbouring cells (an anchor is not a point), same seconds.

    Example:
        >>> g = np.zeros((9, 9), np.float32); g[4, 4] = 9
        >>> s = smoothed(g); round(float(s.sum()), 3), float(s.max()) < 9
        (9.0, True)
    """
    out = cv2.GaussianBlur(grid.astype(np.float32), (0, 0), 1.0)
    return out * (float(grid.sum()) / max(float(out.sum()), 1e-9))


def presence_picture(grid: np.ndarray, scene: np.ndarray, top: float,
                     colormap: int = cv2.COLORMAP_JET, opacity: float = 0.6) -> np.ndarray:
    """`grid` (seconds per cell) over `scene`, coloured on a scale from 0 to `top` seconds
    (give two periods the same `top`, the larger `smoothed(...).max()`, to compare them);
    cells with nothing stay the scene.

    Example:
        >>> g = np.zeros((54, 96), np.float32); g[27, 48] = 10
        >>> out = presence_picture(g, np.zeros((360, 640, 3), np.uint8), 10.0)
        >>> out.shape, bool(out[180, 320].any()), bool(out[10, 10].any())
        ((360, 640, 3), True, False)
    """
    h, w = scene.shape[:2]
    level = np.clip(smoothed(grid) / max(top, 1e-9), 0, 1)
    level = cv2.resize(level, (w, h), interpolation=cv2.INTER_LINEAR)
    colours = cv2.applyColorMap((level * 255).astype(np.uint8), colormap)
    alpha = (np.clip(level * 4, 0, 1) * opacity)[..., None]   # faint heat stays faint
    return (scene * (1 - alpha) + colours * alpha).astype(np.uint8)
