"""How many 15 fps cameras one machine keeps up with: ours (one process, a runner thread per
camera, nothing drawn while nobody watches; and the same cameras spread over worker
processes, HEATMAP_DASHBOARD_WORKERS) next to N processes of `ultralytics.solutions.Heatmap`
(one per camera, as its examples run it).

Every camera reads the demo clip (640x360, 15 fps) the way a live camera sends it: at its own
rate, newest frame first, frames the machine cannot keep up with skipped (`open_source(...,
live=True)` on both sides, so both get the same camera). Both use the demo model at imgsz 320
through ONNX Runtime on the CPU and ByteTrack; ours counts the demo zones and writes events to
SQLite, theirs accumulates heat over a region. Nobody watches ours (as with cameras that run
overnight); theirs draws every frame, as it always does.

A camera keeps up when it processed at least 90% of the 15 frames a second it was sent and
its frame age (from the frame's arrival to its counts) stayed under 250 ms at the 95th
percentile. The table gives both sides' worst camera for each N, the CPU each camera costs
(this process and its decoders, or each Heatmap process, over the measured seconds: 100% is
one core) and what N cameras ask of the model as a share of what the model alone does on
these cores (benchmarks/model_limit.py's best batch for the runtime ours runs). The answer
is the largest N at which every camera keeps up.

    python benchmarks/many_cameras.py [--max 16] [--seconds 20] [--warm 12] [--runtime auto]
                                      [--workers 2]
"""
from __future__ import annotations

import argparse
import os
import json
import logging
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FPS, KEEP, AGE_S = 15.0, 0.90, 0.25


def p95(values: list[float]) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(0.95 * len(values)))] if values else float("inf")


def cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and every process under it (decoders) so far."""
    import psutil

    total = 0.0
    for p in [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.Error:
            pass
    return total


def ours(n: int, warm: float, seconds: float, runtime: str, workers: int = 0
         ) -> tuple[list[tuple[float, float]], float, str]:
    """(share of frames processed, p95 frame age in s) per camera, N runners in this process
    (or spread over `workers` worker processes, as HEATMAP_DASHBOARD_WORKERS does); the CPU
    a camera cost (1.0: a core); the runtime they ran."""
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
    pool = None
    if workers:
        from dashboard.pipeline.workers import Workers

        pool = Workers(workers, tmp, store)
    runners = []
    for i in range(n):
        cam = Camera(CameraId(f"cam_{i}"), f"cam {i}", "demo",
                     CameraSettings(imgsz=320, loop=True, pacing=Pacing.LIVE,
                                    tracker="bytetrack.yaml", runtime=Runtime(runtime)),
                     Presentation(), True)
        runners.append(pool.runner(cam, "demo", zones, store) if pool else
                       CameraRunner(cam, "demo", zones, store))
    for r in runners:
        r.start()
    try:
        time.sleep(warm)
        # Counted frames from each runner's public snapshot (0 until its model has loaded;
        # a private counter read here crashed the benchmark before that).
        done0 = [r.snapshot().frames_done for r in runners]
        ages: list[list[float]] = [[] for _ in runners]
        end = time.monotonic() + seconds
        t0, cpu0 = time.monotonic(), cpu_seconds(os.getpid())
        while time.monotonic() < end:
            for k, r in enumerate(runners):
                ages[k].append(r.snapshot().frame_age_s)
            time.sleep(0.1)
        span = time.monotonic() - t0
        cpu = (cpu_seconds(os.getpid()) - cpu0) / span / n
        return ([((r.snapshot().frames_done - d0) / (FPS * span), p95(a))
                 for r, d0, a in zip(runners, done0, ages)], cpu, runners[0].snapshot().runtime)
    finally:
        for r in runners:
            r.close()
        if pool is not None:
            pool.close()


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
done, ages, cpu0 = 0, [], None
while time.time() < t_to:
    frame = src.read(timeout_s=1)
    if frame is None:
        continue
    hm(frame.image)
    now = time.time()
    if now >= t_from:
        if cpu0 is None:
            import os, psutil
            me = psutil.Process(os.getpid())
            cpu_of = lambda: sum(sum(p.cpu_times()[:2]) for p in [me, *me.children(True)])
            cpu0 = cpu_of()
        done += 1
        ages.append(now - frame.t)
cpu = cpu_of() - cpu0 if cpu0 is not None else 0.0
src.close()
print(json.dumps({"done": done, "ages": ages, "cpu": cpu}))
"""


def theirs(n: int, warm: float, seconds: float, model: str
           ) -> tuple[list[tuple[float, float]], float, str]:
    """The same per camera for N processes running `solutions.Heatmap`."""
    start = time.time() + 25 + 2 * n   # each process loads its model before this
    procs = [subprocess.Popen([sys.executable, "-c", THEIRS, model, str(start), str(warm),
                               str(seconds)], stdout=subprocess.PIPE, text=True)
             for _ in range(n)]
    out, cpu = [], 0.0
    for p in procs:
        text, _ = p.communicate()
        doc = json.loads(text.strip().splitlines()[-1])
        out.append((doc["done"] / (FPS * seconds), p95(doc["ages"])))
        cpu += doc["cpu"] / seconds
    return out, cpu / n, "onnx"


def worst(cams: list[tuple[float, float]]) -> tuple[float, float, bool]:
    kept, age = min(k for k, _ in cams), max(a for _, a in cams)
    return kept, age, kept >= KEEP and age < AGE_S


def model_limit(runtime: str) -> tuple[float, int]:
    """Frames a second the model alone does here (the best of the batches the shared session
    forms), from benchmarks/model_limit.py's latest result; and that batch."""
    path = Path(__file__).with_name("results") / "model_limit.json"
    by = json.loads(path.read_text())["figures"]["model_alone_fps"].get(runtime, {})
    if not by:
        return 0.0, 0
    batch = max(by, key=lambda b: by[b])
    return by[batch], int(batch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warm", type=float, default=12.0)
    ap.add_argument("--runtime", default="auto")
    ap.add_argument("--workers", type=int, default=2,
                    help="worker processes of the third column (0: leave it out)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    from benchmarks.figures import record
    from dashboard.demo import DEMO_MODEL
    from dashboard.vision.models import cached_onnx

    onnx = str(cached_onnx(DEMO_MODEL, 320))
    sides = ("ours", "workers", "theirs") if args.workers else ("ours", "theirs")
    best = {side: 0 for side in sides}
    rows, used, figures = [], {}, {}
    for n in range(1, args.max + 1):
        row = {}
        for side in sides:
            if best[side] < n - 1:   # failed already at a smaller N
                continue
            cams, cpu, used[side] = \
                theirs(n, args.warm, args.seconds, onnx) if side == "theirs" else \
                ours(n, args.warm, args.seconds, args.runtime,
                     args.workers if side == "workers" else 0)
            kept, age, ok = worst(cams)
            row[side] = (kept, age, cpu)
            if ok:
                best[side] = n
        if not row:
            break
        rows.append((n, row))
        figures[n] = {k: {"kept": v[0], "p95_age_s": v[1], "cpu_per_camera": v[2]}
                      for k, v in row.items()}
        print(n, row, flush=True)
    limit, batch = model_limit(used.get("ours", ""))

    def cell(v) -> str:
        return f"{v[0]:.0%}, {v[1] * 1e3:.0f} ms, {v[2]:.0%}" if v else ""

    heads = {"ours": f"ours, one process ({used.get('ours')})",
             "workers": f"ours, {args.workers} worker processes ({used.get('workers')})",
             "theirs": f"N x Heatmap ({used.get('theirs')})"}
    each = "worst camera's frames, p95 age, CPU a camera"
    lines = ["| N | " + "".join(f"{heads[side]}: {each} | " for side in sides[:-1]) +
             f"share of the model-only limit | {heads['theirs']}: {each} |",
             "|---|" + "---|" * (len(sides) - 1) + "---:|---|"]
    for n, row in rows:
        share = f"{n * FPS / limit:.0%}" if limit else "?"
        lines.append(f"| {n} | " + " | ".join(cell(row.get(side)) for side in sides[:-1]) +
                     f" | {share} | {cell(row.get('theirs'))} |")
    top = max(best[side] for side in sides[:-1])

    def ratio(side: str) -> str:
        return f" ({best[side] / best['theirs']:.1f}x)" if best["theirs"] else ""

    lines += ["", "Largest N that keeps up: **" + ", ".join(
        f"{heads[side].split(' (')[0]} {best[side]}{ratio(side)}" for side in sides[:-1]) +
        f", ultralytics {best['theirs']}**; the model alone ({used.get('ours')}, batch "
        f"{batch}) does {limit:.0f} frames a second here = {limit / FPS:.1f} cameras at 15 "
        f"fps, so ours keeps up at {top * FPS / limit:.0%} of the model-only limit"
        if limit else ""]
    text = "\n".join(lines)
    print(text)
    record("many_cameras", text, {"rows": figures, "best": best, "limit_fps": limit,
                                  "runtime": used.get("ours")})


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
