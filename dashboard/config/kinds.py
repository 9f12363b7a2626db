"""Ids, states and choices as types: what a camera is in, how it runs, how a zone counts."""
from __future__ import annotations

import secrets
from enum import Enum
from typing import NewType


CameraId = NewType("CameraId", str)
ZoneId = NewType("ZoneId", str)
IMAGE_SIZES = (320, 480, 640, 960, 1280)
NAME_MAX = 80
BROWSER = "browser"   # the source of a camera whose frames a visitor's browser sends


def new_id(prefix: str) -> str:
    """A random id: it says nothing of the source and cannot be guessed from it.

    Example:
        >>> new_id("cam").startswith("cam_"), len(new_id("cam"))
        (True, 16)
    """
    return f"{prefix}_{secrets.token_hex(6)}"


class CameraState(str, Enum):
    """Where a camera stands; the human detail (why it failed, ...) travels beside it."""

    STOPPED = "stopped"
    LOADING = "loading model"
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    WAITING = "waiting"          # a browser's camera between visits: counts kept
    ENDED = "ended"
    FAILED = "failed"
    SILENT = "not answering"     # its runner does not answer now: the figures are its last

    @property
    def active(self) -> bool:
        """True while the camera's thread is meant to be running."""
        return self in (CameraState.LOADING, CameraState.CONNECTING, CameraState.LIVE,
                        CameraState.RECONNECTING, CameraState.WAITING, CameraState.SILENT)


class Runtime(str, Enum):
    """What runs a camera's model. AUTO measures the exported ones on this machine and takes
    the fastest that finds what float finds (`vision/runtimes.py`); PyTorch on a CUDA device."""

    AUTO = "auto"
    ONNX = "onnx"
    ONNX_INT8 = "onnx-int8"
    OPENVINO = "openvino"
    OPENVINO_INT8 = "openvino-int8"
    TORCH = "torch"


class Anchor(str, Enum):
    CENTER = "center"
    FEET = "bottom_center"

    @property
    def label(self) -> str:
        return {"center": "box centre", "bottom_center": "feet"}[self.value]


class Pacing(str, Enum):
    """How a video file camera is read. NATIVE and FAST read every frame, so counts never
    depend on how fast the machine is; NATIVE waits to play at the file's own frame rate.
    LIVE plays it as a live camera sends: at its own rate, skipping the frames the machine
    cannot keep up with (to try a machine, or a recording standing in for a camera)."""

    NATIVE = "native"
    FAST = "fast"
    LIVE = "live"


class ZoneKind(str, Enum):
    LINE = "line"
    POLYGON = "polygon"
    MASK = "mask"         # a polygon where nothing is detected, counted or heated

    @property
    def counts(self) -> bool:
        return self is not ZoneKind.MASK
