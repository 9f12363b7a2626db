"""Turning streamlit-drawable-canvas (fabric.js) objects into zone points in frame pixels.

The canvas shows the frame scaled by `CanvasScale`; a fabric object stores its geometry
relative to its own origin, possibly moved or scaled afterwards. Both are undone here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dashboard.errors import DashboardError


@dataclass(frozen=True)
class CanvasScale:
    """How a frame of `frame_w` x `frame_h` maps onto a canvas at most `max_w` wide.

    Example:
        >>> s = CanvasScale.fit(1920, 1080, max_w=720)
        >>> (s.canvas_w, s.canvas_h), s.to_frame(360, 202.5)
        ((720, 405), (960.0, 540.0))
    """

    frame_w: int
    frame_h: int
    canvas_w: int
    canvas_h: int

    @classmethod
    def fit(cls, frame_w: int, frame_h: int, max_w: int = 720) -> "CanvasScale":
        cw = min(max_w, frame_w)
        ch = max(1, round(cw * frame_h / frame_w))
        return cls(frame_w, frame_h, cw, ch)

    def to_frame(self, x: float, y: float) -> tuple[float, float]:
        """Canvas pixel -> frame pixel, each axis by its own exact ratio."""
        return (x * self.frame_w / self.canvas_w, y * self.frame_h / self.canvas_h)

    def to_unit(self, x: float, y: float) -> tuple[float, float]:
        """Canvas pixel -> 0..1 of the frame's width and height (how zones are stored).

        Example:
            >>> CanvasScale(1280, 720, 640, 360).to_unit(320, 90)
            (0.5, 0.25)
        """
        return (x / self.canvas_w, y / self.canvas_h)


def _transform(obj: dict[str, Any], local: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Apply a fabric object's scale, rotation and position to points given relative to its
    centre (fabric's own object space)."""
    sx, sy = float(obj.get("scaleX", 1) or 1), float(obj.get("scaleY", 1) or 1)
    angle = math.radians(float(obj.get("angle", 0) or 0))
    w, h = float(obj.get("width", 0)) * sx, float(obj.get("height", 0)) * sy
    left, top = float(obj.get("left", 0)), float(obj.get("top", 0))
    # Where the object's centre is, from its origin point (left/top name that point).
    ox = {"left": 0.5, "center": 0.0, "right": -0.5}.get(obj.get("originX", "left"), 0.5)
    oy = {"top": 0.5, "center": 0.0, "bottom": -0.5}.get(obj.get("originY", "top"), 0.5)
    cos, sin = math.cos(angle), math.sin(angle)
    cx = left + cos * ox * w - sin * oy * h
    cy = top + sin * ox * w + cos * oy * h
    out = []
    for x, y in local:
        x, y = x * sx, y * sy
        out.append((cx + cos * x - sin * y, cy + sin * x + cos * y))
    return out


def object_points(obj: dict[str, Any]) -> tuple[str, list[tuple[float, float]]]:
    """("line" | "polygon", canvas points) of one fabric object from `json_data["objects"]`.

    Example:
        >>> line = {"type": "line", "left": 100, "top": 50, "width": 200, "height": 0,
        ...         "originX": "center", "originY": "center",
        ...         "x1": -100, "y1": 0, "x2": 100, "y2": 0}
        >>> object_points(line)
        ('line', [(0.0, 50.0), (200.0, 50.0)])
    """
    kind = str(obj.get("type", "")).lower()
    if kind == "line":
        pts = [(float(obj["x1"]), float(obj["y1"])), (float(obj["x2"]), float(obj["y2"]))]
        return "line", _transform(obj, pts)
    if kind in ("polygon", "polyline"):
        raw = [(float(p["x"]), float(p["y"])) for p in obj.get("points", [])]
    elif kind == "path":
        raw = [(float(c[-2]), float(c[-1])) for c in obj.get("path", [])
               if len(c) >= 3 and str(c[0]).upper() in ("M", "L")]
    else:
        raw = None
    if raw is not None:
        # Points are stored in the object's own plane, offset by the centre of their box
        # (fabric's pathOffset, which it does not always export).
        off = obj.get("pathOffset")
        if off is None:
            xs, ys = [p[0] for p in raw] or [0.0], [p[1] for p in raw] or [0.0]
            off = {"x": (min(xs) + max(xs)) / 2, "y": (min(ys) + max(ys)) / 2}
        pts = [(x - off["x"], y - off["y"]) for x, y in raw]
        if len(pts) > 1 and pts[0] == pts[-1]:
            pts = pts[:-1]
        return "polygon", _transform(obj, pts)
    raise DashboardError(f"A {kind or 'shape'} cannot be a zone: draw a line or a polygon.")


SHAPES = {"line": ("line",), "polygon": ("polygon", "path", "polyline")}


def newest_shape(objects: list[dict[str, Any]], mode: str) -> dict[str, Any] | None:
    """The newest drawn object of the drawing mode now chosen ("line" or "polygon"): a line
    drawn before switching to Polygon must not become the polygon zone.

    Example:
        >>> newest_shape([{"type": "path"}, {"type": "line", "x1": 0}], "polygon")
        {'type': 'path'}
        >>> newest_shape([{"type": "path"}], "line") is None
        True
    """
    wanted = SHAPES[mode.lower()]
    return next((o for o in reversed(objects) if str(o.get("type", "")).lower() in wanted), None)


def unit_points(obj: dict[str, Any], scale: CanvasScale) -> tuple[str, list[list[float]]]:
    """("line" | "polygon", points in 0..1 of the frame) of one drawn object.

    Example:
        >>> line = {"type": "line", "left": 100, "top": 50, "width": 200, "height": 0,
        ...         "originX": "center", "originY": "center",
        ...         "x1": -100, "y1": 0, "x2": 100, "y2": 0}
        >>> unit_points(line, CanvasScale(1280, 720, 640, 360))
        ('line', [[0.0, 0.1389], [0.3125, 0.1389]])
    """
    kind, pts = object_points(obj)
    return kind, [[round(v, 4) for v in scale.to_unit(x, y)] for x, y in pts]


def zone_from_canvas(obj: dict[str, Any], scale: CanvasScale, name: str,
                     **options: Any) -> dict[str, Any]:
    """A zones-file dict (frame pixels) from one drawn object; validate it with
    `zone_from_dict`.

    Example:
        >>> line = {"type": "line", "left": 100, "top": 50, "width": 200, "height": 0,
        ...         "originX": "center", "originY": "center",
        ...         "x1": -100, "y1": 0, "x2": 100, "y2": 0}
        >>> zone_from_canvas(line, CanvasScale(1280, 720, 640, 360), "door")["points"]
        [[0.0, 100.0], [400.0, 100.0]]
    """
    kind, pts = object_points(obj)
    frame_pts = [[round(v, 2) for v in scale.to_frame(x, y)] for x, y in pts]
    return {"name": name, "type": kind, "points": frame_pts, **options}


def fabric_object(kind: str, points: list[list[float]], scale: CanvasScale,
                  color: str = "#00ffff") -> dict[str, Any]:
    """A zone (points in 0..1 of the frame) as a fabric object the canvas can show and the
    operator can move or reshape (its corners drag in the canvas's Edit mode);
    `object_points` reads it back, edited or not.

    Example:
        >>> s = CanvasScale(1280, 720, 640, 360)
        >>> obj = fabric_object("line", [[0.0, 0.5], [0.5, 0.5]], s)
        >>> unit_points(obj, s)
        ('line', [[0.0, 0.5], [0.5, 0.5]])
        >>> square = [[0.25, 0.25], [0.5, 0.25], [0.5, 0.5], [0.25, 0.5]]
        >>> unit_points(fabric_object("polygon", square, s), s)[1] == square
        True
    """
    pts = [(x * scale.canvas_w, y * scale.canvas_h) for x, y in points]
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    common = {"left": cx, "top": cy, "originX": "center", "originY": "center",
              "width": max(xs) - min(xs), "height": max(ys) - min(ys), "stroke": color,
              "strokeWidth": 3, "strokeUniform": True, "scaleX": 1, "scaleY": 1, "angle": 0}
    if kind == "line":
        (x1, y1), (x2, y2) = pts
        return {"type": "Line", **common, "fill": color, "x1": x1 - cx, "y1": y1 - cy,
                "x2": x2 - cx, "y2": y2 - cy}
    return {"type": "Polygon", **common, "fill": "rgba(0, 255, 255, 0.15)",
            "points": [{"x": x, "y": y} for x, y in pts], "pathOffset": {"x": cx, "y": cy}}
