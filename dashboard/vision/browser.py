"""`BrowserSource`: the camera of a visitor's browser, pushed in frame by frame by the page
that receives it and read like any other source."""
from __future__ import annotations

import logging
import time
from collections import deque

import cv2
import numpy as np

from dashboard.errors import DashboardError
from dashboard.vision.address import SourceSpec
from dashboard.vision.frames import Frame, Frames, SourceStatus

log = logging.getLogger(__name__)


# A browser that has sent nothing for this long is gone (its page closed, its camera
# stopped, its network dropped): the camera waits for one to come back.
BROWSER_IDLE_S = 2.0
# A browser's frames wait up to this long to be counted, every one of them, while the server
# is busy for a moment; only older ones are dropped. (Each frame costs a tracker that
# skips it: measured on a loaded machine, newest-only dropped frames and miscounted.)
BROWSER_BACKLOG_S = 3.0
BROWSER_MAX_PIXELS = 3840 * 2160
WAITING = ("no browser is sending its camera (an operator sends theirs with Start my camera "
           "on this camera's page; the browser asks for the camera)")
GONE = ("the browser stopped sending (its page was closed or its camera stopped); counts are "
        "kept and go on when Start my camera is pressed again on this camera's page")
STOPPED = "The camera is stopped: press Start in the sidebar to count what this browser sends."


class BrowserSource(Frames):
    """The camera of a visitor's browser: frames its page receives (over WebRTC) and hands
    in with `push`, read in order; a frame waits at most `BROWSER_BACKLOG_S` (older ones
    are dropped, and counted). One browser at a time: another's frames are refused while the
    first keeps sending. Between visits it waits, and says why; it never ends by itself.

    Example:
        >>> from dashboard.vision.sources import open_source
        >>> src = open_source("browser")
        >>> src.status.state
        'waiting'
        >>> src.push("tab-1", np.zeros((360, 640, 3), np.uint8))
        >>> src.read(timeout_s=0.1).image.shape, src.status.state
        ((360, 640, 3), 'live')
        >>> src.push("tab-2", np.zeros((360, 640, 3), np.uint8))
        Traceback (most recent call last):
        dashboard.errors.DashboardError: Another browser is sending this camera's pictures now...
        >>> src.close()
    """

    def __init__(self, spec: SourceSpec, idle_s: float = BROWSER_IDLE_S) -> None:
        self.spec, self.name, self.idle_s = spec, spec.name, idle_s
        self.native_fps, self.frame_count, self.start_frame, self.loop = 0.0, 0, 0, False
        self.truncated: str | None = None
        self._init_frames(SourceStatus("waiting", last_error=WAITING))
        self._sender: str | None = None
        self._last_push = -idle_s
        self._backlog: deque[Frame] = deque()
        self._size: tuple[int, int] | None = None       # (w, h) frames are counted at
        self._received: tuple[int, int] | None = None   # the size the browser sent last
        self._closed = False

    def push(self, sender: str, img: np.ndarray) -> None:
        """Hand in one BGR frame from the browser session `sender`; `DashboardError` (to
        show that browser) if the source is closed, the frame unfit, or another browser is
        sending."""
        if not (isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3
                and img.shape[2] == 3):
            raise DashboardError("A browser's frame must be a colour picture (BGR, 8 bits).")
        h, w = img.shape[:2]
        if w * h > BROWSER_MAX_PIXELS:
            raise DashboardError(f"The browser sends {w}x{h} pictures; at most 3840x2160 are "
                                 "taken: choose a lower camera resolution.")
        now = time.monotonic()
        with self._lock:
            if self._closed:
                raise DashboardError(STOPPED)
            if sender != self._sender and now - self._last_push < self.idle_s:
                raise DashboardError("Another browser is sending this camera's pictures now, "
                                     "and one camera counts one browser: stop it there, or "
                                     "add a camera for this one.")
            started = sender != self._sender or self._status.state != "live"
            self._sender, self._last_push = sender, now
        img = self._steady(img)   # only a frame taken may set the size
        if started:
            log.info("source %s: a browser sends %dx%d pictures", self.name, w, h)
            self._set_status(SourceStatus("live"))
        with self._lock:
            self._backlog.append(self._arrived(img, time.time()))
            while self._backlog[-1].t - self._backlog[0].t > BROWSER_BACKLOG_S:
                self._backlog.popleft()
                self._stats.frames_dropped += 1
            self._lock.notify_all()

    def _steady(self, img: np.ndarray) -> np.ndarray:
        """The frame at the size frames of this shape have had. A browser lowers the
        resolution it sends while its machine or network is busy, and raises it again;
        counted at the size they had, tracks, zones and heat go on undisturbed. A larger
        picture, or another shape (another camera, a phone turned), is the new size."""
        h, w = img.shape[:2]
        with self._lock:
            size = self._size
            same_shape = size is not None and abs(w * size[1] - h * size[0]) <= 0.02 * w * size[1]
            if size is None or not same_shape or w > size[0]:
                self._size = size = (w, h)
            received, self._received = self._received, (w, h)
        if received != (w, h) and (w, h) != size:
            log.info("source %s: the browser lowered its pictures to %dx%d (a busy machine "
                     "or network); they are counted at %dx%d", self.name, w, h, *size)
        return img if (w, h) == size else cv2.resize(img, size, interpolation=cv2.INTER_LINEAR)

    def read(self, timeout_s: float = 1.0) -> Frame | None:
        """The oldest frame not yet handed out, or None if none came within `timeout_s`
        (the status says "waiting" once the browser has been silent `idle_s`)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while not self._backlog and not self._closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
            frame = self._backlog.popleft() if self._backlog and not self._closed else None
        if frame is None:
            with self._lock:
                gone = self._status.state == "live" and \
                    time.monotonic() - self._last_push >= self.idle_s
            if gone:
                self._set_status(SourceStatus("waiting", last_error=GONE))
        return frame

    def close(self) -> None:
        """Take no more frames; a reader waiting gets None."""
        with self._lock:
            self._closed = True
        self._set_status(SourceStatus("ended"))

    def __enter__(self) -> "BrowserSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
