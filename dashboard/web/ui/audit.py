"""The Camera page's audit: record a sample of a few minutes while the camera counts, then
review it frame by frame: confirm or reject each crossing it counted (with its picture),
add those it missed, and see the accuracy per zone and direction."""
from __future__ import annotations

from typing import Any

import cv2
import streamlit as st

from dashboard.errors import DashboardError
from dashboard.service.access import UserService
from dashboard.web.ui.common import plain, when
from dashboard.web.ui.figures import data_url, table_height


def audit_panel(svc: UserService, cid: str) -> None:
    """Inside the page's Audit switch (operators)."""
    audits = svc.accuracy_audits(cid)
    if audits:
        st.caption(plain(f"Last audit: {audits[0]['summary']}"))
    record(svc, cid)
    done = [s for s in svc.samples(cid) if s["status"] == "done"]
    if not done:
        return
    sample = st.selectbox("Sample to review", done, key=f"audit-sample-{cid}",
                          format_func=lambda s: f"{when(s['first_t'])}, {s['frames']} frames")
    review(svc, cid, sample)


def record(svc: UserService, cid: str) -> None:
    c1, c2 = st.columns([1, 2], vertical_alignment="bottom")
    minutes = c1.number_input("Minutes", 0.5, 10.0, 2.0, 0.5, key=f"audit-minutes-{cid}")
    if c2.button("Record a sample", key=f"audit-record-{cid}",
                 help="The frames the camera counts from now, kept in the media folder with "
                      "the zones and settings in force"):
        try:
            svc.record_sample(cid, minutes)
            st.toast("Recording: it shows below once done.")
        except DashboardError as e:
            st.error(plain(e))
    for s in svc.samples(cid)[:3]:
        if s["status"] != "done":
            (st.error if s["status"] == "failed" else st.caption)(
                plain(f"Sample of {when(s['created'])}: {s['status']}"
                      + (f": {s['error']}" if s["error"] else "")))


def review(svc: UserService, cid: str, sample: dict[str, Any]) -> None:
    """Step through the sample; the counted crossings with a tick each (untick the wrong
    ones); add the missed ones at the frame shown; audit."""
    key = f"audit-{sample['id']}"
    index = st.slider("Frame", 0, max(0, sample["frames"] - 1), 0, key=f"{key}-frame")
    try:
        img, t = svc.sample_frame(cid, sample["id"], index)
    except DashboardError as e:
        st.error(plain(e))
        return
    st.image(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), caption=f"frame {index}: {when(t)}",
             width="stretch")
    until = sample["last_t"] + 0.5
    counted = svc.events(cid, sample["first_t"], until, limit=10_000)
    pictures = [svc.evidence(cid, e["zone_id"], e["track_id"], e["t"], e["direction"])
                for e in counted]
    st.caption("Counted in this sample: untick those that did not happen")
    table = st.data_editor(
        {"right": [True] * len(counted),
         "seen": [data_url(p[0]) if p else None for p in pictures],
         "time": [when(e["t"]) for e in counted], "zone": [e["zone"] for e in counted],
         "dir": [e["direction"] for e in counted], "class": [e["class"] for e in counted]},
        key=f"{key}-counted", hide_index=True, width="stretch",
        height=table_height(len(counted)) + 40, row_height=40, disabled=["seen", "time", "zone",
                                                                         "dir", "class"],
        column_config={"seen": st.column_config.ImageColumn("seen"),
                       "right": st.column_config.CheckboxColumn("right")})
    added = missed_ones(svc, cid, key, t)
    marks = [{"t": e["t"], "zone": e["zone_id"], "direction": e["direction"],
              "class": e["class"]} for e, ok in zip(counted, table["right"]) if ok] + added
    if st.button("Audit this sample", key=f"{key}-go", type="primary"):
        try:
            a = svc.accuracy_audit(cid, sample["first_t"], until, marks,
                                   sample_id=sample["id"])
        except DashboardError as e:
            st.error(plain(e))
            return
        st.session_state[f"{key}-audit"] = a["id"]
        st.success(plain(a["summary"]))
        result_table(a)
    if st.session_state.get(f"{key}-audit"):
        what_if(svc, cid, st.session_state[f"{key}-audit"], key)


def result_table(a: dict[str, Any]) -> None:
    """Per zone and direction: right, missed, extra, accuracy and its interval."""
    st.dataframe({"zone": [z["zone"] for z in a["zones"]],
                  "direction": [z["direction"] for z in a["zones"]],
                  "right": [z["right"] for z in a["zones"]],
                  "missed": [z["missed"] for z in a["zones"]],
                  "extra": [z["extra"] for z in a["zones"]],
                  "accuracy": [pct(z["accuracy"]) for z in a["zones"]],
                  "95% between": [f"{pct(z['low'])} and {pct(z['high'])}"
                                  for z in a["zones"]]},
                 hide_index=True, width="stretch")


def what_if(svc: UserService, cid: str, audit_id: str, key: str) -> None:
    """Count the sample again with other settings, against the same marks."""
    from dashboard.config.kinds import IMAGE_SIZES

    st.caption("What would other settings change? (nothing is applied)")
    c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")
    imgsz = c1.selectbox("Image size", IMAGE_SIZES, 0, key=f"{key}-wi-size")
    conf = c2.number_input("Confidence", 0.05, 0.95, 0.25, 0.05, key=f"{key}-wi-conf")
    confirm = c3.number_input("Confirm frames", 1, 30, 2, key=f"{key}-wi-confirm")
    if c4.button("Count the sample again", key=f"{key}-wi-go"):
        with st.spinner("Counting the sample again with these settings..."):
            try:
                w = svc.audit_what_if(cid, audit_id, {"imgsz": imgsz, "conf": conf},
                                      int(confirm))
            except DashboardError as e:
                st.error(plain(e))
                return
        st.info(plain(f"With these settings: {pct(w['all']['accuracy'])} right "
                      f"(n={w['all']['n']}; missed {w['all']['missed']}, extra "
                      f"{w['all']['extra']}), where the camera's own were "
                      f"{pct(w['now']['accuracy'])} (n={w['now']['n']})."))
        result_table(w)


def missed_ones(svc: UserService, cid: str, key: str, t: float) -> list[dict[str, Any]]:
    """Crossings the camera missed, added at the frame shown."""
    store = st.session_state.setdefault(f"{key}-added", [])
    zones = [z for z in svc.zones(cid) if z.kind.counts]
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
    zone = c1.selectbox("Missed: zone", zones, key=f"{key}-zone", format_func=lambda z: z.name)
    direction = c2.selectbox("direction", ["in", "out"], key=f"{key}-dir")
    cls = c3.text_input("class", "person", key=f"{key}-cls", max_chars=40)
    if c4.button("Add at this frame", key=f"{key}-add") and zone is not None:
        store.append({"t": t, "zone": zone.id, "direction": direction, "class": cls.strip()})
    if store:
        names = {z.id: z.name for z in zones}
        st.caption(plain("Added: " + "; ".join(f"{names.get(m['zone'], m['zone'])} "
                                               f"{m['direction']} at {when(m['t'])}"
                                               for m in store)))
        if st.button("Clear the added ones", key=f"{key}-clear"):
            store.clear()
            st.rerun()
    return list(store)


def pct(v: float | None) -> str:
    """Example:
        >>> pct(0.9615), pct(None)
        ('96.2%', '–')
    """
    return "–" if v is None else f"{v * 100:.1f}%"
