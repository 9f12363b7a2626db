"""ONNX Runtime against PyTorch on the same weights and clip: same boxes, same counts."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from dashboard.demo import DEMO_MODEL
from dashboard.demo.scene import write_clip
from dashboard.vision.detector import Detector
from dashboard.vision.models import cached_onnx
from dashboard.engine import Engine, LineZone, PolygonZone
from dashboard.errors import DashboardError
from dashboard.vision.sources import open_source


pytestmark = pytest.mark.slow   # the fast default leaves these out (README)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = lambda r: (r[:, 2] - r[:, 0]) * (r[:, 3] - r[:, 1])  # noqa: E731
    return inter / (area(a)[:, None] + area(b)[None, :] - inter)


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    clip = write_clip(tmp_path_factory.mktemp("onnx") / "clip.mp4", seconds=20, seed=11)
    with open_source(clip, live=False) as src:
        return [f.image for f in iter(src.read, None)]


@pytest.fixture(scope="module")
def detectors():
    return {rt: Detector("demo", imgsz=320, runtime=rt) for rt in ("torch", "onnx")}


def test_onnx_on_a_cpu_caches_the_export(detectors):
    assert detectors["onnx"].runtime == "onnx" and detectors["torch"].runtime == "torch"
    assert Detector("demo", imgsz=320).runtime == "onnx"     # the tests' machine setting
    first = cached_onnx(DEMO_MODEL, 320)
    assert cached_onnx(DEMO_MODEL, 320) == first and first.stat().st_size > 0


def test_onnx_boxes_match_pytorch(detectors, frames):
    same_count, ious = 0, []
    assert detectors["onnx"].direct is not None          # our own ONNX path is the one tested
    for img in frames:
        a, b = (detectors[rt].detect(img)[0] for rt in ("torch", "onnx"))
        same_count += len(a) == len(b)
        if len(a) and len(b):
            m = iou(a, b)
            ious += list(m.max(axis=1)[m.max(axis=1) > 0.5])   # each box's match
    assert same_count / len(frames) >= 0.98
    assert min(ious) >= 0.95 and len(ious) > 5 * len(frames)


def test_end_to_end_counts_are_equal(detectors, frames):
    counts = {}
    for rt, det in detectors.items():
        det.reset()
        eng = Engine(zones=[LineZone("crossing", (320, 140), (320, 355)),
                            PolygonZone("shopfront", [(220, 95), (420, 95), (420, 182),
                                                      (220, 182)])])
        for i, img in enumerate(frames):
            eng.update(img, det.track(img), i / 15)
        counts[rt] = {k: c.to_dict() for k, c in eng.counts.items()}
    assert counts["onnx"] == counts["torch"]
    assert sum(c["in"] + c["out"] for c in counts["torch"].values()) > 5


def test_failed_export_falls_back_to_pytorch_with_one_line(monkeypatch, caplog):
    from dashboard.vision import runtimes

    def broken(*a, **k):
        raise RuntimeError("exporter exploded")

    monkeypatch.setattr(runtimes, "model_file", broken)
    monkeypatch.setattr(runtimes, "cached_choice", lambda *a: None)   # measured anew
    monkeypatch.setenv("HEATMAP_DASHBOARD_RUNTIME", "auto")
    with caplog.at_level(logging.WARNING, logger="dashboard.vision.detector"):
        det = Detector("demo", imgsz=320, runtime="auto")
    assert det.runtime == "torch"
    lines = [r for r in caplog.records if "ONNX export failed" in r.getMessage()]
    assert len(lines) == 1 and "exporter exploded" in lines[0].getMessage()
    with pytest.raises(DashboardError, match="Exporting the model for onnx failed"):
        Detector("demo", imgsz=320, runtime="onnx")
    with pytest.raises(DashboardError, match="Runtime"):
        Detector("demo", runtime="tensorrt")


def test_cameras_sharing_the_model_get_their_own_answers_in_merged_calls():
    """Eight cameras' threads on one shared session: each frame's output is the output that
    frame gets alone, while calls made at the same moment ran as batches."""
    import threading

    from dashboard.vision.onnx import SharedModel

    model = SharedModel(cached_onnx(DEMO_MODEL, 320))
    rng = np.random.default_rng(0)
    frames = [rng.random((1, 3, 192, 320), dtype=np.float32) for _ in range(8)]
    alone = [model.run(f) for f in frames]
    calls0, got, errors = model.calls, {}, []

    def camera(k: int) -> None:
        try:
            for n in range(10):
                got[k, n] = model.run(frames[k])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=camera, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(got) == 80
    for (k, _), out in got.items():
        np.testing.assert_allclose(out, alone[k], rtol=1e-3, atol=1e-3)
    assert model.frames == 88 and model.calls - calls0 < 80      # some calls were merged

