"""The ceiling: how many frames a second the model alone runs on these cores (each runtime,
batch 1 and the batches the shared session forms), and where one camera's frame time goes,
stage by stage (decode, letterbox, model, NMS, tracker, engine and records, store, picture
when watched), so every many-camera figure can read as a share of the limit.

Model alone: the demo clip's frames letterboxed once, then only the runtime's call, at the
image size and with the threads the product uses; the runtimes in turns, so a busy moment
falls on all alike (median of the rounds). Stages: one camera counting the demo clip as fast
as it goes (FAST pacing), each stage's own function timed where the product calls it; the
picture (overlay and JPEG) timed on the camera's last snapshot, as a viewer asks for it.

    python benchmarks/model_limit.py [--imgsz 320] [--rounds 5] [--frames 600]
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BATCHES = (1, 2, 4)


def clip_frames(n: int) -> list[np.ndarray]:
    import cv2

    from dashboard.demo.scene import demo_clip

    cap, out = cv2.VideoCapture(str(demo_clip())), []
    while len(out) < n:
        ok, img = cap.read()
        if not ok:
            break
        out.append(img)
    cap.release()
    return out


def model_alone(imgsz: int, rounds: int) -> dict[str, dict[int, float]]:
    """Frames a second of each runtime's call alone, by batch size."""
    from dashboard.demo import DEMO_MODEL
    from dashboard.vision.onnx import letterbox
    from dashboard.vision.runtimes import available, model_file, open_session

    blobs = [letterbox(f, imgsz)[0] for f in clip_frames(64)]
    sessions = {r.value: open_session(model_file(DEMO_MODEL, imgsz, r), r) for r in available()}
    times: dict[str, dict[int, list[float]]] = {r: defaultdict(list) for r in sessions}
    for infer in sessions.values():   # warm: first calls allocate
        for b in BATCHES:
            infer(np.concatenate(blobs[:b]))
    for _ in range(rounds):
        for name, infer in sessions.items():
            for b in BATCHES:
                batches = [np.concatenate(blobs[i:i + b]) for i in range(0, 32, b)]
                t0 = time.perf_counter()
                for x in batches:
                    infer(x)
                times[name][b].append(32 / (time.perf_counter() - t0))
    return {r: {b: float(np.median(v)) for b, v in by.items()} for r, by in times.items()}


class Timers:
    """Seconds spent in each wrapped function, summed over the run."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    def wrap(self, owner, attr: str, stage: str) -> None:
        fn = getattr(owner, attr)

        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.spent[stage] += time.perf_counter() - t0
        setattr(owner, attr, timed)


def stages(imgsz: int, frames: int, runtime: str) -> tuple[dict[str, float], int]:
    """Milliseconds a frame in each stage of one camera counting the demo clip."""
    import json

    import cv2

    from dashboard.config.camera import Camera, CameraSettings, Presentation
    from dashboard.config.kinds import CameraId, Pacing, Runtime
    from dashboard.config.zone import ZoneSpec
    from dashboard.demo import DEMO_DIR
    from dashboard.demo.scene import demo_clip
    from dashboard.pipeline import runner as runner_mod, step, pictures
    from dashboard.store import writer
    from dashboard.store.sqlite import SQLiteStore
    from dashboard.vision import detector, onnx

    t = Timers()
    t.wrap(onnx, "letterbox", "letterbox")
    t.wrap(onnx.SharedModel, "run", "model")
    t.wrap(onnx, "decode", "NMS")
    t.wrap(detector.Detector, "track", "detector+tracker")
    t.wrap(step.FrameStep, "count", "engine and records")
    t.wrap(writer.EventWriter, "flush", "store")

    doc = json.loads((DEMO_DIR / "demo_zones.json").read_text())
    zones = [ZoneSpec.from_pixels(d, 640, 360) for d in doc["zones"]]
    store = SQLiteStore(Path(tempfile.mkdtemp()) / "events.db")
    cam = Camera(CameraId("bench"), "bench", str(demo_clip()),
                 CameraSettings(imgsz=imgsz, loop=True, pacing=Pacing.FAST,
                                tracker="bytetrack.yaml", runtime=Runtime(runtime)),
                 Presentation(), True)
    r = runner_mod.CameraRunner(cam, str(demo_clip()), zones, store)
    r.start()
    while r.snapshot().frames_done < 30:      # loaded and going
        time.sleep(0.1)
    t.spent.clear()
    done0 = r.snapshot().frames_done
    while r.snapshot().frames_done - done0 < frames:
        time.sleep(0.1)
    n = r.snapshot().frames_done - done0
    spent = dict(t.spent)
    runtime_used = r.snapshot().runtime
    snap, engine = r.snapshot(), r.step.engine
    looks = Presentation()
    r.close()
    ms = {k: v * 1000 / n for k, v in spent.items()}
    ms["tracker and one-object rules"] = ms.pop("detector+tracker") - ms["letterbox"] \
        - ms["model"] - ms["NMS"]
    # The store's commits happen inside the step's call (every 0.25 s): told apart.
    ms["engine, alerts, evidence"] = ms.pop("engine and records") - ms.get("store", 0.0)
    # Decoding runs in a child process (off this process's clock): timed here on its own.
    cap, k, t0 = cv2.VideoCapture(str(demo_clip())), 0, time.perf_counter()
    while k < 300 and cap.read()[0]:
        k += 1
    ms["decode (child process)"] = (time.perf_counter() - t0) * 1000 / max(k, 1)
    pics, t0 = pictures.Pictures(), time.perf_counter()
    for _ in range(50):
        pics._drawn = (None, None, None)
        pics._jpeg = (None, None)
        pics.jpeg(pics.drawn(snap, looks, engine))
    ms["picture when watched (overlay + JPEG)"] = (time.perf_counter() - t0) * 1000 / 50
    order = ["decode (child process)", "letterbox", "model", "NMS",
             "tracker and one-object rules", "engine, alerts, evidence", "store",
             "picture when watched (overlay + JPEG)"]
    return {k: ms.get(k, 0.0) for k in order}, n, runtime_used


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=600)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from benchmarks.figures import record

    limit = model_alone(args.imgsz, args.rounds)
    lines = [f"Model alone (demo model, imgsz {args.imgsz}, frames a second, median of "
             f"{args.rounds} rounds in turns):", "",
             "| runtime | batch 1 | batch 2 | batch 4 |", "|---|---:|---:|---:|"]
    for r, by in limit.items():
        lines.append(f"| {r} | " + " | ".join(f"{by[b]:.0f}" for b in BATCHES) + " |")
    figures = {"model_alone_fps": limit}
    for runtime in ("onnx", "auto"):
        ms, n, used = stages(args.imgsz, args.frames, runtime)
        total = sum(v for k, v in ms.items() if not k.startswith(("picture", "decode")))
        lines += ["", f"One camera's frame, runtime {runtime} ({used}), {n} frames, ms a frame:",
                  "", "| stage | ms | share |", "|---|---:|---:|"]
        for k, v in ms.items():
            lines.append(f"| {k} | {v:.2f} | {v / total:.0%} |" if not k.startswith(
                ("picture", "decode")) else f"| {k} | {v:.2f} | (apart) |")
        lines.append(f"| in the camera's thread | {total:.2f} | 100% |")
        figures[f"stages_{runtime}"] = {"runtime": used, "ms": ms, "thread_ms": total}
    text = "\n".join(lines)
    print(text)
    record("model_limit", text, figures)


if __name__ == "__main__":
    main()
