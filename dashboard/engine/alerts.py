"""Alerts: a zone over its limit, or a line crossed the wrong way.

An occupancy alert starts on the first update whose value passes the limit, keeps its peak,
and ends once the value has stayed at or under the limit for `CLEAR_S` (ended when it
first came back under), so one person stepping in and out of view makes one alert, not
ten. A wrong-way alert is one OUT crossing of a line that allows only IN; it starts and
ends at that crossing. Each change of an alert (start, new peak, end) is returned as the
whole `Alert`, with an id fixed at its start, so writing it twice is harmless.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Any, Iterable

from .zones import CrossingEvent

CLEAR_S = 2.0   # at or under the limit this long, an occupancy alert ends


class AlertKind(str, Enum):
    OCCUPANCY = "occupancy"
    WRONG_WAY = "wrong_way"


@dataclass(frozen=True)
class Alert:
    """One alert of one zone; `ended` is None while it lasts.

    Example:
        >>> Alert.begin("shop", AlertKind.OCCUPANCY, 12.5, peak=4, limit=3).id
        'shop:occupancy:12500'
    """

    id: str
    zone: str
    kind: AlertKind
    started: float
    ended: float | None
    peak: int
    limit: int | None = None
    track_id: int | None = None

    @classmethod
    def begin(cls, zone: str, kind: AlertKind, t: float, peak: int, limit: int | None = None,
              track_id: int | None = None) -> "Alert":
        return cls(f"{zone}:{kind.value}:{round(t * 1000)}", zone, kind, t, None, peak, limit,
                   track_id)

    @property
    def active(self) -> bool:
        return self.ended is None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "zone": self.zone, "kind": self.kind.value,
                "started": self.started, "ended": self.ended, "peak": self.peak,
                "limit": self.limit, "track_id": self.track_id}


class AlertMonitor:
    """Turns each update's zone values and crossings into alert changes.

    Example:
        >>> m = AlertMonitor()
        >>> [a.peak for a in m.update({"shop": (5, 3)}, [], set(), 0.0)]
        [5]
        >>> m.update({"shop": (2, 3)}, [], set(), 1.0), m.update({"shop": (2, 3)}, [], set(), 3.0)[0].ended
        ([], 1.0)
    """

    def __init__(self) -> None:
        self.active: dict[str, Alert] = {}          # zone -> its occupancy alert
        self._under_since: dict[str, float] = {}

    def update(self, values: dict[str, tuple[int, int | None]],
               events: Iterable[CrossingEvent], wrong_way: set[str], t: float) -> list[Alert]:
        """`values`: zone -> (value now, limit or None); `wrong_way`: lines where an OUT
        crossing is an alert. Returns the alerts that started, peaked or ended."""
        changed = [Alert.begin(e.zone, AlertKind.WRONG_WAY, e.t, 1, track_id=e.track_id)
                   for e in events if e.zone in wrong_way and e.direction == "out"]
        changed = [replace(a, ended=a.started) for a in changed]
        for zone, (value, limit) in values.items():
            alert = self.active.get(zone)
            if alert is None:
                if limit is not None and value > limit:
                    self.active[zone] = Alert.begin(zone, AlertKind.OCCUPANCY, t, value, limit)
                    changed.append(self.active[zone])
                continue
            if limit is None or value <= limit:
                since = self._under_since.setdefault(zone, t)
                if limit is None or t - since >= CLEAR_S:
                    changed.append(replace(alert, ended=since))
                    del self.active[zone]
                    self._under_since.pop(zone, None)
                continue
            self._under_since.pop(zone, None)
            if value > alert.peak:
                self.active[zone] = replace(alert, peak=value, limit=limit)
                changed.append(self.active[zone])
        for zone in set(self.active) - set(values):   # the zone is gone
            changed.append(replace(self.active.pop(zone), ended=t))
            self._under_since.pop(zone, None)
        return changed
