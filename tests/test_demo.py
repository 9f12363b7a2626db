"""The synthetic scene, its ground truth file, the demo model and the training script."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from dashboard.demo import DEMO_MODEL
from dashboard.demo.scene import Scene, main as scene_main
from dashboard.vision.models import load_model

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)


def test_scene_is_deterministic_per_seed():
    a = [(img.copy(), truth) for img, truth in Scene(seed=5).frames(1.0)]
    b = [(img.copy(), truth) for img, truth in Scene(seed=5).frames(1.0)]
    c = [truth for _, truth in Scene(seed=6).frames(1.0)]
    assert all(np.array_equal(x[0], y[0]) and x[1] == y[1] for x, y in zip(a, b))
    assert [t for _, t in a] != c


def test_scene_has_both_classes_moving_both_ways_and_entering_and_leaving():
    xs: dict[int, list[float]] = {}
    classes = {}
    for _, truth in Scene(seed=3).frames(40.0):
        for b in truth:
            xs.setdefault(b.id, []).append((b.xyxy[0] + b.xyxy[2]) / 2)
            classes[b.id] = b.cls
            assert 0 <= b.xyxy[0] < b.xyxy[2] <= 640 and 0 <= b.xyxy[1] < b.xyxy[3] <= 360
    moves = {i: v[-1] - v[0] for i, v in xs.items() if len(v) > 5}
    for cls in (0, 1):
        assert any(m > 50 for i, m in moves.items() if classes[i] == cls)
        assert any(m < -50 for i, m in moves.items() if classes[i] == cls)
    assert len(xs) > 30  # objects come and go


def test_scene_cli_writes_clip_and_truth_in_the_documented_format(tmp_path):
    out, truth = tmp_path / "demo.mp4", tmp_path / "truth.json"
    assert scene_main(["--seconds", "4", "--seed", "7", "--out", str(out),
                       "--truth", str(truth)]) == 0
    doc = json.loads(truth.read_text())
    assert (doc["fps"], doc["width"], doc["height"]) == (15.0, 640, 360)
    assert doc["names"] == {"0": "person", "1": "car"}
    cap = cv2.VideoCapture(str(out))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    assert n == len(doc["frames"]) == 60
    obj = doc["frames"][0][0]
    assert {"id", "cls", "xyxy"} <= set(obj) and len(obj["xyxy"]) == 4


def test_bundled_demo_model_is_small_and_knows_person_and_car():
    assert DEMO_MODEL.stat().st_size <= 6 * 1024 * 1024
    assert load_model("demo").names == {0: "person", 1: "car"}


def test_training_script_runs_end_to_end_offline(tmp_path):
    """One tiny epoch: checks the pipeline works, not the quality (that is in the note)."""
    from dashboard.demo.train import evaluate, train

    best = train(tmp_path / "run", images=24, epochs=1, imgsz=160, batch=8, device="cpu",
                 workers=1)
    assert best.is_file()
    m = evaluate(best, seed=7, images=8, imgsz=160, root=tmp_path / "heldout", device="cpu")
    assert 0.0 <= m["mAP50"] <= 1.0
    with pytest.raises(ValueError):
        evaluate(best, seed=1001, root=tmp_path / "x")


def test_a_first_start_says_what_it_prepares_and_the_install_step_prepares_it(tmp_path,
                                                                              monkeypatch):
    import subprocess
    import sys

    from dashboard.config.kinds import CameraState
    from dashboard.demo import prepare
    from dashboard.service.core import Service
    from dashboard.store.sqlite import SQLiteStore
    from support.helpers import wait_until

    monkeypatch.setenv("HEATMAP_DASHBOARD_CACHE", str(tmp_path / "cache"))   # nothing made
    assert not prepare.ready()
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=True)  # the demo runs
    try:
        (cam,) = svc.cameras()
        said = set()

        def live() -> bool:
            s = svc.status(cam.id)
            said.add((s.state, s.detail))
            return s.state is CameraState.LIVE

        assert wait_until(live, 300), svc.status(cam.id)
        details = {d for _, d in said if d}
        assert any("preparing the demo clip" in d for d in details), said
        assert any("exporting the model to ONNX" in d for d in details), said
    finally:
        svc.shutdown()
        svc.store.close()
    assert prepare.ready()                                  # what it made is kept
    fresh = {**__import__("os").environ, "HEATMAP_DASHBOARD_CACHE": str(tmp_path / "c2")}
    run = subprocess.run([sys.executable, "-m", "dashboard.demo.prepare"], env=fresh,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0 and "ready in" in run.stderr
    monkeypatch.setenv("HEATMAP_DASHBOARD_CACHE", str(tmp_path / "c2"))
    assert prepare.ready()
