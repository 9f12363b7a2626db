"""`Tracks`: the one data type between the model and everything after it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

ANCHORS = ("center", "bottom_center")


def check_anchor(anchor: str) -> str:
    """Return `anchor` if it is a known anchor name, else raise ValueError.

    Example:
        >>> check_anchor("bottom_center")
        'bottom_center'
    """
    if anchor not in ANCHORS:
        raise ValueError(f"anchor must be one of {ANCHORS}, got {anchor!r}")
    return anchor


@dataclass
class Tracks:
    """Tracked boxes of one frame.

    Example:
        >>> t = Tracks(xyxy=np.array([[0, 0, 10, 20]]), ids=np.array([7]), cls=np.array([0]),
        ...            conf=np.array([0.9]), names={0: "person"})
        >>> len(t), t.anchors("bottom_center").tolist(), t.class_names()
        (1, [[5.0, 20.0]], ['person'])
    """

    xyxy: np.ndarray
    ids: np.ndarray
    cls: np.ndarray
    conf: np.ndarray
    names: Mapping[int, str] = field(default_factory=dict)
    # Anchors and class names, worked out once: every zone and the drawing ask for them.
    # Tracks are not changed after they are made.
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.xyxy = np.asarray(self.xyxy, dtype=np.float32).reshape(-1, 4)
        n = len(self.xyxy)
        self.ids = np.asarray(self.ids, dtype=np.int64).reshape(-1)
        self.cls = np.asarray(self.cls, dtype=np.int64).reshape(-1)
        self.conf = np.asarray(self.conf, dtype=np.float32).reshape(-1)
        if not (len(self.ids) == len(self.cls) == len(self.conf) == n):
            raise ValueError(
                f"Tracks arrays disagree in length: xyxy {n}, ids {len(self.ids)}, "
                f"cls {len(self.cls)}, conf {len(self.conf)}"
            )
        self.names = dict(self.names)

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls, names: Mapping[int, str] | None = None) -> "Tracks":
        """No tracks (a frame with nothing in it).

        Example:
            >>> len(Tracks.empty({0: "person"}))
            0
        """
        z = np.zeros(0)
        return cls(xyxy=np.zeros((0, 4)), ids=z, cls=z, conf=z, names=names or {})

    @classmethod
    def from_ultralytics(cls, results: Any) -> "Tracks":
        """Convert one ultralytics `Results` from `model.track(...)`; boxes without ids are dropped.

        Example:
            >>> r = model.track(frame, persist=True)[0]   # doctest: +SKIP
            >>> Tracks.from_ultralytics(r).ids            # doctest: +SKIP
            array([1, 2])
        """
        names = dict(getattr(results, "names", None) or {})
        boxes = getattr(results, "boxes", None)
        if boxes is None or boxes.id is None or len(boxes) == 0:
            return cls.empty(names)

        def arr(x: Any) -> np.ndarray:
            return x.cpu().numpy() if hasattr(x, "cpu") else np.asarray(x)

        return cls(xyxy=arr(boxes.xyxy), ids=arr(boxes.id), cls=arr(boxes.cls),
                   conf=arr(boxes.conf), names=names)

    def anchors(self, anchor: str = "center") -> np.ndarray:
        """(N, 2) float points: box centres, or bottom centres (feet) with "bottom_center"."""
        if anchor not in self._memo:
            x = (self.xyxy[:, 0] + self.xyxy[:, 2]) / 2
            if check_anchor(anchor) == "center":
                y = (self.xyxy[:, 1] + self.xyxy[:, 3]) / 2
            else:
                y = self.xyxy[:, 3]
            pts = np.stack([x, y], axis=1).astype(np.float64)
            pts.flags.writeable = False
            self._memo[anchor] = pts
        return self._memo[anchor]

    def class_names(self) -> list[str]:
        """The class name of each track (the id as text where `names` lacks it)."""
        if "names" not in self._memo:
            self._memo["names"] = [self.names.get(c, str(c)) for c in self.cls.tolist()]
        return list(self._memo["names"])

    def select(self, mask: np.ndarray) -> "Tracks":
        """The tracks where the boolean `mask` is true.

        Example:
            >>> t = Tracks([[0, 0, 1, 1], [2, 2, 3, 3]], [1, 2], [0, 1], [.5, .9], {0: "a", 1: "b"})
            >>> t.select(t.conf > 0.6).ids.tolist()
            [2]
        """
        return Tracks(self.xyxy[mask], self.ids[mask], self.cls[mask], self.conf[mask], self.names)
