"""The Camera page's flows: where objects went between the zones (a matrix, a diagram, the
times taken), turning movements at a junction, and their CSV."""
from __future__ import annotations

import time
from typing import Any

import cv2
import streamlit as st

from dashboard.errors import DashboardError
from dashboard.service.access import UserService
from dashboard.service.periods import Interval
from dashboard.web.ui.common import plain
from dashboard.web.ui.figures import duration, table_height

PERIODS = {"last hour": 3600, "last day": 86400, "last week": 7 * 86400}


def flows_panel(svc: UserService, cid: str) -> None:
    """Inside the page's Flows expander: a period, then what the trips of it tell."""
    c1, c2 = st.columns(2)
    period = c1.selectbox("Trips started in the", list(PERIODS), key=f"flow-period-{cid}")
    interval = c2.selectbox("Turning movements per", list(Interval), key=f"flow-bin-{cid}",
                            format_func=lambda i: "15 minutes" if i is Interval.QUARTER
                            else i.value)
    since = time.time() - PERIODS[period]
    try:
        data = svc.flows(cid, since)
    except DashboardError as e:
        st.error(plain(e))
        return
    if not data["trips"]:
        st.info("No trips in this period yet. A trip is an object crossing one zone and "
                "later another (or the same one back): draw at least two zones where "
                "objects come in and go out, or add the junction preset under Zones.")
        return
    st.caption(plain(f"{data['trips']} trips · {data['unknown']} with an unknown destination "
                     f"(crossed one zone only) · {data['joined']} joined after an occlusion"))
    matrix(data["cells"])
    st.image(cv2.cvtColor(svc.flow_picture(cid, since), cv2.COLOR_BGR2RGB), width="stretch",
             caption="Flows: each arrow from where objects came in to where they left, "
                     "as thick as its share")
    cells = data["cells"]
    st.dataframe({"from": [f"{c['origin']} {c['origin_dir']}" for c in cells],
                  "to": [end(c) for c in cells], "class": [c["class"] for c in cells],
                  "trips": [c["count"] for c in cells],
                  "median time": [duration(c["median_s"]) for c in cells],
                  "90% within": [duration(c["p90_s"]) for c in cells]},
                 hide_index=True, width="stretch", height=table_height(len(cells)))
    turns = svc.turns(cid, since, None, interval)
    if turns:
        st.caption("Turning movements (in over one line, out over another)")
        st.dataframe({"from": [time.strftime("%a %H:%M", time.localtime(r["start"]))
                               for r in turns],
                      "approach": [r["approach"] for r in turns],
                      "movement": [r["movement"] for r in turns],
                      "class": [r["class"] for r in turns], "count": [r["count"] for r in turns]},
                     hide_index=True, width="stretch", height=table_height(len(turns)))
    b1, b2 = st.columns(2)
    b1.download_button("Flows CSV", lambda: svc.flows_csv(cid, since, None, interval),
                       "flows.csv", "text/csv", key=f"dl-flows-{cid}",
                       help="One row per interval, origin, destination and class")
    b2.download_button("Turning movements CSV", lambda: svc.turns_csv(cid, since, None, interval),
                       "turns.csv", "text/csv", key=f"dl-turns-{cid}")


def end(cell: dict[str, Any]) -> str:
    """Where a cell's trips went, as read: "east out", or "unknown".

    Example:
        >>> end({"destination": "unknown", "destination_dir": None})
        'unknown'
    """
    d = cell["destination_dir"]
    return cell["destination"] if d is None else f"{cell['destination']} {d}"


def matrix(cells: list[dict[str, Any]]) -> None:
    """Origins down, destinations across, trips of every class in each cell."""
    import pandas as pd

    totals: dict[tuple[str, str], int] = {}
    for c in cells:
        key = (f"{c['origin']} {c['origin_dir']}", end(c))
        totals[key] = totals.get(key, 0) + c["count"]
    rows = sorted({o for o, _ in totals})
    cols = sorted({d for _, d in totals}, key=lambda d: (d == "unknown", d))
    table = pd.DataFrame({d: [totals.get((o, d), 0) for o in rows] for d in cols},
                         index=pd.Index(rows, name="from \\ to"))
    st.dataframe(table, width="stretch", height=table_height(len(rows)))
