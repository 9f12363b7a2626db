"""An accuracy audit: the crossings a person marked on recorded video against those the
product counted, matched by zone, direction and time.

A mark and a counted crossing of the same zone and direction at most `within_s` apart are
one crossing, counted right (each used once, the nearest first). A mark left over is a
crossing the product missed; a counted one left over is extra. Per zone and direction, and
in all: accuracy = right / (right + missed + extra), with a 95% Wilson interval, so "96%
(n=52)" says how sure it is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

WITHIN_S = 1.0   # a mark and a count this close (same zone, same direction) are one


@dataclass(frozen=True)
class Mark:
    """One crossing, as a person saw it or the product counted it.

    Example:
        >>> Mark(12.4, "door", "in", "person").direction
        'in'
    """

    t: float
    zone: str
    direction: str
    cls: str = ""


@dataclass(frozen=True)
class Tally:
    """Right, missed and extra of one zone and direction (or all), and what they make."""

    right: int = 0
    missed: int = 0
    extra: int = 0

    @property
    def n(self) -> int:
        return self.right + self.missed + self.extra

    @property
    def accuracy(self) -> float | None:
        return None if not self.n else self.right / self.n

    def to_dict(self) -> dict:
        lo, hi = wilson(self.right, self.n)
        return {"right": self.right, "missed": self.missed, "extra": self.extra, "n": self.n,
                "accuracy": None if self.accuracy is None else round(self.accuracy, 4),
                "low": lo, "high": hi}


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float | None, float | None]:
    """The 95% Wilson score interval of k successes in n.

    Example:
        >>> wilson(50, 52)
        (0.8702, 0.9894)
    """
    if n <= 0:
        return None, None
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def match(marks: list[Mark], counted: list[Mark], within_s: float = WITHIN_S
          ) -> tuple[list[tuple[Mark, Mark]], list[Mark], list[Mark]]:
    """(pairs of (mark, counted), marks missed, counted extra): the closest pairs first.

    Example:
        >>> pairs, missed, extra = match([Mark(1.0, "door", "in"), Mark(5.0, "door", "in")],
        ...                              [Mark(1.3, "door", "in"), Mark(9.0, "door", "out")])
        >>> len(pairs), [m.t for m in missed], [c.t for c in extra]
        (1, [5.0], [9.0])
    """
    options = sorted((abs(m.t - c.t), i, j) for i, m in enumerate(marks)
                     for j, c in enumerate(counted)
                     if m.zone == c.zone and m.direction == c.direction
                     and abs(m.t - c.t) <= within_s)
    used_m, used_c, pairs = set(), set(), []
    for _, i, j in options:
        if i not in used_m and j not in used_c:
            used_m.add(i)
            used_c.add(j)
            pairs.append((marks[i], counted[j]))
    missed = [m for i, m in enumerate(marks) if i not in used_m]
    extra = [c for j, c in enumerate(counted) if j not in used_c]
    return sorted(pairs, key=lambda p: p[0].t), missed, extra


def tallies(marks: list[Mark], counted: list[Mark], within_s: float = WITHIN_S
            ) -> dict[tuple[str, str] | str, Tally]:
    """Per (zone, direction), and "all": right, missed and extra.

    Example:
        >>> t = tallies([Mark(1.0, "door", "in")], [Mark(1.2, "door", "in"), Mark(3.0, "door", "in")])
        >>> t["all"].to_dict()["accuracy"], t[("door", "in")].extra
        (0.5, 1)
    """
    pairs, missed, extra = match(marks, counted, within_s)
    keys = {(m.zone, m.direction) for m in [*marks, *counted]}
    out: dict[tuple[str, str] | str, Tally] = {}
    for key in sorted(keys):
        out[key] = Tally(sum((m.zone, m.direction) == key for m, _ in pairs),
                         sum((m.zone, m.direction) == key for m in missed),
                         sum((c.zone, c.direction) == key for c in extra))
    out["all"] = Tally(len(pairs), len(missed), len(extra))
    return out
