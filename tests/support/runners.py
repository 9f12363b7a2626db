"""A camera runner that stops answering, as a camera on a Ray node that is going away does.

    with stuck("Door"):            # Door's runner waits in every reading until released
        ...                        # (released anyway after `safety_s`, so a failing test ends)
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

from dashboard.pipeline.runner import CameraRunner


class StuckRunner(CameraRunner):
    """While its camera's name is in `stuck`, its snapshot, picture and database state wait
    until `released` is set."""

    stuck: set[str] = set()
    released = threading.Event()

    def _hold(self) -> None:
        if self.camera.name in self.stuck:
            self.released.wait(120)

    def snapshot(self):
        self._hold()
        return super().snapshot()

    def jpeg(self):
        self._hold()
        return super().jpeg()

    def store_status(self):
        self._hold()
        return super().store_status()


@contextmanager
def stuck(*names: str, safety_s: float = 60.0) -> Iterator[threading.Event]:
    """The named cameras' runners stop answering inside the block; yields `released`, which
    is set only by the safety timer while the block runs (a test asserts it is not)."""
    StuckRunner.released.clear()
    StuckRunner.stuck = set(names)
    safety = threading.Timer(safety_s, StuckRunner.released.set)
    safety.daemon = True
    safety.start()
    try:
        yield StuckRunner.released
    finally:
        safety.cancel()
        StuckRunner.released.set()
        StuckRunner.stuck = set()
