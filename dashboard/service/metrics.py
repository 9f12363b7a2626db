"""Prometheus metrics: each camera's pace and counts, and the faults of the store and the
integrations, in the text exposition format (version 0.0.4), for a scraper that logs in
with an API token (`Authorization: Bearer`)."""
from __future__ import annotations

from typing import Any, Iterable

from dashboard.service.access import needs
from dashboard.service.auth import Role

PREFIX = "heatmap_dashboard_"
# name: (type, help); every metric is listed here once, with what it means.
METRICS = {
    "camera_live": ("gauge", "1 while the camera counts frames, else 0"),
    "frames_read_total": ("counter", "Frames the camera's source gave in this run"),
    "frames_dropped_total": ("counter", "Frames of a live source never counted in this run"),
    "frames_counted_total": ("counter", "Frames counted in this run"),
    "frame_age_seconds": ("gauge", "Age of the newest counted frame (a file: its lag)"),
    "processing_fps": ("gauge", "Frames counted a second"),
    "model_seconds": ("gauge", "Detector and tracker time a frame (smoothed)"),
    "falling_behind": ("gauge", "1 when the camera does not keep up with its source"),
    "crossings_total": ("counter", "Crossings of a zone by direction since the last Reset"),
    "occupancy": ("gauge", "Tracks inside an area now"),
    "store_fault": ("gauge", "1 while the database cannot be written"),
    "integrations_fault": ("gauge", "1 while the webhook or the MQTT broker fails"),
}


def label(value: Any) -> str:
    r"""A label value as the format wants it: backslash, double quote and newline escaped.

    Example:
        >>> label('say "hi"\nnow')
        'say \\"hi\\"\\nnow'
    """
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def exposition(samples: Iterable[tuple[str, dict[str, Any], float]]) -> str:
    """Samples (name, labels, value) as text, each metric's HELP and TYPE once, before it.

    Example:
        >>> print(exposition([("store_fault", {}, 0)]), end="")
        # HELP heatmap_dashboard_store_fault 1 while the database cannot be written
        # TYPE heatmap_dashboard_store_fault gauge
        heatmap_dashboard_store_fault 0
    """
    by_name: dict[str, list[str]] = {}
    for name, labels, value in samples:
        pairs = ",".join(f'{k}="{label(v)}"' for k, v in labels.items())
        by_name.setdefault(name, []).append(
            f"{PREFIX}{name}{'{' + pairs + '}' if pairs else ''} {float(value):g}")
    out = []
    for name, lines in by_name.items():
        kind, text = METRICS[name]
        out += [f"# HELP {PREFIX}{name} {text}", f"# TYPE {PREFIX}{name} {kind}", *lines]
    return "\n".join(out) + "\n"


class MetricsCases:
    """The metrics part of `Service`."""

    @needs(Role.VIEWER, audited=False)
    def metrics(self) -> str:
        """Every camera's figures and the server's faults, as Prometheus reads them."""
        samples: list[tuple[str, dict[str, Any], float]] = []
        for cam in self.cameras():
            s = self.status(cam.id)
            c = {"camera_id": cam.id, "camera": cam.name}
            samples += [("camera_live", c, s.state.value == "live"),
                        ("frames_read_total", c, s.frames_read),
                        ("frames_dropped_total", c, s.frames_dropped),
                        ("frames_counted_total", c, s.frames_done),
                        ("frame_age_seconds", c, s.frame_age_s),
                        ("processing_fps", c, s.processed_fps),
                        ("model_seconds", c, s.model_ms / 1000),
                        ("falling_behind", c, s.behind is not None)]
            for z in self.counts(cam.id):
                zc = {**c, "zone_id": z.id, "zone": z.name}
                samples += [("crossings_total", {**zc, "direction": "in"}, z.counts.in_count),
                            ("crossings_total", {**zc, "direction": "out"}, z.counts.out_count)]
                if z.counts.occupancy is not None:
                    samples.append(("occupancy", zc, z.counts.occupancy))
        samples += [("store_fault", {}, self.store_health() is not None),
                    ("integrations_fault", {}, self.integrations_health() is not None)]
        return exposition(samples)
