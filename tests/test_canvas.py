"""Canvas (fabric.js) objects to zone points in frame pixels, for any frame size."""
from __future__ import annotations

import pytest

from dashboard.web.canvas import CanvasScale, object_points, zone_from_canvas
from dashboard.engine import zone_from_dict
from dashboard.errors import DashboardError

# As streamlit-drawable-canvas 0.13 returned them from real drags and clicks in Chromium.
LINE = {"type": "Line", "originX": "center", "originY": "center", "left": 325,
        "top": 299.4375, "width": 450, "height": 0, "scaleX": 1, "scaleY": 1, "angle": 0,
        "x1": -225, "x2": 225, "y1": 0, "y2": 0}
POLYGON = {"type": "Polygon", "originX": "center", "originY": "center", "left": 500,
           "top": 295, "width": 200, "height": 90, "scaleX": 1, "scaleY": 1, "angle": 0,
           "points": [{"x": 400, "y": 250}, {"x": 600, "y": 250}, {"x": 600, "y": 340},
                      {"x": 400, "y": 340}]}


def test_line_and_polygon_as_drawn():
    assert object_points(LINE) == ("line", [(100.0, 299.4375), (550.0, 299.4375)])
    assert object_points(POLYGON) == ("polygon", [(400, 250), (600, 250), (600, 340),
                                                  (400, 340)])


def test_moved_scaled_and_rotated_objects():
    moved = {**POLYGON, "left": 520, "top": 305}                     # dragged by (+20, +10)
    assert object_points(moved)[1][0] == (420, 260)
    scaled = {**LINE, "scaleX": 2}                                   # stretched about its centre
    assert object_points(scaled)[1] == [(-125.0, 299.4375), (775.0, 299.4375)]
    rotated = {**LINE, "angle": 90}                                  # now vertical
    (x0, y0), (x1, y1) = object_points(rotated)[1]
    assert (x0, y0) == pytest.approx((325, 74.4375)) and (x1, y1) == pytest.approx((325, 524.4375))
    top_left = {**LINE, "originX": "left", "originY": "top", "left": 100, "top": 299.4375}
    assert object_points(top_left)[1] == object_points(LINE)[1]


def test_path_polygons_with_and_without_offset():
    path = {"type": "path", "left": 10, "top": 20, "width": 100, "height": 50,
            "path": [["M", 10, 20], ["L", 110, 20], ["L", 110, 70], ["z"]]}
    assert object_points(path)[1] == [(10, 20), (110, 20), (110, 70)]
    assert object_points({**path, "pathOffset": {"x": 60, "y": 45}})[1] == \
        [(10, 20), (110, 20), (110, 70)]


@pytest.mark.parametrize("w, h", [(640, 360), (1920, 1080), (1280, 720), (1000, 333),
                                  (333, 1000), (2592, 1944), (100, 80)])
def test_scale_maps_canvas_corners_to_frame_corners_exactly(w, h):
    s = CanvasScale.fit(w, h, max_w=720)
    assert s.canvas_w <= 720 and abs(s.canvas_h / s.canvas_w - h / w) < 1 / s.canvas_w + 1e-9
    assert s.to_frame(0, 0) == (0, 0)
    assert s.to_frame(s.canvas_w, s.canvas_h) == pytest.approx((w, h))
    assert s.to_frame(s.canvas_w / 2, s.canvas_h / 4) == pytest.approx((w / 2, h / 4))


def test_zone_from_canvas_scales_to_frame_pixels_and_validates():
    d = zone_from_canvas(POLYGON, CanvasScale(1280, 720, 640, 360), "bay", anchor="bottom_center")
    assert d["points"] == [[800, 500], [1200, 500], [1200, 680], [800, 680]]
    assert zone_from_dict(d).anchor == "bottom_center"
    too_few = {**POLYGON, "points": POLYGON["points"][:2]}
    with pytest.raises(DashboardError, match="at least 3 points"):
        zone_from_dict(zone_from_canvas(too_few, CanvasScale(640, 360, 640, 360), "x"))
    with pytest.raises(DashboardError, match="cannot be a zone"):
        object_points({"type": "circle", "left": 0, "top": 0})


@pytest.mark.parametrize("mode, want", [("Line", LINE), ("Polygon", POLYGON)])
def test_add_zone_takes_the_newest_shape_of_the_mode_now_chosen(mode, want):
    from dashboard.web.canvas import newest_shape

    drawn = [POLYGON, LINE] if mode == "Polygon" else [LINE, POLYGON]   # the other one last
    assert newest_shape(drawn, mode) is want
    assert newest_shape([{"type": "rect"}], mode) is None


def test_zones_in_unit_coordinates_cover_the_same_region_at_any_size():
    from dashboard.web.canvas import unit_points
    from dashboard.config.zone import ZoneSpec

    kind, pts = unit_points(POLYGON, CanvasScale(1280, 720, 640, 360))
    spec = ZoneSpec.create("shop", kind, pts)
    small, big = spec.to_zone(640, 360), spec.to_zone(1920, 1080)
    assert (big.points / 3).round(1).tolist() == small.points.round(1).tolist()
