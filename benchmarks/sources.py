"""Live source figures on a real RTSP server on loopback (GStreamer, Debian packages).

Open time; frame age (now - capture time) when the consumer reads as fast as it can, at
10 fps and at 4 fps; and reconnect time: from the server's restart to the first new frame.

    python benchmarks/sources.py           # recorded for the README (benchmarks/figures.py)
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from figures import record  # noqa: E402
from support.rtsp_server import RtspServer  # noqa: E402

from dashboard.demo.scene import write_clip  # noqa: E402
from dashboard.vision.sources import open_source  # noqa: E402


def ages(src, consumer_fps: float | None, seconds: float = 4.0) -> list[float]:
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        if consumer_fps:
            time.sleep(1 / consumer_fps)
        f = src.read(2.0)
        if f is not None:
            out.append(time.time() - f.t)
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_clip(Path(tmp) / "clip.avi", seconds=60, seed=5, fps=15)
        srv = RtspServer(clip).start()
        try:
            t0 = time.perf_counter()
            src = open_source(srv.url(), open_timeout_s=5, backoff_s=(0.5, 10.0))
            opened = (time.perf_counter() - t0) * 1e3
            rows = [("open the stream", f"{opened:.0f} ms")]
            figures = {"open_ms": round(opened)}
            ages(src, None, 3.0)  # past the start-up burst
            for label, fps in (("as fast as it can", None), ("at 10 fps", 10.0),
                               ("at 4 fps", 4.0)):
                a = [x * 1e3 for x in ages(src, fps)]
                rows.append((f"frame age, a consumer reading {label}",
                             f"median {statistics.median(a):.1f} ms, max {max(a):.1f} ms"))
                figures[f"age_{fps or 'max'}"] = [round(statistics.median(a), 1),
                                                  round(max(a), 1)]
            times = []
            for _ in range(3):
                srv.stop()
                while src.status.state != "reconnecting":
                    time.sleep(0.01)
                time.sleep(1.0)   # the camera stays down for a second
                srv.start()
                restarted = time.time()
                f = src.read(20.0)
                while f is not None and f.t <= restarted:
                    f = src.read(20.0)
                times.append(f.t - restarted)
            rows.append(("frames again after a 1 s outage (3 times; backoff from 0.5 s)",
                         ", ".join(f"{x:.1f} s" for x in times)))
            figures["reconnect_s"] = [round(x, 2) for x in times]
            md = "| Live source (RTSP on loopback, 15 fps: a frame every 67 ms) | Figure |\n" \
                 "|---|---:|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
            print(md)
            record("sources", md, figures)
            src.close()
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
