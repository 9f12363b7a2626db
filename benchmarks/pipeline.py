"""End-to-end frames per second of the pipeline on a generated demo clip, split by stage.

decode (OpenCV) -> model + tracker (ultralytics, demo model) -> engine (zones, heat, overlay).
Runs at 640x360 and 1280x720 with imgsz 320 and 640 on whatever device torch picks (CPU here).

    python benchmarks/pipeline.py [--seconds 20]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from dashboard.demo.scene import write_clip
from dashboard.detector import Detector
from dashboard.engine import Engine, load_zones, zone_from_dict
from dashboard.sources import open_source

ZONES = Path(__file__).resolve().parents[1] / "dashboard" / "demo" / "demo_zones.json"


def run(video: Path, imgsz: int, scale: float) -> dict[str, float]:
    """Process the clip once; return seconds per frame for each stage and the total fps."""
    # The demo zones are drawn for 640x360.
    zones = [zone_from_dict({**z.to_dict(), "points": (z.points * scale).tolist()})
             for z in load_zones(ZONES)]
    det, engine = Detector("demo", imgsz=imgsz), Engine(zones=zones)
    src = open_source(video, live=False)
    fps = src.native_fps
    spent = {"decode": 0.0, "model+tracker": 0.0, "engine": 0.0}
    n = 0
    t_start = t = time.perf_counter()
    while (frame := src.read()) is not None:
        img = frame.image
        t1 = time.perf_counter()
        tracks = det.track(img)
        t2 = time.perf_counter()
        engine.update(img, tracks, n / fps)
        t3 = time.perf_counter()
        spent["decode"] += t1 - t
        spent["model+tracker"] += t2 - t1
        spent["engine"] += t3 - t2
        n += 1
        t = time.perf_counter()
    total = time.perf_counter() - t_start
    return {**{k: v / n for k, v in spent.items()}, "fps": n / total, "frames": n}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in [(640, 360), (1280, 720)]:
            video = write_clip(Path(tmp) / f"clip_{w}.mp4", seconds=args.seconds, seed=23,
                               width=w, height=h)
            for imgsz in (320, 640):
                r = run(video, imgsz, w / 640)
                rows.append((f"{w}x{h}", imgsz, r))
    print("| frame | imgsz | fps | decode ms | model+tracker ms | engine ms |")
    print("|---|---|---|---|---|---|")
    for size, imgsz, r in rows:
        print(f"| {size} | {imgsz} | {r['fps']:.1f} | {r['decode'] * 1e3:.1f} | "
              f"{r['model+tracker'] * 1e3:.1f} | {r['engine'] * 1e3:.1f} |")


if __name__ == "__main__":
    main()
