"""Tracking: ultralytics' trackers over our own boxes, non-maximum suppression, and class
groups (a model's several classes counted as one, e.g. Normal and Fall as person)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from dashboard.engine.tracks import Tracks
from dashboard.errors import DashboardError

log = logging.getLogger(__name__)


def builtin_trackers() -> list[str]:
    """The tracker configs ultralytics ships, e.g. "bytetrack.yaml".

    Example:
        >>> "bytetrack.yaml" in builtin_trackers()
        True
    """
    import ultralytics

    folder = Path(ultralytics.__file__).parent / "cfg" / "trackers"
    return sorted(p.name for p in folder.glob("*.yaml"))


def nms(xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes kept by non-maximum suppression within each class, best first.

    Example:
        >>> b = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [1, 0, 11, 10]], np.float32)
        >>> nms(b, np.array([.9, .8, .7], np.float32), np.array([0, 0, 1]), 0.5).tolist()
        [0, 2]
    """
    import cv2

    if not len(conf):
        return np.zeros(0, int)
    idx = cv2.dnn.NMSBoxesBatched(np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]),
                                  conf, np.asarray(cls, np.int32), 0.0, iou)
    return np.asarray(idx, dtype=int).reshape(-1)


def make_tracker(tracker: str) -> Any:
    """ultralytics' ByteTrack or BoT-SORT (without ReID) from its yaml, to feed boxes to."""
    from ultralytics.trackers.track import TRACKER_MAP
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.utils.checks import check_yaml

    cfg = IterableSimpleNamespace(**YAML.load(check_yaml(tracker)))
    if cfg.tracker_type not in ("bytetrack", "botsort") or getattr(cfg, "with_reid", False):
        raise ValueError(f"tracker {tracker} needs ultralytics' predictor")
    return TRACKER_MAP[cfg.tracker_type](args=cfg)


def track_boxes(tracker: Any, img: np.ndarray, xyxy: np.ndarray, conf: np.ndarray,
                cls: np.ndarray, names: dict[int, str]) -> Tracks:
    """One frame's boxes through `tracker`: this frame's `Tracks`."""
    from ultralytics.engine.results import Boxes

    boxes = Boxes(np.column_stack([xyxy, conf, cls]).astype(np.float32), img.shape[:2])
    out = tracker.update(boxes, img)
    if not len(out):
        return Tracks.empty(names)
    return Tracks(xyxy=out[:, :4], ids=out[:, 4], cls=out[:, 6], conf=out[:, 5], names=names)


class ClassGroups:
    """Several model classes counted as one: {"person": ["Normal", "Fall"]} makes one class
    "person" of a model's "Normal" and "Fall", and overlapping boxes of the group are
    suppressed together (class-agnostic within the group), so one object is one box and
    one track whatever the model says it is doing. Classes in no group keep their names.

    Example:
        >>> g = ClassGroups({"person": ["Normal", "Fall"]}, {0: "Normal", 1: "Fall", 2: "car"})
        >>> g.names
        {0: 'person', 1: 'car'}
        >>> xyxy = np.array([[0, 0, 10, 20], [1, 0, 11, 20], [50, 50, 60, 60]], np.float32)
        >>> _, conf, cls = g.apply(xyxy, np.array([.9, .8, .7]), np.array([0, 1, 2]), 0.7)
        >>> conf.tolist(), cls.tolist()
        ([0.9, 0.7], [0.0, 1.0])
    """

    def __init__(self, groups: dict[str, Sequence[str]], names: dict[int, str]) -> None:
        by_name = {v.lower(): k for k, v in names.items()}
        lut = np.full(max(names) + 1, -1, np.int64)
        self.names: dict[int, str] = {}
        self.members: dict[str, list[int]] = {}
        for group, classes in groups.items():
            gid = len(self.names)
            self.names[gid] = group
            self.members[group] = []
            for c in classes:
                k = int(c) if str(c).isdigit() else by_name.get(str(c).lower())
                if k is None or k not in names:
                    raise DashboardError(f"Class group {group!r}: the model has no class "
                                         f"{c!r}; it has {', '.join(names.values())}.")
                if lut[k] != -1:
                    raise DashboardError(f"Class {names[k]!r} is in two class groups.")
                lut[k] = gid
                self.members[group].append(k)
        for k, name in sorted(names.items()):
            if lut[k] == -1:
                if name.lower() in (g.lower() for g in groups):
                    raise DashboardError(f"Class group {name!r} has the name of a model class "
                                         "it does not hold: name the group otherwise.")
                lut[k] = len(self.names)
                self.names[int(lut[k])] = name
        self.lut = lut

    def apply(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray, iou: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes with their classes mapped to groups and overlaps within a group removed."""
        if not len(conf):
            return xyxy, conf, cls
        g = self.lut[np.asarray(cls, np.int64)]
        xyxy = np.asarray(xyxy, np.float32)
        idx = nms(xyxy, np.asarray(conf, np.float32), g, iou)
        return xyxy[idx], np.asarray(conf)[idx], g[idx].astype(np.float32)
