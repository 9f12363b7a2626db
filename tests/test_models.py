"""Models: a model's fixed input size read from its file, refused in words where a camera
asks another, and the small-objects advice tailored to it."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from dashboard.engine import Tracks
from dashboard.errors import DashboardError
from dashboard.vision.detector import Detector


@pytest.fixture(scope="module")
def fixed_model(tmp_path_factory):
    """The demo model as an ONNX fixed at 320x320 (as ultralytics exports without
    dynamic=True): our cached export with its input's sizes made numbers."""
    import onnx

    from dashboard.demo import DEMO_MODEL
    from dashboard.vision.models import cached_onnx

    model = onnx.load(str(cached_onnx(DEMO_MODEL, 320)))
    for dim, size in zip(model.graph.input[0].type.tensor_type.shape.dim, (1, 3, 320, 320)):
        dim.dim_value = size
    path = tmp_path_factory.mktemp("fixed") / "fixed320.onnx"
    onnx.save(model, str(path))
    return path


def test_a_fixed_size_model_refuses_another_image_size_in_words(fixed_model, tmp_path):
    from dashboard.service.core import Service
    from dashboard.store.sqlite import SQLiteStore
    from dashboard.vision.models import fixed_input

    assert fixed_input(fixed_model) == 320 and fixed_input("demo") is None
    with pytest.raises(DashboardError, match="fixed at 320 px.*Use image size 320"):
        Detector(str(fixed_model), imgsz=640)
    svc = Service(SQLiteStore(":memory:"), tmp_path, demo=False, autostart=False)
    try:
        with pytest.raises(DashboardError, match="fixed at 320 px"):
            svc.add_camera("Door", "demo", {"model": str(fixed_model), "imgsz": 1280})
        cam = svc.add_camera("Door", "demo", {"model": str(fixed_model), "imgsz": 320},
                             enabled=False)
        with pytest.raises(DashboardError, match="fixed at 320 px"):
            svc.update_camera(cam.id, settings={"imgsz": 640})
        assert svc.camera(cam.id).settings.imgsz == 320          # nothing was changed
    finally:
        svc.shutdown()


def test_small_objects_advice_on_a_fixed_size_model_says_what_would_help(fixed_model):
    from dashboard.vision.sizes import SizeCheck

    det = Detector(str(fixed_model), imgsz=320)
    assert det.fixed_size == 320 and not det.can_probe
    check = SizeCheck(320)
    frame = np.zeros((720, 1280, 3), np.uint8)
    small = Tracks(xyxy=np.array([[0, 0, 20, 50]] * 3, np.float32), ids=np.arange(3),
                   cls=np.zeros(3, np.float32), conf=np.ones(3, np.float32),
                   names={0: "person"})
    for i in range(40):
        check.observe(det, frame, small, i)
    advice = check.advice()
    assert "fixed at 320 px: export it again with dynamic=True and use image size 960" in advice
    assert "Use image size" not in advice


OPENVINO = Path(__file__).resolve().parents[2] / "shared" / "real" / "models" / \
    "yolo11n_int8_openvino_model"


def test_a_model_whose_runtime_is_missing_is_refused_naming_the_package():
    """An OpenVINO model folder where the `openvino` package cannot be imported (blocked in
    a child process): refused in words (what is missing, how to add it), nothing installed
    behind the user's back."""
    import subprocess
    import sys

    if not OPENVINO.is_dir():
        pytest.skip("../shared/real is absent")
    code = ("import sys; sys.modules['openvino'] = None\n"
            "from dashboard.vision.detector import Detector\n"
            "from dashboard.errors import DashboardError\n"
            "try:\n    Detector(sys.argv[1], imgsz=640)\n"
            "except DashboardError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code, str(OPENVINO)], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "YOLO_OFFLINE": "1"})
    assert "needs the Python package 'openvino'" in out.stdout, out.stdout + out.stderr
    assert "pip install openvino" in out.stdout


@pytest.mark.slow
def test_an_openvino_model_loads_runs_at_its_own_size_and_says_so():
    import importlib.util

    if not OPENVINO.is_dir():
        pytest.skip("../shared/real is absent")
    if importlib.util.find_spec("openvino") is None:
        pytest.skip("openvino is not installed here (.ci/setup installs it for the tests)")
    with pytest.raises(DashboardError, match="fixed at 640"):
        Detector(str(OPENVINO), imgsz=320)
    det = Detector(str(OPENVINO), imgsz=640)
    assert det.runtime == "openvino"
    import cv2

    cap = cv2.VideoCapture(str(OPENVINO.parents[1] / "road-cars-gorknnlite.mp4"))
    ok, frame = cap.read()
    cap.release()
    assert ok and det.track(frame).class_names().count("car") >= 5     # the cars in frame 0
