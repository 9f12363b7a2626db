"""What a source is: the one classifier of what an operator types (a webcam index, a stream
URL, a video file, "demo", "browser"), and the checks an address passes each time it opens."""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dashboard.config.kinds import BROWSER
from dashboard.errors import DashboardError
from dashboard.vision.secrets import expand_env, mask_secrets

STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")


class SourceKind(str, Enum):
    WEBCAM = "webcam"      # a camera plugged into the server
    STREAM = "stream"      # rtsp(s):// or http(s)://
    FILE = "file"
    BROWSER = "browser"    # a visitor's own camera, sent by their browser over WebRTC


@dataclass
class SourceSpec:
    """A classified source: its kind, what OpenCV opens, and a name safe to show."""

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
        >>> import os
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


def parse_spec(spec: str | int | Path) -> SourceSpec:
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

        return SourceSpec(SourceKind.FILE, str(demo_clip()), "demo clip")
    if text == BROWSER:
        return SourceSpec(SourceKind.BROWSER, None, "the browser's camera")
    if is_webcam_index(text):
        return SourceSpec(SourceKind.WEBCAM, int(text), f"webcam {text}")
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
        return SourceSpec(SourceKind.STREAM, text, name)
    path = Path(text).expanduser()
    if not path.exists():
        raise DashboardError(f"Video file not found: {path}.")
    if not path.is_file():
        raise DashboardError(f"{path} is a folder, not a video file.")
    return SourceSpec(SourceKind.FILE, str(path), path.name)
