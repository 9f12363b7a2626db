"""`FrameSource`: webcams, RTSP/HTTP streams, video files and the demo clip, through OpenCV.

Live sources are read in a background thread that keeps only the newest frame, so a slow
consumer gets fresh frames instead of a growing backlog; dropped streams reconnect with
capped exponential backoff. Batch reads decode a few frames ahead and give every frame.
"""
from __future__ import annotations

import logging
import os
import queue
import threading
import time
from typing import Any

import cv2
import numpy as np

from dashboard.config.env import isolate_decoding
from dashboard.vision.address import SourceKind, SourceSpec
from dashboard.vision.frames import Frame, Frames, SourceStatus, oversized
from dashboard.vision.isolated import ChildCapture

log = logging.getLogger(__name__)

# FFmpeg's RTSP over TCP survives NAT and lossy links that UDP does not; users may override.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
# Our own messages say what failed and what to do; OpenCV's and FFmpeg's add only noise.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
PREFETCH = 4   # frames a batch source decodes ahead of its reader


def _open_capture(spec: SourceSpec, timeout_s: float) -> tuple[cv2.VideoCapture | None, str | None]:
    """Open with a hard deadline (a backend may ignore its own timeout); (capture, error)."""
    result: dict[str, Any] = {}
    ms = int(timeout_s * 1000)

    def work() -> None:
        try:
            if isolate_decoding():   # a decoder that crashes ends its process, not ours
                cap = ChildCapture(spec.target, spec.kind is SourceKind.WEBCAM, ms)
            elif spec.kind is SourceKind.WEBCAM:
                cap = cv2.VideoCapture(spec.target)
            else:
                cap = cv2.VideoCapture(spec.target, cv2.CAP_FFMPEG,
                                       [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms,
                                        cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
            result["cap"] = cap
        except cv2.error as e:
            result["error"] = str(e)

    th = threading.Thread(target=work, name="source-open", daemon=True)
    th.start()
    th.join(timeout_s + 0.5)
    if th.is_alive():
        # Release whatever it opens in the end; the caller has moved on.
        threading.Thread(target=lambda: (th.join(), result.get("cap") and result["cap"].release()),
                         daemon=True).start()
        return None, f"no answer within {timeout_s:g} s"
    cap = result.get("cap")
    if cap is None or not cap.isOpened():
        if cap is not None:
            cap.release()
        return None, result.get("error") or "could not be opened"
    too_large = oversized(int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                          int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    if too_large:
        cap.release()        # before a frame of it is decoded or drawn
        return None, too_large
    return cap, None


class FrameSource(Frames):
    """An open source. Use `open_source` to make one.

    Example:
        >>> with open_source("demo", live=False) as src:  # doctest: +SKIP
        ...     frame = src.read(timeout_s=1.0)
        ...     frame.image.shape, src.status.state
        ((360, 640, 3), 'live')
    """

    def __init__(self, spec: SourceSpec, cap: cv2.VideoCapture, live: bool, open_timeout_s: float,
                 loop: bool, backoff_s: tuple[float, float], start_frame: int = 0) -> None:
        self.spec, self.name, self.live, self.loop = spec, spec.name, live, loop
        self.open_timeout_s = open_timeout_s
        self.backoff_s = backoff_s
        self._cap: cv2.VideoCapture | None = cap
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.native_fps = fps if 0 < fps < 1000 else 0.0
        self.frame_count = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)) \
            if spec.kind is SourceKind.FILE else 0
        self.start_frame = start_frame
        self.truncated: str | None = None   # why a file looks cut short, once it ended
        self._init_frames(SourceStatus("live"))
        self._latest: Frame | None = None
        self._handed = -1       # index of the last frame handed out
        self._stop = threading.Event()
        # Batch sources decode a few frames ahead in their thread, so decoding overlaps the
        # caller's work on the previous frame instead of adding to it.
        self._ahead: queue.Queue[Frame | None] = queue.Queue(PREFETCH)
        self._thread = threading.Thread(target=self._run if live else self._decode_ahead,
                                        name=f"source {self.name}", daemon=True)
        self._thread.start()

    # -- public -------------------------------------------------------------------------
    def read(self, timeout_s: float = 1.0) -> Frame | None:
        """The newest frame not yet handed out; None if none came within `timeout_s` or the
        source has ended or failed (see `status`). Batch sources return every frame in order."""
        if not self.live:
            if self._stop.is_set():
                return None
            frame = self._ahead.get()  # batch: wait for the next frame, however long
            if frame is None:
                self._ahead.put(None)  # the end stays the end for later calls
                return None
            with self._lock:
                self._handed = frame.index
            return frame
        return self._newest(timeout_s)

    def close(self) -> None:
        """Stop reading and release the device or connection; waits for the reader thread."""
        self._stop.set()
        with self._lock:
            self._lock.notify_all()
        try:
            self._ahead.put_nowait(None)  # wake a batch reader blocked on an empty queue
        except queue.Full:
            pass
        if self._thread.is_alive():
            self._thread.join(timeout=self.open_timeout_s + 2)
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        with self._lock:
            if self._status.state not in ("ended", "failed"):
                self._status = SourceStatus("ended")
            self._lock.notify_all()

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FrameSource({self.name!r}, {self.status})"

    # -- internals ----------------------------------------------------------------------
    def _newest(self, timeout_s: float) -> Frame | None:
        """The newest frame not yet handed out, waiting up to `timeout_s` for one; None at
        the deadline or once the source has ended or failed. One a reader did not take
        before the next arrived was dropped (and counted in `_publish`)."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self._latest is None or self._latest.index <= self._handed:
                left = deadline - time.monotonic()
                if left <= 0 or self._status.state in ("ended", "failed"):
                    return None
                self._lock.wait(left)
            self._handed = self._latest.index
            return self._latest

    def _publish(self, img: np.ndarray, t: float) -> Frame:
        with self._lock:
            if self.live and self._latest is not None and self._latest.index > self._handed:
                self._stats.frames_dropped += 1   # replaced before anyone took it
            frame = self._arrived(img, t)
            self._latest = frame
            self._lock.notify_all()
            return frame

    def _decode_ahead(self) -> None:
        fps = self.native_fps or 30.0
        frame: Frame | None = None
        while not self._stop.is_set():
            cap = self._cap
            ok, img = cap.read() if cap is not None else (False, None)
            if not ok and self._crashed(cap):
                frame = None
            elif not ok:
                self._check_length()
                self._set_status(SourceStatus("ended", last_error=self.truncated))
                frame = None
            else:
                frame = self._publish(img, self._index / fps)
            while not self._stop.is_set():
                try:
                    self._ahead.put(frame, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if frame is None:
                return

    @property
    def decoder_pid(self) -> int | None:
        """The id of the process decoding this source (None: decoded in this process)."""
        return getattr(self._cap, "pid", None)

    def _crashed(self, cap: Any) -> bool:
        """Whether the decoder process died under a file (a damaged or hostile file): the
        source fails, saying where, and the server goes on."""
        why = getattr(cap, "crashed", None)
        if why is None or self._stop.is_set():
            return False
        where = self.start_frame + self._index
        log.error("source %s: %s at frame %d", self.name, why, where)
        self._set_status(SourceStatus("failed", last_error=f"{why} at frame {where}: the "
                                      "file may be damaged; the other cameras go on"))
        return True

    def _check_length(self) -> None:
        """A file that ends well before the frame count its header states was cut short
        (a copy or a recording interrupted): say so rather than end as if complete."""
        got = self.start_frame + self._index
        if self.frame_count and got < self.frame_count - max(2, self.frame_count // 50):
            self.truncated = (f"the file ends after {got} of the {self.frame_count} frames "
                              "its header states: it looks truncated")
            log.warning("source %s: %s", self.name, self.truncated)

    def _reconnect(self, error: str) -> bool:
        """Reopen with backoff until it works or we are stopped; True when reconnected."""
        if self._cap is not None:
            self._cap.release()
            self._cap = None
        delay, cap_s = self.backoff_s
        attempt = 0
        while not self._stop.is_set():
            attempt += 1
            self._set_status(SourceStatus("reconnecting", attempt, error))
            cap, err = _open_capture(self.spec, self.open_timeout_s)
            if cap is not None:
                self._cap = cap
                with self._lock:
                    self._stats.reconnects += 1
                self._set_status(SourceStatus("live"))
                return True
            error = err or error
            self._stop.wait(delay)
            delay = min(delay * 2, cap_s)
        return False

    def _run(self) -> None:
        started = time.monotonic()
        played = 0   # frames of a file since its (re)start, for pacing at native rate
        while not self._stop.is_set():
            cap = self._cap
            if cap is None:
                return
            ok, img = cap.read()
            if self._stop.is_set():
                return
            if not ok:
                if self.spec.kind is SourceKind.FILE and self._crashed(cap):
                    return
                if self.spec.kind is SourceKind.FILE:
                    if self.loop and cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
                        started, played = time.monotonic(), 0
                        continue
                    self._set_status(SourceStatus("ended"))
                    return
                if not self._reconnect(getattr(cap, "crashed", None)
                                       or "the stream stopped sending frames"):
                    return
                continue
            if self.spec.kind is SourceKind.FILE and self.native_fps:
                played += 1
                wait = started + played / self.native_fps - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    return
            self._publish(img, time.time())
