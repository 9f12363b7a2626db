"""Alert use cases: a camera's alerts, the board of every camera's (going on first), and
acknowledging one (who, when, a note: stored, in the API and on the pages)."""
from __future__ import annotations

import time
from typing import Any

from dashboard.config.fields import checked_text
from dashboard.config.kinds import CameraId
from dashboard.errors import NotFound
from dashboard.service.access import needs
from dashboard.service.auth import Role

BOARD_S = 3600.0   # ended alerts stay on the board this long unless acknowledged
NOTE_MAX = 500


class AlertCases:
    """The alerts part of `Service`."""

    @needs(Role.VIEWER)
    def alerts(self, cid: str, since: float | None = None, limit: int = 100
               ) -> list[dict[str, Any]]:
        """Alerts going on now and those started since `since`, newest first, each with who
        acknowledged it (`ack`: by, at, note; or None)."""
        self.camera(cid)
        found = self.store.alerts(CameraId(cid), since, max(1, min(int(limit), 10_000)))
        return self._shown(cid, found)

    @needs(Role.VIEWER)
    def recent_alerts(self, cid: str, n: int = 10) -> list[dict[str, Any]]:
        """The newest alerts of this run, newest first (from memory, for the page)."""
        return self._shown(cid, self.runner(cid).recent_alerts(n))

    @needs(Role.VIEWER)
    def alert_board(self) -> list[dict[str, Any]]:
        """Every camera's alerts that want attention: going on, or ended within the last
        hour and not acknowledged; those going on first, then the newest.

        Example:
            >>> import tempfile
            >>> from dashboard.service.core import Service, Path
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> svc.alert_board()
            []
            >>> svc.shutdown()
        """
        board = []
        for cam in self.cameras():
            recent = self.store.alerts(cam.id, time.time() - BOARD_S, 100)
            board += [{**a, "camera_id": cam.id, "camera": cam.name}
                      for a in self._shown(cam.id, recent)
                      if a["active"] or a["ack"] is None]
        return sorted(board, key=lambda a: (not a["active"], -a["started"]))

    @needs(Role.OPERATOR, acting=True)
    def acknowledge(self, cid: str, alert_id: str, note: Any = "", by: str = "system"
                    ) -> dict[str, Any]:
        """Say an alert has been seen to: by whom (the acting user), when, and a note."""
        self.camera(cid)
        if self.store.alert(CameraId(cid), str(alert_id)) is None:
            raise NotFound(f"Camera {cid!r} has no alert {alert_id!r}.")
        note = checked_text(note, "A note", NOTE_MAX, empty=True)
        at = self.store.acknowledge(CameraId(cid), str(alert_id), by, note)
        return {"by": by, "at": at, "note": note}

    def _shown(self, cid: str, found: list) -> list[dict[str, Any]]:
        from dashboard.engine.zones import CrossingEvent

        names = self._names(cid)
        acks = self.store.acks(CameraId(cid), [a.id for a in found])
        # A wrong way is one crossing (OUT, at the alert's start): its picture, if kept.
        crossing = {a.id: CrossingEvent(a.started, a.zone, a.track_id, "", "out")
                    for a in found if a.track_id is not None}
        pictured = self.store.with_evidence(CameraId(cid), crossing.values())
        return [{**a.to_dict(), "zone_id": a.zone, "zone": names.get(a.zone, a.zone),
                 "active": a.active,
                 "evidence": a.id in crossing and (a.zone, a.track_id, a.started, "out")
                 in pictured,
                 "ack": None if a.id not in acks else dict(zip(("by", "at", "note"),
                                                               acks[a.id]))}
                for a in found]
