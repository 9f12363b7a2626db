"""Drawing boxes, track ids and zones with their counts onto a frame (in place)."""
from __future__ import annotations

from typing import Iterable, Mapping

import cv2
import numpy as np

from .tracks import Tracks
from .zones import LineZone, Zone, ZoneCounts

# BGR, chosen to stay readable over the JET heat colours.
PALETTE = [(255, 255, 255), (0, 215, 255), (255, 144, 30), (180, 105, 255), (50, 205, 50),
           (0, 128, 255), (255, 0, 255), (160, 160, 160)]
ZONE_COLOR = (255, 255, 0)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _scale(img: np.ndarray) -> float:
    return max(0.4, img.shape[0] / 720 * 0.6)


def label(img: np.ndarray, text: str, org: tuple[int, int], color: tuple[int, int, int],
          scale: float) -> None:
    """Text on a filled dark box whose top-left corner is `org`.

    Example:
        >>> label(np.zeros((50, 200, 3), np.uint8), "door in 3", (5, 5), (255, 255, 0), 0.5)
    """
    th = max(1, int(round(scale * 2)))
    (w, h), base = cv2.getTextSize(text, FONT, scale, th)
    x, y = max(0, org[0]), max(0, org[1])
    cv2.rectangle(img, (x, y), (x + w + 4, y + h + base + 4), (0, 0, 0), -1)
    cv2.putText(img, text, (x + 2, y + h + 2), FONT, scale, color, th, cv2.LINE_AA)


def draw_tracks(img: np.ndarray, tracks: Tracks) -> None:
    """Boxes with "#id class" labels, coloured by class.

    Example:
        >>> draw_tracks(np.zeros((100, 100, 3), np.uint8), Tracks([[10, 10, 50, 50]], [3], [0], [.9]))
    """
    s = _scale(img) * 0.8
    th = max(1, int(round(s * 2.5)))
    names = tracks.class_names()
    for (x0, y0, x1, y1), tid, c, name in zip(tracks.xyxy.astype(int).tolist(),
                                              tracks.ids.tolist(), tracks.cls.tolist(), names):
        color = PALETTE[c % len(PALETTE)]
        cv2.rectangle(img, (x0, y0), (x1, y1), color, th)
        label(img, f"#{tid} {name}", (x0, y0 - int(24 * s)), color, s)


def draw_zones(img: np.ndarray, zones: Iterable[Zone], counts: Mapping[str, ZoneCounts]) -> None:
    """Zone outlines, an IN arrow on each line, and each zone's name with its counts."""
    s = _scale(img)
    th = max(2, int(round(s * 3)))
    for z in zones:
        pts = np.round(z.points).astype(np.int32)
        if isinstance(z, LineZone):
            # Thick zone lines: 8-connected looks the same here and is ~8x cheaper than AA.
            cv2.line(img, tuple(pts[0]), tuple(pts[1]), ZONE_COLOR, th, cv2.LINE_8)
            mid = (z.points[0] + z.points[1]) / 2
            tip = mid + np.array(z.in_direction()) * 40 * s
            cv2.arrowedLine(img, tuple(np.round(mid).astype(int)), tuple(np.round(tip).astype(int)),
                            ZONE_COLOR, th, cv2.LINE_8, tipLength=0.35)
        else:
            cv2.polylines(img, [pts], True, ZONE_COLOR, th, cv2.LINE_8)
        c = counts.get(z.name)
        text = z.name if c is None else f"{z.name}  in {c.in_count}  out {c.out_count}"
        if c is not None and c.occupancy is not None:
            text += f"  now {c.occupancy}"
        x, y = pts.min(axis=0)
        label(img, text, (int(x), int(y) - int(30 * s)), ZONE_COLOR, s)
