"""A camera's alerts: which zone is over its limit or crossed the wrong way, said in the log
(quietly), kept for the page and sent to the integrations."""
from __future__ import annotations

import logging
import math
import time
from collections import deque
from typing import Any

from dashboard.config.camera import Camera
from dashboard.config.kinds import ZoneId, ZoneKind
from dashboard.config.zone import ZoneSpec
from dashboard.engine import Alert, AlertMonitor
from dashboard.engine.zones import CrossingEvent, ZoneCounts
from dashboard.integrations.core import Integrations

log = logging.getLogger(__name__)

ALERT_LOG_S = 60.0


class QuietLog:
    """WARNING lines that say one kind of thing at most once per `every_s`, then how many
    more there were (one line per wrong-way crossing filled a log with 374 in 3.5 minutes;
    every alert is still stored, shown and sent).

    Example:
        >>> import logging
        >>> q = QuietLog(logging.getLogger("doc"), 60.0)
        >>> [q.say("door", "wrong way") for _ in range(3)]
        [True, False, False]
    """

    def __init__(self, logger: logging.Logger, every_s: float) -> None:
        self.logger, self.every_s = logger, every_s
        self._said: dict[str, tuple[float, int]] = {}

    def say(self, kind: str, text: str) -> bool:
        """Log `text` unless this kind was said within `every_s`; whether it was."""
        now = time.monotonic()
        last, held = self._said.get(kind, (-math.inf, 0))
        if now - last < self.every_s:
            self._said[kind] = (last, held + 1)
            return False
        if held:
            text += f" (and {held} more like it in the last {now - last:.0f} s)"
        self.logger.warning("%s", text)
        self._said[kind] = (now, 0)
        return True


class CameraAlerts:
    """One camera's alert changes, from each zone's limit and wrong way.

    Example:
        >>> from dashboard.config.zone import ZoneSpec
        >>> door = ZoneSpec.create("door", "polygon", [[0, 0], [1, 0], [1, 1]], limit=1)
        >>> a = CameraAlerts()
        >>> [x.peak for x in a.check("Shop", {door.id: door},
        ...                          {door.id: ZoneCounts(occupancy=2)}, [], 1.0)]
        [2]
    """

    def __init__(self) -> None:
        self.monitor = AlertMonitor()
        self._said = QuietLog(log, ALERT_LOG_S)   # in the log: each kind once a minute
        self._recent: deque[Alert] = deque(maxlen=100)   # the newest changes

    @property
    def active(self) -> tuple[Alert, ...]:
        return tuple(self.monitor.active.values())

    def check(self, camera: str, specs: dict[ZoneId, ZoneSpec], counts: dict[str, ZoneCounts],
              events: list[CrossingEvent], t: float) -> list[Alert]:
        """This frame's alert changes (said in the log, kept for `recent`)."""
        values = {}
        for spec in specs.values():
            c = counts.get(spec.id)
            if spec.kind.counts and c is not None:
                value = c.occupancy if spec.kind is ZoneKind.POLYGON else c.net
                values[spec.id] = (value or 0, spec.limit)
        wrong = {s.id for s in specs.values() if s.wrong_way}
        before = {a.id for a in self.monitor.active.values()}
        changed = self.monitor.update(values, events, wrong, t)
        for a in changed:
            if a.id in before and a.active:
                continue   # a new peak: the start was said
            spec = specs.get(ZoneId(a.zone))
            what = (f"track {a.track_id} crossed the wrong way" if a.limit is None else
                    f"{a.peak} over its limit of {a.limit}" if a.active else
                    f"back under its limit of {a.limit} (peak {a.peak})")
            self._said.say(f"{a.zone} {a.limit is None}",
                           f"camera {camera}: alert: zone {spec.name if spec else a.zone}: "
                           f"{what}")
        self._recent.extend(changed)
        return changed

    def end(self, t: float) -> list[Alert]:
        """The run ended: occupancy alerts end now (who is there is no longer known)."""
        ended = self.monitor.update({}, [], set(), t)
        self._recent.extend(ended)
        return ended

    def recent(self, n: int = 20) -> list[Alert]:
        """The newest alert changes of this process, newest first (one line per alert)."""
        seen, out = set(), []
        for a in reversed(self._recent):
            if a.id not in seen:
                seen.add(a.id)
                out.append(a)
        return out[:n]


def tell(integrations: Integrations | None, camera: Camera, specs: dict[ZoneId, ZoneSpec],
         alerts: list[Alert], counts: dict[str, ZoneCounts]) -> None:
    """Alerts to the webhook and MQTT, and counts to MQTT when they changed (nothing when
    no integration is set)."""
    if integrations is None or not integrations.active:
        return
    cam: dict[str, Any] = {"id": camera.id, "name": camera.name}
    names = {s.id: s.name for s in specs.values()}
    for a in alerts:
        integrations.alert(cam, {**a.to_dict(), "zone_id": a.zone,
                                 "zone": names.get(ZoneId(a.zone), a.zone)})
    integrations.counts(cam, [{"id": zid, "name": names.get(ZoneId(zid), zid), **c.to_dict()}
                              for zid, c in counts.items()])
