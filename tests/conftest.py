from __future__ import annotations

import numpy as np
import pytest

from dashboard.engine import Tracks

NAMES = {0: "person", 1: "car"}


def box_at(x: float, y: float, half: float = 5.0) -> list[float]:
    return [x - half, y - half, x + half, y + half]


def tracks_of(*items: tuple) -> Tracks:
    """Tracks from (id, x, y) or (id, x, y, cls) items, each a 10x10 box centred on (x, y)."""
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


@pytest.fixture
def frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
