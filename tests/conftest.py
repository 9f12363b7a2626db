"""Fixtures the tests share (helpers are in helpers.py)."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
