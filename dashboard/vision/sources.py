"""Frame sources: webcams, RTSP/HTTP streams, video files, the demo clip, and the camera of
a visitor's browser.

Live sources are read in a background thread that keeps only the newest frame, so a slow
consumer gets fresh frames instead of a growing backlog; dropped streams reconnect with
capped exponential backoff. A browser's camera is pushed in frame by frame by the page that
receives it (`BrowserSource.push`) and read the same way. Credentials in URLs are masked in
every name and message.
"""
from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np

from dashboard.vision.secrets import expand_env, mask_filled
from dashboard.config.env import max_frame_pixels
from dashboard.errors import DashboardError

log = logging.getLogger(__name__)

# FFmpeg's RTSP over TCP survives NAT and lossy links that UDP does not; users may override.
os.environ.setdefault("OPENCV_FFMPEG_CAPTURE_OPTIONS", "rtsp_transport;tcp")
# Our own messages say what failed and what to do; OpenCV's and FFmpeg's add only noise.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
BROWSER = "browser"   # the source of a camera whose frames a visitor's browser sends
PREFETCH = 4   # frames a batch source decodes ahead of its reader
# The user-info part of a URL runs to the last "@" on its line (before any other "://")
# that is followed by a host name: operators type passwords with "@", "/", ":" and spaces
# in them unencoded, and all of it is hidden. Erring this way can hide a little more than
# the credentials (an e-mail address later on the line), never less.
_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?:(?!://)[^\n])*@"
    r"(?=(?:[\w.\-~%]+|\[[0-9a-fA-F:.]+\])(?::\d*)?(?:[/?#\s,;)\]'\"]|$)|/)")  # or no host
# Query or fragment parameters whose name says they hold a secret (api_key, access_token,
# X-Amz-Signature, credentials, ...).
_SECRET_PARAMS = re.compile(
    r"(?i)(?P<name>[\w.\-]*(?:pass|pwd|token|key|auth|secret|sig|credential)[\w.\-]*)="
    r"[^&\s#]*")


# A URL's path and query (after its scheme and host), to the next white space.
_URL_REST = re.compile(r"(?P<path>(?<=://)[^\s?#]*)(?P<query>\?[^\s#]*)?")
_QUERY_VALUE = re.compile(r"(?P<name>[^?&=\s]+)=[^&#\s]*")
# A path part that looks like a key: 16 or more letters, digits, - and _, with both
# letters and digits in it (a "/Streaming/Channels/101" is left as it is).
_PATH_KEY = re.compile(r"(?<=/)(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{16,}(?=[/]|$)")


def mask_secrets(text: str) -> str:
    """Hide credentials in any text that may hold a URL: user and password, the value of
    every query parameter of a URL (a camera's `pw=`, `p=` or `code=` says nothing of what
    it holds), path parts that look like keys, and outside URLs every parameter whose name
    says it is a secret.

    Example:
        >>> mask_secrets("rtsp://admin:hunter2@10.0.0.5/live?token=abc&ch=1")
        'rtsp://***@10.0.0.5/live?token=***&ch=***'
        >>> mask_secrets("rtsp://admin:p@ss/w rd@cam:554/live?api_key=k1&apikey=k2")
        'rtsp://***@cam:554/live?api_key=***&apikey=***'
        >>> mask_secrets("http://cam/api/3f9a2b1c4d5e6f7a8b/mjpg and password=x")
        'http://cam/api/***/mjpg and password=***'
    """
    text = _CREDENTIALS.sub(lambda m: m.group("scheme") + "***@", text)
    text = _URL_REST.sub(lambda m: _PATH_KEY.sub("***", m.group("path"))
                         + _QUERY_VALUE.sub(r"\g<name>=***", m.group("query") or ""), text)
    text = _SECRET_PARAMS.sub(lambda m: m.group("name") + "=***", text)
    # Last: masking a filled-in host first would hide from the patterns above where the
    # user and password end.
    return mask_filled(text)


class SecretFilter(logging.Filter):
    """A logging filter that masks credentials in every record it passes.

    Example:
        >>> logging.getLogger().handlers[0].addFilter(SecretFilter())  # doctest: +SKIP
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask_secrets(record.getMessage())
        record.args = None
        return True


@dataclass(frozen=True)
class Frame:
    """One frame: BGR image, capture time in seconds (wall clock for live sources, position
    in the video for batch reads) and its index among frames read."""

    image: np.ndarray
    t: float
    index: int


@dataclass(frozen=True)
class SourceStatus:
    """Where a source stands: connecting, live, reconnecting, waiting (a browser's camera
    between visits), ended or failed.

    Example:
        >>> str(SourceStatus("reconnecting", attempt=3, last_error="no frames for 2 s"))
        'reconnecting (attempt 3; last error: no frames for 2 s)'
    """

    state: str
    attempt: int = 0
    last_error: str | None = None

    def __str__(self) -> str:
        if self.state == "reconnecting":
            return f"reconnecting (attempt {self.attempt}; last error: {self.last_error})"
        if self.state in ("failed", "waiting") and self.last_error:
            return f"{self.state}: {self.last_error}"
        return self.state


@dataclass
class SourceStats:
    """Measured figures: source frame rate, frames read and dropped, reconnections."""

    fps: float = 0.0
    frames_read: int = 0
    frames_dropped: int = 0
    reconnects: int = 0
    last_frame_t: float | None = None


class SourceKind(str, Enum):
    WEBCAM = "webcam"      # a camera plugged into the server
    STREAM = "stream"      # rtsp(s):// or http(s)://
    FILE = "file"
    BROWSER = "browser"    # a visitor's own camera, sent by their browser over WebRTC


@dataclass
class _Spec:
    kind: SourceKind
    target: Any          # what cv2.VideoCapture opens
    name: str            # safe to show and log


def is_webcam_index(text: str) -> bool:
    """Whether a source names a webcam by its index: ASCII digits only (Python's own
    isdigit() also takes other scripts' digits and superscripts, which name no device).

    Example:
        >>> is_webcam_index("0"), is_webcam_index("\u0663"), is_webcam_index("\u00b2")
        (True, False, False)
    """
    return text.isascii() and text.isdigit()


def check_address(address: str) -> None:
    """Refuse a stream address this server may not reach: its scheme and host are checked
    (`parse_spec`), and its host must be one HEATMAP_DASHBOARD_CAMERA_HOSTS names, if set.

    Example:
        >>> os.environ["HEATMAP_DASHBOARD_CAMERA_HOSTS"] = "cam1.local"
        >>> check_address("rtsp://u:p@cam1.local/live")
        >>> check_address("http://10.9.8.7:8625/leak?x=1")
        Traceback (most recent call last):
        dashboard.errors.DashboardError: http://10.9.8.7:8625/leak?x=***: this server may only reach the camera hosts cam1.local (HEATMAP_DASHBOARD_CAMERA_HOSTS).
        >>> del os.environ["HEATMAP_DASHBOARD_CAMERA_HOSTS"]
    """
    from dashboard.config.env import camera_hosts

    spec = parse_spec(address)        # scheme and host checked, credentials masked
    hosts = camera_hosts()
    if spec.kind is SourceKind.STREAM and hosts \
            and (urlsplit(address).hostname or "").lower() not in hosts:
        raise DashboardError(f"{spec.name}: this server may only reach the camera hosts "
                             f"{', '.join(hosts)} (HEATMAP_DASHBOARD_CAMERA_HOSTS).")


def resolve_address(stored: str) -> str:
    """What a camera opens, from what is stored: `${CAMERA_...}` variables filled in, then
    checked (`check_address`) each time, so a camera saved before an allow-list was set, or
    a variable that names another host, is refused at its next open.

    Example:
        >>> resolve_address("demo")
        'demo'
    """
    address = expand_env(stored)
    if "://" in address:
        check_address(address)
    return address


def parse_spec(spec: str | int | Path) -> _Spec:
    """Classify what an operator typed; raise `DashboardError` for what cannot be a source.

    Example:
        >>> parse_spec("0").kind.value, parse_spec("rtsp://u:p@cam/live").name
        ('webcam', 'rtsp://***@cam/live')
    """
    text = str(spec).strip()
    if not text:
        raise DashboardError("No source given: type a webcam index, a stream URL or a file path.")
    if text == "demo":
        from dashboard.demo.scene import demo_clip

        return _Spec(SourceKind.FILE, str(demo_clip()), "demo clip")
    if text == BROWSER:
        return _Spec(SourceKind.BROWSER, None, "the browser's camera")
    if is_webcam_index(text):
        return _Spec(SourceKind.WEBCAM, int(text), f"webcam {text}")
    if "://" in text:
        name = mask_secrets(text)
        try:
            parts = urlsplit(text)
            host = parts.hostname
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as e:
            raise DashboardError(f"Malformed URL {name}: {e}.") from None
        if parts.scheme.lower() not in STREAM_SCHEMES:
            raise DashboardError(f"Unsupported URL scheme in {name}: use rtsp://, rtsps://, "
                                 "http:// or https://.")
        if not host:
            raise DashboardError(f"Malformed URL {name}: it has no host name.")
        return _Spec(SourceKind.STREAM, text, name)
    path = Path(text).expanduser()
    if not path.exists():
        raise DashboardError(f"Video file not found: {path}.")
    if not path.is_file():
        raise DashboardError(f"{path} is a folder, not a video file.")
    return _Spec(SourceKind.FILE, str(path), path.name)


def _open_capture(spec: _Spec, timeout_s: float) -> tuple[cv2.VideoCapture | None, str | None]:
    """Open with a hard deadline (a backend may ignore its own timeout); (capture, error)."""
    result: dict[str, Any] = {}
    ms = int(timeout_s * 1000)

    def work() -> None:
        try:
            if spec.kind is SourceKind.WEBCAM:
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


OVERSIZED = "its pictures are "


def oversized(width: int, height: int) -> str | None:
    """Why a picture of this size is refused, or None: past HEATMAP_DASHBOARD_MAX_FRAME_PIXELS
    (an 8192x8192 video took the whole server down in OpenCV once).

    Example:
        >>> oversized(1920, 1080)
        >>> oversized(8192, 8192)[:60]
        'its pictures are 8192x8192 (67.1 megapixels), more than this'
    """
    limit = max_frame_pixels()
    if width * height <= limit:
        return None
    return (f"{OVERSIZED}{width}x{height} ({width * height / 1e6:.1f} megapixels), more "
            f"than this server takes ({limit / 1e6:.1f} megapixels, "
            "HEATMAP_DASHBOARD_MAX_FRAME_PIXELS): send it at a lower resolution")


class _Frames:
    """What every source shares: its status and its figures."""

    name: str
    live: bool = True

    def _init_frames(self, status: SourceStatus) -> None:
        self._status = status
        self._stats = SourceStats()
        self._arrivals: deque[float] = deque(maxlen=30)
        self._lock = threading.Condition()
        self._index = 0

    @property
    def status(self) -> SourceStatus:
        with self._lock:
            return self._status

    @property
    def stats(self) -> SourceStats:
        with self._lock:
            return replace(self._stats)

    def _set_status(self, status: SourceStatus) -> None:
        with self._lock:
            changed = status != self._status
            self._status = status
            self._lock.notify_all()
        if changed:
            level = logging.WARNING if status.state in ("reconnecting", "failed") else logging.INFO
            log.log(level, "source %s: %s", self.name, status)

    def _arrived(self, img: np.ndarray, t: float) -> Frame:
        """A new frame, numbered and counted in the figures (under the lock)."""
        frame = Frame(img, t, self._index)
        self._index += 1
        self._stats.frames_read += 1
        self._stats.last_frame_t = t
        self._arrivals.append(time.monotonic())
        if len(self._arrivals) > 1:
            span = self._arrivals[-1] - self._arrivals[0]
            self._stats.fps = (len(self._arrivals) - 1) / span if span > 0 else 0.0
        return frame


class FrameSource(_Frames):
    """An open source. Use `open_source` to make one.

    Example:
        >>> with open_source("demo", live=False) as src:  # doctest: +SKIP
        ...     frame = src.read(timeout_s=1.0)
        ...     frame.image.shape, src.status.state
        ((360, 640, 3), 'live')
    """

    def __init__(self, spec: _Spec, cap: cv2.VideoCapture, live: bool, open_timeout_s: float,
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
            if not ok:
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
                if self.spec.kind is SourceKind.FILE:
                    if self.loop and cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
                        started, played = time.monotonic(), 0
                        continue
                    self._set_status(SourceStatus("ended"))
                    return
                if not self._reconnect("the stream stopped sending frames"):
                    return
                continue
            if self.spec.kind is SourceKind.FILE and self.native_fps:
                played += 1
                wait = started + played / self.native_fps - time.monotonic()
                if wait > 0 and self._stop.wait(wait):
                    return
            self._publish(img, time.time())


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


class BrowserSource(_Frames):
    """The camera of a visitor's browser: frames its page receives (over WebRTC) and hands
    in with `push`, read in order; a frame waits at most `BROWSER_BACKLOG_S` (older ones
    are dropped, and counted). One browser at a time: another's frames are refused while the
    first keeps sending. Between visits it waits, and says why; it never ends by itself.

    Example:
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

    def __init__(self, spec: _Spec, idle_s: float = BROWSER_IDLE_S) -> None:
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


def open_source(spec: str | int | Path, live: bool = True, open_timeout_s: float = 10.0,
                loop: bool | None = None, backoff_s: tuple[float, float] = (0.5, 10.0),
                start_frame: int = 0) -> FrameSource | BrowserSource:
    """Open a webcam index ("0"), rtsp(s)/http(s) URL, video file path, "demo", or
    "browser" (a visitor's camera, live only: its frames are handed in, see `BrowserSource`).

    live=True reads in a background thread that always offers the newest frame (files play
    at their native rate; "demo" loops); live=False reads every frame in order as fast as
    the caller asks (batch). A source that cannot be opened raises `DashboardError` within
    `open_timeout_s`; a live stream that drops later reconnects with backoff from
    backoff_s[0] doubling up to backoff_s[1] seconds. A file may start at `start_frame`
    (to carry on where an earlier run stopped).

    Example:
        >>> src = open_source("rtsp://user:secret@127.0.0.1:8554/cam", open_timeout_s=2)  # doctest: +SKIP
        Traceback (most recent call last):
        DashboardError: Cannot open rtsp://***@127.0.0.1:8554/cam: no answer within 2 s ...
    """
    parsed = parse_spec(spec)
    if parsed.kind is SourceKind.BROWSER:
        if not live:
            raise DashboardError("A browser's camera sends its pictures only to the "
                                 "dashboard's camera page, live: give a video file or a "
                                 "stream address here.")
        return BrowserSource(parsed)
    cap, err = _open_capture(parsed, open_timeout_s)
    if cap is None:
        hint = {SourceKind.WEBCAM: "Is a camera connected, and is the index right?",
                SourceKind.STREAM: "Check the address, port and credentials, and that the "
                                   "camera is on.",
                SourceKind.FILE: "Is it a video file OpenCV can decode (mp4, avi, mkv, "
                                 "webm...)?"}
        if err and err.startswith(OVERSIZED):
            raise DashboardError(f"Cannot take {parsed.name}: {err}.")
        raise DashboardError(f"Cannot open {parsed.name}: {err}. {hint[parsed.kind]}")
    if parsed.kind is SourceKind.FILE:
        ok, _ = cap.read()  # a file that opens but yields nothing is not a video
        if not ok:
            cap.release()
            raise DashboardError(f"Cannot read {parsed.name} as a video: is it a video file "
                                 "OpenCV can decode (mp4, avi, mkv, webm...)?")
        cap.set(cv2.CAP_PROP_POS_FRAMES, max(0, int(start_frame)))
    if loop is None:
        loop = live and str(spec).strip() == "demo"
    log.info("opened %s (%s)", parsed.name, "live" if live else "batch")
    return FrameSource(parsed, cap, live, open_timeout_s, loop, backoff_s,
                       start_frame=max(0, int(start_frame)) if parsed.kind is SourceKind.FILE
                       else 0)
