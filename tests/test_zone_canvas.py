"""The zone canvas's Python side: what a browser sends is checked before use; the picture
it is given keeps its proportions. (Drawing itself is driven in Chromium:
test_browser_operator.py.)"""
from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest

from dashboard.config.kinds import ZoneKind
from dashboard.web.zone_canvas import MAX_CORNERS, MAX_PICTURE_W, Shape, picture_data, shape_of

SQUARE = [[0.25, 0.25], [0.5, 0.25], [0.5, 0.5], [0.25, 0.5]]


@pytest.mark.parametrize("value, expected", [
    ({"kind": "line", "points": [[0.1, 0.5], [0.9, 0.5]]},
     Shape(ZoneKind.LINE, [[0.1, 0.5], [0.9, 0.5]])),
    ({"kind": "polygon", "points": SQUARE}, Shape(ZoneKind.POLYGON, SQUARE)),
    ({"kind": "polygon", "points": [[0, 0], [1, 0], [1, 1]]},
     Shape(ZoneKind.POLYGON, [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])),
    (None, None),                                                     # nothing drawn yet
    ({"kind": "line", "points": [[0.1, 0.5]]}, None),                 # one end
    ({"kind": "line", "points": SQUARE}, None),                       # a line of 4 points
    ({"kind": "polygon", "points": [[0, 0], [1, 1]]}, None),          # two corners
    ({"kind": "polygon", "points": [[0, 0]] * (MAX_CORNERS + 1)}, None),
    ({"kind": "mask", "points": SQUARE}, None),                       # not a kind we send
    ({"kind": "line", "points": [[0.1, 1.5], [0.9, 0.5]]}, None),     # off the picture
    ({"kind": "line", "points": [[float("nan"), 0.5], [0.9, 0.5]]}, None),
    ({"kind": "line", "points": [["a", 0.5], [0.9, 0.5]]}, None),
    ({"kind": "line", "points": [[0.1, 0.5, 3], [0.9, 0.5]]}, None),
    ({"kind": "line", "points": "0.1,0.5"}, None),
    ("line", None),
])
def test_what_a_browser_sends_is_a_shape_or_nothing(value, expected):
    assert shape_of(value) == expected


@pytest.mark.parametrize("w, h", [(640, 360), (1920, 1080), (333, 1000), (2592, 1944),
                                  (100, 80)])
def test_the_picture_keeps_its_proportions(w, h):
    img = np.zeros((h, w, 3), np.uint8)
    d = picture_data(img)
    assert d["width"] == min(w, MAX_PICTURE_W)
    assert abs(d["height"] / d["width"] - h / w) < 1 / d["width"] + 1e-9
    jpeg = base64.b64decode(d["image"].split(",", 1)[1])
    decoded = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape[:2] == (d["height"], d["width"])
