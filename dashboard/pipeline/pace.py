"""Whether a camera keeps up with its source, said loudly when it does not: frames a live
source sent that were never counted (crossings in them are missed), or a file played at its
own rate that the camera has fallen behind."""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from dashboard.config.camera import CameraSettings
from dashboard.config.kinds import Runtime

WINDOW_S = 10.0      # judged over the last seconds, so a camera that catches up says so
MIN_WINDOW_S = 2.0   # dropping is judged once this much has been seen (not a start's blip)
WARN_DROPPED = 0.10  # of a live source's frames dropped: amber
BAD_DROPPED = 0.50   # red
WARN_AGE_S = 2.0     # the newest counted frame this old (or a file this far behind): amber
BAD_AGE_S = 10.0     # red


@dataclass(frozen=True)
class Behind:
    """How far behind a camera is: "warning" (amber) or "error" (red), and in words what is
    lost and what would help."""

    level: str
    text: str


def helps(s: CameraSettings, runtime: str | None) -> str:
    """What would let this camera keep up, for its settings.

    Example:
        >>> helps(CameraSettings(imgsz=640), "torch")
        'a smaller image size (now 640), the ONNX runtime or fewer cameras on this machine'
        >>> helps(CameraSettings(imgsz=320, runtime=Runtime.ONNX), "onnx")
        'the runtime auto (the fastest measured on this machine, INT8 too) or fewer cameras on this machine'
    """
    ways = []
    if s.imgsz > 320:
        ways.append(f"a smaller image size (now {s.imgsz})")
    if s.runtime not in (Runtime.AUTO, Runtime.TORCH) and runtime not in (
            Runtime.ONNX_INT8.value, Runtime.OPENVINO_INT8.value):
        ways.append("the runtime auto (the fastest measured on this machine, INT8 too)")
    elif runtime == Runtime.TORCH.value:
        ways.append("the ONNX runtime")
    ways.append("fewer cameras on this machine")
    return ways[0] if len(ways) == 1 else ", ".join(ways[:-1]) + " or " + ways[-1]


class PaceCheck:
    """Watches a camera's figures frame by frame; `behind` says whether it keeps up.

    Example:
        >>> p = PaceCheck(CameraSettings(imgsz=320))
        >>> p.live(0.0, read=0, dropped=0, age_s=0.05, fps=2.0, source_fps=30.0, runtime="onnx")
        >>> b = p.live(5.0, read=150, dropped=140, age_s=0.05, fps=2.0, source_fps=30.0,
        ...            runtime="onnx")
        >>> b.level, b.text.split(":")[0]
        ('error', 'counting 2.0 of 30 frames a second')
        >>> q = PaceCheck(CameraSettings(imgsz=320))     # half a second in: no verdict yet
        >>> q.live(0.0, read=0, dropped=0, age_s=0.05, fps=2.0, source_fps=30.0, runtime="onnx")
        >>> q.live(0.5, read=15, dropped=12, age_s=0.05, fps=2.0, source_fps=30.0,
        ...        runtime="onnx") is None
        True
    """

    def __init__(self, settings: CameraSettings) -> None:
        self.settings = settings
        self._seen: deque[tuple[float, int, int]] = deque()   # (time, read, dropped)

    def live(self, now: float, read: int, dropped: int, age_s: float, fps: float,
             source_fps: float, runtime: str | None) -> Behind | None:
        """A live source: the share of its frames dropped over the window, and the age of
        the frame just counted."""
        self._seen.append((now, read, dropped))
        while self._seen and now - self._seen[0][0] > WINDOW_S:
            self._seen.popleft()
        t0, read0, dropped0 = self._seen[0]
        sent, lost = read - read0, dropped - dropped0
        share = lost / sent if sent > 0 and now - t0 >= MIN_WINDOW_S else 0.0
        if share < WARN_DROPPED and age_s < WARN_AGE_S:
            return None
        level = "error" if share >= BAD_DROPPED or age_s >= BAD_AGE_S else "warning"
        what = (f"{share:.0%} of the frames of the last {min(WINDOW_S, now - t0):.0f} s "
                "dropped, crossings in them are missed" if share >= WARN_DROPPED else
                f"the picture is {age_s:.1f} s old when counted")
        return Behind(level, f"counting {fps:.1f} of {source_fps:.0f} frames a second: {what}. "
                             f"To keep up: {helps(self.settings, runtime)}.")

    def file(self, behind_s: float, runtime: str | None) -> Behind | None:
        """A file played at its own rate: how far the camera is behind the video's clock."""
        if behind_s < WARN_AGE_S:
            return None
        level = "error" if behind_s >= BAD_AGE_S else "warning"
        return Behind(level, f"{behind_s:.0f} s behind the video, and falling back: every "
                             "frame is still counted, later than it plays. To keep up: "
                             f"{helps(self.settings, runtime)}, or play the file as fast as "
                             "possible.")
