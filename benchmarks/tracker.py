"""The tracker's cost as the scene fills: milliseconds a frame of ultralytics' ByteTrack (as
the product calls it, `vision.tracking.track_boxes`) and of the engine (the demo zones),
with 1 to 100 objects moving through a 640x360 frame, against what they cost a camera with the
demo clip's few objects (`benchmarks/model_limit.py`).

Objects walk straight lines at their own speeds, a little noise on each box, so every frame
matches each box to its track as a camera's would; each count runs 300 frames after 30
untimed ones, median of 3 rounds.

    python benchmarks/tracker.py [--frames 300]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

COUNTS = (1, 5, 10, 25, 50, 100)
W, H = 640, 360


def scene(n: int, frames: int, seed: int = 0) -> list[np.ndarray]:
    """Each frame's boxes (x1, y1, x2, y2) of `n` objects walking across the frame."""
    rng = np.random.default_rng(seed)
    start = rng.uniform([0, 0], [W, H], (n, 2))
    speed = rng.uniform(-3, 3, (n, 2))
    size = rng.uniform([15, 30], [40, 80], (n, 2))
    out = []
    for t in range(frames):
        centre = (start + speed * t) % [W, H]
        jitter = rng.normal(0, 0.7, (n, 4))
        out.append(np.column_stack([centre - size / 2, centre + size / 2]) + jitter)
    return out


def timed(n: int, frames: int) -> tuple[float, float]:
    """(tracker ms, engine ms) a frame with `n` objects."""
    from dashboard.demo import DEMO_DIR
    from dashboard.engine import Engine
    from dashboard.engine.zones import load_zones
    from dashboard.vision.tracking import make_tracker, track_boxes

    boxes = scene(n, frames + 30)
    img = np.zeros((H, W, 3), np.uint8)
    tracker = make_tracker("bytetrack.yaml")
    engine = Engine(load_zones(str(DEMO_DIR / "demo_zones.json")))
    conf, cls = np.full(n, 0.8, np.float32), np.zeros(n, np.float32)
    t_track = t_engine = 0.0
    for i, xyxy in enumerate(boxes):
        t0 = time.perf_counter()
        tracks = track_boxes(tracker, img, xyxy.astype(np.float32), conf, cls, {0: "person"})
        t1 = time.perf_counter()
        engine.update(img, tracks, i / 15.0, draw=False)
        t2 = time.perf_counter()
        if i >= 30:
            t_track += t1 - t0
            t_engine += t2 - t1
    return t_track * 1e3 / frames, t_engine * 1e3 / frames


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args()
    from benchmarks.figures import record

    rows = {}
    for n in COUNTS:
        runs = [timed(n, args.frames) for _ in range(3)]
        rows[n] = tuple(float(np.median([r[k] for r in runs])) for k in (0, 1))
        print(n, rows[n], flush=True)
    path = Path(__file__).with_name("results") / "model_limit.json"
    stages = json.loads(path.read_text())["figures"]["stages_auto"]["ms"]
    demo = stages["tracker and one-object rules"], stages["engine, alerts, evidence"]
    lines = ["| objects in the frame | tracker ms a frame | engine ms a frame |",
             "|---:|---:|---:|"]
    lines += [f"| {n} | {t:.2f} | {e:.2f} |" for n, (t, e) in rows.items()]
    first = rows[COUNTS[0]][0]
    lines += ["", f"The tracker at {COUNTS[-1]} objects costs {rows[COUNTS[-1]][0] / first:.1f}x "
              f"what it costs at {COUNTS[0]}; with the demo clip's few objects a camera's "
              f"tracker and one-object rules take {demo[0]:.2f} ms a frame, its engine (with "
              f"alerts and evidence) {demo[1]:.2f} ms (`model_limit`)"]
    text = "\n".join(lines)
    print(text)
    record("tracker", text, {"ms": {n: {"tracker": t, "engine": e}
                                    for n, (t, e) in rows.items()}})


if __name__ == "__main__":
    main()
