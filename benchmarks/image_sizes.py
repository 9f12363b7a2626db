"""What each image size costs and detects, on a video and model of your choosing: frames per
second of model + tracker, boxes per frame, the median box height in the model's input
pixels, the camera's advice when objects are too small (`SizeCheck`) and, given a zones
file, what each zone counts (in/out) over those frames.

    python benchmarks/image_sizes.py VIDEO --model MODEL [--groups "person = Normal + Fall"]
                                     [--sizes 320 480 640] [--frames 300] [--zones FILE]
                                     [--record NAME]

Run it on footage from the camera you mean to count: the right size depends on how tall
the objects are in the picture, not on the model alone.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(video: str, model: str, imgsz: int, groups: dict | None, frames: int,
            zones: str | None = None) -> dict:
    from dashboard.engine import Engine, load_zones
    from dashboard.vision.detector import Detector
    from dashboard.vision.sizes import SizeCheck
    from dashboard.vision.sources import open_source

    det = Detector(model, imgsz=imgsz, groups=groups)
    sizes, boxes, heights, n, spent = SizeCheck(imgsz), 0, [], 0, 0.0
    engine = Engine(zones=load_zones(zones)) if zones else None
    with open_source(video, live=False) as src:
        while n < frames and (frame := src.read()) is not None:
            t0 = time.perf_counter()
            tracks = det.track(frame.image)
            spent += time.perf_counter() - t0
            sizes.observe(det, frame.image, tracks, n)   # box heights, and probes as a camera
            if engine is not None:
                engine.update(frame.image, tracks, frame.t, draw=False)
            boxes += len(tracks)
            scale = imgsz / max(frame.image.shape[:2])
            heights += ((tracks.xyxy[:, 3] - tracks.xyxy[:, 1]) * scale).tolist()
            n += 1
    return {"imgsz": imgsz, "fps": n / spent if spent else 0.0, "boxes": boxes / max(n, 1),
            "height": float(np.median(heights)) if heights else 0.0,
            "advice": sizes.advice() or "-", "runtime": det.runtime,
            "counts": ", ".join(f"{k} {c.in_count}/{c.out_count}"
                                for k, c in engine.counts.items())
            if engine is not None else ""}


def main() -> None:
    from dashboard.config.fields import groups_from_text

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("video")
    ap.add_argument("--model", default="demo")
    ap.add_argument("--groups", default=None)
    ap.add_argument("--sizes", type=int, nargs="*", default=[320, 480, 640])
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--zones", default=None)
    ap.add_argument("--record", default=None, help="keep the table for the README as NAME")
    args = ap.parse_args()
    groups = groups_from_text(args.groups) if args.groups else None
    rows = [measure(args.video, args.model, s, groups, args.frames, args.zones)
            for s in args.sizes]
    base = rows[-1]
    print(f"{'imgsz':>5} {'fps':>6} {'boxes/frame':>11} {'vs largest':>10} "
          f"{'median height px':>16}  advice")
    for r in rows:
        share = r["boxes"] / base["boxes"] if base["boxes"] else 0.0
        print(f"{r['imgsz']:>5} {r['fps']:>6.1f} {r['boxes']:>11.2f} {share:>10.2f} "
              f"{r['height']:>16.0f}  {r['advice']}  {r['counts']}")
    if args.record:
        from benchmarks.figures import record

        table = ["| imgsz | model+tracker fps | boxes a frame (share of the largest size's) | "
                 "median height, model px | advice | counts (in/out) |",
                 "|---:|---:|---|---:|---|---|"]
        table += [f"| {r['imgsz']} | {r['fps']:.1f} | {r['boxes']:.2f} ("
                  f"{r['boxes'] / base['boxes'] if base['boxes'] else 0:.0%}) | "
                  f"{r['height']:.0f} | {r['advice']} | {r['counts']} |" for r in rows]
        table.append(f"\n{Path(args.video).name}, {args.frames} frames at most, runtime "
                     f"{rows[0]['runtime']}.")
        record(args.record, "\n".join(table), {"rows": rows})


if __name__ == "__main__":
    main()
