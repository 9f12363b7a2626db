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
4. A person on (or walking) a bicycle or motorcycle is one rider (`Riders`): the two boxes
   become one, their union, of class "cyclist" or "motorcyclist", so an operator counts one
   cyclist where the detector sees a person and a bicycle.
5. Two tracks over one object (`Twins`), after the tracker: what rules 1 and 2 leave (two
   boxes of a family overlapping less than `iou`, or taking turns) can still be two tracks
   that move together. A track whose box overlaps an older track's box of its family by
   `TWIN_IOU` or more while the two are called different classes (a car, and a truck over
   it), or lies `inside` within it (a part), is that track's twin from then on: while the older is there, the twin
   is left out of what is counted (zones, heat, flows); when the older is lost, the twin
   goes on under the older's id (the same path, no new count). Once their overlap falls
   under `TWIN_APART` (and no half of either lies within the other), they are two objects
   again and the twin shows under its own id; as the zones keep each track's side, a
   crossing it made while left out still counts when it is seen on the other side. Two
   boxes of one class overlapping are left as they are: two people walking one behind the
   other are two people.
"""
from __future__ import annotations

from collections import Counter, OrderedDict
from typing import Sequence

import numpy as np

from dashboard.engine.tracks import Tracks
from dashboard.vision.tracking import nms

FAMILIES: tuple[tuple[str, ...], ...] = (("car", "truck", "bus", "van"),)
RIDERS = {"bicycle": "cyclist", "motorcycle": "motorcyclist"}   # what is ridden -> its rider
RIDE_OVERLAP = 0.3   # of the smaller box within the other: a person and the vehicle they ride
IOU = 0.7          # as ultralytics' NMS: boxes of one family overlapping this much are one
INSIDE = 0.9       # this much of a box within a larger one of its family: a part of it
TWIN_IOU, TWIN_APART = 0.5, 0.3   # rule 5: this much overlap makes a twin, under this apart


def family_lut(names: dict[int, str], families: Sequence[Sequence[str]] = FAMILIES
               ) -> np.ndarray:
    """Each class index's family id; a class in no family is one of its own.

    Example:
        >>> family_lut({0: "person", 1: "car", 2: "truck"}).tolist()
        [1, 0, 0]
    """
    family_of = {c.lower(): i for i, fam in enumerate(families) for c in fam}
    size = max(names) + 1 if names else 1
    return np.array([family_of.get(names.get(k, "").lower(), len(families) + k)
                     for k in range(size)], np.int64)


def inside_matrix(xyxy: np.ndarray) -> np.ndarray:
    """[i, j]: the share of box i that lies within box j.

    Example:
        >>> inside_matrix(np.array([[0, 0, 10, 10], [0, 0, 5, 10]], np.float32))[1, 0]
        np.float32(1.0)
    """
    area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    lo = np.maximum(xyxy[:, None, :2], xyxy[None, :, :2])
    hi = np.minimum(xyxy[:, None, 2:], xyxy[None, :, 2:])
    return np.clip(hi - lo, 0, None).prod(axis=2) / np.maximum(area[:, None], 1e-6)


def iou_matrix(xyxy: np.ndarray) -> np.ndarray:
    """Every pair's intersection over union.

    Example:
        >>> iou_matrix(np.array([[0, 0, 10, 10], [5, 0, 15, 10]], np.float32))[0, 1].round(3)
        np.float32(0.333)
    """
    area = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    inter = inside_matrix(xyxy) * area[:, None]
    return inter / np.maximum(area[:, None] + area[None, :] - inter, 1e-6)


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
        self.lut = family_lut(names, families)
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
        within = inside_matrix(xyxy) >= self.inside                 # [i, j]: i within j
        larger = area[None, :] > area[:, None]
        same = fam[:, None] == fam[None, :]
        return (within & larger & same).any(axis=1)


class Riders:
    """A person and the bicycle or motorcycle they ride (their boxes overlap by
    `RIDE_OVERLAP` of the smaller, the vehicle's centre under the person's box and not above
    its middle) become one box of class "cyclist" or "motorcyclist" (rule 4 above), each
    person and each vehicle in one pair at most, the closest pairs first. `names` gains the
    rider classes the model's classes allow.

    Example:
        >>> r = Riders({0: "person", 1: "bicycle"})
        >>> xyxy = np.array([[10, 0, 50, 100], [5, 50, 55, 110], [200, 0, 240, 100]],
        ...                 np.float32)                      # a rider, a bicycle; a walker
        >>> out, conf, cls = r.apply(xyxy, np.array([.9, .8, .7]), np.array([0, 1, 0]))
        >>> out.tolist(), [r.names[int(c)] for c in cls]
        ([[5.0, 0.0, 55.0, 110.0], [200.0, 0.0, 240.0, 100.0]], ['cyclist', 'person'])
    """

    def __init__(self, names: dict[int, str]) -> None:
        by_name = {v.lower(): k for k, v in names.items()}
        self.names = dict(names)
        self.person = by_name.get("person")
        self.rides: dict[int, int] = {}                      # vehicle class -> rider class
        for vehicle, rider in RIDERS.items():
            if self.person is not None and vehicle in by_name:
                rid = by_name.get(rider)
                if rid is None:
                    rid = max(self.names) + 1
                    self.names[rid] = rider
                self.rides[by_name[vehicle]] = rid

    def apply(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The boxes with each rider's person and vehicle made one."""
        cls = np.asarray(cls, np.int64)
        people = np.flatnonzero(cls == self.person) if self.rides else np.zeros(0, int)
        vehicles = np.flatnonzero(np.isin(cls, list(self.rides)))
        if not len(people) or not len(vehicles):
            return xyxy, conf, cls.astype(np.float32)
        xyxy, conf = np.asarray(xyxy, np.float32), np.asarray(conf, np.float32)
        pairs = sorted(((self._overlap(xyxy[p], xyxy[v]), p, v) for p in people
                        for v in vehicles), reverse=True)
        used, out = set(), []
        for score, p, v in pairs:
            if score < RIDE_OVERLAP or p in used or v in used:
                continue
            used |= {p, v}
            out.append((np.concatenate([np.minimum(xyxy[p, :2], xyxy[v, :2]),
                                        np.maximum(xyxy[p, 2:], xyxy[v, 2:])]),
                        max(conf[p], conf[v]), self.rides[int(cls[v])]))
        rest = [i for i in range(len(conf)) if i not in used]
        return (np.array([b for b, _, _ in out] + [xyxy[i] for i in rest], np.float32),
                np.array([c for _, c, _ in out] + [conf[i] for i in rest], np.float32),
                np.array([k for _, _, k in out] + [cls[i] for i in rest], np.float32))

    @staticmethod
    def _overlap(person: np.ndarray, vehicle: np.ndarray) -> float:
        """How much the smaller of the two boxes lies within the other, 0 where the vehicle
        is not where a ridden one is (its centre within the person's width, below the
        middle of the person's box)."""
        cx, cy = (vehicle[0] + vehicle[2]) / 2, (vehicle[1] + vehicle[3]) / 2
        if not (person[0] <= cx <= person[2]) or cy < (person[1] + person[3]) / 2:
            return 0.0
        lo, hi = np.maximum(person[:2], vehicle[:2]), np.minimum(person[2:], vehicle[2:])
        inter = float(np.clip(hi - lo, 0, None).prod())
        area = min(float((person[2:] - person[:2]).prod()),
                   float((vehicle[2:] - vehicle[:2]).prod()))
        return inter / max(area, 1e-6)


class Twins:
    """One track for one object, where the tracker made two (rule 5).

    Example:
        >>> twins = Twins({2: "car", 7: "truck"})
        >>> def frame(x, both=True):   # a car, and a truck box half a car's width behind it
        ...     rows = [[x, 0, x + 100, 50], [x + 30, 0, x + 130, 50]][0 if both else 1:]
        ...     return Tracks(rows, [1, 2][0 if both else 1:], [2, 7][0 if both else 1:],
        ...                   [.9, .8][0 if both else 1:], {2: "car", 7: "truck"})
        >>> [twins.apply(frame(x)).ids.tolist() for x in (0, 10)], twins.apply(frame(20, False)).ids.tolist()
        ([[1], [1]], [1])
    """

    def __init__(self, names: dict[int, str], families: Sequence[Sequence[str]] = FAMILIES
                 ) -> None:
        self.lut = family_lut(names, families)
        self._born: OrderedDict[int, int] = OrderedDict()   # track id -> frame first seen
        self._alias: dict[int, int] = {}                    # younger twin -> the older
        self._frame = 0

    def apply(self, tracks: Tracks) -> Tracks:
        self._frame += 1
        ids = [int(t) for t in tracks.ids.tolist()]
        for tid in ids:
            self._born.setdefault(tid, self._frame)
        while len(self._born) > 10_000:
            self._born.popitem(last=False)
        if not ids:
            self._alias = {}
            return tracks
        at = {tid: i for i, tid in enumerate(ids)}
        xyxy = np.asarray(tracks.xyxy, np.float32)
        iou, inside = iou_matrix(xyxy), inside_matrix(xyxy)
        inside = np.maximum(inside, inside.T)     # the smaller's share within the other
        cls = np.asarray(tracks.cls, np.int64)
        # A class the model does not have (a rider, made by rule 4) is a family of its own.
        fam = np.where(cls < len(self.lut), self.lut[np.clip(cls, 0, len(self.lut) - 1)],
                       len(self.lut) + cls)
        alias = {}
        for y, o in self._alias.items():          # twins so far: still together?
            if y in at and (o not in at or (fam[at[y]] == fam[at[o]] and (
                    iou[at[y], at[o]] >= TWIN_APART or inside[at[y], at[o]] >= 0.5))):
                alias[y] = o
        # New twins: one family but two classes at once (car and truck), or a part.
        twin = (fam[:, None] == fam[None, :]) & (
            ((iou >= TWIN_IOU) & (cls[:, None] != cls[None, :])) | (inside >= INSIDE))
        for i, j in zip(*np.nonzero(np.triu(twin, 1))):
            o, y = sorted((ids[i], ids[j]), key=lambda t: (self._born[t], t))
            if y not in alias and o not in alias:
                alias[y] = o
        self._alias = alias
        if not alias:
            return tracks
        keep = np.array([not (t in alias and alias[t] in at) for t in ids])
        out_ids = np.array([alias.get(t, t) for t in ids])   # the older's id goes on
        return Tracks(xyxy=tracks.xyxy[keep], ids=out_ids[keep], cls=tracks.cls[keep],
                      conf=tracks.conf[keep], names=tracks.names)

    def reset(self) -> None:
        self._born.clear()
        self._alias = {}


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


def box_f1(found: list[tuple], truth: list[tuple], iou: float = 0.5) -> float:
    """F1 of boxes against reference boxes, frame by frame (same class, IoU >= `iou`, each
    reference box matched once, best confidence first); 1.0 when both have none.

    Example:
        >>> a = [(np.array([[0, 0, 10, 10]], np.float32), np.array([0.9]), np.array([0.]))]
        >>> box_f1(a, a), box_f1(a, [(np.zeros((0, 4)), np.zeros(0), np.zeros(0))])
        (1.0, 0.0)
    """
    hit = n_found = n_truth = 0
    for (fb, _, fc), (tb, _, tc) in zip(found, truth):
        n_found, n_truth = n_found + len(fb), n_truth + len(tb)
        if not len(fb) or not len(tb):
            continue
        m = iou_matrix(np.vstack([fb, tb]).astype(np.float32))[:len(fb), len(fb):]
        m[np.asarray(fc)[:, None] != np.asarray(tc)[None, :]] = 0
        used: set[int] = set()
        for i in range(len(fb)):
            j = next((j for j in np.argsort(-m[i]) if j not in used and m[i, j] >= iou), None)
            if j is not None:
                used.add(int(j))
                hit += 1
    return 1.0 if n_found + n_truth == 0 else 2 * hit / (n_found + n_truth)
