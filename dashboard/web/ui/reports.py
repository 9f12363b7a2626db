"""The Camera page's reports: a day, a week or a range of days beside the period it is
compared with, per 15 minutes, hour, day or week; the heat of both on one scale; the
report as HTML and CSV."""
from __future__ import annotations

import datetime as dt
from typing import Any

import cv2
import streamlit as st

from dashboard.config.env import time_zone
from dashboard.errors import DashboardError
from dashboard.service.access import UserService
from dashboard.service.periods import (Compare, Interval, Period, day_period, pct_text,
                                       week_period)
from dashboard.service.auth import Role
from dashboard.web.ui.common import can, plain
from dashboard.web.ui.figures import duration, table_height

COMPARES = {Compare.PREVIOUS: "the period before", Compare.YESTERDAY: "the day before",
            Compare.LAST_WEEK: "the same days a week before"}
INTERVALS = {Interval.QUARTER: "15 minutes", Interval.HOUR: "hour", Interval.DAY: "day",
             Interval.WEEK: "week"}


def chosen(cid: str) -> tuple[Period, Interval, Compare] | None:
    """The period, interval and comparison the operator picks (None: no valid range yet)."""
    tz = time_zone()
    today = dt.datetime.now(tz).date()
    c1, c2, c3, c4 = st.columns([1, 2, 1, 2])
    kind = c1.selectbox("Report of a", ["day", "week", "range of days"], key=f"rep-kind-{cid}")
    if kind == "range of days":
        days = c2.date_input("Days", (today - dt.timedelta(days=6), today), max_value=today,
                             key=f"rep-range-{cid}")
        if not (isinstance(days, tuple) and len(days) == 2):
            st.caption("Pick the last day of the range too.")
            return None
        first, last = days
        a, b = day_period(first, tz), day_period(last, tz)
        period = Period(a.start, b.end, f"{a.label} - {b.label}")
    else:
        day = c2.date_input("Day" if kind == "day" else "A day of the week",
                            today - dt.timedelta(days=1), max_value=today,
                            key=f"rep-day-{cid}")
        period = day_period(day, tz) if kind == "day" else week_period(day, tz)
        if kind == "day":
            period = hours_of(period, day, tz, cid)
    default = Interval.HOUR if kind == "day" else Interval.DAY
    interval = c3.selectbox("Per", list(INTERVALS), list(INTERVALS).index(default),
                            key=f"rep-bin-{cid}-{kind}", format_func=INTERVALS.get)
    compare = c4.selectbox("Compared with", list(COMPARES), key=f"rep-cmp-{cid}",
                           format_func=COMPARES.get)
    return period, interval, compare


def hours_of(period: Period, day: dt.date, tz: Any, cid: str) -> Period:
    """The hours of the day asked for (opening hours: 9:00-17:00), the whole day by default."""
    h0, h1 = st.select_slider("Hours", options=list(range(25)), value=(0, 24),
                              format_func=lambda h: f"{h:02d}:00", key=f"rep-hours-{cid}")
    if (h0, h1) == (0, 24) or h1 <= h0:
        return period
    start = dt.datetime.combine(day, dt.time(h0), tz).timestamp()
    end = period.end if h1 == 24 else dt.datetime.combine(day, dt.time(h1), tz).timestamp()
    return Period(start, end, f"{period.label}, {h0:02d}:00-{h1:02d}:00")


def reports_panel(svc: UserService, cid: str) -> None:
    """Inside the page's Reports switch."""
    picked = chosen(cid)
    if picked is None:
        return
    period, interval, compare = picked
    try:
        r = svc.report(cid, period, interval, compare)
    except DashboardError as e:
        st.error(plain(e))
        return
    st.caption(plain(f"{r['period']['label']}, compared with {r['compared_with']['label']} "
                     f"(times in {r['time_zone']})"))
    zones_table(r["zones"])
    for zone in sorted({s["zone"] for s in r["series"]}):
        chart(zone, [s for s in r["series"] if s["zone"] == zone])
    if r["flows"]:
        st.caption("Flows")
        st.dataframe({"from": [f["origin"] for f in r["flows"]],
                      "to": [f["destination"] for f in r["flows"]],
                      "trips": [f["count"] for f in r["flows"]],
                      "before": [f["before"] for f in r["flows"]],
                      "change": [pct_text(f["change_pct"]) for f in r["flows"]]},
                     hide_index=True, width="stretch", height=table_height(len(r["flows"])))
    heat_side_by_side(svc, cid, period, r)
    downloads(svc, cid, period, interval, compare)
    if can(svc, Role.OPERATOR):
        schedule(svc, cid)


def schedule(svc: UserService, cid: str) -> None:
    """Where the scheduled reports go, and this camera's that wait, with why."""
    s = svc.report_schedule()
    if not s["kinds"]:
        st.caption("No reports are sent on a schedule (the admin sets HEATMAP_DASHBOARD_REPORTS "
                   "with a mail server or a folder).")
        return
    where = [f"by mail to {', '.join(s['to'])}" if s["smtp"] else "",
             f"into {s['folder']}" if s["folder"] else ""]
    st.caption(plain(f"Sent {' and '.join(s['kinds'])} {' and '.join(w for w in where if w)}"))
    mine = [d for d in s["deliveries"] if d["camera_id"] == cid]
    for d in (d for d in mine if not d["sent"] and d["error"]):
        st.error(plain(f"{d['kind']} report of {d['label']} ({d['target']}) not delivered "
                       f"after {d['attempts']} tries: {d['error']}. Trying again at "
                       f"{dt.datetime.fromtimestamp(d['next_try']):%H:%M}."))
    sent = [d for d in mine if d["sent"]]
    if sent:
        st.caption(plain(f"Last delivered: {sent[0]['kind']} report of {sent[0]['label']} "
                         f"({sent[0]['target']}) at "
                         f"{dt.datetime.fromtimestamp(sent[0]['sent']):%Y-%m-%d %H:%M}"))


def zones_table(zones: list[dict[str, Any]]) -> None:
    if not zones:
        st.info("No zones: nothing is counted yet.")
        return
    st.dataframe({"zone": [z["zone"] for z in zones], "in": [z["in"] for z in zones],
                  "out": [z["out"] for z in zones],
                  "in before": [z["before_in"] for z in zones],
                  "out before": [z["before_out"] for z in zones],
                  "in change": [pct_text(z["change_in_pct"]) for z in zones],
                  "out change": [pct_text(z["change_out_pct"]) for z in zones],
                  # Text, empty for a line (it has no inside): one type per column.
                  "visits": [_text(z.get("visits")) for z in zones],
                  "visits before": [_text(z.get("before_visits")) for z in zones],
                  "average stay": [duration(z["average_s"]) if z.get("visits") else ""
                                   for z in zones],
                  "most inside": [_text(z.get("peak_inside")) for z in zones],
                  "most inside before": [_text(z.get("before_peak_inside")) for z in zones]},
                 hide_index=True, width="stretch", height=table_height(len(zones)))


def _text(v: Any) -> str:
    return "" if v is None else str(v)


def chart(zone: str, rows: list[dict[str, Any]]) -> None:
    import pandas as pd

    st.caption(plain(f"{zone}: crossings (in + out), this period beside the one compared"))
    labels = [s["label"] for s in rows]
    # A label repeats where the clocks go back (two 01:00s): the second is marked so that
    # both bars stay, in order.
    index = pd.Index([f"{x} ({labels[:i].count(x) + 1})" if labels.count(x) > 1 else x
                      for i, x in enumerate(labels)], name="when")
    st.bar_chart(pd.DataFrame({"this period": [s["in"] + s["out"] for s in rows],
                               "compared with": [s["before_in"] + s["before_out"] for s in rows]},
                              index=index), height=200, stack=False)


def heat_side_by_side(svc: UserService, cid: str, period: Period, r: dict[str, Any]) -> None:
    before = Period(r["compared_with"]["start"], r["compared_with"]["end"],
                    r["compared_with"]["label"])
    now, then = svc.period_heat(cid, period, before)
    if now is None and then is None:
        st.caption("No heat was kept for these periods.")
        return
    st.caption("Heat of each period, on one colour scale")
    left, right = st.columns(2)
    for col, img, p in ((left, now, period), (right, then, before)):
        if img is None:
            col.caption(plain(f"{p.label}: no heat kept"))
        else:
            col.image(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), width="stretch")


def downloads(svc: UserService, cid: str, period: Period, interval: Interval,
              compare: Compare) -> None:
    b = st.columns(4)
    name = "".join(c if c.isalnum() else "-" for c in period.label).strip("-").lower()
    b[0].download_button("Report (HTML)",
                         lambda: svc.report_html(cid, period, interval, compare),
                         f"report-{name}.html", "text/html", key=f"dl-rep-html-{cid}",
                         help="Charts, tables and the heat of the period in one file")
    b[1].download_button("Report CSV", lambda: svc.report_csv(cid, period, interval, compare),
                         f"report-{name}.csv", "text/csv", key=f"dl-rep-csv-{cid}")
    b[2].download_button("Heat PNG", lambda: svc.period_heat_png(cid, period) or b"",
                         f"heat-{name}.png", "image/png", key=f"dl-rep-heat-{cid}")
    b[3].download_button("Heat NPZ", lambda: svc.period_heat_npz(cid, period) or b"",
                         f"heat-{name}.npz", "application/octet-stream",
                         key=f"dl-rep-npz-{cid}", help="Seconds of presence per cell")
