"""A camera's heat pictures say whose heat they show and over when; its NPZ says its unit."""
from __future__ import annotations

import io
import json
import time

import cv2
import numpy as np

from dashboard.engine import Engine, Tracks
from dashboard.engine.heatmap import HEAT_UNIT, HeatmapAccumulator
from dashboard.pipeline.pictures import heat_bytes, heat_title


def heated(start: float, seconds: int) -> Engine:
    eng = Engine()
    frame = np.zeros((90, 160, 3), np.uint8)
    one = Tracks(xyxy=np.array([[70, 30, 90, 70]], np.float32), ids=np.array([1]),
                 cls=np.zeros(1, np.float32), conf=np.ones(1, np.float32), names={0: "person"})
    for k in range(seconds * 10):
        moved = Tracks(xyxy=one.xyxy + [k % 50, 0, k % 50, 0], ids=one.ids, cls=one.cls,
                       conf=one.conf, names=one.names)
        eng.update(frame, moved, start + k / 10, draw=False)
    return eng


def test_the_heat_png_has_the_camera_and_its_period_above_and_the_legend_below():
    eng = heated(1796454000.0, 3)
    assert eng.heatmap.period == (1796454000.0, 1796454002.9)
    for kind in ("png", "scene"):
        png = heat_bytes(eng, kind, np.zeros((90, 160, 3), np.uint8), camera="Door")
        img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
        assert img.shape[0] == 28 + 90 + 44 and img.shape[1] == 160
        assert img[:28].std() > 0 and img[-44:].std() > 0        # text on both strips
    title = heat_title("Door", eng.heatmap.period)
    start = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(1796454000.0))
    assert title.startswith(f"Door: heat from {start} to ") and "(UTC" in title


def test_the_heat_npz_says_its_unit_camera_and_period_and_loads_back():
    eng = heated(1796454000.0, 2)
    data = heat_bytes(eng, "npz", camera="Door")
    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        meta = json.loads(str(z["meta"]))
    assert meta["unit"] == HEAT_UNIT and "object-frames" in meta["unit"]
    assert (meta["camera"], meta["since"], meta["t"]) == ("Door", 1796454000.0, 1796454001.9)
    back = HeatmapAccumulator.load(io.BytesIO(data))
    assert back.period == eng.heatmap.period
    assert np.allclose(back.grid(), eng.heatmap.grid())
