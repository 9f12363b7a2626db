"""The tracking bookkeeping engine: zones, counts, heat and overlay, with no model inside.

Example:
    >>> from dashboard.engine import Engine, LineZone, Tracks
    >>> engine = Engine(zones=[LineZone("door", (100, 240), (540, 240))])
"""
from .alerts import Alert, AlertKind, AlertMonitor
from .dwell import DwellTimer, Visit, dwell_summary
from .engine import Engine, FrameResult
from .flows import FlowTracker, Trip, movement
from .heatmap import HeatmapAccumulator, HeatmapConfig
from .tracks import Tracks
from .zones import (CrossingEvent, LineZone, PolygonZone, Zone, ZoneCounts, load_zones,
                    save_zones, zone_from_dict)

__all__ = ["Alert", "AlertKind", "AlertMonitor", "DwellTimer", "Visit", "dwell_summary", "Engine", "FrameResult",
           "FlowTracker", "Trip", "movement", "HeatmapAccumulator", "HeatmapConfig", "Tracks",
           "CrossingEvent", "LineZone", "PolygonZone", "Zone", "ZoneCounts", "load_zones",
           "save_zones", "zone_from_dict"]
