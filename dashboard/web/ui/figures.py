"""The Camera page's figures: zone counts, the crossings chart, dwell, alerts, crossings."""
from __future__ import annotations

import time
from typing import Any

import streamlit as st

from dashboard.config.kinds import CameraState
from dashboard.errors import DashboardError
from dashboard.service.access import UserService
from dashboard.web.ui.common import counts_table, plain, refreshed, when

REFRESH_S = 1.0
LATEST_HEIGHT = 40 * 8 + 36 + 3   # the latest crossings' table: eight rows of pictures
# The crossings chart: how far back, per what, and how a bucket's start is written.
CHART_RANGES = {"last hour, per minute": (3600, "minute", "%H:%M"),
                "last day, per hour": (86400, "hour", "%a %H:00"),
                "last week, per day": (7 * 86400, "day", "%a %d %b")}


@refreshed(REFRESH_S)
def figures(svc: UserService, cid: str, chart: str = next(iter(CHART_RANGES))) -> None:
    """Counts per zone, health, crossings per minute and the latest crossings."""
    try:
        status, counts = svc.status(cid), svc.counts(cid)
    except DashboardError:
        return
    if status.state in (CameraState.FAILED, CameraState.SILENT) and status.detail:
        st.error(plain(status.detail))
    if status.behind:       # loud beside the figures too: a phone hides the sidebar
        (st.error if status.behind_level == "error" else st.warning)(
            plain(f"Falling behind: {status.behind}"), icon=":material/speed:")
    st.caption(plain(f"source {status.source_fps:.1f} fps · processed "
                     f"{status.processed_fps:.1f} fps · frame age "
                     f"{status.frame_age_s * 1000:.0f} ms · dropped {status.frames_dropped} · "
                     f"{status.total_tracks} tracked"))
    if not counts:
        st.info("No zones yet: draw one below.")
    else:
        counts_table(counts)
        per_class = [(f.name, cls, c["in"], c["out"]) for f in counts
                     for cls, c in f.counts.per_class.items()]
        if per_class:
            st.dataframe({"zone": [r[0] for r in per_class], "class": [r[1] for r in per_class],
                          "in": [r[2] for r in per_class], "out": [r[3] for r in per_class]},
                         hide_index=True, width="stretch", height=table_height(len(per_class)))
    span, interval, fmt = CHART_RANGES[chart]
    series = svc.series(cid, interval, time.time() - span)
    if series:
        starts = sorted({r["start"] for r in series})
        zones = sorted({r["zone"] for r in series})
        totals = {(r["start"], r["zone"]): 0 for r in series}
        for r in series:
            totals[(r["start"], r["zone"])] += r["in"] + r["out"]
        st.caption(f"Crossings per {interval} ({chart.split(',')[0]}, times in "
                   f"{time.strftime('%Z')})")
        st.bar_chart(crossings_frame(starts, zones, totals, interval, fmt), height=200)
    dwell_figures(svc, cid, span, chart.split(",")[0])
    alerts = svc.recent_alerts(cid, 6)
    if alerts:
        st.caption("Alerts")
        seen = [svc.evidence(cid, a["zone_id"], a["track_id"], a["started"], "out")
                if a.get("evidence") else None for a in alerts]
        st.dataframe({"seen": [data_url(p[0]) if p else None for p in seen],
                      "started": [when(a["started"]) for a in alerts],
                      "zone": [a["zone"] for a in alerts],
                      "what": [alert_text(a) for a in alerts],
                      "acknowledged": [f"{a['ack']['by']} at {when(a['ack']['at'])}"
                                       if a["ack"] else "" for a in alerts]},
                     hide_index=True, width="stretch", height=150,
                     column_config={"seen": st.column_config.ImageColumn("seen")})
    events = svc.recent_events(cid, 8)
    if events:
        latest_crossings(svc, cid, events)


def latest_crossings(svc: UserService, cid: str, events: list[dict]) -> None:
    """The newest crossings with a picture of what crossed (when the camera keeps them),
    and the moment around one of them on request."""
    pictures = [svc.evidence(cid, e["zone_id"], e["track_id"], e["t"], e["direction"])
                for e in events]
    st.caption("Latest crossings")
    st.dataframe({"what": [data_url(p[0]) if p else None for p in pictures],
                  "time": [when(e["t"]) for e in events], "zone": [e["zone"] for e in events],
                  "track": [e["track_id"] for e in events],
                  "class": [e["class"] for e in events],
                  "dir": [e["direction"] for e in events]},
                 # One height whatever the rows: the page must not move under a pointer
                 # (a corner being dragged on the zone canvas below) as crossings come in.
                 hide_index=True, width="stretch", height=LATEST_HEIGHT, row_height=40,
                 column_config={"what": st.column_config.ImageColumn("what")})
    kept = [(e, p) for e, p in zip(events, pictures) if p and p[1]]
    with st.popover("The moment of a crossing", icon=":material/photo_library:",
                    disabled=not kept):
        if kept:
            pick = st.selectbox("Crossing", range(len(kept)), key=f"moment-{cid}",
                                format_func=lambda i: (f"{when(kept[i][0]['t'])} "
                                                       f"{kept[i][0]['zone']} "
                                                       f"{kept[i][0]['direction']} "
                                                       f"(track {kept[i][0]['track_id']})"))
            st.image(kept[pick][1][1], caption="Two frames before the crossing to two after, "
                     "top to bottom", width=320)


def data_url(jpeg: bytes) -> str:
    """Example:
        >>> data_url(b"ab")
        'data:image/jpeg;base64,YWI='
    """
    import base64

    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def crossings_frame(starts: list[float], zones: list[str],
                    totals: dict[tuple[float, str], int], interval: str, fmt: str) -> Any:
    """The chart's table: one row per bucket (its start written with `fmt`, as the index:
    a zone called "minute" is a column like any other, never the time axis), one column per
    zone.

    Example:
        >>> crossings_frame([1.5e9], ["minute"], {(1.5e9, "minute"): 3}, "minute", "%Y").to_dict()
        {'minute': {'2017': 3}}
    """
    import pandas as pd

    index = pd.Index([time.strftime(fmt, time.localtime(m)) for m in starts], name=interval)
    return pd.DataFrame({z: [totals.get((m, z), 0) for m in starts] for z in zones},
                        index=index)


def table_height(rows: int, most: int = 10) -> int:
    """A table's height in pixels that shows every row up to `most` (then it scrolls):
    Streamlit's rows are 35 px, with one for the header.

    Example:
        >>> table_height(4), table_height(50)
        (178, 388)
    """
    return 35 * (min(rows, most) + 1) + 3


def alert_text(a: dict) -> str:
    """One alert in words, e.g. "5 inside, limit 3 (going on)"."""
    if a["kind"] == "wrong_way":
        return f"track {a['track_id']} went the wrong way"
    state = "going on" if a["active"] else f"until {when(a['ended'])}"
    return f"peak {a['peak']}, limit {a['limit']} ({state})"


def dwell_figures(svc: UserService, cid: str, span: float, period: str) -> None:
    """Per area: who is inside now and for how long; visits, average and longest stay
    over the chart's period."""
    rows = svc.dwell(cid, time.time() - span)
    if not rows:
        return
    st.caption(f"Time in areas ({period})")
    st.dataframe({"area": [d["zone"] for d in rows],
                  "inside now": [len(d["inside"]) for d in rows],
                  "visits": [d["visits"] for d in rows],
                  "average": [duration(d["average_s"]) for d in rows],
                  "longest": [duration(d["longest_s"]) for d in rows]},
                 hide_index=True, width="stretch", height=35 * (len(rows) + 1) + 3)
    inside = [(d["zone"], v) for d in rows for v in d["inside"]]
    if inside:
        st.dataframe({"area": [z for z, _ in inside], "track": [v["track_id"] for _, v in inside],
                      "class": [v["class"] for _, v in inside],
                      "inside for": [duration(v["seconds"]) for _, v in inside]},
                     hide_index=True, width="stretch", height=150)


def duration(seconds: float | None) -> str:
    """A number of seconds as people read it; None reads as a dash.

    Example:
        >>> duration(75.4), duration(3.25), duration(None)
        ('1 min 15 s', '3.2 s', '–')
    """
    if seconds is None:
        return "–"
    m, s = divmod(int(round(seconds)), 60)
    return f"{m} min {s} s" if m else f"{seconds:.1f} s"
