"""Live video analytics: track people and vehicles, paint their paths as heat, count zone crossings.

Example:
    >>> from dashboard import Engine, LineZone, Tracks
    >>> from dashboard import Heatmap   # the ultralytics-style facade  # doctest: +SKIP
"""
from __future__ import annotations

from typing import Any

from .engine import Engine, HeatmapConfig, LineZone, PolygonZone, Tracks
from .errors import DashboardError

__all__ = ["Engine", "HeatmapConfig", "LineZone", "PolygonZone", "Tracks", "DashboardError",
           "Heatmap"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The facade imports ultralytics (seconds); only pay for it when it is asked for.
    if name == "Heatmap":
        from .facade import Heatmap
        return Heatmap
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
