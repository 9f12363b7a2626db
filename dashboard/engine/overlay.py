"""Drawing boxes, track ids and zones with their counts onto a frame (in place)."""
from __future__ import annotations

import functools
from typing import Collection, Iterable, Mapping

import cv2
import numpy as np

from .tracks import Tracks
from .zones import LineZone, Zone, ZoneCounts

# BGR, chosen to stay readable over the JET heat colours.
PALETTE = [(255, 255, 255), (0, 215, 255), (255, 144, 30), (180, 105, 255), (50, 205, 50),
           (0, 128, 255), (255, 0, 255), (160, 160, 160)]
ZONE_COLOR = (255, 255, 0)
ALERT_COLOR = (40, 40, 255)      # a zone with an alert going on (over its limit): red
MASK_COLOR = (160, 160, 160)
FONT = cv2.FONT_HERSHEY_SIMPLEX


def _scale(img: np.ndarray) -> float:
    return max(0.4, img.shape[0] / 720 * 0.6)


@functools.lru_cache(maxsize=256)
def _label_image(text: str, color: tuple[int, int, int], scale: float) -> np.ndarray:
    # Labels repeat frame after frame (the same track, the same counts): drawing text is
    # the dearest part of drawing a box, copying a cached picture of it is nearly free.
    # A few hundred cover every label on screen; more only hoards the labels of tracks
    # long gone (2048 sprites of 1.5-5 KB were the slow RSS growth of a long run).
    th = max(1, int(round(scale * 2)))
    (w, h), base = cv2.getTextSize(text, FONT, scale, th)
    img = np.zeros((h + base + 5, w + 5, 3), np.uint8)
    cv2.putText(img, text, (2, h + 2), FONT, scale, color, th, cv2.LINE_AA)
    img.flags.writeable = False
    return img


def label(img: np.ndarray, text: str, org: tuple[int, int], color: tuple[int, int, int],
          scale: float) -> None:
    """Text on a filled dark box whose top-left corner is `org` (clipped at the image edges).

    Example:
        >>> label(np.zeros((50, 200, 3), np.uint8), "door in 3", (5, 5), (255, 255, 0), 0.5)
    """
    sprite = _label_image(text, tuple(color), float(scale))
    x, y = max(0, int(org[0])), max(0, int(org[1]))
    h = min(sprite.shape[0], img.shape[0] - y)
    w = min(sprite.shape[1], img.shape[1] - x)
    if h > 0 and w > 0:
        img[y:y + h, x:x + w] = sprite[:h, :w]


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


def pixelate(img: np.ndarray, tracks: Tracks, classes: Iterable[str], block: int = 12) -> None:
    """Make the boxes of these classes unrecognisable, in place (coarse blocks: a face or a
    number plate cannot be read back, the scene around stays sharp).

    Example:
        >>> img = np.random.default_rng(0).integers(0, 255, (100, 100, 3), np.uint8)
        >>> pixelate(img, Tracks([[10, 10, 60, 60]], [1], [0], [.9], {0: "person"}), ["person"])
        >>> bool((img[10:22, 10:22] == img[10, 10]).all())
        True
    """
    wanted = set(classes)
    h, w = img.shape[:2]
    for (x0, y0, x1, y1), name in zip(np.round(tracks.xyxy).astype(int).tolist(),
                                      tracks.class_names()):
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if name not in wanted or x1 - x0 < 2 or y1 - y0 < 2:
            continue
        roi = img[y0:y1, x0:x1]
        small = cv2.resize(roi, (max(1, (x1 - x0) // block), max(1, (y1 - y0) // block)),
                           interpolation=cv2.INTER_AREA)
        roi[:] = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)


def draw_masks(img: np.ndarray, masks: Iterable[np.ndarray]) -> None:
    """Mask outlines in grey, marked as such: nothing inside them is counted."""
    s = _scale(img)
    for m in masks:
        pts = np.round(np.asarray(m)).astype(np.int32)
        cv2.polylines(img, [pts], True, MASK_COLOR, max(1, int(round(s * 2))), cv2.LINE_8)
        label(img, "mask", (int(pts[:, 0].min()), int(pts[:, 1].min())), MASK_COLOR, s)


def draw_zones(img: np.ndarray, zones: Iterable[Zone], counts: Mapping[str, ZoneCounts],
               masks: Iterable[np.ndarray] = (), alerting: Collection[str] = ()) -> None:
    """Zone outlines, an IN arrow on each line, and each zone's name with its counts (over
    the `masks`, drawn first); the zones named in `alerting` in red, thicker.

    Example:
        >>> img = np.zeros((90, 160, 3), np.uint8)
        >>> draw_zones(img, [LineZone("gate", (80, 0), (80, 90))], {}, alerting={"gate"})
        >>> tuple(int(v) for v in img[45, 80])
        (40, 40, 255)
    """
    draw_masks(img, masks)
    s = _scale(img)
    for z in zones:
        color = ALERT_COLOR if z.name in alerting else ZONE_COLOR
        th = max(2, int(round(s * (5 if z.name in alerting else 3))))
        pts = [(int(round(x)), int(round(y))) for x, y in z.points.tolist()]
        if isinstance(z, LineZone):
            # Thick zone lines: 8-connected looks the same here and is ~8x cheaper than AA.
            cv2.line(img, pts[0], pts[1], color, th, cv2.LINE_8)
            (ax, ay), (bx, by) = z.points.tolist()
            dx, dy = z.in_direction()
            mid = ((ax + bx) / 2, (ay + by) / 2)
            tip = (int(round(mid[0] + dx * 40 * s)), int(round(mid[1] + dy * 40 * s)))
            cv2.arrowedLine(img, (int(round(mid[0])), int(round(mid[1]))), tip, color, th,
                            cv2.LINE_8, tipLength=0.35)
        else:
            cv2.polylines(img, [np.array(pts, np.int32)], True, color, th, cv2.LINE_8)
        c = counts.get(z.name)
        text = z.label if c is None else f"{z.label}  in {c.in_count}  out {c.out_count}"
        if c is not None and c.occupancy is not None:
            text += f"  now {c.occupancy}"
        x, y = min(p[0] for p in pts), min(p[1] for p in pts)
        label(img, text, (x, y - int(30 * s)), color, s)


def draw_flows(img: np.ndarray, zones: Iterable[Zone], flows: Iterable[tuple[str, str, int]]
               ) -> None:
    """The flow diagram: for each (origin zone name, destination zone name, count) an arrow
    from the one's middle to the other's, as thick as its share of the busiest, bent to
    its right (so two ways between a pair stay apart), with its count at the bend; a flow
    back to where it came from is a loop at the zone.

    Example:
        >>> img = np.zeros((100, 200, 3), np.uint8)
        >>> a, b = LineZone("a", (20, 10), (20, 90)), LineZone("b", (180, 10), (180, 90))
        >>> draw_flows(img, [a, b], [("a", "b", 7)]); bool(img[40:60, 60:140].any())
        True
    """
    mids = {z.name: z.points.mean(axis=0) for z in zones}
    rows = [(o, d, n) for o, d, n in flows if o in mids and d in mids and n > 0]
    if not rows:
        return
    s, top = _scale(img), max(n for _, _, n in rows)
    for o, d, n in sorted(rows, key=lambda r: r[2]):   # the busiest drawn last, on top
        color = PALETTE[1 + sorted(mids).index(o) % (len(PALETTE) - 1)]
        th = max(2, int(round(s * (2 + 12 * n / top))))
        p, q = mids[o], mids[d]
        if o == d:
            c = p + np.array([0.0, -30 * s])
            cv2.circle(img, (int(c[0]), int(c[1])), int(22 * s), color, th, cv2.LINE_AA)
        else:
            normal = np.array([-(q - p)[1], (q - p)[0]])   # to the right of the way, y down
            c = (p + q) / 2 + 0.12 * normal
            u = np.linspace(0, 1, 24)[:, None]
            curve = ((1 - u) ** 2 * p + 2 * (1 - u) * u * c + u ** 2 * q).astype(np.int32)
            cv2.polylines(img, [curve[:-3]], False, color, th, cv2.LINE_AA)
            cv2.arrowedLine(img, tuple(int(v) for v in curve[-4]), tuple(int(v) for v in q),
                            color, th, cv2.LINE_AA, tipLength=0.6)
            c = (p + q) / 2 + 0.06 * normal
        label(img, str(n), (int(c[0]) - 8, int(c[1]) - 8), color, s)
