"""Opening a source: a webcam, an RTSP/HTTP stream, a video file, the demo clip (all through
OpenCV: `FrameSource`), or the camera of a visitor's browser (`BrowserSource`). Credentials
in URLs are masked in every name and message."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2

from dashboard.errors import DashboardError
from dashboard.vision.address import SourceKind, parse_spec
from dashboard.vision.browser import BrowserSource
from dashboard.vision.capture import FrameSource, _open_capture
from dashboard.vision.frames import OVERSIZED

log = logging.getLogger(__name__)


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
