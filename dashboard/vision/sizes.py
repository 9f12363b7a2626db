"""`SizeCheck`: whether the objects a camera sees are too small for its image size, said
in words once it knows."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from dashboard.engine.tracks import Tracks
from dashboard.config.kinds import IMAGE_SIZES


if TYPE_CHECKING:
    from dashboard.vision.detector import Detector

log = logging.getLogger(__name__)


class SizeCheck:
    """Says when objects are too small for the image size, and which size to use.

    A probe: now and then one frame is also detected at a larger size (twice this one;
    dynamic-shape ONNX or PyTorch take any); if that finds many more objects, this size is
    losing them. Where the detector cannot probe (ultralytics' predictor tracking), the
    boxes' median height in the model's input pixels stands in: under MIN_PX a detector
    misses most objects. The probe is the better sign, since the boxes that are found are
    the larger ones: on real footage (PETS 2009, 480x360, people 40-90 px tall) image size
    320 found 14% of the people 640 found, while the median of those it found was 47 px; and
    a model trained on small objects finds them at sizes a rule of thumb would call small.

    Example:
        >>> c = SizeCheck(320); c.probing = False
        >>> for _ in range(40):
        ...     c.add(np.array([[0, 0, 20, 50]]), (432, 768))
        >>> c.advice()
        'Objects are small for image size 320: half are under 21 px tall in the model input (it finds them reliably from about 32 px). Use image size 640.'
        >>> c = SizeCheck(320)
        >>> for _ in range(5):
        ...     c.add_probe(1, 7)
        >>> c.advice()
        'Objects are small for image size 320: at image size 640 the model finds 35 objects where it finds 5 at 320. Use image size 640.'
    """

    MIN_PX = 32.0       # below this, detection falls off
    WINDOW = 600        # recent boxes considered
    MIN_BOXES = 30      # fewer than this: no advice from heights yet
    PROBES = 5          # probes before the probe's verdict counts (the last 10 are kept)
    PROBE_EVERY = (25, 500)   # frames between probes: until PROBES are in, then after
    MORE = 1.5          # the larger size finding this many times as many objects...
    MORE_AT_LEAST = 3   # ... and at least this many more, over the kept probes

    def __init__(self, imgsz: int) -> None:
        from collections import deque

        self.imgsz = int(imgsz)
        self._heights: deque[float] = deque(maxlen=self.WINDOW)
        self._probes: deque[tuple[int, int]] = deque(maxlen=10)
        bigger = [s for s in IMAGE_SIZES if s >= 2 * self.imgsz] or \
            [s for s in IMAGE_SIZES if s > self.imgsz]
        self.probe_size: int | None = bigger[0] if bigger else None
        self.probing = self.probe_size is not None   # else the heights decide
        self.fixed: int | None = None   # the model takes this size only (a fixed ONNX)
        self._next_probe = self.PROBE_EVERY[0]

    def add(self, xyxy: np.ndarray, frame_shape: tuple[int, ...]) -> None:
        """Take one frame's boxes (frame pixels) and the frame's (height, width)."""
        if len(xyxy):
            scale = self.imgsz / max(frame_shape[0], frame_shape[1])
            self._heights.extend(((xyxy[:, 3] - xyxy[:, 1]) * scale).tolist())

    def add_probe(self, found_here: int, found_bigger: int) -> None:
        """One probe: objects found in a frame at this size and at `probe_size`."""
        self._probes.append((int(found_here), int(found_bigger)))

    def observe(self, detector: "Detector", frame: np.ndarray, tracks: Tracks,
                index: int) -> None:
        """Take a frame's tracks, and probe the frame at the larger size when one is due."""
        self.add(tracks.xyxy, frame.shape)
        self.fixed = getattr(detector, "fixed_size", None)
        if not detector.can_probe:
            self.probing = False
        if not self.probing or index < self._next_probe:
            return
        self._next_probe = index + self.PROBE_EVERY[len(self._probes) + 1 >= self.PROBES]
        self.add_probe(len(detector.detect(frame)[1]),
                       len(detector.detect(frame, imgsz=self.probe_size)[1]))

    def advice(self) -> str | None:
        """What to do when objects are too small for this image size, else None."""
        if self.probing:
            here = sum(a for a, _ in self._probes)
            bigger = sum(b for _, b in self._probes)
            if len(self._probes) >= self.PROBES and bigger >= self.MORE * here and \
                    bigger - here >= self.MORE_AT_LEAST:
                return (f"Objects are small for image size {self.imgsz}: at image size "
                        f"{self.probe_size} the model finds {bigger} objects where it finds "
                        f"{here} at {self.imgsz}. Use image size {self.probe_size}.")
            return None
        if len(self._heights) < self.MIN_BOXES:
            return None
        median = float(np.median(np.asarray(self._heights)))
        if median >= self.MIN_PX:
            return None
        better = [s for s in IMAGE_SIZES
                  if s > self.imgsz and median * s / self.imgsz >= self.MIN_PX]
        if self.fixed is not None:      # no other size to pick: say what would help
            todo = (f"This model's input is fixed at {self.fixed} px: export it again with "
                    f"dynamic=True{f' and use image size {better[0]}' if better else ''}, "
                    "or move the camera closer to the scene.")
        else:
            todo = (f"Use image size {better[0]}." if better else
                    "Use the largest image size, or a camera closer to the scene.")
        return (f"Objects are small for image size {self.imgsz}: half are under "
                f"{median:.0f} px tall in the model input (it finds them reliably from about "
                f"{self.MIN_PX:.0f} px). {todo}")
