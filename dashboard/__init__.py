"""Live video analytics: track people and vehicles, paint their paths as heat, count zone crossings.

Example:
    >>> from dashboard import Engine, LineZone, Tracks
    >>> from dashboard import Heatmap   # the ultralytics-style facade  # doctest: +SKIP
"""
from __future__ import annotations

import os
from typing import Any

# Set before anything imports ultralytics. Checkpoints are unpickled only through its
# restricted loader, so a crafted .pt cannot run code here; it never pip-installs a module a
# checkpoint names; and it asks nothing of outside hosts (online checks, usage sync,
# downloads) unless the operator allows downloads (then yolo26n.pt can be fetched).
os.environ["ULTRALYTICS_SAFE_LOAD"] = "1"
os.environ["YOLO_AUTOINSTALL"] = "false"
from dashboard.config.env import downloads_allowed  # noqa: E402 - before ultralytics, after nothing

if not downloads_allowed():
    os.environ["YOLO_OFFLINE"] = "1"

from dashboard.engine import Engine, HeatmapConfig, LineZone, PolygonZone, Tracks
from dashboard.errors import DashboardError

__all__ = ["Engine", "HeatmapConfig", "LineZone", "PolygonZone", "Tracks", "DashboardError",
           "Heatmap"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # The facade imports ultralytics (seconds); only pay for it when it is asked for.
    if name == "Heatmap":
        from dashboard.pipeline.facade import Heatmap
        return Heatmap
    raise AttributeError(f"module 'dashboard' has no attribute {name!r}")
