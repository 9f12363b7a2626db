"""`HeatmapAccumulator`: where tracks have been, as decaying heat, rendered over the frame.

Heat lives on a grid a few pixels per cell (cheap to splat and render); `value` upsamples
it to frame size on demand. Decay is a running scale factor, so a frame costs nothing for it.
"""
from __future__ import annotations

import functools
import json
import logging
import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Callable

import cv2
import numpy as np

from ..errors import DashboardError
from .heat_hours import HourlyHeat
from .tracks import Tracks, check_anchor

log = logging.getLogger(__name__)

ALL = "all"            # the layer name when heat is not kept per class
MAX_GRID_SIDE = 480    # a grid cell is as many pixels as it takes to keep this many cells
FOOTPRINT = 0.25       # Gaussian sigma as a fraction of the box's size
MAX_FOOTPRINT = 0.02   # ... at most this fraction of the frame's longer side (close range)
MOVED = 0.5            # moving_only: a track counts once it moved this many box heights
STALE_S = 120.0        # forget a track's start after this long unseen (bounds memory)
ALPHA_RAMP = 0.5       # the weakest half of heat fades in from transparent
LEVEL_RANGE = 1e-6     # heat below this fraction of the peak is ranked with the weakest
REFRESH_S = 0.5        # rebuild the heat picture at most this often, in frame time
BAND_PIXELS = 250_000  # blend in row bands on threads only above this many pixels
MAX_BANDS = 4
HEAT_UNIT = ("object-frames: every processed frame adds, at each tracked object's anchor, a "
             "Gaussian of peak 1 (sigma a quarter of its box); halved every half_life_s "
             "seconds when that is set. Divide by the frame rate for object-seconds.")


@dataclass
class _Overlay:
    region: tuple[slice, slice]  # frame pixels the heat covers
    premul: np.ndarray           # colour * alpha, uint8 (h, w, 3)
    inv: np.ndarray              # 255 * (1 - alpha), uint8 (h, w, 3)
    version: int                 # heat version it was built from
    t: float                     # frame time it was built at
    buffers: tuple[np.ndarray, ...]  # whole-cell arrays premul and inv are views of


@dataclass
class HeatmapConfig:
    """Heatmap settings.

    half_life_s: None keeps all heat (cumulative); a number halves old heat every that
    many seconds of frame time. colormap: any cv2.COLORMAP_* value. per_class: keep one
    heat layer per class name as well as the total. moving_only: a track adds heat only
    once it has moved half its height from where it was first seen, so what never moves (a
    parked car, a false detection of a cloth on a lawn) paints nothing.

    Example:
        >>> HeatmapConfig(half_life_s=30, anchor="bottom_center").anchor
        'bottom_center'
    """

    half_life_s: float | None = None
    anchor: str = "center"
    colormap: int = cv2.COLORMAP_JET
    opacity: float = 0.5
    per_class: bool = False
    moving_only: bool = False

    def __post_init__(self) -> None:
        check_anchor(self.anchor)
        if self.half_life_s is not None and not self.half_life_s > 0:
            raise DashboardError("Heatmap half-life must be a positive number of seconds "
                                 "(or None to keep all heat).")
        if not 0.0 <= self.opacity <= 1.0:
            raise DashboardError("Heatmap opacity must be between 0 and 1.")
        self.colormap = int(self.colormap)


def _new_or_self(method: Callable) -> Any:
    """Make `method` callable on the class (acts on a new instance) or on an instance."""

    class _Descriptor:
        def __get__(self, obj: Any, cls: type) -> Callable:
            return functools.partial(method, obj if obj is not None else cls())

    return _Descriptor()


def _blend_rows(src: np.ndarray, inv: np.ndarray, premul: np.ndarray, dst: np.ndarray) -> None:
    cv2.multiply(src, inv, dst=dst, scale=1 / 255)
    cv2.add(dst, premul, dst=dst)


@functools.lru_cache(maxsize=1)
def _pool() -> tuple[ThreadPoolExecutor, int]:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    bands = max(1, min(MAX_BANDS, cpus or 1))
    return ThreadPoolExecutor(max(1, bands - 1), thread_name_prefix="heat-blend"), bands


def blend(src: np.ndarray, inv: np.ndarray, premul: np.ndarray, dst: np.ndarray) -> None:
    """dst = src * inv / 255 + premul, for uint8 images of one shape.

    OpenCV's per-element arithmetic runs on one core and is most of a frame's drawing cost,
    so large images are split into row bands blended on worker threads (cv2 lets go of the
    GIL while it works).

    Example:
        >>> src = np.full((2, 2, 3), 200, np.uint8); out = np.empty_like(src)
        >>> blend(src, np.full_like(src, 128), np.full_like(src, 10), out); int(out[0, 0, 0])
        110
    """
    h, w = src.shape[:2]
    pool, bands = _pool()
    bands = min(bands, max(1, h * w // BAND_PIXELS))
    if bands == 1:
        _blend_rows(src, inv, premul, dst)
        return
    edges = [h * i // bands for i in range(bands + 1)]
    parts = [(src[a:b], inv[a:b], premul[a:b], dst[a:b]) for a, b in zip(edges, edges[1:])]
    futures = [pool.submit(_blend_rows, *part) for part in parts[1:]]
    _blend_rows(*parts[0])
    for f, part in zip(futures, parts[1:]):
        if f.cancel():   # no core picked it up yet (decode, encode, model are busy): do it here
            _blend_rows(*part)
        else:
            f.result()


@functools.lru_cache(maxsize=64)
def _luts(colormap: int, opacity: float) -> tuple[np.ndarray, np.ndarray]:
    """Level -> premultiplied colour (256, 1, 3) and level -> 255 * (1 - alpha) (256, 1).

    Weak heat fades in from transparent (the lowest ALPHA_RAMP of levels), the rest is at
    `opacity`.

    Example:
        >>> premul, inv = _luts(cv2.COLORMAP_JET, 0.5)
        >>> int(inv[0, 0]), int(inv[255, 0])
        (255, 128)
    """
    levels = np.arange(256, dtype=np.uint8).reshape(256, 1)
    color = cv2.applyColorMap(levels, colormap).astype(np.float64)
    alpha = np.minimum(levels / (255 * ALPHA_RAMP), 1.0) * opacity
    premul = np.round(color * alpha[:, :, None]).astype(np.uint8)
    return premul, np.round(255 * (1 - alpha)).astype(np.uint8)


class HeatmapAccumulator:
    """Accumulates track heat, decays it by frame time, renders and exports it.

    Example:
        >>> import numpy as np
        >>> h = HeatmapAccumulator(HeatmapConfig(half_life_s=1.0))
        >>> t = Tracks([[40, 40, 60, 60]], [1], [0], [.9], {0: "person"})
        >>> h.add(t, 0.0, (100, 100)); peak = h.value.max()
        >>> h.decay_to(1.0); round(float(h.value.max() / peak), 3)
        0.5
    """

    def __init__(self, config: HeatmapConfig | None = None) -> None:
        self.config = config or HeatmapConfig()
        self.shape: tuple[int, int] | None = None
        self.cell = 1
        self._layers: dict[str, np.ndarray] = {}
        self._scale = 1.0       # true heat = stored layer * _scale
        self._t: float | None = None
        self._since: float | None = None   # the time of the first frame in this heat
        self._version = 0       # bumped whenever the heat changes; keys the render cache
        self._cache: dict[str, _Overlay] = {}
        # moving_only: where each track was first seen (x, y, last seen t); tracks that moved
        self._starts: dict[int, tuple[float, float, float]] = {}
        self._moved: dict[int, float] = {}
        self._pruned_t = -math.inf
        self.hours: HourlyHeat | None = None   # heat per hour as well (a camera's, kept)

    @property
    def version(self) -> int:
        """Changes whenever the heat does: a saver can skip an unchanged heatmap."""
        return self._version

    # -- accumulation -------------------------------------------------------------------
    def reset(self) -> None:
        """No heat; the next frame sets the size."""
        self.shape, self._layers, self._scale, self._t = None, {}, 1.0, None
        self._since = None
        self._version += 1
        self._cache = {}
        self._starts, self._moved = {}, {}
        if self.hours is not None:
            self.hours.reset()

    def _ensure_shape(self, shape: tuple[int, int]) -> None:
        """Take the frame size. When it changes (a camera reconnects at another resolution)
        the heat so far is resampled onto the new frame: it still lies where it was seen,
        in 0..1 of the picture (the caller reports the change)."""
        if self.shape == shape:
            return
        old = {k: v * np.float32(self._scale) for k, v in self._layers.items()}
        t, since = self._t, self._since
        self.reset()
        self.shape = shape
        self.cell = max(1, math.ceil(max(shape) / MAX_GRID_SIDE))
        gh, gw = self._grid_shape()
        self._layers = {k: cv2.resize(v, (gw, gh), interpolation=cv2.INTER_LINEAR)
                        for k, v in old.items()}
        self._t, self._since = t, since

    def _grid_shape(self) -> tuple[int, int]:
        assert self.shape is not None
        return (math.ceil(self.shape[0] / self.cell), math.ceil(self.shape[1] / self.cell))

    def _layer(self, name: str) -> np.ndarray:
        if name not in self._layers:
            self._layers[name] = np.zeros(self._grid_shape(), np.float32)
        return self._layers[name]

    def decay_to(self, t: float) -> None:
        """Apply decay for the frame time elapsed since the last update."""
        if self._t is not None and self.config.half_life_s and t > self._t:
            self._scale *= 0.5 ** ((t - self._t) / self.config.half_life_s)
            if self._scale < 1e-6:  # fold the factor in before float32 loses range
                for layer in self._layers.values():
                    layer *= self._scale
                self._scale = 1.0
        if self._t is None or t > self._t:
            self._t = float(t)
        if self._since is None:
            self._since = float(t)

    @property
    def period(self) -> tuple[float, float] | None:
        """(first, last) frame time this heat covers, on the camera's clock; None before any.

        Example:
            >>> h = HeatmapAccumulator(); h.decay_to(10.0); h.decay_to(25.0); h.period
            (10.0, 25.0)
        """
        return None if self._since is None or self._t is None else (self._since, self._t)

    def add(self, tracks: Tracks, t: float, shape: tuple[int, int]) -> None:
        """Decay to time `t`, then add one Gaussian splat per track at its anchor."""
        self._ensure_shape((int(shape[0]), int(shape[1])))
        self.decay_to(t)
        total = self._layer(ALL)
        if self.config.moving_only:
            tracks = self._moving(tracks, t)
        if self.hours is not None:   # the same tracks as the live heat, by the hour
            self.hours.add(tracks.anchors(self.config.anchor), t, shape)
        if not len(tracks):
            return
        self._version += 1
        pts = tracks.anchors(self.config.anchor) / self.cell - 0.5
        wh = (tracks.xyxy[:, 2:] - tracks.xyxy[:, :2]) / self.cell
        if self.config.anchor == "bottom_center":  # feet: a flat ellipse on the floor
            wh[:, 1] = wh[:, 0] / 2
        # Bounded: at close range a box is most of the frame, and so would its heat be.
        biggest = MAX_FOOTPRINT * max(total.shape)
        sig = np.clip(wh * FOOTPRINT, 0.7, max(biggest, 0.7))
        names = tracks.class_names() if self.config.per_class else None
        gh, gw = total.shape
        # Each splat spans 3 sigma either side of its anchor, clipped to the grid.
        lo = np.maximum(np.floor(pts - 3 * sig), 0).astype(np.int64)
        hi = np.minimum(np.floor(pts + 3 * sig) + 2, [gw, gh]).astype(np.int64)
        # Both 1-D Gaussians of every track in one exp call, on a common span width.
        span = int(max(1, (hi - lo).max()))
        offs = lo[:, :, None] + np.arange(span) - pts[:, :, None]
        gauss = np.exp(-0.5 * (offs / sig[:, :, None]) ** 2).astype(np.float32)
        gauss[:, 1] *= np.float32(1.0 / self._scale)
        for i, ((x0, y0), (x1, y1)) in enumerate(zip(lo.tolist(), hi.tolist())):
            if x0 >= x1 or y0 >= y1:
                continue
            patch = np.multiply.outer(gauss[i, 1, :y1 - y0], gauss[i, 0, :x1 - x0])
            total[y0:y1, x0:x1] += patch
            if names is not None:
                self._layer(names[i])[y0:y1, x0:x1] += patch

    def _moving(self, tracks: Tracks, t: float) -> Tracks:
        """The tracks that have moved (see `HeatmapConfig.moving_only`)."""
        anchors = tracks.anchors(self.config.anchor)
        heights = (tracks.xyxy[:, 3] - tracks.xyxy[:, 1]).tolist()
        keep = []
        for tid, (x, y), h in zip(tracks.ids.tolist(), anchors.tolist(), heights):
            if tid in self._moved:
                self._moved[tid] = t
                keep.append(True)
                continue
            x0, y0, _ = self._starts.get(tid, (x, y, t))
            self._starts[tid] = (x0, y0, t)
            moved = math.hypot(x - x0, y - y0) >= MOVED * max(h, 1.0)
            if moved:
                self._moved[tid] = t
                del self._starts[tid]
            keep.append(moved)
        if t - self._pruned_t >= 10.0:
            self._pruned_t = t
            self._starts = {k: v for k, v in self._starts.items() if t - v[2] <= STALE_S}
            self._moved = {k: v for k, v in self._moved.items() if t - v <= STALE_S}
        return tracks.select(np.asarray(keep, bool))

    # -- reading ------------------------------------------------------------------------
    def grid(self, layer: str = ALL) -> np.ndarray:
        """The heat grid (cells, not pixels), decay applied; zeros if nothing was added."""
        if layer != ALL and not self.config.per_class:
            raise DashboardError("Per-class heat is off; set HeatmapConfig(per_class=True).")
        if self.shape is None:
            return np.zeros((0, 0), np.float32)
        if layer not in self._layers:
            return np.zeros(self._grid_shape(), np.float32)
        return self._layers[layer] * np.float32(self._scale)

    def _upsample(self, grid: np.ndarray) -> np.ndarray:
        assert self.shape is not None
        h, w = self.shape
        if self.cell == 1:
            return grid
        big = cv2.resize(grid, (grid.shape[1] * self.cell, grid.shape[0] * self.cell),
                         interpolation=cv2.INTER_LINEAR)
        return big[:h, :w]

    @property
    def value(self) -> np.ndarray:
        """The current heat at frame size, float32 (H, W), decay applied."""
        return self.class_value(ALL)

    def class_value(self, cls_name: str) -> np.ndarray:
        """Heat of one class at frame size (needs `per_class=True`); `"all"` is the total."""
        grid = self.grid(cls_name)
        return np.ascontiguousarray(self._upsample(grid)) if self.shape else grid

    @property
    def classes(self) -> list[str]:
        """Class names with a heat layer of their own."""
        return sorted(k for k in self._layers if k != ALL)

    # -- rendering ----------------------------------------------------------------------
    def _levels(self, grid: np.ndarray) -> np.ndarray:
        """Heat as uint8 0..255 by rank among heated cells, 0 where there is none.

        Ranking (histogram equalisation of log-heat in 255 bins) means one hot spot cannot
        wash out the rest: a path walked a few times still gets a visible colour beside a
        spot someone stood on for minutes.
        """
        vmax = float(grid.max()) if grid.size else 0.0
        if vmax <= 0:
            return np.zeros(grid.shape, np.uint8)
        grid = np.ascontiguousarray(grid)
        heated = cv2.compare(grid, 0, cv2.CMP_GT)  # 255 where there is heat
        log_lo = math.log(vmax * LEVEL_RANGE)
        logs = cv2.log(np.maximum(grid, np.float32(vmax * LEVEL_RANGE)))
        # log-heat to 1..255 (rounded, saturated), then 0 where there is no heat
        k = 254 / -math.log(LEVEL_RANGE)
        lv = cv2.bitwise_and(cv2.convertScaleAbs(logs, alpha=k, beta=1 - log_lo * k), heated)
        hist = cv2.calcHist([lv], [0], None, [256], [0, 256]).ravel().astype(np.float64)
        hist[0] = 0
        cdf = np.cumsum(hist)
        # Squared rank: the busiest tenth runs red, ordinary paths stay blue-green.
        lut = np.maximum(np.round((cdf / cdf[-1]) ** 2 * 255), 1).astype(np.uint8)
        lut[0] = 0
        return cv2.LUT(lv, lut)

    def _overlay(self, layer: str, frame_t: float | None) -> _Overlay | None:
        """The heat as premultiplied colour and inverse alpha at frame size, over its region.

        Rebuilt when the heat changed and `REFRESH_S` of frame time has passed (or always,
        when `frame_t` is None): heat moves slowly, so this keeps the per-frame cost to one
        multiply and one add.
        """
        cached = self._cache.get(layer)
        if cached is not None and (cached.version == self._version or (
                frame_t is not None and frame_t - cached.t < REFRESH_S)):
            return cached
        grid = self._layers.get(layer)
        if grid is None:
            return None
        rows = np.flatnonzero(grid.any(axis=1))
        if rows.size == 0:
            return None
        cols = np.flatnonzero(grid[rows[0]:rows[-1] + 1].any(axis=0))
        # The region with heat, one cell of margin for the interpolation's reach.
        gy0, gy1 = max(0, rows[0] - 1), min(grid.shape[0], rows[-1] + 2)
        gx0, gx1 = max(0, cols[0] - 1), min(grid.shape[1], cols[-1] + 2)
        lv = self._levels(grid[gy0:gy1, gx0:gx1])  # the scale factor does not change ranks
        premul_lut, inv_lut = _luts(self.config.colormap, self.config.opacity)
        premul = cv2.LUT(cv2.merge([lv] * 3), premul_lut)
        inv = cv2.LUT(lv, inv_lut)
        assert self.shape is not None
        c = self.cell
        y0, x0 = gy0 * c, gx0 * c
        y1, x1 = min(self.shape[0], gy1 * c), min(self.shape[1], gx1 * c)
        size = ((gx1 - gx0) * c, (gy1 - gy0) * c)
        # Frame-size buffers are reused: fresh 6 MB arrays (page faults, unmapping the old
        # ones) cost more than the resizing itself.
        if cached is None or cached.buffers[0].shape[:2] != size[::-1]:
            bufs = (np.empty((*size[::-1], 3), np.uint8), np.empty(size[::-1], np.uint8),
                    np.empty((*size[::-1], 3), np.uint8))
        else:
            bufs = cached.buffers
        # Resizing the sub-grid to whole cells samples it at the same centres as the full grid.
        cv2.resize(premul, size, dst=bufs[0], interpolation=cv2.INTER_LINEAR)
        cv2.resize(inv, size, dst=bufs[1], interpolation=cv2.INTER_LINEAR)
        cv2.merge([bufs[1]] * 3, dst=bufs[2])
        h, w = y1 - y0, x1 - x0
        ov = _Overlay((slice(y0, y1), slice(x0, x1)), bufs[0][:h, :w], bufs[2][:h, :w],
                      self._version, -math.inf if frame_t is None else frame_t, bufs)
        self._cache[layer] = ov
        return ov

    def render(self, frame: np.ndarray, layer: str = ALL, t: float | None = None) -> np.ndarray:
        """A copy of the frame with heat blended over it; pixels with no heat keep the frame
        exactly. With `t` (frame time), the heat picture is refreshed at most every REFRESH_S.

        Example:
            >>> img = np.zeros((100, 100, 3), np.uint8)
            >>> h = HeatmapAccumulator(); h.add(Tracks([[40, 40, 60, 60]], [1], [0], [1.]), 0, (100, 100))
            >>> bool((h.render(img)[50, 50] > 0).any()), bool((h.render(img)[0, 0] == 0).all())
            (True, True)
        """
        self._ensure_shape(frame.shape[:2])
        ov = self._overlay(layer, t)
        if ov is None:
            return frame.copy()
        out = np.empty_like(frame)
        ys, xs = ov.region
        # Every pixel written once: the frame outside the heat's box, the blend inside it.
        out[:ys.start], out[ys.stop:] = frame[:ys.start], frame[ys.stop:]
        out[ys, :xs.start], out[ys, xs.stop:] = frame[ys, :xs.start], frame[ys, xs.stop:]
        blend(frame[ov.region], ov.inv, ov.premul, out[ov.region])
        return out

    def colorized(self, layer: str = ALL) -> np.ndarray:
        """The heat alone as a BGR image at frame size; black where there is none."""
        if self.shape is None:
            raise DashboardError("The heatmap is empty: process some frames first.")
        lv = self._levels(self.grid(layer))
        img = self._upsample(cv2.applyColorMap(lv, self.config.colormap))
        img[self._upsample(lv) == 0] = 0
        return img

    def legend(self, width: int) -> np.ndarray:
        """A strip that says what the colours mean, `width` pixels wide (BGR): the colour
        ramp from the least heat to the most, and what heat measures here.

        Example:
            >>> HeatmapAccumulator().legend(400).shape
            (44, 400, 3)
        """
        w = max(int(width), 120)
        strip = np.full((44, w, 3), 32, np.uint8)
        ramp = np.linspace(1, 255, w - 20).astype(np.uint8)[None, :]
        strip[24:38, 10:w - 10] = cv2.applyColorMap(np.repeat(ramp, 14, 0),
                                                     self.config.colormap)
        what = ("time spent here" if self.config.half_life_s is None else
                f"recent time spent here (halves every {self.config.half_life_s:g} s)")
        text = f"heat: {what}; colours ranked, least to most"
        scale = 0.4 if w < 640 else 0.5
        cv2.putText(strip, text, (10, 17), cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1,
                    cv2.LINE_AA)
        return strip

    # -- export -------------------------------------------------------------------------
    def to_png(self, path: str | Path, layer: str = ALL) -> Path:
        """Write the colourised heat as a PNG at frame size.

        Example:
            >>> engine.heatmap.to_png("heat.png")  # doctest: +SKIP
        """
        path = Path(path)
        if not cv2.imwrite(str(path), self.colorized(layer)):
            raise DashboardError(f"Could not write the heatmap PNG to {path}.")
        return path

    def save(self, path: str | Path | BinaryIO, **about: Any) -> str | Path | BinaryIO:
        """Save heat and settings as .npz (a path or a binary file), to continue with `load`;
        `about` (e.g. camera="Door") goes into its meta as it is.

        The meta says what the numbers are (`unit`), on which grid (`cell` frame pixels a
        cell, for a frame of `shape`), and over which times (`since`, `t`).

        Example:
            >>> engine.heatmap.save("heat.npz"); h = HeatmapAccumulator.load("heat.npz")  # doctest: +SKIP
        """
        meta = {**about, "config": asdict(self.config), "shape": self.shape, "cell": self.cell,
                "t": self._t, "since": self._since, "unit": HEAT_UNIT}
        arrays = {f"layer_{k}": v * np.float32(self._scale) for k, v in self._layers.items()}
        if hasattr(path, "write"):
            np.savez_compressed(path, meta=np.array(json.dumps(meta)), **arrays)
            return path
        try:
            with open(path, "wb") as f:
                np.savez_compressed(f, meta=np.array(json.dumps(meta)), **arrays)
        except OSError as e:
            raise DashboardError(f"Could not save the heatmap to {path}: {e}") from e
        return Path(path)

    @_new_or_self
    def load(self, path: str | Path | BinaryIO) -> "HeatmapAccumulator":
        """Load heat and settings saved by `save`: `HeatmapAccumulator.load(p)` gives a new
        accumulator, `acc.load(p)` replaces that one's contents.

        Example:
            >>> h = HeatmapAccumulator.load("heat.npz")  # doctest: +SKIP
        """
        try:
            with np.load(path if hasattr(path, "read") else Path(path),
                         allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                layers = {k[len("layer_"):]: data[k].astype(np.float32)
                          for k in data.files if k.startswith("layer_")}
        except (OSError, ValueError, KeyError) as e:
            raise DashboardError(f"{path} is not a heatmap saved by this program: {e}") from e
        self.config = HeatmapConfig(**meta["config"])
        self.shape = tuple(meta["shape"]) if meta["shape"] else None
        self.cell = int(meta["cell"])
        self._layers, self._scale, self._t = layers, 1.0, meta["t"]
        self._since = meta.get("since", meta["t"])
        self._version += 1
        self._cache = {}
        return self
