"""Evidence: with each crossing, a small picture of what crossed (its box, a little wider)
and the moment around it (the frames two before to two after, one above the other), blurred as
the camera blurs, so an operator can see what was counted. Made only for crossings, from
frames already decoded; written beside the counts, best effort (a picture never holds up
or loses a count)."""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from dashboard.engine import Tracks
from dashboard.engine.overlay import pixelate
from dashboard.engine.zones import CrossingEvent

log = logging.getLogger(__name__)

CROP_PX = 160      # the picture's longer side at most
MOMENT_PX = 240    # each frame of the moment, across
AROUND = 2         # frames before and after the crossing's in the moment
QUALITY = 70


@dataclass
class _Pending:
    event: CrossingEvent
    crop: bytes
    frames: list[np.ndarray] = field(default_factory=list)


def crop_of(img: np.ndarray, box: Any, px: int = CROP_PX) -> np.ndarray:
    """The box a fifth wider each way, clipped to the frame, at most `px` on its longer side.

    Example:
        >>> crop_of(np.zeros((360, 640, 3), np.uint8), [100, 100, 140, 200]).shape
        (141, 57, 3)
    """
    h, w = img.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    mx, my = (x1 - x0) * 0.2, (y1 - y0) * 0.2
    x0, y0 = max(0, int(x0 - mx)), max(0, int(y0 - my))
    x1, y1 = min(w, int(x1 + mx) + 1), min(h, int(y1 + my) + 1)
    out = img[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)]
    scale = px / max(out.shape[:2])
    if scale < 1:
        out = cv2.resize(out, (max(1, int(out.shape[1] * scale)),
                               max(1, int(out.shape[0] * scale))), interpolation=cv2.INTER_AREA)
    return out


def _shown(img: np.ndarray, tracks: Tracks, blur: tuple[str, ...] | list[str]) -> np.ndarray:
    """What may be shown of a frame: the blurred classes pixelated, as in every picture."""
    if not blur:
        return img
    shown = img.copy()
    pixelate(shown, tracks, blur)
    return shown


def _small(img: np.ndarray) -> np.ndarray:
    """A frame of the moment: `MOMENT_PX` across."""
    return cv2.resize(img, (MOMENT_PX, max(1, int(MOMENT_PX * img.shape[0] / img.shape[1]))),
                      interpolation=cv2.INTER_AREA)


def jpeg(img: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, QUALITY])
    return data.tobytes() if ok else b""


class Evidence:
    """Makes each crossing's pictures and hands them to `keep(rows)` when complete: rows of
    (event, crop JPEG, moment JPEG).

    Example:
        >>> kept = []
        >>> ev = Evidence(kept.extend)
        >>> t = Tracks([[300, 100, 340, 200]], [4], [0], [.9], {0: "person"})
        >>> for k in range(5):
        ...     ev.frame(np.zeros((360, 640, 3), np.uint8), t, [CrossingEvent(1.0, "z", 4, "person", "in")] if k == 2 else [], ())
        >>> len(kept), kept[0][0].track_id, len(kept[0][1]) > 0
        (1, 4, True)
    """

    def __init__(self, keep: Any) -> None:
        self.keep = keep
        # The last frames as they came (no copy: a frame is never changed once decoded),
        # made small only when a crossing needs them: most frames count nothing, and
        # shrinking every one cost about 0.4 ms a frame at 640x360.
        self._recent: deque[tuple[np.ndarray, Tracks]] = deque(maxlen=AROUND + 1)
        self._pending: list[_Pending] = []

    def frame(self, img: np.ndarray, tracks: Tracks, events: list[CrossingEvent],
              blur: tuple[str, ...] | list[str]) -> None:
        """One counted frame (the engine's tracks and crossings of it)."""
        self._recent.append((img, tracks))
        if not self._pending and not events:
            return
        shown = _shown(img, tracks, blur)
        small = _small(shown)
        for p in self._pending:
            p.frames.append(small)
        if events:
            before = [_small(_shown(i, t, blur)) for i, t in list(self._recent)[:-1]] + [small]
            boxes = dict(zip(tracks.ids.tolist(), tracks.xyxy.tolist()))
            for e in events:
                box = boxes.get(e.track_id)
                crop = jpeg(crop_of(shown, box)) if box is not None else b""
                self._pending.append(_Pending(e, crop, list(before)))
        done = [p for p in self._pending if len(p.frames) >= 2 * AROUND + 1]
        if done:
            self._pending = [p for p in self._pending if p not in done]
            self._hand(done)

    def flush(self) -> None:
        """The run ended: the moments waiting for frames after them go as they are."""
        if self._pending:
            pending, self._pending = self._pending, []
            self._hand(pending)
        self._recent.clear()

    def _hand(self, items: list[_Pending]) -> None:
        try:
            self.keep([(p.event, p.crop, jpeg(np.vstack(p.frames)) if p.frames else None)
                       for p in items])
        except Exception:   # noqa: BLE001 - a picture never stops the counting
            log.exception("evidence not kept")
