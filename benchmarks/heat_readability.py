"""Is the scene still readable under an hour of heat? Feeds a heatmap the demo's true
tracks (its 60 s clip looped, as the demo camera plays it) for a minute and for an hour,
renders both over the same frame with the demo's looks, and prints how much of the scene
survives: the share of the scene's edges (Canny) still found in the rendered picture, the
share of pixels the heat tints at all, and the mean change of brightness.

    .venv/bin/python benchmarks/heat_readability.py [--minutes 60]    # recorded for the README
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard.demo.scene import NAMES, Scene   # noqa: E402
from dashboard.engine import HeatmapAccumulator, HeatmapConfig, Tracks   # noqa: E402


def edges(img: np.ndarray) -> np.ndarray:
    return cv2.Canny(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), 60, 160) > 0


def figures(frame: np.ndarray, shown: np.ndarray) -> tuple[float, float, float]:
    e0, e1 = edges(frame), edges(shown)
    kept = (e0 & cv2.dilate(e1.astype(np.uint8), np.ones((3, 3))).astype(bool)).sum()
    tinted = (np.abs(shown.astype(int) - frame.astype(int)).max(axis=2) > 8).mean()
    light = np.abs(cv2.cvtColor(shown, cv2.COLOR_BGR2GRAY).astype(float)
                   - cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(float)).mean()
    return kept / max(1, e0.sum()), tinted, light


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60.0)
    args = ap.parse_args()
    scene = Scene(seed=7)
    clip = list(scene.frames(60.0))                 # the demo clip: seed 7, 60 s, 15 fps
    frame = clip[len(clip) // 2][0]
    heat = HeatmapAccumulator(HeatmapConfig())      # the demo camera's defaults
    fps, n = scene.fps, 0
    rows = ["| heat of | edges of the scene kept | pixels tinted | mean brightness change |",
            "|---|---|---|---|"]
    found = {}
    for minutes in (1.0, args.minutes):
        while n < minutes * 60 * fps:
            boxes = clip[n % len(clip)][1]
            tracks = Tracks([b.xyxy for b in boxes], [b.id + 100_000 * (n // len(clip))
                                                      for b in boxes],
                            [b.cls for b in boxes], [1.0] * len(boxes), NAMES) \
                if boxes else Tracks.empty(NAMES)
            heat.add(tracks, n / fps, frame.shape[:2])
            n += 1
        kept, tinted, light = figures(frame, heat.render(frame))
        rows.append(f"| {minutes:g} min | {kept:.0%} | {tinted:.0%} | {light:.1f} of 255 |")
        found[f"{minutes:g} min"] = [round(kept, 3), round(tinted, 3), round(light, 2)]
        cv2.imwrite(f"/tmp/heat_{minutes:g}min.png", heat.render(frame))
    print("\n".join(rows))
    from figures import record

    record("heat_readability", "\n".join(rows), found)


if __name__ == "__main__":
    main()
