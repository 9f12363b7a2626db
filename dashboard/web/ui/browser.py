"""A browser camera's view: the visitor's own camera goes to the server over WebRTC
(streamlit-webrtc), each frame through the service into the camera's runner, and the newest
overlay comes back as the video this page plays.

Browsers give a page the camera only in a secure context: the dashboard served over HTTPS,
or opened as http://localhost on the machine itself; the visitor allows the camera once.
"""
from __future__ import annotations

import logging
import textwrap
from typing import Any

import cv2
import numpy as np
import streamlit as st

from dashboard.service.auth import Role
from dashboard.errors import SessionEnded
from dashboard.config.camera import Camera
from dashboard.config.kinds import new_id
from dashboard.errors import DashboardError
from dashboard.config.env import ice_servers
from dashboard.service.access import UserService
from dashboard.service.core import shared_service
from dashboard.web.ui.common import cookie_token, plain

log = logging.getLogger(__name__)

# Enough to count people and cars; more costs the browser's upload and the server's decoding.
CONSTRAINTS = {"video": {"width": {"ideal": 960}, "frameRate": {"ideal": 15, "max": 15}},
               "audio": False}
WORDS = {"start": "Start my camera", "stop": "Stop my camera",
         "select_device": "Choose a camera",
         "device_ask_permission": "Allow this page to use your camera.",
         "device_access_denied": "The browser refused the camera: allow it in the address "
                                 "bar's site settings, then Start again.",
         "media_api_not_available": "This browser gives no camera to this page: open the "
                                    "dashboard over HTTPS, or as http://localhost on its "
                                    "own machine."}


def notice(img: np.ndarray, text: str) -> np.ndarray:
    """A copy of `img` with `text` written on a dark band across its foot (what the sending
    browser sees when its frames are not counted, and why).

    Example:
        >>> notice(np.zeros((360, 640, 3), np.uint8), "The camera is stopped.").shape
        (360, 640, 3)
    """
    out = img.copy()
    h, w = out.shape[:2]
    scale = max(0.4, w / 1400)
    lines = textwrap.wrap(text, max(20, int(w / (scale * 20))))[:4]
    step = int(30 * scale) + 4
    top = max(0, h - step * len(lines) - 10)
    out[top:] = (out[top:] * 0.25).astype(np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(out, line, (8, top + step * (i + 1)), cv2.FONT_HERSHEY_SIMPLEX, scale,
                    (255, 255, 255), max(1, int(2 * scale)), cv2.LINE_AA)
    return out


class Sender:
    """The page's frame callback. It runs in the WebRTC thread, outside any page run, with
    the service as the visitor's session may use it: their login and role are looked up
    again at every call, so a logout or a lost role stops the counting at once. It takes
    every frame that arrived since its last call (streamlit-webrtc's plain frame callback
    would get only the newest and drop the rest unseen: a tracker that misses frames
    miscounts), hands them to the service in order and sends back the newest overlay.

    Example:
        >>> s = Sender(None, "cam_1")
        >>> s.picture([np.zeros((90, 160, 3), np.uint8)]).shape   # doctest: +SKIP
        (90, 160, 3)
    """

    def __init__(self, token: str | None, cid: str) -> None:
        self.token, self.cid = token, cid
        self.id = new_id("browser")   # this page's own: one browser sends at a time
        self._svc: UserService | None = None     # the server's, on the first frame

    async def __call__(self, frames: list[Any]) -> list[Any]:
        import av

        shown = self.picture([f.to_ndarray(format="bgr24") for f in frames])
        return [av.VideoFrame.from_ndarray(shown, format="bgr24")]

    def picture(self, images: list[np.ndarray]) -> np.ndarray:
        """Hand these frames in, in order; what to send back: the newest overlay, or the
        last frame with why it was not counted written on it."""
        last = images[-1]
        if self._svc is None:
            self._svc = shared_service().as_session(self.token)
        try:
            if not self._svc.user.role.allows(Role.OPERATOR):   # the role was taken away
                return notice(last, "Only an operator's camera is counted: ask an admin.")
        except SessionEnded:
            return notice(last, "Your session has ended: log in again.")
        overlay = None
        try:
            for img in images:
                overlay = self._svc.push_frame(self.cid, self.id, img)
        except DashboardError as e:
            return notice(last, str(e))
        except Exception:  # noqa: BLE001 - the video must go on; the log says what broke
            log.exception("camera %s: a browser's frame was not taken", self.cid)
            return notice(last, "This frame was not counted: the server log says why.")
        return last if overlay is None else overlay


def steady_bitrate() -> None:
    """Keep the browser's video at the quality its network allows, not at what a busy
    server process guesses. aiortc (under streamlit-webrtc) estimates the bandwidth from
    when packets reach its Python event loop and tells the browser (REMB); on a server busy
    counting, those times jitter, it reads congestion where there is none, and the browser
    cuts its bitrate to 30 kbit/s and its resolution with it (measured: 1.2 Mbit/s to 30 in
    five seconds, the counts off). Without the send-time stamps that estimate needs, and
    without offering REMB, the browser adapts to packet loss instead, as over any network.
    aiortc reads these tables for each new connection; this runs before any."""
    from aiortc.codecs import CODECS, HEADER_EXTENSIONS

    HEADER_EXTENSIONS["video"][:] = [e for e in HEADER_EXTENSIONS["video"]
                                     if not e.uri.endswith("abs-send-time")]
    for codec in CODECS["video"]:
        codec.rtcpFeedback[:] = [f for f in codec.rtcpFeedback if f.type != "goog-remb"]


def view(cam: Camera) -> None:
    """The operator's own camera, sent to this browser camera, with the overlay coming back."""
    from streamlit_webrtc import WebRtcMode, webrtc_streamer

    steady_bitrate()
    key = f"sender-{cam.id}"
    if key not in st.session_state:
        st.session_state[key] = Sender(cookie_token(), cam.id)
    try:
        servers = ice_servers()
    except DashboardError as e:
        st.error(plain(e))
        return
    webrtc_streamer(key=f"browser-{cam.id}", mode=WebRtcMode.SENDRECV,
                    queued_video_frames_callback=st.session_state[key],
                    rtc_configuration={"iceServers": servers},
                    media_stream_constraints=CONSTRAINTS, translations=WORDS,
                    video_html_attrs={"autoPlay": True, "controls": False, "muted": True,
                                      "style": {"width": "100%", "borderRadius": "0.5rem"}})
    st.caption("This page sends your camera to the server, which counts it like any camera "
               "and sends the overlay back. Counts are kept when you stop or leave; only one "
               "browser sends at a time. Browsers give the camera only to a page served over "
               "HTTPS, or opened as `http://localhost` on the server itself.")
