"""How many 15 fps cameras one machine keeps up with: ours (one process, a runner thread per
camera, nothing drawn while nobody watches) next to N processes of
`ultralytics.solutions.Heatmap` (one per camera, as its examples run it).

Every camera reads the demo clip (640x360, 15 fps) the way a live camera sends it: at its own
rate, newest frame first, frames the machine cannot keep up with skipped (`open_source(...,
live=True)` on both sides, so both get the same camera). Both use the demo model at imgsz 320
through ONNX Runtime on the CPU and ByteTrack; ours counts the demo zones and writes events to
SQLite, theirs accumulates heat over a region. Nobody watches ours (as with cameras that run
overnight); theirs draws every frame, as it always does.

A camera keeps up when it processed at least 90% of the 15 frames a second it was sent and
its frame age (from the frame's arrival to its counts) stayed under 250 ms at the 95th
percentile. The table gives both sides' worst camera for each N; the answer is the largest N
at which every camera keeps up.

    python benchmarks/many_cameras.py [--max 8] [--seconds 20] [--warm 12]
"""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

FPS, KEEP, AGE_S = 15.0, 0.90, 0.25


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))] if values else float("inf")


def ours(n: int, warm: float, seconds: float) -> list[tuple[float, float]]:
    """(share of frames processed, p95 frame age in s) per camera, N runners in this process."""
    from dashboard.demo import DEMO_DIR
    from dashboard.config.camera import Camera, CameraSettings, Presentation
    from dashboard.config.kinds import CameraId, Pacing, Runtime
    from dashboard.config.zone import ZoneSpec
    from dashboard.pipeline.runner import CameraRunner
    from dashboard.store.sqlite import SQLiteStore

    doc = json.loads((DEMO_DIR / "demo_zones.json").read_text())
    zones = [ZoneSpec.from_pixels(d, 640, 360) for d in doc["zones"]]
    tmp = Path(tempfile.mkdtemp())
    store = SQLiteStore(tmp / "events.db")
    runners = []
    for i in range(n):
        cam = Camera(CameraId(f"cam_{i}"), f"cam {i}", "demo",
                     CameraSettings(imgsz=320, loop=True, pacing=Pacing.LIVE,
                                    tracker="bytetrack.yaml", runtime=Runtime.ONNX),
                     Presentation(), True)
        runners.append(CameraRunner(cam, "demo", zones, store))
    for r in runners:
        r.start()
    try:
        time.sleep(warm)
        # Counted frames from each runner's public snapshot (0 until its model has loaded;
        # a private counter read here crashed the benchmark before that).
        done0 = [r.snapshot().frames_done for r in runners]
        ages: list[list[float]] = [[] for _ in runners]
        end = time.monotonic() + seconds
        t0 = time.monotonic()
        while time.monotonic() < end:
            for k, r in enumerate(runners):
                ages[k].append(r.snapshot().frame_age_s)
            time.sleep(0.1)
        span = time.monotonic() - t0
        return [((r.snapshot().frames_done - d0) / (FPS * span), p95(a))
                for r, d0, a in zip(runners, done0, ages)]
    finally:
        for r in runners:
            r.close()


THEIRS = r"""
import json, sys, time
import cv2
from ultralytics import solutions
from dashboard.vision.sources import open_source
from dashboard.demo.scene import demo_clip

model, start, warm, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
hm = solutions.Heatmap(model=model, imgsz=320, tracker="bytetrack.yaml", show=False,
                       verbose=False, colormap=cv2.COLORMAP_JET,
                       region=[(220, 95), (420, 95), (420, 182), (220, 182)])
src = open_source("demo", live=True, loop=True)
frame = src.read(timeout_s=10)
hm(frame.image)                           # model loaded and warm before the clock starts
time.sleep(max(0.0, start - time.time()))
t_from, t_to = start + warm, start + warm + seconds
done, ages = 0, []
while time.time() < t_to:
    frame = src.read(timeout_s=1)
    if frame is None:
        continue
    hm(frame.image)
    now = time.time()
    if now >= t_from:
        done += 1
        ages.append(now - frame.t)
src.close()
print(json.dumps({"done": done, "ages": ages}))
"""


def theirs(n: int, warm: float, seconds: float, model: str) -> list[tuple[float, float]]:
    """The same per camera for N processes running `solutions.Heatmap`."""
    start = time.time() + 25 + 2 * n   # each process loads its model before this
    procs = [subprocess.Popen([sys.executable, "-c", THEIRS, model, str(start), str(warm),
                               str(seconds)], stdout=subprocess.PIPE, text=True)
             for _ in range(n)]
    out = []
    for p in procs:
        text, _ = p.communicate()
        doc = json.loads(text.strip().splitlines()[-1])
        out.append((doc["done"] / (FPS * seconds), p95(doc["ages"])))
    return out


def worst(cams: list[tuple[float, float]]) -> tuple[float, float, bool]:
    kept, age = min(k for k, _ in cams), max(a for _, a in cams)
    return kept, age, kept >= KEEP and age < AGE_S


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warm", type=float, default=12.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    from dashboard.demo import DEMO_MODEL
    from dashboard.vision.models import cached_onnx

    onnx = str(cached_onnx(DEMO_MODEL, 320))
    best = {"ours": 0, "theirs": 0}
    print(f"{'N':>3} | {'ours: worst kept':>16} {'p95 age':>8} | "
          f"{'Heatmap x N: worst kept':>23} {'p95 age':>8}")
    for n in range(1, args.max + 1):
        row = {}
        for side in ("ours", "theirs"):
            if best[side] < n - 1:   # failed already at a smaller N
                row[side] = None
                continue
            cams = ours(n, args.warm, args.seconds) if side == "ours" else \
                theirs(n, args.warm, args.seconds, onnx)
            row[side] = worst(cams)
            if row[side][2]:
                best[side] = n
        cells = [f"{r[0]:>16.0%} {r[1] * 1e3:>6.0f}ms" if r else f"{'-':>16} {'-':>8}"
                 for r in (row["ours"], row["theirs"])]
        print(f"{n:>3} | {cells[0]} | {cells[1]:>32}", flush=True)
        if row["ours"] is None and row["theirs"] is None:
            break
    print(f"\nlargest N that keeps up (>= {KEEP:.0%} of frames, p95 age < {AGE_S * 1e3:.0f} ms): "
          f"ours {best['ours']}, ultralytics Heatmap processes {best['theirs']}"
          + (f" (ratio {best['ours'] / best['theirs']:.1f}x)" if best["theirs"] else ""))


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
