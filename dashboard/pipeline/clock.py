"""A file camera's clock: the video's own time, not the processing's."""
from __future__ import annotations


class VideoClock:
    """When a file's frame happened: `start` plus its position in the video (and the passes
    before it, for a looping file). Events, dwell, alerts, heat decay and charts then say
    what happened in the video, as the CLI does, however busy the machine is (on a loaded
    machine wall-clock stamps stretched a 10 s stay to 159 s). Live sources keep the wall
    clock.

    Example:
        >>> c = VideoClock(1000.0, fps=10.0)
        >>> c.at(25)
        1002.5
        >>> c.next_pass(30); c.at(0)
        1003.0
    """

    def __init__(self, start: float, fps: float) -> None:
        self.start, self.fps = start, fps or 30.0
        self._passes_s = 0.0   # the length of the passes played before this one

    def at(self, position: int) -> float:
        """The time of the frame at `position` (frames from the file's start)."""
        return self.start + self._passes_s + position / self.fps

    def next_pass(self, frames: int) -> None:
        """A looping file starts again after `frames` frames: its time goes on."""
        self._passes_s += frames / self.fps
