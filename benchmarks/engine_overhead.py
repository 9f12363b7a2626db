"""Cost of `Engine.update` per frame versus `ultralytics.solutions.Heatmap`'s non-model work.

Both get the same boxes: tracks moving on straight lines across the frame, 3 zones for ours
(2 lines and a polygon), the polygon as the region for theirs. Their model call is replaced
by handing over those boxes, so only the bookkeeping and drawing is timed.

Each figure is the median of `--repeat` interleaved runs. ultralytics is imported first
in every case, as the dashboard does: it turns OpenCV's own threading off.

    python benchmarks/engine_overhead.py [--frames 150] [--repeat 5]
"""
from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import numpy as np
import ultralytics  # noqa: F401  (imported first: it sets cv2.setNumThreads(0) for all rows)

from dashboard.engine import Engine, LineZone, PolygonZone, Tracks

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))   # benchmarks.figures

NAMES = {0: "person", 1: "car"}


def moving_tracks(n: int, w: int, h: int, frames: int, seed: int = 0) -> list[Tracks]:
    """`n` boxes of person/car size crossing the frame on straight lines, wrapping around."""
    rng = np.random.default_rng(seed)
    scale = h / 720
    pos = rng.uniform([0, 0], [w, h], (n, 2))
    vel = rng.uniform(-12, 12, (n, 2)) * scale
    cls = rng.integers(0, 2, n)
    size = np.where(cls[:, None] == 0, [40, 100], [140, 80]) * scale
    out = []
    for _ in range(frames):
        pos = (pos + vel) % [w, h]
        xyxy = np.concatenate([pos - size / 2, pos + size / 2], axis=1)
        out.append(Tracks(xyxy=xyxy, ids=np.arange(1, n + 1), cls=cls, conf=np.full(n, 0.9),
                          names=NAMES))
    return out


def zones_for(w: int, h: int) -> list:
    return [LineZone("door", (0.1 * w, 0.5 * h), (0.9 * w, 0.5 * h)),
            LineZone("aisle", (0.5 * w, 0.1 * h), (0.5 * w, 0.9 * h)),
            PolygonZone("shop", [(0.6 * w, 0.6 * h), (0.95 * w, 0.6 * h), (0.95 * w, 0.95 * h),
                                 (0.6 * w, 0.95 * h)])]


def time_ours(frame: np.ndarray, tracks: list[Tracks], warm: int) -> float:
    h, w = frame.shape[:2]
    engine = Engine(zones=zones_for(w, h))
    for i, tr in enumerate(tracks[:warm]):
        engine.update(frame, tr, i / 30)
    t0 = time.perf_counter()
    for i, tr in enumerate(tracks[warm:], warm):
        engine.update(frame, tr, i / 30)
    return (time.perf_counter() - t0) / (len(tracks) - warm)


def time_ultralytics(frame: np.ndarray, tracks: list[Tracks], warm: int) -> float:
    import torch
    from ultralytics import solutions
    from ultralytics.utils import LOGGER

    LOGGER.setLevel(logging.ERROR)
    h, w = frame.shape[:2]
    region = [(int(x), int(y)) for x, y in zones_for(w, h)[2].points]
    # yolo26n.yaml builds an untrained model without a download; its model call is replaced.
    hm = solutions.Heatmap(model="yolo26n.yaml", region=region, show=False, verbose=False)
    feed: list[Tracks] = []

    def extract_tracks(im0: np.ndarray) -> None:  # same boxes, no model
        tr = feed.pop()
        hm.boxes = torch.from_numpy(tr.xyxy)
        hm.clss, hm.track_ids, hm.confs = tr.cls.tolist(), tr.ids.tolist(), tr.conf.tolist()

    hm.names = NAMES
    hm.extract_tracks = extract_tracks
    for tr in tracks[:warm]:
        feed.append(tr)
        hm.process(frame)
    t0 = time.perf_counter()
    for tr in tracks[warm:]:
        feed.append(tr)
        hm.process(frame)  # it draws its region into its input: harmless for timing
    return (time.perf_counter() - t0) / (len(tracks) - warm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--warm", type=int, default=60, help="frames to build up heat first")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    rng = np.random.default_rng(1)
    rows = []
    for w, h in [(1280, 720), (1920, 1080)]:
        frame = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        for n in (5, 20, 50):
            tracks = moving_tracks(n, w, h, args.warm + args.frames)
            runs = [(time_ours(frame, tracks, args.warm), time_ultralytics(frame, tracks, args.warm))
                    for _ in range(args.repeat)]
            ours = float(np.median([r[0] for r in runs]))
            theirs = float(np.median([r[1] for r in runs]))
            rows.append((f"{w}x{h}", n, ours * 1e3, theirs * 1e3, ours / theirs))
    table = "\n".join(["| frame | tracks | ours ms/frame | ultralytics Heatmap ms/frame | "
                       "ours / theirs |", "|---|---|---|---|---|",
                       *(f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} |"
                         for r in rows)])
    print(table)
    from benchmarks.figures import record

    record("engine_overhead", table, {f"{r[0]} {r[1]} tracks": {"ours_ms": round(r[2], 3),
                                                                "theirs_ms": round(r[3], 3)}
                                      for r in rows})


if __name__ == "__main__":
    main()
