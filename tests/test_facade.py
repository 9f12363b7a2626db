"""The ultralytics-style facade and model loading (no weights download: it is offline here)."""
from __future__ import annotations

import numpy as np
import pytest

from support.helpers import tracks_of
from dashboard import Heatmap
from dashboard.vision.detector import Detector
from dashboard.vision.models import load_model
from dashboard.errors import DashboardError
from dashboard.pipeline.facade import region_zone


@pytest.mark.parametrize("region, path, expected", [
    ([(300, 0), (300, 400)], [(250, 200), (350, 200)], "in"),    # vertical: right is IN
    ([(300, 400), (300, 0)], [(250, 200), (350, 200)], "in"),    # either point order
    ([(300, 0), (300, 400)], [(350, 200), (250, 200)], "out"),
    ([(0, 200), (600, 200)], [(300, 150), (300, 250)], "in"),    # horizontal: down is IN
    ([(600, 200), (0, 200)], [(300, 150), (300, 250)], "in"),
    ([(600, 180), (0, 220)], [(300, 250), (300, 150)], "out"),
])
def test_region_line_keeps_ultralytics_direction_rule(region, path, expected):
    z = region_zone(region)
    got = []
    for i, (x, y) in enumerate(path):
        got += [e.direction for e in z.trigger(tracks_of((1, x, y)), i)]
    assert got == [expected]


def test_region_of_three_points_is_a_polygon_and_one_point_is_refused():
    assert region_zone([(0, 0), (10, 0), (10, 10)]).kind == "polygon"
    with pytest.raises(DashboardError):
        region_zone([(0, 0)])


@pytest.fixture(scope="module")
def untrained_heatmap():
    # yolo26n.yaml builds an untrained model without any download.
    return Heatmap(model="yolo26n.yaml", region=[(0, 200), (640, 200)], imgsz=160)


def test_facade_process_returns_ultralytics_fields(untrained_heatmap, monkeypatch):
    hm = untrained_heatmap
    feed = iter([tracks_of((1, 300, 150, 0)), tracks_of((1, 300, 250, 0))])
    monkeypatch.setattr(hm.detector, "track", lambda frame: next(feed))
    img = np.zeros((400, 640, 3), np.uint8)
    hm.process(img)
    res = hm.process(img)
    assert res.plot_im.shape == img.shape
    assert (res.in_count, res.out_count, res.total_tracks) == (1, 0, 1)
    assert res.classwise_count == {"person": {"IN": 1, "OUT": 0}}


def test_detector_runs_real_tracking_on_a_frame(untrained_heatmap):
    tracks = untrained_heatmap.detector.track(np.zeros((240, 320, 3), np.uint8))
    assert tracks.xyxy.shape[1] == 4 and len(untrained_heatmap.detector.names) == 80


@pytest.mark.parametrize("spec, words", [
    ("missing/dir/model.pt", "not found"),
    ("notes.txt", "not a model file"),
    ("yolo26n.pt", "offline"),
])
def test_unloadable_models_give_a_clear_error(spec, words):
    with pytest.raises(DashboardError, match=words):
        load_model(spec)


def test_corrupt_model_file_gives_a_clear_error(tmp_path):
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"\x80\x04 this is not a torch file" * 100)
    with pytest.raises(DashboardError, match="Could not load"):
        Detector(str(bad))


def test_unknown_tracker_and_class_are_refused():
    with pytest.raises(DashboardError, match="Tracker"):
        Detector("yolo26n.yaml", tracker="nope.yaml")
    with pytest.raises(DashboardError, match="unicorn"):
        Detector("yolo26n.yaml", classes=["unicorn"])
