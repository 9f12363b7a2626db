"""Alerts through a webhook receiver that goes slow, then down, then comes back, while a
camera counts: how many alerts arrive (and how many twice, told apart by their
Idempotency-Key), how late, and whether counting slows down. Side by side: the same camera
with the receiver up throughout.

The camera reads the demo clip in a loop as fast as it goes (imgsz 320, ONNX) with its line
made one-way, so every OUT crossing is an alert. Phases of --phase seconds each: up, slow
(each answer after 10 s: the sender times out after 5 s and tries again), down (connection
refused), up again; then the run waits for the outbox to empty.

    python benchmarks/webhook_outage.py [--phase 30]
"""
from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Receiver:
    """Keeps (key, alert id, arrival time) of every POST; `delay_s` before answering."""

    def __init__(self, port: int, log: list, delay_s: float = 0.0) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:   # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                log.append((self.headers["Idempotency-Key"], body["alert"], time.time()))
                time.sleep(delay_s)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def camera(tmp: Path, hook_url: str | None):
    from dashboard.demo import DEMO_DIR
    from dashboard.entities import (Camera, CameraId, CameraSettings, Pacing, Presentation,
                                    Runtime, ZoneSpec)
    from dashboard.integrations import Integrations
    from dashboard.runner import CameraRunner
    from dashboard.store import SQLiteStore

    doc = json.loads((DEMO_DIR / "demo_zones.json").read_text())
    zones = [ZoneSpec.from_pixels({**d, "wrong_way": d.get("type") == "line"}, 640, 360)
             for d in doc["zones"]]
    cam = Camera(CameraId("cam_bench"), "bench", "demo",
                 CameraSettings(imgsz=320, loop=True, pacing=Pacing.FAST, runtime=Runtime.ONNX),
                 Presentation(), True)
    integrations = Integrations(hook_url, None, tmp)
    runner = CameraRunner(cam, "demo", zones, SQLiteStore(tmp / "db.sqlite"),
                          integrations=integrations)
    return runner, integrations


def run(phase_s: float, outage: bool) -> dict:
    from rtsp_server import free_port   # the tests' helper: a free loopback port

    port, got = free_port(), []
    tmp = Path(tempfile.mkdtemp())
    receiver = Receiver(port, got)
    runner, integrations = camera(tmp, f"http://127.0.0.1:{port}/hook")
    runner.start()
    while runner.snapshot().frames_done < 30:          # the model has loaded
        time.sleep(0.2)
    rates = {}
    for name in ("up", "slow", "down", "up again"):
        if outage and name == "slow":
            receiver.close()
            receiver = Receiver(port, got, delay_s=10.0)
        elif outage and name == "down":
            receiver.close()
            receiver = None
        elif outage and name == "up again":
            receiver = Receiver(port, got)
        f0, t0 = runner.snapshot().frames_done, time.monotonic()
        time.sleep(phase_s)
        rates[name] = (runner.snapshot().frames_done - f0) / (time.monotonic() - t0)
    made = {a.id for a in runner.recent_alerts(10_000)}
    runner.stop()
    end = time.monotonic() + 300
    while integrations.webhook.waiting and time.monotonic() < end:
        time.sleep(0.5)
    firsts: dict[str, float] = {}
    for key, alert, t in got:
        firsts.setdefault(key, t)
    delivered_ids = {alert["id"] for _, alert, _ in got}
    result = {"rates": rates, "changes": len({k for k, _, _ in got}),
              "posts": len(got), "alerts": len(made), "missing": len(made - delivered_ids),
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
    print(f"{'phase':>9} | receiver up: frames/s | outage run: frames/s")
    for name in steady["rates"]:
        print(f"{name:>9} | {steady['rates'][name]:21.1f} | {outage['rates'][name]:19.1f}")
    for label, r in (("receiver up", steady), ("outage", outage)):
        print(f"{label}: {r['alerts']} alerts, {r['changes']} alert changes sent, "
              f"{r['posts']} POSTs received ({r['posts'] - r['changes']} repeats of a key), "
              f"{r['missing']} alerts missing, {r['left']} left in the outbox")


if __name__ == "__main__":
    main()
