"""Alerts through a webhook receiver that goes slow, then down, then comes back, while a
camera counts: how many alerts arrive (and how many twice, told apart by their
Idempotency-Key), how late, and whether counting slows down. Side by side: the same camera
with the receiver up throughout.

The camera reads the demo clip in a loop as fast as it goes (imgsz 320, ONNX) with its line
made one-way, so every OUT crossing is an alert. Phases of --phase seconds each: up, slow
(each answer after 10 s: the sender times out after 5 s and tries again), down (connection
refused), up again; then the run waits for the outbox to empty.

    python benchmarks/webhook_outage.py [--phase 30]     # recorded for the README
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def camera(tmp: Path, hook_url: str | None):
    from dashboard.demo import DEMO_DIR
    from dashboard.config.camera import Camera, CameraSettings, Presentation
    from dashboard.config.kinds import CameraId, Pacing, Runtime
    from dashboard.config.zone import ZoneSpec
    from dashboard.integrations.core import Integrations
    from dashboard.pipeline.runner import CameraRunner
    from dashboard.store.sqlite import SQLiteStore

    doc = json.loads((DEMO_DIR / "demo_zones.json").read_text())
    zones = [ZoneSpec.from_pixels({**d, "wrong_way": d.get("type") == "line"}, 640, 360)
             for d in doc["zones"]]
    cam = Camera(CameraId("cam_bench"), "bench", "demo",
                 CameraSettings(imgsz=320, loop=True, pacing=Pacing.FAST, runtime=Runtime.ONNX),
                 Presentation(), True)
    integrations = Integrations(hook_url, None, tmp)
    integrations.made = 0                  # alert changes handed over, counted here
    hand_over = integrations.alert

    def counted(camera: dict, alert: dict) -> None:
        integrations.made += 1
        hand_over(camera, alert)

    integrations.alert = counted
    runner = CameraRunner(cam, "demo", zones, SQLiteStore(tmp / "db.sqlite"),
                          integrations=integrations)
    return runner, integrations


def run(phase_s: float, outage: bool) -> dict:
    from support.brokers import Receiver          # the tests' real HTTP receiver
    from support.rtsp_server import free_port

    port, got = free_port(), []
    tmp = Path(tempfile.mkdtemp())
    receiver = Receiver(port=port, taken=got).start()
    runner, integrations = camera(tmp, f"http://127.0.0.1:{port}/hook")
    runner.start()
    while runner.snapshot().frames_done < 30:          # the model has loaded
        time.sleep(0.2)
    rates = {}
    for name in ("up", "slow", "down", "up again"):
        if outage and name == "slow":
            receiver.close()
            receiver = Receiver(port=port, delay_s=10.0, taken=got).start()
        elif outage and name == "down":
            receiver.close()
            receiver = None
        elif outage and name == "up again":
            receiver = Receiver(port=port, taken=got).start()
        f0, t0 = runner.snapshot().frames_done, time.monotonic()
        time.sleep(phase_s)
        rates[name] = (runner.snapshot().frames_done - f0) / (time.monotonic() - t0)
    runner.stop()
    end = time.monotonic() + 300
    while integrations.webhook.waiting and time.monotonic() < end:
        time.sleep(0.5)
    result = {"rates": rates, "made": integrations.made,
              "changes": len({k for k, _, _ in got}), "posts": len(got),
              "left": integrations.webhook.waiting}
    integrations.close()
    runner.close()
    if receiver is not None:
        receiver.close()
    return result


def main() -> None:
    import logging
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    logging.basicConfig(level=logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--phase", type=float, default=30.0)
    args = ap.parse_args()
    steady, outage = run(args.phase, False), run(args.phase, True)
    rows = [f"| frames/s while the receiver is {name} | {steady['rates'][name]:.1f} | "
            f"{outage['rates'][name]:.1f} |" for name in steady["rates"]]
    for label, key in (("alert changes made", "made"), ("received (each once, by its key)",
                                                        "changes"), ("POSTs", "posts"),
                       ("left in the outbox at the end", "left")):
        rows.append(f"| {label} | {steady[key]} | {outage[key]} |")
    rows.append(f"| lost | {steady['made'] - steady['changes']} | "
                f"{outage['made'] - outage['changes']} |")
    md = (f"| Phases of {args.phase:g} s: up, slow (answers after 10 s), down, up again | "
          "receiver up throughout | receiver slow, then down |\n|---|---:|---:|\n"
          + "\n".join(rows))
    print(md)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from figures import record

    record("webhook_outage", md, {"steady": steady, "outage": outage,
                                  "phase_s": args.phase})

if __name__ == "__main__":
    main()
