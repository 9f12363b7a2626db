"""Scheduled reports: each camera's report of a day (beside the same day a week before) or
a week (beside the week before), once it is over, by mail and/or into a folder. Every
report to deliver is planned in the store first, then delivered from a thread of its own;
one that fails stays planned with its error (shown on the page and in the API) and is
tried again, a minute doubling to an hour apart, until it goes: none is lost to a mail
server that refuses, a full disk or a restart."""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from dashboard.config.env import time_zone
from dashboard.errors import DashboardError, NotFound
from dashboard.integrations.mail import Mailer
from dashboard.service.periods import (Compare, Interval, Period, day_period, pct_text,
                                       week_period)
from dashboard.store.deliveries import Delivery

log = logging.getLogger(__name__)

TICK_S = 30.0                          # how often it looks for reports due
RETRY_MIN_S, RETRY_MAX_S = 60.0, 3600.0
BACKFILL = {"daily": 7, "weekly": 2}   # periods planned at most, after a server was down
SINCE_KEY = "reports_since:{}"         # store meta: the first period each kind reports on
HOW = {"daily": (Interval.HOUR, Compare.LAST_WEEK), "weekly": (Interval.DAY, Compare.PREVIOUS)}


def last_periods(kind: str, now: float, n: int) -> list[Period]:
    """The `n` newest periods of a kind that are over at `now`, newest first.

    Example:
        >>> from zoneinfo import ZoneInfo
        >>> now = dt.datetime(2026, 12, 5, 10, tzinfo=ZoneInfo("UTC")).timestamp()
        >>> [p.label for p in last_periods("daily", now, 2)]   # doctest: +SKIP
        ['Fri 4 Dec 2026', 'Thu 3 Dec 2026']
    """
    tz = time_zone()
    today = dt.datetime.fromtimestamp(now, tz).date()
    if kind == "daily":
        return [day_period(today - dt.timedelta(days=k), tz) for k in range(1, n + 1)]
    return [week_period(today - dt.timedelta(days=7 * k), tz) for k in range(1, n + 1)]


def summary_text(r: dict[str, Any]) -> str:
    """A mail's body: the figures in words; the report itself is attached.

    Example:
        >>> r = {"camera": {"name": "Door"}, "period": {"label": "Fri 4 Dec 2026"},
        ...      "compared_with": {"label": "Fri 27 Nov 2026"}, "flows": [],
        ...      "zones": [{"zone": "door", "in": 12, "out": 10, "change_in_pct": 20.0,
        ...                 "change_out_pct": None}]}
        >>> summary_text(r).splitlines()[2]
        '  door: in 12 (+20.0%), out 10 (–)'
    """
    lines = [f"{r['camera']['name']}: {r['period']['label']}",
             f"Compared with {r['compared_with']['label']}:"]
    lines += [f"  {z['zone']}: in {z['in']} ({pct_text(z['change_in_pct'])}), out {z['out']} "
              f"({pct_text(z['change_out_pct'])})" for z in r["zones"]]
    lines += [f"  {f['origin']} -> {f['destination']}: {f['count']} trips "
              f"({pct_text(f['change_pct'])})" for f in r["flows"][:10]]
    return "\n".join(lines + ["", "The report, with its charts and heat, is attached."])


class ReportDelivery:
    """Plans and delivers the scheduled reports of a service (see the module's text).

    Example:
        >>> ReportDelivery(svc, {"kinds": ["daily"], "folder": Path("reports"), "to": [],
        ...                      "smtp_url": None, "sender": None, "cafile": None})  # doctest: +SKIP
    """

    def __init__(self, service: Any, settings: dict[str, Any]) -> None:
        self.svc, self.kinds, self.to = service, settings["kinds"], settings["to"]
        self.folder: Path | None = settings["folder"]
        self.mailer = Mailer(settings["smtp_url"], settings["sender"] or
                             f"heatmap-dashboard@{socket.gethostname()}",
                             settings["cafile"]) if settings["smtp_url"] and self.to else None
        self.targets = (["mail"] if self.mailer else []) + (["folder"] if self.folder else [])
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reports", daemon=True)

    def start(self) -> "ReportDelivery":
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:   # noqa: BLE001 - the schedule must outlive any one bad round
                log.exception("scheduled reports")
            self._stop.wait(TICK_S)

    def tick(self, now: float | None = None) -> int:
        """Plan what is due by `now`, then deliver what waits; returns how many went."""
        now = time.time() if now is None else now
        self.plan(now)
        return self.deliver(now)

    def plan(self, now: float) -> None:
        """Each camera's report of each period over since the schedule began (at most
        `BACKFILL` back), once per target."""
        store = self.svc.store
        for kind in self.kinds:
            periods = last_periods(kind, now, BACKFILL[kind])
            since = store.meta(SINCE_KEY.format(kind))
            if since is None:   # a new schedule starts with the period just over
                since = str(periods[0].start)
                store.set_meta(SINCE_KEY.format(kind), since)
            for p in (p for p in periods if p.start >= float(since)):
                for cam in self.svc.cameras():
                    for target in self.targets:
                        store.add_delivery(Delivery(
                            f"{kind}:{cam.id}:{int(p.start)}:{target}", cam.id, kind, target,
                            p.start, p.end, p.label, now, next_try=now))

    def deliver(self, now: float) -> int:
        done = 0
        for d in self.svc.store.due_deliveries(now):
            if self._stop.is_set() and threading.current_thread() is self._thread:
                break   # shutting down: the rest wait in the store for the next start
            try:
                self._send(d)
            except (DashboardError, OSError) as e:
                wait = min(RETRY_MAX_S, RETRY_MIN_S * 2 ** min(d.attempts, 12))
                self.svc.store.delivery_failed(d.id, str(e), now + wait)
                log.warning("report %s of %s (%s): %s; trying again in %.0f s", d.label,
                            d.camera_id, d.target, e, wait)
                continue
            self.svc.store.delivery_done(d.id, time.time())
            done += 1
        return done

    def _send(self, d: Delivery) -> None:
        try:
            cam = self.svc.camera(d.camera_id)
        except NotFound:
            return          # the camera was removed: nothing left to report
        period = Period(d.period_start, d.period_end, d.label)
        interval, compare = HOW[d.kind]
        report = self.svc.report(cam.id, period, interval, compare)
        html = self.svc.report_html(cam.id, period, interval, compare).encode()
        csv = self.svc.report_csv(cam.id, period, interval, compare).encode()
        day = dt.datetime.fromtimestamp(d.period_start, time_zone()).date().isoformat()
        name = f"{d.kind}-{day}"
        if d.target == "mail" and self.mailer is not None:
            self.mailer.send(self.to, f"{cam.name}: {d.label}", summary_text(report),
                             [(f"{name}.html", "text/html", html),
                              (f"{name}.csv", "text/csv", csv)])
        elif d.target == "folder" and self.folder is not None:
            folder = self.folder / "".join(c if c.isalnum() or c in "-_" else "_"
                                           for c in f"{cam.name}-{cam.id}")
            for suffix, data in ((".html", html), (".csv", csv)):
                _write_atomically(folder / f"{name}{suffix}", data)

    def status(self) -> dict[str, Any]:
        """Where reports go, and the newest deliveries: sent, or waiting with their error."""
        names = {c.id: c.name for c in self.svc.cameras()}
        return {"kinds": self.kinds, "to": self.to, "folder": str(self.folder or "") or None,
                "smtp": self.mailer.where if self.mailer else None,
                "deliveries": [{"camera_id": d.camera_id, "camera": names.get(d.camera_id),
                                "kind": d.kind, "target": d.target, "label": d.label,
                                "sent": d.sent, "attempts": d.attempts,
                                "error": d.last_error,
                                "next_try": None if d.sent else d.next_try}
                               for d in self.svc.store.deliveries(50)]}


def _write_atomically(path: Path, data: bytes) -> None:
    """The whole file or none (a full disk leaves no half report)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
