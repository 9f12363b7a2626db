"""What decoding in a process of its own costs (`dashboard.vision.isolated`): every frame of
a generated clip read through cv2.VideoCapture in this process, then through ChildCapture,
side by side, with the time to open. Run: python benchmarks/decoding.py"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import record  # noqa: E402


def read_all(cap) -> tuple[int, float]:
    n, t0 = 0, time.perf_counter()
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        n += 1
    return n, time.perf_counter() - t0


def main() -> None:
    from dashboard.demo.scene import write_clip
    from dashboard.vision.isolated import ChildCapture

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="hd-decoding-"))
    print(f"{'frame':>10} | {'open ms in / child':>19} | {'ms a frame in / child':>22} | "
          f"{'child / in':>10}")
    rows, figures = [], {}
    for w, h in ((640, 360), (1280, 720), (1920, 1080)):
        clip = write_clip(folder / f"c{w}.mp4", seconds=args.seconds, width=w, height=h, fps=15)
        opened, per = {"in": [], "child": []}, {"in": [], "child": []}
        for _ in range(args.runs):
            for kind in ("in", "child"):
                t0 = time.perf_counter()
                cap = cv2.VideoCapture(str(clip), cv2.CAP_FFMPEG) if kind == "in" else \
                    ChildCapture(str(clip), webcam=False, timeout_ms=10_000)
                opened[kind].append((time.perf_counter() - t0) * 1000)
                n, s = read_all(cap)
                cap.release()
                per[kind].append(s / n * 1000)
        o = {k: statistics.median(v) for k, v in opened.items()}
        p = {k: statistics.median(v) for k, v in per.items()}
        print(f"{w}x{h:<5} | {o['in']:>8.0f} / {o['child']:>8.0f} | {p['in']:>10.2f} / "
              f"{p['child']:>9.2f} | {p['child'] / p['in']:>10.2f}", flush=True)
        figures[f"{w}x{h}"] = {"open_ms": o, "frame_ms": p}
        rows.append(f"| {w}x{h} | {o['in']:.0f} / {o['child']:.0f} | {p['in']:.2f} / "
                    f"{p['child']:.2f} | {p['child'] / p['in']:.2f} |")
    record("decoding", "\n".join(["| frame | open, ms: in the server / a child | a frame, ms: in "
                                  "the server / a child | child / in |",
                                  "|---|---:|---:|---:|", *rows]), figures)


if __name__ == "__main__":
    main()
