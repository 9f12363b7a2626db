"""Reports: a camera's counts per zone and direction per 15 minutes, hour, day or week of a
period (any range, a day, a week), each beside the period it is compared with, with the
change in percent; its flows, dwell, peak occupancy and alerts; as data, CSV and HTML."""
from __future__ import annotations

import datetime as dt
import time
from collections import defaultdict
from typing import Any

from dashboard.config.camera import Camera
from dashboard.config.env import time_zone
from dashboard.config.kinds import BROWSER, CameraId, Pacing, ZoneKind
from dashboard.engine.flows import UNKNOWN
from dashboard.errors import DashboardError
from dashboard.service.access import needs
from dashboard.service.auth import Role
from dashboard.service.periods import (Compare, Interval, Period, bucket_end, bucket_start,
                                       buckets, change_pct, check_range, compared,
                                       day_period, week_period)
from dashboard.store.export import csv_text, iso
from dashboard.vision.address import is_webcam_index

LABELS = {Interval.QUARTER: "%H:%M", Interval.HOUR: "%H:%M", Interval.DAY: "%a %d %b",
          Interval.WEEK: "week of %d %b"}


def every_epoch(cam: Camera) -> bool:
    """Whether a camera's reports read the epochs before its last Reset too: yes for live
    sources (a Reset zeroes the counters, not what happened); no for a video file counted
    on its own time, which a Reset counts again from its start.

    Example:
        >>> from dashboard.config.camera import CameraSettings, Presentation
        >>> cam = Camera(CameraId("c"), "Door", "rtsp://cam/1", CameraSettings(), Presentation(), True)
        >>> every_epoch(cam)
        True
    """
    s = cam.source
    live = s == BROWSER or "://" in s or is_webcam_index(s)
    return live or cam.settings.loop or cam.settings.pacing is Pacing.LIVE


def chosen_period(day: str | None = None, week: str | None = None,
                  since: float | None = None, until: float | None = None) -> Period:
    """The period a report covers: a local day or the week holding a day (YYYY-MM-DD), or
    [since, until) in unix seconds (until: now); yesterday when nothing is given.

    Example:
        >>> chosen_period(day="2026-12-05").label
        'Sat 5 Dec 2026'
    """
    tz = time_zone()
    if day or week:
        try:
            date = dt.date.fromisoformat(day or week or "")
        except ValueError:
            raise DashboardError(f"A day is written YYYY-MM-DD, e.g. 2026-12-05; not "
                                 f"{day or week!r}.") from None
        period = day_period(date, tz) if day else week_period(date, tz)
    elif since is not None:
        end = time.time() if until is None else until
        check_range(since, end, time.time())
        a, b = (dt.datetime.fromtimestamp(t, tz) for t in (since, end))
        period = Period(since, end, f"{a:%a %d %b %Y %H:%M} - {b:%a %d %b %H:%M}")
    else:
        period = day_period(dt.datetime.now(tz).date() - dt.timedelta(days=1), tz)
    check_range(period.start, period.end, time.time())
    return period


class SummaryCases:
    """The reports part of `Service`."""

    @needs(Role.VIEWER)
    def report(self, cid: str, period: Period, interval: str | Interval = Interval.HOUR,
               compare: str | Compare = Compare.PREVIOUS) -> dict[str, Any]:
        """A camera's figures over `period` beside those of the period it is compared with.

        Example:
            >>> import tempfile
            >>> from dashboard.service.core import Service, Path
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> cam = svc.add_camera("Door", "demo", enabled=False)
            >>> r = svc.report(cam.id, chosen_period(day="2026-12-04"), "hour", "last_week")
            >>> r["compared_with"]["label"], len(r["series"])
            ('Fri 27 Nov 2026', 0)
            >>> svc.shutdown()
        """
        try:
            interval, compare = Interval(interval), Compare(compare)
        except ValueError as e:
            raise DashboardError(f"A report is per {', '.join(i.value for i in Interval)} "
                                 f"and compared with {', '.join(c.value for c in Compare)}: "
                                 f"{e}.") from None
        cam, tz = self.camera(cid), time_zone()
        before = compared(period, compare, tz)
        names = self._names(cid)
        now, then = self._figures(cam, period, names), self._figures(cam, before, names)
        zones = [z for z in self.zones(cid) if z.kind.counts]
        return {
            "camera": {"id": cam.id, "name": cam.name}, "time_zone": str(tz.key or "local"),
            "period": _period(period), "compared_with": _period(before),
            "interval": interval.value, "compare": compare.value,
            "zones": [_zone_row(z, now, then) for z in zones],
            "series": _series(period, before, interval, tz, now, then, names),
            "flows": _flows(now, then, names), "alerts": now["alerts"],
            "every_epoch": every_epoch(cam)}

    def _figures(self, cam: Camera, p: Period, names: dict[str, str]) -> dict[str, Any]:
        """What the store holds for one period, summed as a report shows it."""
        cid, every = CameraId(cam.id), every_epoch(cam)
        minutes = self.store.minute_counts(cid, p.start, p.end, every)
        totals: dict[tuple[str, str], int] = defaultdict(int)
        for _, z, _, d, n in minutes:
            totals[(z, d)] += n
        visits = self.store.period_visits(cid, p.start, p.end, every)
        alerts: dict[tuple[str, str], int] = defaultdict(int)
        for z, kind, _, _ in self.store.period_alerts(cid, p.start, p.end, every):
            alerts[(z, kind)] += 1
        return {"minutes": minutes, "totals": totals, "visits": visits,
                "trips": self.store.period_trips(cid, p.start, p.end, every),
                "alerts": [{"zone_id": z, "zone": names.get(z, z), "kind": k, "count": n}
                           for (z, k), n in sorted(alerts.items())]}

    @needs(Role.VIEWER)
    def report_csv(self, cid: str, period: Period, interval: str | Interval = Interval.HOUR,
                   compare: str | Compare = Compare.PREVIOUS) -> str:
        """One row per interval and zone: in and out, and the same for the compared one."""
        r = self.report(cid, period, interval, compare)
        return csv_text(["interval_start", "interval_end", "zone", "in", "out",
                         "compared_start", "compared_in", "compared_out", "change_pct"],
                        ([iso(s["start"]), iso(s["end"]), s["zone"], s["in"], s["out"],
                          "" if s["before_start"] is None else iso(s["before_start"]),
                          s["before_in"], s["before_out"],
                          "" if s["change_pct"] is None else s["change_pct"]]
                         for s in r["series"]))


    @needs(Role.VIEWER)
    def report_html(self, cid: str, period: Period, interval: str | Interval = Interval.HOUR,
                    compare: str | Compare = Compare.PREVIOUS) -> str:
        """The report as one HTML file: charts, tables and the heat of the period."""
        from dashboard.service.report_page import render_html

        return render_html(self.report(cid, period, interval, compare),
                           self.period_heat_png(cid, period))


    @needs(Role.OPERATOR)
    def report_schedule(self) -> dict[str, Any]:
        """Where scheduled reports go, and the newest deliveries (sent, or waiting with
        their error); no kinds when no schedule is set."""
        delivery = getattr(self, "delivery", None)
        return delivery.status() if delivery is not None else {"kinds": [], "deliveries": []}


def _period(p: Period) -> dict[str, Any]:
    return {"start": p.start, "end": p.end, "label": p.label}


def _zone_row(z: Any, now: dict, then: dict) -> dict[str, Any]:
    i, o = now["totals"].get((z.id, "in"), 0), now["totals"].get((z.id, "out"), 0)
    bi, bo = then["totals"].get((z.id, "in"), 0), then["totals"].get((z.id, "out"), 0)
    row = {"zone_id": z.id, "zone": z.name, "kind": z.kind.value, "in": i, "out": o,
           "before_in": bi, "before_out": bo, "change_in_pct": change_pct(i, bi),
           "change_out_pct": change_pct(o, bo)}
    if z.kind is ZoneKind.POLYGON:
        ended = [v for v in now["visits"] if v.zone == z.id]
        before = [v for v in then["visits"] if v.zone == z.id]
        row.update(visits=len(ended), peak_inside=peak_inside(ended),
                   average_s=_average(ended), before_visits=len(before),
                   before_peak_inside=peak_inside(before), before_average_s=_average(before),
                   change_visits_pct=change_pct(len(ended), len(before)))
    return row


def _average(visits: list) -> float | None:
    return round(sum(v.seconds for v in visits) / len(visits), 1) if visits else None


def peak_inside(visits: list) -> int:
    """The most stays going on at once.

    Example:
        >>> from dashboard.engine.dwell import Visit
        >>> peak_inside([Visit("a", 1, "p", 0, 10), Visit("a", 2, "p", 5, 20), Visit("a", 3, "p", 12, 13)])
        2
    """
    moments = sorted([(v.entered, 1) for v in visits] + [(v.left, -1) for v in visits],
                     key=lambda m: (m[0], m[1]))
    peak = inside = 0
    for _, step in moments:
        inside += step
        peak = max(peak, inside)
    return peak


def _series(period: Period, before: Period, interval: Interval, tz: Any, now: dict,
            then: dict, names: dict[str, str]) -> list[dict[str, Any]]:
    """Per bucket and zone: in, out, and those of the matching bucket of the compared
    period (the same position; by the clock when the two differ in length, as a day with
    a change of the clocks does)."""
    ours, theirs = (buckets(p.start, p.end, interval, tz) for p in (period, before))
    fmt = LABELS[interval] if period.end - period.start <= 86400 * 1.1 else "%a " + LABELS[interval]

    def label(t: float) -> str:
        return dt.datetime.fromtimestamp(t, tz).strftime(fmt)

    match = dict(zip(ours, theirs)) if len(ours) == len(theirs) else \
        {t: next((u for u in theirs if label(u) == label(t)), None) for t in ours}
    counts = [_bucketed(f["minutes"], interval, tz) for f in (now, then)]
    zones = sorted({z for c in counts for _, z in c})
    out = []
    for t in ours:
        b = match.get(t)
        for z in zones:
            i, o = counts[0].get((t, z), (0, 0))
            bi, bo = counts[1].get((b, z), (0, 0)) if b is not None else (0, 0)
            out.append({"start": t, "end": min(bucket_end(t, interval, tz), period.end),
                        "label": label(t), "zone_id": z, "zone": names.get(z, z), "in": i,
                        "out": o, "before_start": b, "before_in": bi, "before_out": bo,
                        "change_pct": change_pct(i + o, bi + bo)})
    return out


def _bucketed(minutes: list, interval: Interval, tz: Any) -> dict[tuple[float, str], tuple]:
    sums: dict[tuple[float, str], list[int]] = defaultdict(lambda: [0, 0])
    for m, z, _, d, n in minutes:
        sums[(bucket_start(m, interval, tz), z)][d == "out"] += n
    return {k: tuple(v) for k, v in sums.items()}


def _flows(now: dict, then: dict, names: dict[str, str]) -> list[dict[str, Any]]:
    def key(t: Any) -> tuple[str, str]:
        origin = f"{names.get(t.origin, t.origin)} {t.origin_dir}"
        end = UNKNOWN if t.destination is None else \
            f"{names.get(t.destination, t.destination)} {t.destination_dir}"
        return origin, end

    a: dict[tuple[str, str], int] = defaultdict(int)
    b: dict[tuple[str, str], int] = defaultdict(int)
    for t in now["trips"]:
        a[key(t)] += 1
    for t in then["trips"]:
        b[key(t)] += 1
    return [{"origin": o, "destination": d, "count": a.get((o, d), 0),
             "before": b.get((o, d), 0), "change_pct": change_pct(a.get((o, d), 0),
                                                                   b.get((o, d), 0))}
            for o, d in sorted(set(a) | set(b), key=lambda k: (-a.get(k, 0), k))]
