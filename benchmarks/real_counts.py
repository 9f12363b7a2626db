"""Counting on real footage against crossings counted by eye: ours (the CLI, default
settings) beside Ultralytics' ObjectCounter with ByteTrack and with its default tracker,
the same COCO detector (YOLOv8n INT8, ONNX), the same line (60% of the height), the same
frames. The truth is tests/support/real_truth.py's; the footage is ../shared/real's.

    .venv/bin/python benchmarks/real_counts.py          # about 5 minutes on 2 cores
"""
from __future__ import annotations

import json
import sys
import tempfile
import warnings
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from figures import record  # noqa: E402
from support.real_truth import LINE_AT, TRUTH, matched  # noqa: E402

REAL = ROOT.parent / "shared" / "real"
MODEL = REAL / "models" / "yolov8n_int8.onnx"


def ours(clip: Path) -> list[tuple[int, str, str]]:
    import csv

    from dashboard.cli import process

    folder = Path(tempfile.mkdtemp())
    w, h = size(clip)
    (folder / "zones.json").write_text(json.dumps({"zones": [
        {"name": "line", "type": "line", "points": [[0, LINE_AT * h], [w, LINE_AT * h]]}]}))
    process(str(clip), folder / "out", model=str(MODEL), zones=str(folder / "zones.json"),
            write_video=False, progress=False)
    with open(folder / "out" / "events.csv") as f:
        return [(int(r["frame"]), r["direction"], r["class"]) for r in csv.DictReader(f)]


def object_counter(clip: Path, tracker: str) -> list[tuple[int, str, str]]:
    """Each count ObjectCounter adds, with the frame it was added at and its class."""
    from ultralytics import solutions

    w, h = size(clip)
    counter = solutions.ObjectCounter(model=str(MODEL), region=[(0, LINE_AT * h),
                                                                 (w, LINE_AT * h)],
                                      tracker=tracker, show=False, verbose=False)
    cap, k, out = cv2.VideoCapture(str(clip)), 0, []
    before: dict[str, dict[str, int]] = {}
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        counter.process(frame)
        now = {c: dict(v) for c, v in counter.classwise_count.items()}
        for cls, v in now.items():
            for d in ("IN", "OUT"):
                for _ in range(v[d] - before.get(cls, {}).get(d, 0)):
                    out.append((k, d.lower(), cls))
        before, k = now, k + 1
    cap.release()
    return out


def size(clip: Path) -> tuple[int, int]:
    cap = cv2.VideoCapture(str(clip))
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    cap.release()
    return w, h


def score(counted: list, truth: list) -> str:
    right, extra, missed = matched(counted, truth)
    classes = sum(c[2] == t[2] for c, t in right)
    return f"{len(right)} right ({classes} as the right class), {len(extra)} extra, {len(missed)} missed"


def main() -> None:
    warnings.filterwarnings("ignore")
    rows, figures = [], {}
    for clip, truth in TRUTH.items():
        path = REAL / clip
        if not path.is_file():
            print(f"skipped {clip}: not at {path}")
            continue
        results = {"ours": ours(path), "ObjectCounter, ByteTrack": object_counter(path, "bytetrack.yaml"),
                   "ObjectCounter, its default (TrackTrack)": object_counter(path, "tracktrack.yaml")}
        for who, counted in results.items():
            rows.append(f"| {clip} ({len(truth)} crossings) | {who} | {score(counted, truth)} |")
            figures[f"{clip}:{who}"] = [list(c) for c in counted]
    md = "| Clip | Counter | Against the crossings counted by eye |\n|---|---|---|\n" + \
        "\n".join(rows)
    print(md)
    record("real_counts", md, figures)


if __name__ == "__main__":
    main()
