"""The runtimes a camera's model runs on (vision/runtimes.py): each one's boxes against
PyTorch's on the same frames, within the tolerance stated per kind; the automatic choice,
kept once measured; a runtime whose package is missing refused in words."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from dashboard.config.camera import CameraSettings
from dashboard.config.kinds import Runtime
from dashboard.demo import DEMO_MODEL
from dashboard.errors import DashboardError
from dashboard.vision import runtimes
from dashboard.vision.objects import box_f1
from dashboard.vision.runtimes import Choice

B = np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32)


def boxes(xyxy, cls) -> tuple:
    xyxy = np.asarray(xyxy, np.float32).reshape(-1, 4)
    return xyxy, np.ones(len(xyxy), np.float32), np.asarray(cls, np.float32)


@pytest.mark.parametrize("found, truth, f1", [
    ([boxes(B, [0, 1])], [boxes(B, [0, 1])], 1.0),                  # the same
    ([boxes(B, [0, 0])], [boxes(B, [0, 1])], 0.5),                  # one called another class
    ([boxes(B[:1], [0])], [boxes(B, [0, 1])], 2 / 3),               # one missed
    ([boxes([[6, 6, 16, 16], [22, 20, 42, 40]], [0, 1])], [boxes(B, [0, 1])], 0.5),  # IoU .09, .82
    ([boxes([], [])], [boxes([], [])], 1.0),                        # nothing, rightly
    ([boxes(B, [0, 1]), boxes([], [])], [boxes(B, [0, 1]), boxes(B[:1], [0])], 0.8),
])
def test_box_agreement_is_f1_of_same_class_matches(found, truth, f1):
    assert box_f1(found, truth) == pytest.approx(f1)


def test_the_head_stays_float_and_only_the_head():
    """The last module's non-convolution nodes are the ones left out of INT8 (its box
    coordinates and class scores share one tensor), the backbone's are all quantised."""
    import onnx

    from dashboard.vision.models import cached_onnx

    model = onnx.load(str(cached_onnx(DEMO_MODEL, 320)))
    kept = runtimes._head_nodes(model)
    last = max(int(n.name.split("/")[1].split(".")[1]) for n in model.graph.node
               if n.name.startswith("/model."))
    assert kept and all(n.startswith(f"/model.{last}/") for n in kept)
    ops = {n.name: n.op_type for n in model.graph.node}
    assert {"Sigmoid", "Concat"} <= {ops[n] for n in kept} and "Conv" not in {ops[n] for n in kept}


def test_a_runtime_is_a_camera_setting_and_an_unknown_one_is_refused():
    assert CameraSettings.from_dict({"runtime": "openvino-int8"}).runtime is Runtime.OPENVINO_INT8
    with pytest.raises(DashboardError, match="onnx-int8"):
        CameraSettings.from_dict({"runtime": "tensorrt"})


def test_the_choice_is_measured_once_and_kept(tmp_path, monkeypatch):
    """Measured at the first load, read from the cache after; measured again for another
    image size, or when the runtime it took is no longer installed."""
    monkeypatch.setenv("HEATMAP_DASHBOARD_CACHE", str(tmp_path))
    measured = []

    def measure(weights, imgsz):
        measured.append(imgsz)
        return Choice(Runtime.ONNX_INT8, {"onnx": 9.0, "onnx-int8": 5.0}, {"onnx-int8": 0.97})

    monkeypatch.setattr(runtimes, "measure", measure)
    first = runtimes.choose(DEMO_MODEL, 320)
    assert first.runtime is Runtime.ONNX_INT8 and measured == [320]
    assert runtimes.choose(DEMO_MODEL, 320) == first and measured == [320]
    runtimes.choose(DEMO_MODEL, 640)
    assert measured == [320, 640]
    kept = json.loads((tmp_path / "runtimes.json").read_text())
    assert sorted(v["runtime"] for v in kept.values()) == ["onnx-int8", "onnx-int8"]
    monkeypatch.setattr(runtimes, "available", lambda: [Runtime.ONNX])   # INT8 gone
    assert runtimes.cached_choice(DEMO_MODEL, 320) is None
    runtimes.choose(DEMO_MODEL, 320)
    assert measured == [320, 640, 320]
    assert first.words() == "runtime onnx-int8 chosen: 5.0 ms a frame (onnx 9.0 ms), measured here"


@pytest.mark.slow
def test_a_failed_export_keeps_no_choice_and_falls_back_to_pytorch(tmp_path, monkeypatch):
    from dashboard.vision.detector import Detector

    monkeypatch.setenv("HEATMAP_DASHBOARD_CACHE", str(tmp_path))
    monkeypatch.setenv("HEATMAP_DASHBOARD_RUNTIME", "auto")

    def broken(*a, **k):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(runtimes, "model_file", broken)
    det = Detector("demo", imgsz=320, runtime="auto")
    assert det.runtime == "torch" and not (tmp_path / "runtimes.json").exists()
    with pytest.raises(DashboardError, match="Exporting the model for onnx-int8 failed"):
        Detector("demo", imgsz=320, runtime="onnx-int8")


@pytest.mark.slow
def test_the_machine_setting_says_what_auto_runs(monkeypatch):
    from dashboard.pipeline.runner import make_detector

    monkeypatch.setenv("HEATMAP_DASHBOARD_RUNTIME", "torch")
    assert make_detector(CameraSettings(imgsz=320)).runtime == "torch"   # the camera: auto
    assert make_detector(CameraSettings(imgsz=320, runtime=Runtime.ONNX)).runtime == "onnx"


@pytest.mark.slow
def test_a_missing_openvino_is_refused_when_asked_for_and_left_out_of_auto(tmp_path):
    """openvino blocked in a child process: forcing it says what is missing and how to add
    it; the automatic choice measures what is there."""
    code = ("import sys; sys.modules['openvino'] = None\n"
            "from dashboard.vision.detector import Detector\n"
            "from dashboard.vision.runtimes import available\n"
            "from dashboard.errors import DashboardError\n"
            "print([r.value for r in available()])\n"
            "try:\n    Detector('demo', imgsz=320, runtime='openvino')\n"
            "except DashboardError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "YOLO_OFFLINE": "1"})
    assert "['onnx', 'onnx-int8']" in out.stdout, out.stdout + out.stderr
    assert "needs the Python package 'openvino'" in out.stdout
    assert "pip install openvino" in out.stdout


FRAMES = 60


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    from dashboard.demo.scene import write_clip
    from dashboard.vision.sources import open_source

    clip = write_clip(tmp_path_factory.mktemp("rt") / "clip.mp4", seconds=FRAMES / 15, seed=17)
    with open_source(clip, live=False) as src:
        return [f.image for f in iter(src.read, None)]


@pytest.fixture(scope="module")
def torch_boxes(frames):
    from dashboard.vision.detector import Detector

    det = Detector("demo", imgsz=320, runtime="torch")
    return [det.detect(f) for f in frames]


# Float runtimes: the same boxes as PyTorch (ONNX export of the same weights); INT8: at
# least 90% F1 against PyTorch's boxes and matched boxes within IoU 0.8 on average.
TOLERANCE = {Runtime.ONNX: (0.98, 0.95), Runtime.OPENVINO: (0.98, 0.95),
             Runtime.ONNX_INT8: (0.90, 0.80), Runtime.OPENVINO_INT8: (0.90, 0.80)}


@pytest.mark.slow
@pytest.mark.parametrize("runtime", list(TOLERANCE))
def test_each_runtime_finds_what_pytorch_finds(runtime, frames, torch_boxes):
    from dashboard.vision.detector import Detector
    from dashboard.vision.objects import iou_matrix

    if runtime not in runtimes.available():
        pytest.skip(f"{runtimes.package_of(runtime)} is not installed here")
    det = Detector("demo", imgsz=320, runtime=runtime.value)
    assert det.runtime == runtime.value and det.direct is not None
    found = [det.detect(f) for f in frames]
    f1_min, iou_min = TOLERANCE[runtime]
    assert box_f1(found, torch_boxes) >= f1_min
    ious = []
    for (a, *_), (b, *_) in zip(found, torch_boxes):
        if len(a) and len(b):
            m = iou_matrix(np.vstack([a, b]))[:len(a), len(a):]
            ious += list(m.max(axis=1)[m.max(axis=1) > 0.5])
    assert len(ious) > 3 * len(frames) and np.mean(ious) >= iou_min


@pytest.mark.slow
def test_auto_measures_every_runtime_and_takes_the_fastest_that_agrees(tmp_path, monkeypatch):
    """A real measurement on this machine (into a cache of the test's own: the exports are
    linked from the shared one): every runtime installed is timed and compared, the one
    taken is the fastest of those that agree, and a camera on auto runs it and says so."""
    from dashboard.vision.detector import Detector
    from dashboard.vision.models import cached_onnx

    shared = cached_onnx(DEMO_MODEL, 320).parent
    (tmp_path / "onnx").mkdir()
    for f in shared.glob("demo_model-*-320*.onnx"):
        (tmp_path / "onnx" / f.name).symlink_to(f)
    monkeypatch.setenv("HEATMAP_DASHBOARD_CACHE", str(tmp_path))
    monkeypatch.setenv("HEATMAP_DASHBOARD_RUNTIME", "auto")
    choice = runtimes.choose(DEMO_MODEL, 320)
    here = [r.value for r in runtimes.available()]
    assert sorted(choice.ms) == sorted(here) and all(v > 0 for v in choice.ms.values())
    assert choice.agreement["onnx"] == 1.0
    fit = [r for r in here if r not in ("onnx-int8", "openvino-int8")
           or choice.agreement[r] >= runtimes.AGREEMENT]
    assert choice.ms[choice.runtime.value] == min(choice.ms[r] for r in fit)
    det = Detector("demo", imgsz=320, runtime="auto")
    assert det.runtime == choice.runtime.value and det.choice == choice


@pytest.mark.slow
def test_a_camera_runs_the_runtime_its_settings_name_and_says_so(tmp_path, monkeypatch):
    """Per camera, through the API: a camera set to an INT8 runtime runs it and its status
    says so with the time a frame; set back to auto, it runs the machine's choice and says
    why."""
    import asyncio
    import time

    import httpx

    from dashboard.demo.scene import write_clip
    from dashboard.service.core import Service
    from dashboard.store.sqlite import SQLiteStore
    from dashboard.web.api.routes import create_app

    int8 = "openvino-int8" if Runtime.OPENVINO_INT8 in runtimes.available() else "onnx-int8"
    monkeypatch.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "first-admin-pass")
    monkeypatch.setenv("HEATMAP_DASHBOARD_RUNTIME", "auto")
    monkeypatch.setattr(runtimes, "cached_choice", lambda *a: Choice(
        Runtime.ONNX, {"onnx": 7.0, int8: 9.0}, {"onnx": 1.0, int8: 0.97}))
    (tmp_path / "media").mkdir()
    write_clip(tmp_path / "media" / "clip.mp4", seconds=4, seed=19)
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False)
    app = create_app(svc)

    async def scenario() -> list[dict]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://127.0.0.1:8501") as c:
            r = await c.post("/api/login", json={"username": "admin",
                                                 "password": "first-admin-pass"})
            c.headers["Authorization"] = f"Bearer {r.json()['token']}"
            r = await c.post("/api/cameras", json={"name": "Door", "source": "clip.mp4",
                                                   "settings": {"imgsz": 320, "loop": True,
                                                                "runtime": int8}})
            assert r.status_code == 201, r.text
            cid, seen = r.json()["id"], []
            for settings in ({"runtime": int8}, {"runtime": "auto"}):
                if settings["runtime"] == "auto":
                    r = await c.patch(f"/api/cameras/{cid}", json={"settings": settings})
                    assert r.status_code == 200, r.text
                end = time.monotonic() + 180
                while time.monotonic() < end:
                    status = (await c.get(f"/api/cameras/{cid}")).json()["status"]
                    if status["runtime"] == settings["runtime"].replace("auto", "onnx") \
                            and status["model_ms"] > 0:
                        break
                    await asyncio.sleep(0.3)
                seen.append(status)
            await c.delete(f"/api/cameras/{cid}")
            return seen

    try:
        forced, auto = asyncio.run(scenario())
    finally:
        svc.shutdown()
        svc.store.close()
    assert forced["runtime"] == int8 and forced["model_ms"] > 0 and forced["runtime_why"] is None
    assert auto["runtime"] == "onnx" and auto["model_ms"] > 0
    assert auto["runtime_why"] == f"runtime onnx chosen: 7.0 ms a frame ({int8} 9.0 ms), measured here"


@pytest.mark.parametrize("machine, camera, said", [
    ("auto", Runtime.AUTO, "measuring which runtime runs this model fastest here"),
    ("onnx", Runtime.AUTO, "exporting the model to ONNX"),
    ("onnx", Runtime.ONNX_INT8, "quantising the model to INT8"),
    ("auto", Runtime.OPENVINO_INT8, "quantising the model to INT8"),
    ("auto", Runtime.TORCH, None),
])
def test_a_first_load_says_what_takes_time(tmp_path, monkeypatch, machine, camera, said):
    """While a camera loads for the first time its status says what it is doing, for the
    runtime it will run (its own, or the machine's for auto)."""
    from dashboard.pipeline.loop import first_load

    monkeypatch.setenv("HEATMAP_DASHBOARD_CACHE", str(tmp_path))    # nothing made yet
    monkeypatch.setenv("HEATMAP_DASHBOARD_RUNTIME", machine)
    words = first_load(CameraSettings(imgsz=320, runtime=camera))
    assert (words is None) if said is None else (said in words)
