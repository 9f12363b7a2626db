"""The zone canvas: a still of the camera that the operator draws a line or a polygon on, or
reshapes a zone on, with a mouse, a pen or a finger.

It fits its column at any width (a phone's included) and every corner of a finished shape
drags on its own. A Streamlit v2 component, with no iframe and no build step: the
picture is an SVG in the frame's own pixels (`zone_canvas.js`), and the shape comes back in
0..1 of the frame, as zones are stored. What comes back from a browser is checked here
before anything uses it (`shape_of`), and again by `ZoneSpec` when it is saved.
"""
from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import streamlit as st

from dashboard.config.kinds import ZoneKind

MAX_PICTURE_W = 1280     # a larger still is scaled down for the page (points are 0..1)
MAX_CORNERS = 64

_component = st.components.v2.component(
    "heatmap_dashboard.zone_canvas",
    html='<div class="zone-canvas"></div>',
    css="""
    .zone-canvas { font-family: var(--st-font); color: var(--st-text-color); }
    .zone-canvas svg.picture { display: block; width: 100%; height: auto;
                               touch-action: none; cursor: crosshair; user-select: none; }
    .zone-canvas .bar { display: flex; flex-wrap: wrap; align-items: center;
                        gap: 0.5rem; margin-top: 0.4rem; font-size: 0.85rem; }
    .zone-canvas .hint { flex: 1 1 14rem; opacity: 0.8; }
    .zone-canvas button { font: inherit; padding: 0.25rem 0.7rem; border-radius: 0.5rem;
                          border: 1px solid rgba(128, 128, 128, 0.4); cursor: pointer;
                          background: var(--st-secondary-background-color);
                          color: var(--st-text-color); }
    .zone-canvas button:disabled { opacity: 0.4; cursor: default; }
    .zone-canvas button[hidden] { display: none; }
    """,
    js=(Path(__file__).with_name("zone_canvas.js")).read_text(encoding="utf-8"),
)


@dataclass(frozen=True)
class Shape:
    """A drawn line (2 points) or polygon (3 or more), in 0..1 of the frame."""

    kind: ZoneKind
    points: list[list[float]]


def shape_of(value: Any) -> Shape | None:
    """The shape a browser sent, or None when it is not one (nothing drawn yet, or a value
    no canvas of ours would send).

    Example:
        >>> shape_of({"kind": "line", "points": [[0.1, 0.5], [0.9, 0.5]]})
        Shape(kind=<ZoneKind.LINE: 'line'>, points=[[0.1, 0.5], [0.9, 0.5]])
        >>> shape_of({"kind": "polygon", "points": [[0, 0], [1, 1]]}) is None   # 2 corners
        True
    """
    if not isinstance(value, dict) or value.get("kind") not in ("line", "polygon"):
        return None
    kind, raw = ZoneKind(value["kind"]), value.get("points")
    if not isinstance(raw, list) or not all(isinstance(p, list) and len(p) == 2 for p in raw):
        return None
    try:
        points = [[float(x), float(y)] for x, y in raw]
    except (TypeError, ValueError):
        return None
    if not all(math.isfinite(v) and -1e-6 <= v <= 1 + 1e-6 for p in points for v in p):
        return None
    wanted = len(points) == 2 if kind is ZoneKind.LINE else 3 <= len(points) <= MAX_CORNERS
    return Shape(kind, points) if wanted else None


def picture_data(bgr: np.ndarray) -> dict[str, Any]:
    """A still as the canvas takes it: a JPEG data URL and its size.

    Example:
        >>> d = picture_data(np.zeros((720, 1920, 3), np.uint8))
        >>> (d["width"], d["height"]), d["image"][:23]
        ((1280, 480), 'data:image/jpeg;base64,')
    """
    h, w = bgr.shape[:2]
    if w > MAX_PICTURE_W:
        bgr = cv2.resize(bgr, (MAX_PICTURE_W, max(1, round(h * MAX_PICTURE_W / w))),
                         interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 85])
    if not ok:
        raise ValueError("the picture could not be encoded")
    h, w = bgr.shape[:2]
    return {"image": "data:image/jpeg;base64," + base64.b64encode(jpeg.tobytes()).decode(),
            "width": w, "height": h}


def zone_canvas(picture: np.ndarray, kind: ZoneKind, key: str,
                start: list[list[float]] | None = None) -> Shape | None:
    """Show the canvas over `picture` (BGR) for drawing a `kind` of shape (a mask is a
    polygon), or for reshaping `start`; returns the shape as it is now on the page, or
    None while there is none."""
    mode = "line" if kind is ZoneKind.LINE else "polygon"
    data = picture_data(picture)
    # What starts the drawing afresh (not the picture: its counts change on every rerun).
    data.update(mode=mode, points=start, sig=f"{mode}:{start}:{data['width']}x{data['height']}")
    result = _component(key=key, data=data, default={"shape": None},
                        on_shape_change=lambda: None)
    shape = shape_of(result.get("shape"))
    return shape if shape is not None and shape.kind.value == mode else None
