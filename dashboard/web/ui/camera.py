"""The Camera page: live overlay and metrics side by side, controls, zone editor, exports."""
from __future__ import annotations

import datetime
import html
import time
from typing import Any

import cv2
import streamlit as st

from dashboard.web.canvas import CanvasScale, fabric_object, newest_shape, unit_points
from dashboard.config.camera import COLORMAPS, Camera
from dashboard.config.kinds import Anchor, CameraState, ZoneKind
from dashboard.config.zone import CONFIRM_FRAMES, CONFIRM_RANGE, ZONE_ANCHOR, ZoneSpec
from dashboard.errors import DashboardError, NotAllowed
from dashboard.service.access import UserService
from dashboard.service.auth import Role
from dashboard.web.ui.common import (can, chosen_camera, counts_table, guarded, plain, refreshed,
                                 service, state_line, when)

REFRESH_S = 1.0
# The crossings chart: how far back, per what, and how a bucket's start is written.
CHART_RANGES = {"last hour, per minute": (3600, "minute", "%H:%M"),
                "last day, per hour": (86400, "hour", "%a %H:00"),
                "last week, per day": (7 * 86400, "day", "%a %d %b")}
CANVAS_MAX_W = 560   # fits the main column at 1024 px with the sidebar open


@guarded
def page() -> None:
    svc = service()
    cam = chosen_camera(svc)
    if cam is None:
        st.info("No cameras yet: add one on the Manage cameras page.")
        return
    st.subheader(plain(cam.name), anchor=False)
    with st.sidebar:
        controls(svc, cam.id)
    live_view(svc, cam)
    if can(svc, Role.OPERATOR):     # the service checks again; this only spares the clicks
        with st.expander("Zones", expanded=not svc.zones(cam.id)):
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
    if c3.button("Reset", key="reset",
                 help="Counts, events and heat to zero (the old ones are archived, not "
                      "deleted)"):
        try:
            svc.reset(cid)
            st.toast("Counts and heat reset.")
        except DashboardError as e:   # e.g. crossings still waiting on the database
            st.error(plain(e))
    s = cam.settings
    st.caption(plain(
        f"Running with: model {s.model} · image size {s.imgsz} · confidence {s.conf:g} · "
        f"{s.tracker} · runtime {status.runtime or s.runtime.value} · classes "
        f"{', '.join(s.classes) if s.classes else 'all'} · heat "
        f"{'fades, half-life ' + format(s.half_life_s, 'g') + ' s' if s.half_life_s else 'kept'}"
        f" at the {s.heat_anchor.label}"))


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


@refreshed(REFRESH_S)
def figures(svc: UserService, cid: str, chart: str = next(iter(CHART_RANGES))) -> None:
    """Counts per zone, health, crossings per minute and the latest crossings."""
    try:
        status, counts = svc.status(cid), svc.counts(cid)
    except DashboardError:
        return
    if status.state is CameraState.FAILED and status.detail:
        st.error(plain(status.detail))
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
                         hide_index=True, width="stretch", height=150)
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
        st.dataframe({"started": [when(a["started"]) for a in alerts],
                      "zone": [a["zone"] for a in alerts],
                      "what": [alert_text(a) for a in alerts]},
                     hide_index=True, width="stretch", height=150)
    events = svc.recent_events(cid, 8)
    if events:
        st.caption("Latest crossings")
        st.dataframe({"time": [when(e["t"]) for e in events], "zone": [e["zone"] for e in events],
                      "track": [e["track_id"] for e in events],
                      "class": [e["class"] for e in events],
                      "dir": [e["direction"] for e in events]},
                     hide_index=True, width="stretch", height=180)


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


def zone_editor(svc: UserService, cam: Camera) -> None:
    # One picture per visit to draw on (a new one on request): a picture that changed on
    # every rerun would redraw the canvas under the operator's hand. Blur is part of the key:
    # once switched on, no picture taken before may still show faces.
    key = f"still-{cam.id}-{cam.presentation.blur}"
    if key not in st.session_state or st.button("New picture", key="new_still",
                                                help="Draw on the camera's latest frame"):
        try:
            st.session_state[key] = svc.still(cam.id)
        except DashboardError as e:
            then = "" if cam.from_browser else " Start the camera, then draw."
            st.warning(plain(f"No picture to draw on yet: {e}{then}"))
            st.button("Try again", key="still_again")   # a click runs the page again
            return
    h, w = st.session_state[key].shape[:2]
    scale = CanvasScale.fit(w, h, max_w=CANVAS_MAX_W)
    specs = svc.zones(cam.id)
    shown = svc.with_zones(cam.id, st.session_state[key])
    bg = cv2.resize(cv2.cvtColor(shown, cv2.COLOR_BGR2RGB), (scale.canvas_w, scale.canvas_h),
                    interpolation=cv2.INTER_AREA)
    target = next((z for z in specs if z.id == st.session_state.get("reshape")), None)
    if target is not None:
        reshape(svc, cam, target, bg, scale)
    else:
        draw_new(svc, cam, specs, bg, scale)
    undo_delete(svc, cam)
    for z in specs:
        zone_row(svc, cam, z)


def draw_new(svc: UserService, cam: Camera, specs: list, bg, scale: CanvasScale) -> None:
    from PIL import Image
    from streamlit_drawable_canvas import st_canvas

    if st.session_state.pop("zone_added", False):
        st.session_state["zone_name"] = ""      # ready for the next zone
    c1, c2, c3, c4 = st.columns([2, 3, 2, 2])
    mode = c1.radio("Draw", ["Line", "Polygon", "Mask"], horizontal=True, key="draw_mode",
                    help="Line: drag from one end to the other; the arrow points to the IN "
                         "side. Polygon: click each corner, then click the first corner again "
                         "to close it. Mask: a polygon where nothing is detected, counted or "
                         "heated (a flag in the wind, a screen, a road behind the door).")
    shape_mode = "polygon" if mode == "Mask" else mode.lower()
    name = c2.text_input("Zone name", key="zone_name", placeholder="e.g. door", max_chars=80)
    anchor = c3.selectbox("Counts by", list(Anchor), list(Anchor).index(ZONE_ANCHOR),
                          key="zone_anchor", format_func=lambda a: a.label)
    confirm = c4.number_input("Confirm frames", *CONFIRM_RANGE, CONFIRM_FRAMES,
                              key="zone_confirm")
    canvas_key = f"canvas-{cam.id}-{st.session_state.get('canvas_gen', 0)}"
    result = st_canvas(background_image=Image.fromarray(bg), height=scale.canvas_h,
                       width=scale.canvas_w, drawing_mode=shape_mode, stroke_width=3,
                       stroke_color="#00ffff", fill_color="rgba(0, 255, 255, 0.15)",
                       key=canvas_key, update_streamlit=True)
    objects = (result.json_data or {}).get("objects", []) if result else []
    shape = newest_shape(objects, shape_mode)
    if st.button("Add zone", type="primary", disabled=shape is None, key="add_zone"):
        try:
            kind, points = unit_points(shape, scale)
            kind = "mask" if mode == "Mask" else kind
            svc.add_zone(cam.id, name.strip() or f"zone {len(specs) + 1}", kind, points,
                         anchor.value, int(confirm))
            _next_canvas()
            st.session_state["zone_added"] = True
            st.rerun()
        except DashboardError as e:
            st.error(plain(e))
    if shape is None:
        st.caption(f"Draw a {shape_mode} on the picture, name it, then Add zone. To change "
                   "a zone's shape later, use its Reshape button.")


def _next_canvas() -> None:
    """A fresh canvas next time (the drawn or edited shape is saved; clear it)."""
    st.session_state["canvas_gen"] = st.session_state.get("canvas_gen", 0) + 1


def reshape(svc: UserService, cam: Camera, z: ZoneSpec, bg, scale: CanvasScale) -> None:
    """The zone on the canvas as a shape the operator drags (whole, or by its corners in
    the canvas's Edit mode); Save keeps its id and counts."""
    from PIL import Image
    from streamlit_drawable_canvas import st_canvas

    kind = "line" if z.kind is ZoneKind.LINE else "polygon"
    st.info(plain(f"Reshaping {z.name}: turn on Edit (the pencil in the canvas's toolbar), "
                  "then drag the shape, or its corners, and Save shape. Counts are kept."),
            icon=":material/edit:")
    drawing = {"version": "6.0.0",
               "objects": [fabric_object(kind, [list(p) for p in z.points], scale)]}
    # "line" mode for both kinds: in "polygon" mode the canvas sends a shape only when a
    # new polygon is closed, never after an edit.
    result = st_canvas(background_image=Image.fromarray(bg), height=scale.canvas_h,
                       width=scale.canvas_w, drawing_mode="line", stroke_width=3,
                       stroke_color="#00ffff", fill_color="rgba(0, 255, 255, 0.15)",
                       initial_drawing=drawing, update_streamlit=True,
                       key=f"canvas-{cam.id}-reshape-{z.id}-{st.session_state.get('canvas_gen', 0)}")
    objects = (result.json_data or {}).get("objects", []) if result else []
    shape = newest_shape(objects, kind)
    c1, c2 = st.columns(2)
    if c1.button("Save shape", type="primary", disabled=shape is None, key="save_shape"):
        try:
            svc.update_zone(cam.id, z.id, points=unit_points(shape, scale)[1])
            st.session_state.pop("reshape", None)
            _next_canvas()
            st.rerun()
        except DashboardError as e:
            st.error(plain(e))
    if c2.button("Cancel", key="cancel_shape"):
        st.session_state.pop("reshape", None)
        _next_canvas()
        st.rerun()


def undo_delete(svc: UserService, cam: Camera) -> None:
    """After a delete: the zone's name and an Undo that brings it back with its counts."""
    gone = st.session_state.get("deleted_zone")
    if not gone or gone[0] != cam.id:
        return
    c1, c2 = st.columns([4, 1])
    c1.caption(plain(f"Zone {gone[2]} deleted (its counts are archived)."))
    if c2.button("Undo", key="undo_delete"):
        try:
            svc.restore_zone(cam.id, gone[1])
        except DashboardError as e:
            st.error(plain(e))
        st.session_state.pop("deleted_zone", None)
        st.rerun()


def zone_row(svc: UserService, cam: Camera, z: ZoneSpec) -> None:
    c1, c2, c3, c4, c5, c6 = st.columns([3, 3, 1, 1, 1, 1])
    new_name = c1.text_input("Name", z.name, key=f"name-{z.id}", label_visibility="collapsed",
                             max_chars=80)
    c2.caption(plain(zone_rules_text(z)))
    if new_name.strip() and new_name.strip() != z.name:
        try:
            svc.update_zone(cam.id, z.id, name=new_name)
            st.rerun()
        except DashboardError as e:
            st.error(plain(e))
    if z.kind.counts:
        with c3.popover("Rules", help="What counts, and when to alert"):
            zone_rules(svc, cam, z)
    if z.kind is ZoneKind.LINE and c4.button("Flip", key=f"flip-{z.id}",
                                            help="Swap which way is IN"):
        svc.flip_zone(cam.id, z.id)
        st.rerun()
    if c5.button("Reshape", key=f"reshape-{z.id}", help="Move it or drag its corners"):
        st.session_state["reshape"] = z.id
        _next_canvas()
        st.rerun()
    if c6.button("Delete", key=f"del-{z.id}",
                 help="Remove the zone; its counts are archived (Undo brings them back)"):
        svc.delete_zone(cam.id, z.id)
        st.session_state["deleted_zone"] = (cam.id, z.id, z.name)
        st.rerun()


def zone_rules_text(z: ZoneSpec) -> str:
    """A zone's rules in a line, e.g. "polygon · by feet · confirm 2 · person · limit 5"."""
    if not z.kind.counts:
        return "mask · nothing detected, counted or heated here"
    parts = [z.kind.value, f"by {z.anchor.label}", f"confirm {z.confirm_frames}",
             ", ".join(z.classes) if z.classes else "all classes"]
    if z.limit:
        parts.append(f"limit {z.limit}")
    if z.wrong_way:
        parts.append("OUT is an alert")
    return " · ".join(parts)


def zone_rules(svc: UserService, cam: Camera, z: ZoneSpec) -> None:
    """Anchor, confirm frames, classes, limit and wrong way of one zone (id and counts
    stay)."""
    anchor = st.selectbox("Counts by", list(Anchor), index=list(Anchor).index(z.anchor),
                          format_func=lambda a: a.label, key=f"anchor-{z.id}")
    confirm = st.number_input("Confirm frames", *CONFIRM_RANGE, z.confirm_frames,
                              key=f"confirm-{z.id}")
    classes = st.text_input("Classes counted", ", ".join(z.classes or ()),
                            key=f"classes-{z.id}", placeholder="all",
                            help="Comma-separated class names; empty counts every class")
    area = z.kind is ZoneKind.POLYGON
    limit = st.number_input("Limit (0: none)", 0, 1_000_000, z.limit or 0, key=f"limit-{z.id}",
                            help="Alert when more than this many are inside" if area else
                                 "Alert when in minus out passes this")
    wrong = st.toggle("OUT is the wrong way", z.wrong_way, key=f"wrong-{z.id}",
                      help="Alert on every crossing against the arrow") \
        if z.kind is ZoneKind.LINE else False
    if st.button("Save rules", type="primary", key=f"rules-{z.id}"):
        try:
            svc.update_zone(cam.id, z.id, anchor=anchor.value, confirm_frames=int(confirm),
                            classes=[c.strip() for c in classes.split(",") if c.strip()] or None,
                            limit=int(limit) or None, wrong_way=bool(wrong))
            st.rerun()
        except DashboardError as e:
            st.error(plain(e))


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
    new = {"colormap": cmap, "opacity": opacity, "show_heat": heat, "show_boxes": boxes,
           "blur": [c.strip() for c in blur.split(",") if c.strip()] or None}
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
