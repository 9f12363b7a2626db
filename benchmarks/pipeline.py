"""End-to-end frames per second of the pipeline on a generated demo clip, split by stage.

decode (OpenCV) -> model + tracker (demo model, ByteTrack) -> engine (zones, heat, overlay)
-> encode (JPEG, once per frame for every viewer), for PyTorch and ONNX Runtime, at 640x360
and 1280x720 with imgsz 320 and 640; and, on the same clip and weights,
`ultralytics.solutions.Heatmap` (decode + its process(), PyTorch, the same tracker).

    python benchmarks/pipeline.py [--seconds 20] [--repeat 3]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
from pathlib import Path

import cv2

from dashboard.demo import DEMO_MODEL
from dashboard.demo.scene import write_clip
from dashboard.detector import Detector
from dashboard.engine import Engine, load_zones, zone_from_dict
from dashboard.sources import open_source

ZONES = Path(__file__).resolve().parents[1] / "dashboard" / "demo" / "demo_zones.json"
STAGES = ("decode", "model+tracker", "engine", "encode")


def run_ours(video: Path, imgsz: int, scale: float, runtime: str) -> dict[str, float]:
    """Process the clip once; seconds per frame for each stage, and frames per second."""
    # The demo zones are drawn for 640x360.
    zones = [zone_from_dict({**z.to_dict(), "points": (z.points * scale).tolist()})
             for z in load_zones(ZONES)]
    det, engine = Detector("demo", imgsz=imgsz, runtime=runtime), Engine(zones=zones)
    src = open_source(video, live=False)
    spent = dict.fromkeys(STAGES, 0.0)
    n = 0
    t_start = t = time.perf_counter()
    while (frame := src.read()) is not None:
        t1 = time.perf_counter()
        tracks = det.track(frame.image)
        t2 = time.perf_counter()
        result = engine.update(frame.image, tracks, frame.t)
        t3 = time.perf_counter()
        cv2.imencode(".jpg", result.plot, [cv2.IMWRITE_JPEG_QUALITY, 80])
        t4 = time.perf_counter()
        for k, a, b in zip(STAGES, (t, t1, t2, t3), (t1, t2, t3, t4)):
            spent[k] += b - a
        n += 1
        t = time.perf_counter()
    total = time.perf_counter() - t_start
    return {**{k: v / n for k, v in spent.items()}, "fps": n / total}


def run_ultralytics(video: Path, imgsz: int, scale: float) -> float:
    from ultralytics import solutions
    from ultralytics.utils import LOGGER

    LOGGER.setLevel(logging.ERROR)
    region = [(int(x * scale), int(y * scale)) for x, y in load_zones(ZONES)[1].points]
    hm = solutions.Heatmap(model=str(DEMO_MODEL), region=region, imgsz=imgsz, show=False,
                           verbose=False, tracker="bytetrack.yaml")
    src = open_source(video, live=False)
    n, t0 = 0, time.perf_counter()
    while (frame := src.read()) is not None:
        hm.process(frame.image)
        n += 1
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per row; the median by fps is reported (this VM is noisy)")
    args = ap.parse_args()
    print("| frame | imgsz | runtime | fps | decode ms | model+tracker ms | engine ms | "
          "encode ms | not model | vs ultralytics |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in [(640, 360), (1280, 720)]:
            video = write_clip(Path(tmp) / f"clip_{w}.mp4", seconds=args.seconds, seed=23,
                               width=w, height=h)
            for imgsz in (320, 640):
                theirs = statistics.median(run_ultralytics(video, imgsz, w / 640)
                                           for _ in range(args.repeat))
                print(f"| {w}x{h} | {imgsz} | ultralytics Heatmap (PyTorch) | {theirs:.1f} "
                      "| | | | | | 1.00 |", flush=True)
                for runtime in ("torch", "onnx"):
                    runs = sorted((run_ours(video, imgsz, w / 640, runtime)
                                   for _ in range(args.repeat)), key=lambda x: x["fps"])
                    r = runs[len(runs) // 2]
                    frame_ms = 1000 / r["fps"]
                    other = sum(r[k] for k in ("decode", "engine", "encode")) * 1000
                    print(f"| {w}x{h} | {imgsz} | ours, {runtime} | {r['fps']:.1f} | "
                          + " | ".join(f"{r[k] * 1e3:.1f}" for k in STAGES)
                          + f" | {other / frame_ms:.0%} | {r['fps'] / theirs:.2f} |", flush=True)


if __name__ == "__main__":
    main()
