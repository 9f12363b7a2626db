"""Helpers the tests share: hand-made tracks and paths (fixtures live in conftest.py)."""
from __future__ import annotations

import time

from dashboard.engine import Tracks

NAMES = {0: "person", 1: "car"}


def box_at(x: float, y: float, half: float = 5.0) -> list[float]:
    return [x - half, y - half, x + half, y + half]


def tracks_of(*items: tuple) -> Tracks:
    """Tracks from (id, x, y) or (id, x, y, cls) items, each a 10x10 box centred on (x, y).

    Example:
        >>> tracks_of((1, 50, 50), (2, 80, 60, 1)).ids.tolist()
        [1, 2]
    """
    if not items:
        return Tracks.empty(NAMES)
    rows = [(it[0], it[1], it[2], it[3] if len(it) > 3 else 0) for it in items]
    return Tracks(xyxy=[box_at(x, y) for _, x, y, _ in rows], ids=[r[0] for r in rows],
                  cls=[r[3] for r in rows], conf=[0.9] * len(rows), names=NAMES)


def run_path(zone, path, tid=1, cls=0, t0=0.0, dt=0.1):
    """Feed one track along `path` (list of (x, y)); return the directions counted."""
    out = []
    for i, (x, y) in enumerate(path):
        out += [e.direction for e in zone.trigger(tracks_of((tid, x, y, cls)), t0 + i * dt)]
    return out


def wait_until(cond, timeout_s: float, step: float = 0.1) -> bool:
    """True as soon as `cond()` is; False if it never was within `timeout_s` (a generous
    bound: tests wait for things to happen, they never time how fast).

    Example:
        >>> wait_until(lambda: True, 1.0)
        True
    """
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(step)
    return bool(cond())


def decoders(parent: int | None = None) -> list[int]:
    """The decoder processes (`dashboard/vision/decoder.py`) a process started (this one by
    default), by their ids, read from /proc."""
    import os
    from pathlib import Path

    parent = os.getpid() if parent is None else parent
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmd = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and b"decoder.py" in cmd:
            found.append(int(proc.name))
    return found
