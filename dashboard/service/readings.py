"""A camera's readings (its snapshot, picture, database state) without waiting on it.

A runner that stops answering (a camera on a Ray node that is going away, a runner stuck
behind its own lock) would otherwise hold every page and API call that asks it, for every
visitor, once per tile and per refresh. Here each reading is asked on a worker thread, one
call at a time per camera and reading, and waited for a moment at most from when it was
asked; once that has passed, the last answer is given at once, marked as old.
"""
from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as Pending
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from dashboard.config.kinds import CameraState
from dashboard.pipeline.snapshot import Snapshot

WAIT_S = 0.5        # how long a fresh call is waited for before the last answer is given
WORKERS = 64        # threads at most; a stuck call holds one until its runner answers


@dataclass
class _Reading:
    owner: Any                         # the runner asked (a new runner starts afresh)
    future: Future | None = None
    last: Any = None
    answered: bool = False
    asked: float = field(default_factory=time.monotonic)   # when the call now out began


class Readings:
    """Readings of many runners, each asked by one call at a time.

    `read` returns the runner's answer when it comes within `wait_s`; otherwise
    `unanswered(last, seconds)` (`last` is None before any answer): the caller decides how
    an old answer is shown. An exception the call raised is raised to the caller.

    Example:
        >>> r = Readings(wait_s=0.1)
        >>> r.read("cam_a", "snapshot", object(), lambda: 7, lambda last, s: ("old", last))
        7
        >>> stuck = threading.Event()
        >>> r.read("cam_a", "snapshot", object(), stuck.wait, lambda last, s: ("old", last))
        ('old', None)
        >>> stuck.set(); r.close()
    """

    def __init__(self, wait_s: float = WAIT_S) -> None:
        self.wait_s = wait_s
        self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="reading")
        self._lock = threading.Lock()
        self._readings: dict[tuple[str, str], _Reading] = {}

    def read(self, key: str, what: str, owner: Any, call: Callable[[], Any],
             unanswered: Callable[[Any, float], Any]) -> Any:
        """`call()`'s answer, or `unanswered(last answer, seconds it has been out)`."""
        with self._lock:
            r = self._readings.get((key, what))
            if r is None or r.owner is not owner:
                r = self._readings[(key, what)] = _Reading(owner)
            fresh = r.future is None or r.future.done()
            if fresh:
                if r.future is not None and r.future.exception() is None:
                    r.last, r.answered = r.future.result(), True   # answered, unread
                r.future, r.asked = self._pool.submit(call), time.monotonic()
            future = r.future
        try:
            # Each call is waited for `wait_s` from when it was asked, by whoever reads it
            # then: two pages reading at once both get the answer, and a call long out holds
            # no page again.
            value = future.result(timeout=max(0.0, r.asked + self.wait_s - time.monotonic()))
        except Pending:
            return unanswered(r.last if r.answered else None, time.monotonic() - r.asked)
        r.last, r.answered = value, True
        return value

    def forget(self, key: str) -> None:
        """A removed camera's readings go with it."""
        with self._lock:
            for k in [k for k in self._readings if k[0] == key]:
                del self._readings[k]

    def close(self) -> None:
        """Stop taking calls; those still out end on their own threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def reading(runner: Any, what: str) -> Any:
    """A runner's reading by name: its method's answer, or its property's value."""
    value = getattr(runner, what)
    return value() if callable(value) else value


def last_answer(last: Any, seconds: float) -> Any:
    """An old answer stands for a reading that is not late to say so (a picture, a count)."""
    return last


def silent(last: Snapshot | None, seconds: float) -> Snapshot:
    """A snapshot that says its runner does not answer, with its last figures.

    Example:
        >>> silent(None, 12.3).state.value, silent(None, 12.3).detail[:32]
        ('not answering', 'no answer from its runner for 12')
    """
    return replace(last or Snapshot(), state=CameraState.SILENT,
                   detail=f"no answer from its runner for {seconds:.0f} s (a camera on another "
                          "machine may be moving); the figures shown are its last")
