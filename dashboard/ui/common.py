"""What every page shares: the service, the chosen camera, and text that stays text."""
from __future__ import annotations

import re
import time

import streamlit as st

from dashboard.auth import Role, User
from dashboard.entities import Camera, CameraState
from dashboard.gate import COOKIE
from dashboard.service import CameraStatus, UserService, ZoneFigures, shared_service

STATE_COLORS = {CameraState.LIVE: "green", CameraState.LOADING: "orange",
                CameraState.CONNECTING: "orange", CameraState.RECONNECTING: "orange",
                CameraState.WAITING: "blue",
                CameraState.ENDED: "gray", CameraState.STOPPED: "gray", CameraState.FAILED: "red"}
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def cookie_token() -> str | None:
    """The session token the browser sent (the gate already checked it for the websocket)."""
    return st.context.cookies.get(COOKIE)


def current_user() -> User | None:
    return shared_service().user_for(cookie_token())


def user_service(token: str | None) -> UserService | None:
    """The service as the holder of this session token may use it; None once the session
    has ended (logged out, expired, user removed). For work that outlives a page's run,
    such as a browser camera's frames: it looks the user and their role up again.

    Example:
        >>> user_service(None) is None  # doctest: +SKIP
        True
    """
    user = shared_service().user_for(token)
    return None if user is None else shared_service().as_user(user)


def service() -> UserService:
    """The server's one service as this visitor may use it: every call is checked against
    their role on the server (buttons a role may not use are hidden as a courtesy only)."""
    from dashboard.web import setup_logging

    setup_logging()
    user = current_user()
    if user is None:
        st.warning("Your session has ended: log in again.")
        st.markdown('<a href="/login" target="_self">Log in</a>', unsafe_allow_html=True)
        st.stop()
    return shared_service().as_user(user)


def can(svc: UserService, role: Role) -> bool:
    """Whether this visitor's role reaches `role` (to show or hide controls)."""
    return svc.user.role.allows(role)


def plain(text: object) -> str:
    """Text for Streamlit's Markdown-reading widgets, shown as typed: names, sources and
    file names never become links, pictures, formatting or HTML.

    Example:
        >>> plain("rtsp://***@cam/live ![x](http://e/y.png)")
        'rtsp\\\\:\\\\/\\\\/\\\\*\\\\*\\\\*@cam\\\\/live \\\\!\\\\[x\\\\]\\\\(http\\\\:\\\\/\\\\/e\\\\/y\\\\.png\\\\)'
    """
    return _MARKDOWN.sub(r"\\\1", str(text)).replace("/", "\\/")


def state_line(s: CameraStatus) -> str:
    """"live · 15.0 fps" or "failed: why" in the state's colour; Markdown-safe."""
    line = s.state.value
    if s.state is CameraState.LIVE:
        line += f" · {s.processed_fps:.1f} fps"
    if s.detail:
        line += f": {s.detail}"
    if s.where:
        line += f" · on node {s.where[:8]}"
    text = f":{STATE_COLORS[s.state]}[{plain(line)}]"
    if s.store:      # crossings waiting on the database: the operator must know at once
        text += f"  \n:red[{plain(s.store)}]"
    if s.notice:
        text += f"  \n:orange[{plain(s.notice)}]"
    if s.advice:
        text += f"  \n:orange[{plain(s.advice)}]"
    return text


@st.fragment(run_every=2)
def health_banner(svc: UserService) -> None:
    """A red line on every page while the database cannot be written."""
    text = svc.store_health()
    if text:
        st.error(f"{plain(text)}. Counting goes on; what waits is written as soon as the "
                 "database can take it.", icon=":material/database:")


def counts_table(counts: list[ZoneFigures]) -> None:
    """Zones with in, out and (for areas) who is inside now, as a plain table: readable in
    a narrow column where metric labels would be cut; names escaped (tables read Markdown).
    A zone over its limit is said in red above the table, and its row turns red."""
    import pandas as pd

    for f in counts:
        if f.alert:
            now = f.counts.occupancy if f.counts.occupancy is not None else f.counts.net
            st.error(plain(f"{f.name}: {now} {'inside' if f.counts.occupancy is not None else 'in'}"
                           f", over its limit of {f.limit}"), icon=":material/warning:")
    table = pd.DataFrame({
        "zone": [plain(f.name) for f in counts],
        "in": [str(f.counts.in_count) for f in counts],
        "out": [str(f.counts.out_count) for f in counts],
        "now": ["" if f.counts.occupancy is None else str(f.counts.occupancy) for f in counts],
        "limit": ["" if f.limit is None else str(f.limit) for f in counts]})
    if not any(f.limit for f in counts):
        table = table.drop(columns="limit")
    red = [f.alert for f in counts]
    styled = table.style.apply(lambda row: [ALERT_STYLE if red[row.name] else ""] * len(row),
                               axis=1)
    st.table(styled, border="horizontal", hide_index=True)


ALERT_STYLE = "background-color: #ffdddd; color: #b00000; font-weight: 600"


def when(t: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t))


def chosen_camera(svc: UserService) -> Camera | None:
    """The camera the Camera page shows: from the URL (?camera=id), else the last chosen,
    else the first; the sidebar lets the operator switch."""
    cams = svc.cameras()
    if not cams:
        return None
    ids = [c.id for c in cams]
    wanted = st.query_params.get("camera") or st.session_state.get("camera_id")
    index = ids.index(wanted) if wanted in ids else 0
    names = {c.id: c.name for c in cams}
    cid = st.sidebar.selectbox("Camera", ids, index=index, format_func=names.get,
                               key="camera_pick")
    st.session_state["camera_id"] = cid
    if st.query_params.get("camera") != cid:
        st.query_params["camera"] = cid
    return next(c for c in cams if c.id == cid)


def open_camera(cid: str) -> None:
    """Go to the Camera page showing `cid`."""
    st.session_state["camera_id"] = cid
    st.session_state.pop("camera_pick", None)
    st.switch_page(st.session_state["pages"]["camera"], query_params={"camera": cid})
