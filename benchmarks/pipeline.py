"""End-to-end frames per second of the pipeline on a generated demo clip, split by stage.

Ours runs as the dashboard does: decode in the source's own thread (a few frames ahead),
model + tracker (demo model, ByteTrack) and engine (zones, heat, overlay) in the loop, and
the JPEG encode for the page in a viewer's thread (once per frame, every frame here). Rows
for PyTorch, ONNX Runtime and "auto" (the runtime measured fastest here, vision/runtimes.py)
at 640x360 and 1280x720 with imgsz 320 and 640; and, on the
same clip and weights, `ultralytics.solutions.Heatmap` (decode + its process(), PyTorch,
the same tracker). Every run is a fresh process, so one runtime's threads cannot slow
another's.

Columns: fps; decode, model+tracker, engine and encode in ms per frame (decode timed on
its own over the clip, the others where they run); "not model, frame": the share of the
loop's frame time (1/fps) outside model+tracker; "not model, CPU": decode + engine + encode
as a share of all four stages' work.

    python benchmarks/pipeline.py [--seconds 20] [--repeat 3]    # recorded for the README
"""
from __future__ import annotations

import argparse
import json
import logging
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ZONES = Path(__file__).resolve().parents[1] / "dashboard" / "demo" / "demo_zones.json"


def decode_ms(video: Path) -> float:
    """Milliseconds to decode one frame of `video`, on one thread, nothing else running."""
    import cv2

    cap, n = cv2.VideoCapture(str(video)), 0
    t0 = time.perf_counter()
    while cap.read()[0]:
        n += 1
    return (time.perf_counter() - t0) / n * 1e3


def run_ours(video: Path, imgsz: int, scale: float, runtime: str) -> dict[str, float]:
    """Process the clip once as the dashboard does; ms per frame by stage, and fps."""
    import cv2

    from dashboard.vision.detector import Detector
    from dashboard.engine import Engine, load_zones, zone_from_dict
    from dashboard.vision.sources import open_source
    from dashboard.pipeline.pictures import JPEG_QUALITY

    # The demo zones are drawn for 640x360.
    zones = [zone_from_dict({**z.to_dict(), "points": (z.points * scale).tolist()})
             for z in load_zones(ZONES)]
    det, engine = Detector("demo", imgsz=imgsz, runtime=runtime), Engine(zones=zones)
    plots: queue.Queue = queue.Queue(maxsize=2)
    encode = [0.0]

    def viewer() -> None:  # one page watching: every frame encoded once, off the loop
        while (plot := plots.get()) is not None:
            t0 = time.perf_counter()
            cv2.imencode(".jpg", plot, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            encode[0] += time.perf_counter() - t0

    th = threading.Thread(target=viewer)
    th.start()
    model = eng = 0.0
    n = 0
    src = open_source(video, live=False)
    t_start = time.perf_counter()
    while (frame := src.read()) is not None:
        t1 = time.perf_counter()
        tracks = det.track(frame.image)
        t2 = time.perf_counter()
        result = engine.update(frame.image, tracks, frame.t)
        t3 = time.perf_counter()
        plots.put(result.plot)
        model, eng, n = model + t2 - t1, eng + t3 - t2, n + 1
    total = time.perf_counter() - t_start
    plots.put(None)
    th.join()
    src.close()
    return {"fps": n / total, "model+tracker": model / n * 1e3, "engine": eng / n * 1e3,
            "encode": encode[0] / n * 1e3, "decode": decode_ms(video), "runtime": det.runtime}


def run_ultralytics(video: Path, imgsz: int, scale: float) -> dict[str, float]:
    from ultralytics import solutions
    from ultralytics.utils import LOGGER

    from dashboard.demo import DEMO_MODEL
    from dashboard.engine import load_zones
    from dashboard.vision.sources import open_source

    LOGGER.setLevel(logging.ERROR)
    region = [(int(x * scale), int(y * scale)) for x, y in load_zones(ZONES)[1].points]
    hm = solutions.Heatmap(model=str(DEMO_MODEL), region=region, imgsz=imgsz, show=False,
                           verbose=False, tracker="bytetrack.yaml")
    src = open_source(video, live=False)
    n, t0 = 0, time.perf_counter()
    while (frame := src.read()) is not None:
        hm.process(frame.image)
        n += 1
    fps = n / (time.perf_counter() - t0)
    src.close()
    return {"fps": fps}


def interleaved(video: Path, imgsz: int, runtime: str) -> dict[str, float]:
    """Ours (detector + engine) and `Heatmap.process` on the same frames, frame by frame in
    turns in one process, so a busy moment of a shared machine falls on both alike (timing
    one after the other read 0.8x to 3x for the same pair here); frames decoded beforehand."""
    from ultralytics import solutions
    from ultralytics.utils import LOGGER

    from dashboard.demo import DEMO_MODEL
    from dashboard.engine import Engine, load_zones
    from dashboard.vision.detector import Detector
    from dashboard.vision.sources import open_source

    LOGGER.setLevel(logging.ERROR)
    with open_source(video, live=False) as src:
        frames = [f for f in iter(src.read, None)]
    zones = load_zones(ZONES)
    det, engine = Detector("demo", imgsz=imgsz, runtime=runtime), Engine(zones=zones)
    hm = solutions.Heatmap(model=str(DEMO_MODEL), region=[tuple(map(int, p)) for p in
                                                          zones[1].points], imgsz=imgsz,
                           show=False, verbose=False, tracker="bytetrack.yaml")
    ours = theirs = 0.0
    for k, f in enumerate(frames):
        t0 = time.perf_counter()
        engine.update(f.image, det.track(f.image), f.t)
        t1 = time.perf_counter()
        hm.process(f.image)
        t2 = time.perf_counter()
        if k >= 10:                       # both warm
            ours, theirs = ours + t1 - t0, theirs + t2 - t1
    n = len(frames) - 10
    return {"ours": n / ours, "theirs": n / theirs, "runtime": det.runtime}


def in_fresh_process(video: Path, imgsz: int, scale: float, runtime: str) -> dict[str, float]:
    out = subprocess.run([sys.executable, __file__, "--row", json.dumps(
        [str(video), imgsz, scale, runtime])], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs per row; the median by fps is reported (this VM is noisy)")
    ap.add_argument("--row", help=argparse.SUPPRESS)  # one run, in this process, as JSON
    args = ap.parse_args()
    if args.row:
        video, imgsz, scale, runtime = json.loads(args.row)
        r = (run_ultralytics(Path(video), imgsz, scale) if runtime == "ultralytics"
             else interleaved(Path(video), imgsz, runtime[len("interleaved:"):])
             if runtime.startswith("interleaved:")
             else run_ours(Path(video), imgsz, scale, runtime))
        print(json.dumps(r))
        return
    from dashboard.demo.scene import write_clip

    rows = ["| frame | imgsz | runtime | fps | decode ms | model+tracker ms | engine ms | "
            "encode ms | not model, frame | not model, CPU | vs ultralytics |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    found: dict = {}

    def say(row: str) -> None:
        rows.append(row)
        print(row, flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for w, h in [(640, 360), (1280, 720)]:
            video = write_clip(Path(tmp) / f"clip_{w}.mp4", seconds=args.seconds, seed=23,
                               width=w, height=h)
            for imgsz in (320, 640):
                theirs = statistics.median(
                    in_fresh_process(video, imgsz, w / 640, "ultralytics")["fps"]
                    for _ in range(args.repeat))
                say(f"| {w}x{h} | {imgsz} | ultralytics Heatmap (PyTorch) | {theirs:.1f} "
                    "| | | | | | | 1.00 |")
                found[f"{w}x{h}:{imgsz}:ultralytics"] = round(theirs, 1)
                for runtime in ("torch", "onnx", "auto"):
                    runs = sorted((in_fresh_process(video, imgsz, w / 640, runtime)
                                   for _ in range(args.repeat)), key=lambda x: x["fps"])
                    r = runs[len(runs) // 2]
                    frame_ms = 1000 / r["fps"]
                    work = [r[k] for k in ("decode", "model+tracker", "engine", "encode")]
                    name = runtime if runtime != "auto" else f"auto ({r['runtime']})"
                    say(f"| {w}x{h} | {imgsz} | ours, {name} | {r['fps']:.1f} | "
                        + " | ".join(f"{v:.1f}" for v in work)
                        + f" | {1 - r['model+tracker'] / frame_ms:.0%}"
                        f" | {1 - work[1] / sum(work):.0%} | {r['fps'] / theirs:.2f} |")
                    found[f"{w}x{h}:{imgsz}:{runtime}"] = round(r["fps"], 1)
        video = write_clip(Path(tmp) / "clip_i.mp4", seconds=args.seconds, seed=23)
        rows += ["", "Interleaved frame by frame in one process (640x360, imgsz 640, ours = "
                 "detector + engine, theirs = `Heatmap.process`, PyTorch):", "",
                 "| runtime | ours fps | theirs fps | ours / theirs |", "|---|---:|---:|---:|"]
        for runtime in ("onnx", "auto"):
            runs = sorted((in_fresh_process(video, 640, 1.0, f"interleaved:{runtime}")
                           for _ in range(args.repeat)), key=lambda x: x["ours"] / x["theirs"])
            r = runs[len(runs) // 2]
            name = runtime if runtime != "auto" else f"auto ({r['runtime']})"
            say(f"| {name} | {r['ours']:.1f} | {r['theirs']:.1f} | "
                f"{r['ours'] / r['theirs']:.2f}x (runs: "
                + ", ".join(f"{x['ours'] / x['theirs']:.2f}" for x in runs) + ") |")
            found[f"interleaved:640:{runtime}"] = round(r["ours"] / r["theirs"], 2)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from figures import record

    record("pipeline", "\n".join(rows), found)


if __name__ == "__main__":
    main()
