"""`ChildCapture`: what `FrameSource` reads through when decoding runs in a process of its own
(`decoder.py`): the same calls as `cv2.VideoCapture` (read, get, set, isOpened, release), one
pipe round trip each. A decoder that crashes ends its process; the source then says so, and
the server, its other cameras and its pages carry on."""
from __future__ import annotations

import fcntl
import json
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np

DECODER = Path(__file__).with_name("decoder.py")


def _widen(pipe) -> None:
    """Let the pipe hold a whole frame (up to the system's limit, 1 MiB by default; 64 KiB
    otherwise). Why: a 640x360 frame came through a 64 KiB pipe in 11 reads, each taking
    the interpreter lock back; with many cameras busy each wait for the lock was long, the
    reader fell behind the camera and frames were lost (11 cameras in one process, in turns:
    81-86% of their frames kept through the narrow pipe, 91% through the wide one)."""
    try:
        limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, min(limit, 8 << 20))
    except (OSError, ValueError):
        pass   # not Linux, or a limit lowered by the admin: the default pipe works, slower


class ChildCapture:
    """A capture in a decoder process.

    Example:
        >>> from dashboard.demo.scene import demo_clip
        >>> cap = ChildCapture(str(demo_clip()), webcam=False, timeout_ms=5000)
        >>> ok, img = cap.read(); cap.release()
        >>> ok, img.shape, cap.crashed
        (True, (360, 640, 3), None)
    """

    def __init__(self, target: Any, webcam: bool, timeout_ms: int) -> None:
        self.crashed: str | None = None   # why the decoder process ended, if it did
        self._lock = threading.Lock()     # one request and its answer at a time
        self._proc = subprocess.Popen([sys.executable, str(DECODER)], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        _widen(self._proc.stdout)
        self._opened = bool(self._ask({"op": "open", "target": str(target), "webcam": webcam,
                                       "timeout_ms": timeout_ms}).get("ok"))

    @property
    def pid(self) -> int:
        """The decoder process's id."""
        return self._proc.pid

    def isOpened(self) -> bool:  # noqa: N802 - cv2.VideoCapture's name
        return self._opened and self.crashed is None

    def read(self) -> tuple[bool, np.ndarray | None]:
        with self._lock:
            head = self._send({"op": "read"})
            if not head.get("ok"):
                return False, None
            shape = tuple(head["shape"])
            buf = bytearray(int(np.prod(shape)))
            if self._proc.stdout.readinto(buf) != len(buf):
                self._ended()
                return False, None
            return True, np.frombuffer(buf, np.uint8).reshape(shape)

    def get(self, prop: int) -> float:
        return float(self._ask({"op": "get", "prop": int(prop)}).get("value", 0.0))

    def set(self, prop: int, value: float) -> bool:
        return bool(self._ask({"op": "set", "prop": int(prop), "value": float(value)}).get("ok"))

    def release(self) -> None:
        """End the decoder process (at once: a read under way in another thread ends too)."""
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        for pipe in (self._proc.stdin, self._proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    # -- the pipe -----------------------------------------------------------------------
    def _ask(self, req: dict) -> dict:
        with self._lock:
            return self._send(req)

    def _send(self, req: dict) -> dict:
        """One request and its answer's head; {} once the decoder has ended."""
        if self.crashed is not None:
            return {}
        try:
            self._proc.stdin.write(json.dumps(req).encode() + b"\n")
            self._proc.stdin.flush()
            line = self._proc.stdout.readline()
        except (OSError, ValueError):
            line = b""
        if not line:
            self._ended()
            return {}
        return json.loads(line)

    def _ended(self) -> None:
        code = self._proc.wait()
        if code < 0:
            name = signal.Signals(-code).name if -code in signal.valid_signals() else -code
            self.crashed = f"the video decoder crashed ({name})"
        else:
            self.crashed = f"the video decoder ended (exit {code})"
