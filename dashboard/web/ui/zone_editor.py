"""The Camera page's zone editor: draw, reshape, rename, flip, delete (and undo) zones and
set their rules, on a still of the camera."""
from __future__ import annotations

import streamlit as st

from dashboard.web.zone_canvas import zone_canvas
from dashboard.config.camera import Camera
from dashboard.config.kinds import Anchor, ZoneKind
from dashboard.config.zone import CONFIRM_FRAMES, CONFIRM_RANGE, ZONE_ANCHOR, ZoneSpec
from dashboard.errors import DashboardError
from dashboard.service.access import UserService
from dashboard.web.ui.common import plain


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
    specs = svc.zones(cam.id)
    target = next((z for z in specs if z.id == st.session_state.get("reshape")), None)
    # The zones are drawn on the picture (the one being reshaped too: where it was).
    shown = svc.with_zones(cam.id, st.session_state[key])
    if target is not None:
        reshape(svc, cam, target, shown)
    else:
        draw_new(svc, cam, specs, shown)
    undo_delete(svc, cam)
    for z in specs:
        zone_row(svc, cam, z)
    if st.button("Add the junction preset", key="junction",
                 help="Four approach lines (north, east, south, west), IN into the junction: "
                      "move their ends onto the arms with Reshape; trips in over one and out "
                      "over another are the turning movements under Flows"):
        try:
            svc.add_junction(cam.id)
            st.rerun()
        except DashboardError as e:
            st.error(plain(e))


def draw_new(svc: UserService, cam: Camera, specs: list, picture) -> None:
    if st.session_state.pop("zone_added", False):
        st.session_state["zone_name"] = ""      # ready for the next zone
    c1, c2, c3, c4 = st.columns([2, 3, 2, 2])
    mode = c1.radio("Draw", ["Line", "Polygon", "Mask"], horizontal=True, key="draw_mode",
                    help="Line: drag from one end to the other; the arrow points to the IN "
                         "side. Polygon: click or tap each corner, then the first corner "
                         "again to close it. Mask: a polygon where nothing is detected, "
                         "counted or heated (a flag in the wind, a screen, a road behind "
                         "the door).")
    kind = ZoneKind.LINE if mode == "Line" else ZoneKind.POLYGON
    name = c2.text_input("Zone name", key="zone_name", placeholder="e.g. door", max_chars=80)
    anchor = c3.selectbox("Counts by", list(Anchor), list(Anchor).index(ZONE_ANCHOR),
                          key="zone_anchor", format_func=lambda a: a.label)
    confirm = c4.number_input("Confirm frames", *CONFIRM_RANGE, CONFIRM_FRAMES,
                              key="zone_confirm")
    shape = zone_canvas(picture, kind, key=f"canvas-{cam.id}-{mode}-{_canvas_gen()}")
    if st.button("Add zone", type="primary", disabled=shape is None, key="add_zone"):
        try:
            svc.add_zone(cam.id, name.strip() or f"zone {len(specs) + 1}",
                         "mask" if mode == "Mask" else shape.kind.value, shape.points,
                         anchor.value, int(confirm))
            _next_canvas()
            st.session_state["zone_added"] = True
            st.rerun()
        except DashboardError as e:
            st.error(plain(e))
    if shape is None:
        st.caption(f"Draw a {kind.value} on the picture, name it, then Add zone. To change "
                   "a zone's shape later, use its Reshape button.")


def _canvas_gen() -> int:
    return st.session_state.get("canvas_gen", 0)


def _next_canvas() -> None:
    """A fresh canvas next time (the drawn or edited shape is saved; clear it)."""
    st.session_state["canvas_gen"] = _canvas_gen() + 1


def reshape(svc: UserService, cam: Camera, z: ZoneSpec, picture) -> None:
    """The zone on the canvas, its corners each draggable and the whole shape too; Save
    keeps its id and counts."""
    st.info(plain(f"Reshaping {z.name}: drag a corner to move it alone, or the shape to "
                  "move it whole, then Save shape. Counts are kept."),
            icon=":material/edit:")
    kind = ZoneKind.LINE if z.kind is ZoneKind.LINE else ZoneKind.POLYGON
    shape = zone_canvas(picture, kind, start=[list(p) for p in z.points],
                        key=f"canvas-{cam.id}-reshape-{z.id}-{_canvas_gen()}")
    c1, c2 = st.columns(2)
    if c1.button("Save shape", type="primary", disabled=shape is None, key="save_shape"):
        try:
            svc.update_zone(cam.id, z.id, points=shape.points)
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
    c1, c2 = st.columns([2, 3], vertical_alignment="center")
    new_name = c1.text_input("Name", z.name, key=f"name-{z.id}", label_visibility="collapsed",
                             max_chars=80)
    c2.caption(plain(zone_rules_text(z)))
    if new_name.strip() and new_name.strip() != z.name:
        try:
            svc.update_zone(cam.id, z.id, name=new_name)
            st.rerun()
        except DashboardError as e:
            st.error(plain(e))
    with st.container(horizontal=True, key=f"actions-{z.id}"):   # wraps on a narrow screen
        zone_actions(svc, cam, z)


def zone_actions(svc: UserService, cam: Camera, z: ZoneSpec) -> None:
    """Rules, Flip, Reshape and Delete of one zone."""
    if z.kind.counts:
        # A saved change gives the popover a new key: it is drawn again, closed.
        gen = st.session_state.get(f"rules-gen-{z.id}", 0)
        with st.popover("Rules", help="What counts, and when to alert",
                        key=f"rules-pop-{z.id}-{gen}"):
            zone_rules(svc, cam, z)
    if z.kind is ZoneKind.LINE and st.button("Flip", key=f"flip-{z.id}",
                                            help="Swap which way is IN"):
        svc.flip_zone(cam.id, z.id)
        st.rerun()
    if st.button("Reshape", key=f"reshape-{z.id}", help="Move it or drag its corners"):
        st.session_state["reshape"] = z.id
        _next_canvas()
        st.rerun()
    if st.button("Delete", key=f"del-{z.id}",
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
            gen = f"rules-gen-{z.id}"
            st.session_state[gen] = st.session_state.get(gen, 0) + 1
            st.rerun()
        except DashboardError as e:
            st.error(plain(e))
