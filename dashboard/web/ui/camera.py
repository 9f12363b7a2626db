"""The Camera page: live overlay and metrics side by side, controls, zone editor, exports."""
from __future__ import annotations

import datetime
import html
import time

import cv2
import streamlit as st

from dashboard.config.camera import COLORMAPS, Camera
from dashboard.errors import DashboardError, NotAllowed
from dashboard.service.access import UserService
from dashboard.service.cameras import uploaded_name
from dashboard.service.auth import Role
from dashboard.web.ui.common import (can, chosen_camera, guarded, plain, refreshed, service,
                                     state_line)
from dashboard.web.ui.figures import CHART_RANGES, figures
from dashboard.web.ui.audit import audit_panel
from dashboard.web.ui.flows import flows_panel
from dashboard.web.ui.reports import reports_panel
from dashboard.web.ui.zone_editor import zone_editor


@guarded
def page() -> None:
    svc = service()
    cam = chosen_camera(svc)
    if cam is None:
        st.info("No cameras yet: add one on the Manage cameras page.")
        return
    st.subheader(plain(cam.name), anchor=False)
    audits = svc.accuracy_audits(cam.id)
    if audits:   # how far its counts can be trusted, for everyone who reads them
        st.caption(plain(f"Accuracy: {audits[0]['summary']}"))
    with st.sidebar:
        controls(svc, cam.id)
    live_view(svc, cam)
    # A toggle, not an expander: what is inside is worked out only when someone looks.
    if st.toggle("Flows: where objects went between the zones", key=f"flows-{cam.id}"):
        with st.container(border=True):
            flows_panel(svc, cam.id)
    if st.toggle("Reports: a day or a week beside the one before", key=f"reports-{cam.id}"):
        with st.container(border=True):
            reports_panel(svc, cam.id)
    if can(svc, Role.OPERATOR) and st.toggle("Audit: how right are the counts?",
                                             key=f"audit-{cam.id}"):
        with st.container(border=True):
            audit_panel(svc, cam.id)
    if can(svc, Role.OPERATOR):     # the service checks again; this only spares the clicks
        # Open at first for a camera with no zones; decided once a visit, so that adding
        # the first zone does not fold the panel away under the operator's hand.
        first = st.session_state.setdefault(f"zones-open-{cam.id}", not svc.zones(cam.id))
        with st.expander("Zones", expanded=first):
            zone_editor(svc, cam)
        with st.expander("Look (never changes counts or heat)"):
            looks(svc, cam)
    exports(svc, cam)


@refreshed(2.0)
def controls(svc: UserService, cid: str) -> None:
    """Start, Stop, Reset reflecting the camera's real state (refreshed every 2 s)."""
    try:
        cam = svc.camera(cid)
    except NotAllowed:
        raise                  # the page's watchman reruns it (see `refreshed`)
    except DashboardError:     # the camera was removed: the page shows another
        st.rerun()
    status = svc.status(cid)
    st.caption(state_line(status))
    active = status.state.active
    if not can(svc, Role.OPERATOR):
        st.caption("You can watch and export; an operator can start, stop and draw zones.")
        return
    c1, c2, c3 = st.columns(3)
    if c1.button("Start", type="primary", disabled=active, key="start",
                 help="Run this camera now and after every server restart"):
        svc.start(cid)
        st.rerun()
    if c2.button("Stop", disabled=not active, key="stop",
                 help="Stop until Start (also after a restart); counts are kept"):
        svc.stop(cid)
        st.rerun()
    with c3.popover("Reset", key="reset-ask"):   # asked first: a slip costs the day's counts
        st.caption("Counts, events and heat of this camera go to zero; the old ones are "
                   "archived, not deleted. A video file is counted again from its start.")
        if st.button("Reset counts", key="reset", type="primary"):
            try:
                svc.reset(cid)
                st.toast("Counts and heat reset.")
            except DashboardError as e:   # e.g. crossings still waiting on the database
                st.error(plain(e))
    s = cam.settings
    st.caption(plain(
        f"Running with: model {shown_model(s.model)} · image size {s.imgsz} · confidence {s.conf:g} · "
        f"{s.tracker} · runtime {status.runtime or s.runtime.value}"
        f"{f' (model and tracker {status.model_ms:.1f} ms a frame)' if status.model_ms else ''}"
        f" · classes {', '.join(s.classes) if s.classes else 'all'} · heat "
        f"{'fades, half-life ' + format(s.half_life_s, 'g') + ' s' if s.half_life_s else 'kept'}"
        f" at the {s.heat_anchor.label}"), help=plain(status.runtime_why) if status.runtime_why
        else None)


def live_view(svc: UserService, cam: Camera) -> None:
    video, metrics = st.columns([3, 2])
    with video:
        if cam.from_browser and can(svc, Role.OPERATOR):
            from dashboard.web.ui import browser

            browser.view(cam)   # this browser's camera goes out, the overlay comes back
        else:
            mjpeg(cam)
        if cam.presentation.show_heat:
            st.image(cv2.cvtColor(svc.heat_legend(cam.id, 640), cv2.COLOR_BGR2RGB),
                     width="stretch")
    with metrics:
        chart = st.selectbox("Crossings chart", list(CHART_RANGES), key=f"chart-{cam.id}")
        figures(svc, cam.id, chart)


def mjpeg(cam: Camera) -> None:
    """The camera's overlay as the server streams it."""
    # The browser plays the camera's MJPEG stream itself: no script rerun per frame.
    # The id is ours (random hex), escaped all the same; nothing typed goes in here.
    cid = html.escape(cam.id, quote=True)
    st.markdown(f'<img src="/api/cameras/{cid}/video.mjpg" alt="live view" '
                'style="width:100%; border-radius:0.5rem; min-height:120px; '
                'background:#222">', unsafe_allow_html=True)


def looks(svc: UserService, cam: Camera) -> None:
    p = cam.presentation
    c1, c2, c3, c4, c5 = st.columns([2, 2, 1, 1, 2])
    cmap = c1.selectbox("Colours", list(COLORMAPS), index=list(COLORMAPS).index(p.colormap),
                        key=f"cmap-{cam.id}")
    opacity = c2.slider("Opacity", 0.0, 1.0, p.opacity, 0.05, key=f"opacity-{cam.id}")
    heat = c3.toggle("Heat", p.show_heat, key=f"heat-{cam.id}")
    boxes = c4.toggle("Boxes", p.show_boxes, key=f"boxes-{cam.id}")
    blur = c5.text_input("Blur (privacy)", ", ".join(p.blur or ()), key=f"blur-{cam.id}",
                         placeholder="person",
                         help="Classes whose boxes are pixelated in the live view, stills "
                              "and exports; counting is not touched")
    e1, e2 = st.columns(2)
    days = e1.number_input("Keep pictures of crossings (days; 0: none)", 0, 3650,
                           p.evidence_days, key=f"evidence-days-{cam.id}",
                           help="A small picture of what crossed, and the moment around it, "
                                "blurred as above")
    mb = e2.number_input("Pictures take at most (MB)", 1, 100_000, p.evidence_mb,
                         key=f"evidence-mb-{cam.id}")
    new = {"colormap": cmap, "opacity": opacity, "show_heat": heat, "show_boxes": boxes,
           "blur": [c.strip() for c in blur.split(",") if c.strip()] or None,
           "evidence_days": int(days), "evidence_mb": int(mb)}
    if new != p.to_dict():
        svc.update_camera(cam.id, presentation=new)
        if new["blur"] != p.to_dict()["blur"]:
            st.rerun()   # the picture to draw on, above, must be redrawn without them


def exports(svc: UserService, cam: Camera) -> None:
    with st.expander("Export"):
        c1, c2 = st.columns(2)
        today = datetime.date.today()
        days = c1.date_input("Days", (today, today), key="export_days",
                             help="Events and counts from the first day to the last")
        interval = c2.selectbox("Counts per", ["minute", "hour", "day"], key="export_interval")
        d0, d1 = (days if isinstance(days, tuple) and len(days) == 2 else (today, today))
        t0 = time.mktime(d0.timetuple())
        t1 = time.mktime((d1 + datetime.timedelta(days=1)).timetuple())
        st.caption(f"Times are the server's local time ({time.strftime('%Z')}).")
        b = st.columns(5)
        cid = cam.id
        # Callables: the files are made when clicked, from what is stored at that moment.
        b[0].download_button("Events CSV", lambda: svc.events_csv(cid, t0, t1), "events.csv",
                             "text/csv", key="dl_events")
        b[1].download_button(f"Counts per {interval}",
                             lambda: svc.counts_csv(cid, interval, t0, t1),
                             f"counts_per_{interval}.csv", "text/csv", key="dl_counts")
        b[2].download_button("Counts JSON", lambda: svc.counts_json(cid), "counts.json",
                             "application/json", key="dl_json")
        b[2].download_button("Visits CSV", lambda: svc.visits_csv(cid, t0, t1), "visits.csv",
                             "text/csv", key="dl_visits",
                             help="Each stay in an area: track, class, entered, left, seconds")
        b[3].download_button("Heatmap PNG", lambda: svc.heat_png(cid) or b"", "heatmap.png",
                             "image/png", key="dl_png",
                             help="The heat over the scene, with the zones and a legend")
        b[3].download_button("Heat only PNG", lambda: svc.heat_png(cid, False) or b"",
                             "heat-only.png", "image/png", key="dl_png_heat")
        b[4].download_button("Heatmap NPZ", lambda: svc.heat_npz(cid) or b"", "heatmap.npz",
                             "application/octet-stream", key="dl_npz")
        archived(svc, cid)


ARCHIVES_SHOWN = 10   # the newest; the API lists them all


def archived(svc: UserService, cid: str) -> None:
    """The counts each Reset archived: when, in and out per zone, and their crossings."""
    archives = svc.archives(cid)
    if not archives:
        return
    st.markdown("**Before each Reset** (archived, newest first)")
    for a in archives[:ARCHIVES_SHOWN]:
        line, button = st.columns([3, 1], vertical_alignment="center")
        totals = ", ".join(f"{z['zone']} in {z['in']} out {z['out']}" for z in a["zones"])
        line.caption(plain(f"{a['from'][:19]} to {a['to'][:19]}: {totals or 'nothing counted'}"))
        epoch = a["epoch"]
        button.download_button("Crossings CSV", lambda e=epoch: svc.archived_events_csv(cid, e),
                               f"events-archived-{epoch}.csv", "text/csv",
                               key=f"dl_archived_{epoch}")


def shown_model(model: str) -> str:
    """A camera's model as an operator knows it: an uploaded one by the name it came under.

    Example:
        >>> shown_model("demo")
        'demo'
    """
    name = uploaded_name(model)
    return f"{name} (uploaded)" if name else model
