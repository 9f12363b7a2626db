"""Each runtime's speed and accuracy, side by side in one run: the model alone (ms a frame,
batch 1, in turns), mAP on held-out frames of the generated street (seed 7, never trained on)
with the product's own letterbox and NMS, and the counts on real footage (the one-by-one
clip with the real person detector, against the truth counted by eye) — INT8 must not count
worse than float.

    python benchmarks/runtimes.py [--images 150]
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def heldout(images: int) -> list[tuple[np.ndarray, list]]:
    from dashboard.demo.scene import Scene
    from dashboard.demo.train import MIN_VISIBLE

    scene, out = Scene(seed=7, width=640, height=360, fps=15.0), []
    for i, (img, truth) in enumerate(scene.frames(images * 3 / 15.0)):
        if i % 3 == 0:
            out.append((img, [(b.xyxy, b.cls) for b in truth if b.visible >= MIN_VISIBLE]))
    return out


def average_precision(found: list[tuple], truth: list[list], iou: float) -> float:
    """COCO-style AP (101 recall points) over all frames, averaged over classes."""
    from dashboard.vision.objects import iou_matrix

    aps = []
    for c in sorted({k for t in truth for _, k in t}):
        scored, n_true = [], 0
        for (xyxy, conf, cls), t in zip(found, truth):
            tb = np.array([b for b, k in t if k == c], np.float32).reshape(-1, 4)
            n_true += len(tb)
            mine = np.where(cls == c)[0]
            mine = mine[np.argsort(-conf[mine])]
            used: set[int] = set()
            m = iou_matrix(np.vstack([xyxy[mine], tb]))[:len(mine), len(mine):] \
                if len(mine) and len(tb) else np.zeros((len(mine), 0))
            for row, i in enumerate(mine):
                j = next((j for j in np.argsort(-m[row]) if m[row, j] >= iou and j not in used),
                         None)
                if j is not None:
                    used.add(int(j))
                scored.append((float(conf[i]), j is not None))
        scored.sort(key=lambda s: -s[0])
        hits = np.cumsum([h for _, h in scored])
        recall = hits / max(n_true, 1)
        precision = hits / np.arange(1, len(scored) + 1)
        envelope = np.maximum.accumulate(precision[::-1])[::-1]
        aps.append(float(np.mean([envelope[recall >= r].max() if (recall >= r).any() else 0.0
                                  for r in np.linspace(0, 1, 101)])))
    return float(np.mean(aps))


def demo_accuracy(runtime: str, frames: list) -> tuple[float, float]:
    from dashboard.vision.detector import Detector

    det = Detector("demo", imgsz=320, runtime=runtime, conf=0.001)
    found = [det.detect(img) for img, _ in frames]
    truth = [t for _, t in frames]
    m50 = average_precision(found, truth, 0.5)
    m5095 = float(np.mean([average_precision(found, truth, t)
                           for t in np.arange(0.5, 0.96, 0.05)]))
    return m50, m5095


def real_frames(n: int = 48) -> list[np.ndarray]:
    """Frames of real people from other clips than the one counted (PETS, the store aisle)."""
    import cv2

    from test_real_footage import REAL

    out = []
    for name, every in (("pets2009-s2l1-0-645.mp4", 13), ("intel-preview-store-aisle-detection.mp4", 3)):
        cap, k = cv2.VideoCapture(str(REAL / name)), 0
        while len(out) < n * (1 + (name[0] == "i")) // 2:
            ok, img = cap.read()
            if not ok:
                break
            if k % every == 0:
                out.append(img)
            k += 1
        cap.release()
    return out


def real_counts(runtime: str, calibrated_on_real: bool = False) -> str:
    """The one-by-one clip's counts with the real person detector at 480 on this runtime;
    INT8 calibrated on the generated street (as the product does), or on real people."""
    import json
    import os

    from dashboard.cli import process
    from dashboard.vision import runtimes
    from dashboard.vision.models import cached_onnx
    from test_real_footage import CLIP, MODEL, TRUTH, ZONES

    if not (CLIP.is_file() and MODEL.is_file()):
        return "no footage or detector here"
    tmp = Path(tempfile.mkdtemp())
    before = os.environ.get("HEATMAP_DASHBOARD_CACHE")
    if calibrated_on_real:    # a cache of its own: the float export linked, INT8 made anew
        export = cached_onnx(MODEL, 480)
        (tmp / "cache" / "onnx").mkdir(parents=True)
        (tmp / "cache" / "onnx" / export.name).symlink_to(export)
        os.environ["HEATMAP_DASHBOARD_CACHE"] = str(tmp / "cache")
        runtimes.int8_onnx(MODEL, 480, real_frames(), runtime=runtimes.Runtime(runtime))
    try:
        (tmp / "zones.json").write_text(json.dumps({"zones": ZONES}))
        s = process(str(CLIP), tmp / "out", model=str(MODEL), zones=str(tmp / "zones.json"),
                    imgsz=480, groups={"person": ["Normal", "Fall"]}, anchor="bottom_center",
                    write_video=False, progress=False, runtime=runtime)
    finally:
        if before is None:
            os.environ.pop("HEATMAP_DASHBOARD_CACHE", None)
        else:
            os.environ["HEATMAP_DASHBOARD_CACHE"] = before
    got = {z: (c["in"], c["out"]) for z, c in s["zones"].items()}
    return ", ".join(f"{z} {i}/{o}" for z, (i, o) in got.items()) + \
        (" (right)" if got == TRUTH else " (wrong)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=150)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from benchmarks.figures import record
    from dashboard.demo import DEMO_MODEL
    from dashboard.vision import runtimes

    speed = {size: runtimes.measure(DEMO_MODEL, size, rounds=7) for size in (320, 640)}
    frames = heldout(args.images)
    rows, figures = [], {}
    for r in runtimes.available():
        m50, m5095 = demo_accuracy(r.value, frames)
        counts = real_counts(r.value)
        if r in runtimes.INT8:
            counts += f"; calibrated on real people: {real_counts(r.value, True)}"
        figures[r.value] = {"ms_320": speed[320].ms[r.value], "ms_640": speed[640].ms[r.value],
                            "agreement_320": speed[320].agreement[r.value],
                            "mAP50": m50, "mAP50-95": m5095, "real_counts": counts}
        rows.append(f"| {r.value} | {speed[320].ms[r.value]:.1f} | {speed[640].ms[r.value]:.1f} "
                    f"| {speed[320].agreement[r.value]:.2f} | {m50:.3f} | {m5095:.3f} "
                    f"| {counts} |")
    text = "\n".join([
        "| runtime | ms a frame, 320 | ms a frame, 640 | boxes as float (F1) | mAP50 | "
        "mAP50-95 | real people, one-by-one at 480 (table in/out, floor line in/out) |",
        "|---|---:|---:|---:|---:|---:|---|", *rows, "",
        f"Auto choice here: {speed[320].runtime.value} at 320, {speed[640].runtime.value} at "
        f"640 (demo model, model alone, batch 1; mAP on {len(frames)} held-out frames of the "
        "generated street). Real people: the truth is table 4/4, floor line 4/0; INT8 as the "
        "product makes it is calibrated on the generated street, the second figure on 48 "
        "frames of other clips of real people (PETS, the store aisle)."])
    print(text)
    record("runtimes", text, figures)


if __name__ == "__main__":
    main()
