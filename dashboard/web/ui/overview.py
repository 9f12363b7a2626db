"""The Overview page: every camera as a tile with its picture, state and key counts."""
from __future__ import annotations

import streamlit as st

from dashboard.config.kinds import CameraState
from dashboard.errors import DashboardError
from dashboard.service.access import UserService
from dashboard.service.auth import Role
from dashboard.service.alerts import NOTE_MAX
from dashboard.web.ui.common import (can, counts_table, guarded, open_camera, plain, refreshed,
                                     service, state_line, when)
from dashboard.web.ui.figures import alert_text

COLUMNS = 3
REFRESH_S = 1.5
BOARD_ROWS = 5    # alerts listed at most; the API has them all


@guarded
def page() -> None:
    svc = service()
    cams = svc.cameras()
    head, button = st.columns([4, 1])
    head.subheader("Cameras", anchor=False)
    if can(svc, Role.ADMIN) and button.button("Add a camera", key="go-manage"):
        st.session_state["adding_camera"] = True     # the add form opens on arrival
        st.switch_page(st.session_state["pages"]["cameras"])
    if not cams:
        st.info("No cameras yet: an admin can add one.")
        return
    alert_board(svc)
    for row in range(0, len(cams), COLUMNS):
        cols = st.columns(COLUMNS)
        for col, cam in zip(cols, cams[row:row + COLUMNS]):
            with col.container(border=True):
                st.markdown(f"**{plain(cam.name)}**")
                tile(svc, cam.id)
                if st.button("Open", key=f"open-{cam.id}"):
                    open_camera(cam.id)


@refreshed(REFRESH_S)
def tile(svc: UserService, cid: str) -> None:
    """A refreshed still rather than a stream per tile: a browser keeps only six
    connections to a server, and a wall of streams would take them all."""
    try:
        jpeg, counts, status = svc.jpeg(cid), svc.counts(cid), svc.status(cid)
    except DashboardError:
        return
    if jpeg:
        st.image(jpeg, width="stretch")
    elif status.state is CameraState.ENDED and (still := first_frame(svc, cid)) is not None:
        st.image(still, channels="BGR", width="stretch")   # a file counted to its end
    else:
        st.container(height=120, border=False).caption("No picture yet.")
    st.caption(state_line(status))
    if counts:
        counts_table(counts)


def first_frame(svc: UserService, cid: str) -> object | None:
    """A file camera's still (read once from the file, then kept by its runner), or None
    when it cannot be read."""
    try:
        return svc.still(cid)
    except DashboardError:
        return None


@refreshed(REFRESH_S)
def alert_board(svc: UserService) -> None:
    """The alerts that want attention, across cameras, going on first, one short line each:
    red while an alert lasts, amber once it ended unacknowledged; an operator acknowledges
    one with a note."""
    board = svc.alert_board()
    if not board:
        return
    going = sum(a["active"] for a in board)
    with st.container(border=True):
        st.markdown(f"**Alerts**: {going} going on, {len(board) - going} to look at")
        for a in board[:BOARD_ROWS]:
            at = "since" if a["active"] else "at"
            text = (f"{plain(a['camera'])} · {plain(a['zone'])}: {plain(alert_text(a))}, {at} "
                    f"{when(a['started'])}")
            if a["ack"]:
                text += (f" · acknowledged by {plain(a['ack']['by'])} at "
                         f"{when(a['ack']['at'])}"
                         + (f": {plain(a['ack']['note'])}" if a["ack"]["note"] else ""))
            line, act = st.columns([3, 1], vertical_alignment="center")
            line.markdown(f":{'red' if a['active'] else 'orange'}[{text}]")
            if can(svc, Role.OPERATOR) and not a["ack"]:
                acknowledge(svc, act, a)
        if len(board) > BOARD_ROWS:
            st.caption(f"and {len(board) - BOARD_ROWS} more: each camera's page lists its own.")


def acknowledge(svc: UserService, where: object, a: dict) -> None:
    """The Acknowledge control of one alert: a note, then the button."""
    with where.popover("Acknowledge", width="stretch"):
        note = st.text_input("Note (optional)", key=f"note-{a['camera_id']}-{a['id']}",
                             max_chars=NOTE_MAX)
        if st.button("Acknowledge", key=f"ack-{a['camera_id']}-{a['id']}"):
            try:
                svc.acknowledge(a["camera_id"], a["id"], note)
            except DashboardError as e:
                st.error(plain(e))
            else:
                st.rerun(scope="fragment")


