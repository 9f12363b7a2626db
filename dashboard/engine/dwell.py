"""Dwell time: how long each track stays inside a polygon zone, one `Visit` per stay.

A visit follows the zone's own confirmed side of each track (so the confirm frames and the
jitter rules of counting apply unchanged): it opens when a track is confirmed inside (at its
IN crossing, or when first seen inside) and closes when it is confirmed outside (at its OUT
crossing) or has been unseen for `VISIT_GAP_S` (closed when it was last seen). A track
hidden for a moment (an occlusion shorter than the gap) keeps one visit.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

VISIT_GAP_S = 3.0    # unseen this long, a visit ends (at its last sighting)
SHOWN_S = 1.0        # "inside now" lists tracks seen this recently


@dataclass(frozen=True)
class Visit:
    """One stay of one track in one zone; `left` is None while it goes on.

    Example:
        >>> Visit("shop", 7, "person", entered=10.0, left=42.5).seconds
        32.5
    """

    zone: str
    track_id: int
    cls_name: str
    entered: float
    left: float | None = None

    @property
    def seconds(self) -> float:
        return 0.0 if self.left is None else max(0.0, self.left - self.entered)

    def to_dict(self, now: float | None = None) -> dict[str, Any]:
        """JSON form; an open visit's `seconds` runs to `now`."""
        end = self.left if self.left is not None else now
        return {"zone": self.zone, "track_id": self.track_id, "class": self.cls_name,
                "entered": self.entered, "left": self.left,
                "seconds": round(max(0.0, (end or self.entered) - self.entered), 3)}


@dataclass
class _Open:
    entered: float
    seen: float
    cls_name: str


class DwellTimer:
    """Open visits of one zone; `update` after each `Zone.trigger` returns those that ended.

    `side_of(track id)` gives (confirmed side, last seen, class) as the zone keeps them, or
    None for a track it forgot.

    Example:
        >>> d = DwellTimer("shop")
        >>> d.update({1: (1, 0.0, "person")}.get, [1], {}, 0.0)
        []
        >>> [v.seconds for v in d.update({1: (-1, 5.0, "person")}.get, [1], {1: 5.0}, 5.0)]
        [5.0]
    """

    def __init__(self, zone: str) -> None:
        self.zone = zone
        self.open: dict[int, _Open] = {}

    def update(self, side_of: Callable[[int], tuple[int, float, str] | None],
               seen: Iterable[int], crossed_at: Mapping[int, float], t: float) -> list[Visit]:
        """Open visits for tracks `seen` now and confirmed inside; close those confirmed
        outside, forgotten by the zone or unseen past the gap. `crossed_at` holds this
        update's IN/OUT crossing times by track (a visit starts or ends exactly there)."""
        for tid in seen:
            st = side_of(tid)
            if st is not None and st[0] > 0 and tid not in self.open:
                self.open[tid] = _Open(crossed_at.get(tid, t), st[1], st[2])
        ended = []
        for tid, v in list(self.open.items()):
            st = side_of(tid)
            if st is not None:
                v.seen, v.cls_name = st[1], st[2]
            if st is None or st[0] < 0 or t - v.seen >= VISIT_GAP_S:
                left = crossed_at.get(tid, v.seen) if st is not None and st[0] < 0 else v.seen
                ended.append(Visit(self.zone, tid, v.cls_name, v.entered, max(left, v.entered)))
                del self.open[tid]
        return ended

    def inside(self, t: float) -> list[Visit]:
        """Visits going on now (tracks seen within `SHOWN_S`), longest first.

        Example:
            >>> d = DwellTimer("shop"); _ = d.update({4: (1, 2.0, "car")}.get, [4], {}, 2.0)
            >>> [(v.track_id, v.entered) for v in d.inside(2.5)]
            [(4, 2.0)]
        """
        now = [Visit(self.zone, tid, v.cls_name, v.entered) for tid, v in self.open.items()
               if t - v.seen < SHOWN_S]
        return sorted(now, key=lambda v: v.entered)

    def close_all(self) -> list[Visit]:
        """End every open visit at its last sighting (the zone is removed, or a reset)."""
        ended = [Visit(self.zone, tid, v.cls_name, v.entered, v.seen)
                 for tid, v in self.open.items()]
        self.open.clear()
        return ended


def dwell_summary(visits: Iterable[Visit]) -> dict[str, Any]:
    """Visits, average and longest seconds of finished visits.

    Example:
        >>> dwell_summary([Visit("a", 1, "p", 0, 4), Visit("a", 2, "p", 0, 8)])
        {'visits': 2, 'average_s': 6.0, 'longest_s': 8.0}
    """
    secs = [float(v.seconds) for v in visits if v.left is not None]
    if not secs:
        return {"visits": 0, "average_s": None, "longest_s": None}
    return {"visits": len(secs), "average_s": round(sum(secs) / len(secs), 3),
            "longest_s": round(max(secs), 3)}
