"""Writing a generated clip to a file."""
from __future__ import annotations

from pathlib import Path

import cv2

from ..errors import DashboardError


def video_writer(out: Path, fps: float, width: int, height: int) -> cv2.VideoWriter:
    """An open writer of a .avi (MJPG) or .mp4 video at `out` (its folder made).

    Example:
        >>> video_writer(Path("clip.avi"), 10, 640, 360).isOpened()  # doctest: +SKIP
        True
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    fourcc = cv2.VideoWriter_fourcc(*("MJPG" if out.suffix.lower() == ".avi" else "mp4v"))
    writer = cv2.VideoWriter(str(out), fourcc, fps, (width, height))
    if not writer.isOpened():
        raise DashboardError(f"Cannot write a video to {out}: use a .mp4 or .avi path in a "
                             "writable folder.")
    return writer
