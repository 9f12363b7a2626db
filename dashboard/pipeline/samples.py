"""Recording a sample: the frames a camera counts, for a few minutes, into a video file of
the media folder, with the zones and settings in force beside it (a .json), so a person can
later mark its true crossings and audit what the camera counted meanwhile."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

log = logging.getLogger(__name__)

MAX_MINUTES = 10      # a sample is reviewed by a person: minutes, not hours


@dataclass
class SampleDone:
    """What a finished (or failed) recording tells: its first and last frame's times."""

    sample_id: str
    path: Path
    first_t: float | None
    last_t: float | None
    frames: int
    error: str | None = None


class SampleRecorder:
    """Writes each frame it is given until `seconds` of the camera's time have passed since
    the first, then calls `done`. A write that fails (a full disk) ends it with the reason;
    the partial file is removed, the counting goes on.

    Example:
        >>> import tempfile
        >>> out = []
        >>> rec = SampleRecorder("s1", Path(tempfile.mkdtemp()) / "s.avi", 1.0, 10.0, {}, out.append)
        >>> for k in range(15):
        ...     rec.add(np.zeros((90, 160, 3), np.uint8), 100 + k / 10)
        >>> out[0].frames, out[0].first_t, out[0].error, rec.finished
        (11, 100.0, None, True)
    """

    def __init__(self, sample_id: str, path: Path, seconds: float, fps: float,
                 about: dict[str, Any], done: Callable[[SampleDone], None]) -> None:
        self.sample_id, self.path, self.seconds = sample_id, Path(path), float(seconds)
        self.fps, self.about, self.done = float(fps) or 10.0, about, done
        self.finished = False
        self._writer: cv2.VideoWriter | None = None
        self._first: float | None = None
        self._last: float | None = None
        self._frames = 0
        self._times: list[float] = []   # each frame's time on the camera's clock
        self._size = 0                   # the file's size at the last check

    def add(self, img: np.ndarray, t: float) -> None:
        if self.finished:
            return
        if self._first is None:
            self._first = t
        if t - self._first > self.seconds + 1e-9:
            self._finish(None)
            return
        try:
            if self._writer is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                h, w = img.shape[:2]
                self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"MJPG"),
                                               self.fps, (w, h))
                if not self._writer.isOpened():
                    raise OSError(f"cannot write {self.path.name}")
            self._writer.write(img)
            self._frames += 1
            self._last = t
            self._times.append(round(float(t), 4))
            # OpenCV says nothing when a write fails: a file that stops growing over 50
            # frames (its writer flushes well within that) is on a full disk.
            if self._frames % 50 == 0:
                size = self.path.stat().st_size
                if size <= self._size:
                    raise OSError("the disk is full (the sample file stopped growing)")
                self._size = size
        except OSError as e:
            self._finish(f"recording stopped: {_said(e)}")

    def stop(self) -> None:
        """The camera stopped: what was recorded so far is the sample."""
        self._finish(None if self._frames else "the camera stopped before any frame")

    def _finish(self, error: str | None) -> None:
        if self.finished:
            return
        self.finished = True
        if self._writer is not None:
            self._writer.release()
        if error is None:
            try:
                side = self.path.with_suffix(".json")
                side.write_text(json.dumps({**self.about, "first_t": self._first,
                                            "last_t": self._last, "frames": self._frames,
                                            "fps": self.fps, "times": self._times}))
            except OSError as e:
                error = f"recording stopped: {_said(e)}"
        if error is not None and self._writer is not None and self.path.exists():
            os.unlink(self.path)          # its own partial file, never another's
        log.info("sample %s: %s", self.sample_id, error or f"{self._frames} frames recorded")
        self.done(SampleDone(self.sample_id, self.path, self._first, self._last,
                             self._frames, error))


def _said(e: OSError) -> str:
    """Example:
        >>> _said(OSError(28, "No space left on device"))
        'the disk is full'
    """
    import errno

    return "the disk is full" if e.errno == errno.ENOSPC else (e.strerror or str(e))
