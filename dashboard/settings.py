"""Where the app keeps its data: one setting, the data directory.

`HEATMAP_DASHBOARD_DATA` names it; the default is ~/.local/share/heatmap-dashboard.
"""
from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The data directory, created if missing.

    Example:
        >>> data_dir().is_dir()  # doctest: +SKIP
        True
    """
    path = Path(os.environ.get("HEATMAP_DASHBOARD_DATA")
                or Path.home() / ".local" / "share" / "heatmap-dashboard")
    path.mkdir(parents=True, exist_ok=True)
    return path
