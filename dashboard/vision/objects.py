"""One object, one box, one class: what a detector says twice about one object is made one
before the tracker, and a track keeps the class it had most often.

A general detector puts two boxes on one object more often than it misses one: a car boxed
as car and as truck (NMS is per class, so both survive), a bicycle boxed whole and in part, a
person's full body and upper body. The tracker follows both, both cross, and one object is
counted twice (three of three false counts on real street footage with YOLOv8n). The rules:

1. Boxes of one family (car, truck, bus, van; any other class is a family of its own)
   overlapping by `iou` or more are one object: the most confident stays (class-agnostic
   NMS within the family).
2. A box lying `inside` or more within a larger box of its family is a part of that object
   and goes (a partial box). The cost: a smaller object of the same family mostly hidden
   behind a nearer one is dropped while hidden, as the detector usually drops it anyway.
3. A track's class is the class it was given most often so far (`ClassVotes`), not its last
   frame's: a car called truck for a few frames stays a car in the counts per class.
"""
from __future__ import annotations

from collections import Counter, OrderedDict
from typing import Sequence

import numpy as np

from dashboard.engine.tracks import Tracks
from dashboard.vision.tracking import nms

FAMILIES: tuple[tuple[str, ...], ...] = (("car", "truck", "bus", "van"),)
IOU = 0.7          # as ultralytics' NMS: boxes of one family overlapping this much are one
INSIDE = 0.9       # this much of a box within a larger one of its family: a part of it


class OneBox:
    """Makes each object one box before the tracker (rules 1 and 2 above).

    Example:
        >>> ob = OneBox({0: "person", 1: "car", 2: "truck"})
        >>> xyxy = np.array([[0, 0, 100, 50], [2, 0, 100, 52],     # a car, also a truck
        ...                  [200, 0, 240, 90], [205, 5, 235, 45]], np.float32)  # a body, a part
        >>> _, conf, cls = ob.apply(xyxy, np.array([.9, .8, .7, .6]), np.array([1, 2, 0, 0]))
        >>> [round(c, 2) for c in conf.tolist()], cls.tolist()   # the car and the whole body
        ([0.9, 0.7], [1.0, 0.0])
    """

    def __init__(self, names: dict[int, str], families: Sequence[Sequence[str]] = FAMILIES,
                 iou: float = IOU, inside: float = INSIDE) -> None:
        family_of = {c.lower(): i for i, fam in enumerate(families) for c in fam}
        size = max(names) + 1 if names else 1
        # Each class's family id; a class in no family is one of its own.
        self.lut = np.array([family_of.get(names.get(k, "").lower(), len(families) + k)
                             for k in range(size)], np.int64)
        self.iou, self.inside = iou, inside

    def apply(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The boxes left, one per object, with their own classes."""
        if not len(conf):
            return xyxy, conf, cls
        xyxy, conf = np.asarray(xyxy, np.float32), np.asarray(conf, np.float32)
        fam = self.lut[np.asarray(cls, np.int64)]
        keep = nms(xyxy, conf, fam, self.iou)
        keep = keep[~self._parts(xyxy[keep], fam[keep])]
        return xyxy[keep], conf[keep], np.asarray(cls, np.float32)[keep]

    def _parts(self, xyxy: np.ndarray, fam: np.ndarray) -> np.ndarray:
        """Which boxes lie mostly within a larger box of their family."""
        area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
        lo = np.maximum(xyxy[:, None, :2], xyxy[None, :, :2])
        hi = np.minimum(xyxy[:, None, 2:], xyxy[None, :, 2:])
        inter = np.clip(hi - lo, 0, None).prod(axis=2)            # [i, j]: i within j
        within = inter / np.maximum(area[:, None], 1e-6) >= self.inside
        larger = area[None, :] > area[:, None]
        same = fam[:, None] == fam[None, :]
        return (within & larger & same).any(axis=1)


class ClassVotes:
    """Each track's class: the one it was given most often so far (rule 3 above); a tie
    goes to the class given first. Remembers the `most` tracks seen last.

    Example:
        >>> votes = ClassVotes()
        >>> def frame(c):
        ...     return Tracks(xyxy=np.zeros((1, 4), np.float32), ids=np.array([7]),
        ...                   cls=np.array([c], np.float32), conf=np.ones(1, np.float32))
        >>> [int(votes.apply(frame(c)).cls[0]) for c in (2, 2, 7, 7, 7)]   # car, car, truck...
        [2, 2, 2, 2, 7]
    """

    def __init__(self, most: int = 10_000) -> None:
        self.most = most
        self._votes: OrderedDict[int, Counter] = OrderedDict()

    def apply(self, tracks: Tracks) -> Tracks:
        if not len(tracks):
            return tracks
        cls = np.asarray(tracks.cls, np.float32).copy()
        for i, (tid, c) in enumerate(zip(tracks.ids.tolist(), cls.tolist())):
            votes = self._votes.pop(int(tid), None) or Counter()
            votes[int(c)] += 1
            self._votes[int(tid)] = votes          # newest last: the oldest go first
            cls[i] = votes.most_common(1)[0][0]
        while len(self._votes) > self.most:
            self._votes.popitem(last=False)
        return Tracks(xyxy=tracks.xyxy, ids=tracks.ids, cls=cls, conf=tracks.conf,
                      names=tracks.names)

    def reset(self) -> None:
        self._votes.clear()
