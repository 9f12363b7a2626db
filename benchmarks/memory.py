"""Memory over a long run: one camera as the server runs it (the demo clip looping, demo
model, tracker, zones, heat, store, a viewer's JPEG now and then), read as fast as the
machine goes, with the resident set size (RSS) printed every `--every` frames.

Columns: frames processed, seconds, RSS in MiB, and the growth per 10,000 frames over the
last stretch. A flat run shows growth near 0 once the caches have filled (the tracker keeps
its last 1000 removed tracks; SQLite its page cache).

    python benchmarks/memory.py [--frames 100000] [--every 5000] [--trace]

--trace also lists the Python allocations that grew most between the first and the last
sample (slower: tracemalloc follows every allocation).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=100_000)
    ap.add_argument("--every", type=int, default=5_000)
    ap.add_argument("--trace", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("HEATMAP_DASHBOARD_DATA", tempfile.mkdtemp(prefix="hd-memory-"))
    import json

    from dashboard.demo import DEMO_DIR
    from dashboard.config.camera import Camera, CameraSettings, Presentation
    from dashboard.config.kinds import CameraId
    from dashboard.config.zone import ZoneSpec
    from dashboard.pipeline.runner import CameraRunner
    from dashboard.config.env import data_dir
    from dashboard.store.sqlite import SQLiteStore

    if args.trace:
        import tracemalloc

        tracemalloc.start(5)
    zones = [ZoneSpec.from_pixels(d, 640, 360)
             for d in json.loads((DEMO_DIR / "demo_zones.json").read_text())["zones"]]
    store = SQLiteStore(data_dir() / "dashboard.db")
    cam = Camera(CameraId("cam_memory"), "memory", "demo",
                 CameraSettings(imgsz=320, loop=True, pacing="fast"), Presentation(), True)
    runner = CameraRunner(cam, "demo", zones, store)
    runner.start()
    samples: list[tuple[int, float, float]] = []
    first = None
    t0 = time.monotonic()
    print(f"{'frames':>8} {'s':>6} {'RSS MiB':>8} {'MiB/10k frames':>15}", flush=True)
    next_at = 0
    while True:
        done = runner.snapshot().frames_done
        if runner.snapshot().state.value == "failed":
            sys.exit(f"the camera failed: {runner.snapshot().detail}")
        if done >= next_at:
            runner.jpeg()   # a viewer looks now and then
            samples.append((done, time.monotonic() - t0, rss_mib()))
            slope = ""
            if len(samples) >= 2:
                (f0, _, r0), (f1, _, r1) = samples[-2], samples[-1]
                slope = f"{(r1 - r0) / max(f1 - f0, 1) * 10_000:+.2f}"
            print(f"{done:>8} {samples[-1][1]:>6.0f} {samples[-1][2]:>8.1f} {slope:>15}",
                  flush=True)
            if args.trace and first is None and done > 0:
                first = tracemalloc.take_snapshot()
            next_at += args.every
            if done >= args.frames:
                break
        time.sleep(0.5)
    runner.stop()
    half = [s for s in samples if s[0] >= args.frames / 2]
    growth = None
    if len(half) >= 2:
        (f0, _, r0), (f1, _, r1) = half[0], half[-1]
        growth = (r1 - r0) / max(f1 - f0, 1) * 10_000
        print(f"second half: {r1 - r0:+.1f} MiB over {f1 - f0} frames "
              f"({growth:+.2f} MiB per 10k frames); "
              f"first sample {samples[1][2]:.1f} MiB, last {samples[-1][2]:.1f} MiB")
    if args.trace and first is not None:
        for stat in tracemalloc.take_snapshot().compare_to(first, "traceback")[:8]:
            print(stat)
            for line in stat.traceback.format()[-4:]:
                print("   ", line)
    if not args.trace:   # tracemalloc's own cost would be in the figures
        from benchmarks.figures import record

        rows = ["| frames | minutes | RSS MiB |", "|---:|---:|---:|"] + [
            f"| {f:,} | {t / 60:.1f} | {r:.0f} |" for f, t, r in samples[1:]]
        rows.append("")
        rows.append(f"{samples[-1][0]:,} frames in {samples[-1][1] / 60:.0f} minutes; "
                    + (f"growth over the second half: {growth:+.2f} MiB per 10,000 frames."
                       if growth is not None else ""))
        record("memory", "\n".join(rows), {"samples": samples, "growth_per_10k": growth})

if __name__ == "__main__":
    main()
