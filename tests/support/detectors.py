"""Detectors of the tests' own, handed to a runner through its factory: they know where the
objects are because they put them there, so a test of the pipeline needs no model."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from dashboard.engine import Tracks


class Walker:
    """One person walking left to right across the frame, again and again: `steps` frames a
    pass, a new track id each pass, so each pass crosses a vertical line at the middle once
    (inwards, by the engine's convention for a line drawn top to bottom).

    Example:
        >>> w = Walker(steps=4)
        >>> [int(w.track(np.zeros((90, 160, 3), np.uint8)).xyxy[0][0]) for _ in range(5)]
        [8, 40, 72, 104, 8]
    """

    runtime = "scripted"
    can_probe = False

    def __init__(self, steps: int = 10, settings: Any = None, delay_s: float = 0.0) -> None:
        self.steps, self.settings, self.frames, self.delay_s = steps, settings, 0, delay_s

    def track(self, img: np.ndarray) -> Tracks:
        if self.delay_s:
            time.sleep(self.delay_s)   # a model on a busy machine
        h, w = img.shape[:2]
        k, self.frames = self.frames, self.frames + 1
        x = (0.1 + 0.8 * (k % self.steps) / self.steps) * w
        box = [x - w * 0.05, h * 0.4, x + w * 0.05, h * 0.6]
        return Tracks(np.array([box]), np.array([1 + k // self.steps]), np.array([0]),
                      np.array([0.9]), {0: "person"})

    def detect(self, img: np.ndarray, imgsz: int | None = None) -> tuple:
        t = self.track(img)
        return t.xyxy, t.conf, t.cls

    def reset(self) -> None:
        """A new tracker: the walk goes on (the object is still there)."""

    @classmethod
    def factory(cls, steps: int = 10, delay_s: float = 0.0) -> Any:
        """A runner's detector factory: a new walker for each run, given the settings."""
        return lambda settings: cls(steps, settings, delay_s)


class Replay:
    """Tracks given per frame, found by the index stamped into each frame's corner
    (`support.camera_clip.stamp`): the pipeline sees exactly the tracks a test made from
    a clip's truth (an object hidden, then found under a new id, as a tracker does).

    Example:
        >>> from support.camera_clip import stamp
        >>> img = np.full((360, 640, 3), 128, np.uint8); stamp(img, 1)
        >>> Replay([Tracks.empty(), Tracks([[1, 2, 3, 4]], [7], [0], [.9], {0: "car"})]
        ...        ).track(img).ids.tolist()
        [7]
    """

    runtime = "scripted"
    can_probe = False

    def __init__(self, per_frame: list[Tracks], settings: Any = None) -> None:
        self.per_frame, self.settings = per_frame, settings

    def track(self, img: np.ndarray) -> Tracks:
        from support.camera_clip import read_stamp

        i = read_stamp(img)
        if i is None or i >= len(self.per_frame):
            raise AssertionError(f"frame without a readable index: {i}")
        return self.per_frame[i]

    def detect(self, img: np.ndarray, imgsz: int | None = None) -> tuple:
        t = self.track(img)
        return t.xyxy, t.conf, t.cls

    def reset(self) -> None:
        """A new tracker: the tracks are the test's."""

    @classmethod
    def factory(cls, per_frame: list[Tracks]) -> Any:
        return lambda settings: cls(per_frame, settings)
