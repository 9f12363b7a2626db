"""Live source figures on a real RTSP server on loopback (GStreamer, Debian packages).

Open time; frame age (now - capture time) when the consumer reads as fast as it can, at
10 fps and at 4 fps; and reconnect time: from the server's restart to the first new frame.

    python benchmarks/sources.py
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
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
            print(f"open: {(time.perf_counter() - t0) * 1e3:.0f} ms")
            ages(src, None, 3.0)  # past the start-up burst
            for label, fps in (("as fast as it can", None), ("10 fps", 10.0), ("4 fps", 4.0)):
                a = [x * 1e3 for x in ages(src, fps)]
                print(f"frame age, consumer {label}: median {statistics.median(a):.1f} ms, "
                      f"max {max(a):.1f} ms ({len(a)} frames; source interval 66.7 ms)")
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
            print("reconnect after restart: " + ", ".join(f"{x:.2f} s" for x in times)
                  + f" (backoff starts at 0.5 s); stats {src.stats}")
            src.close()
        finally:
            srv.stop()


if __name__ == "__main__":
    main()
