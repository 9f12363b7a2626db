"""What every page shares: the service, the chosen camera, and text that stays text."""
from __future__ import annotations

import functools
import re
import time
from typing import Callable, ParamSpec

import streamlit as st

from dashboard.service.auth import Role, User
from dashboard.errors import NotAllowed, SessionEnded
from dashboard.config.camera import Camera
from dashboard.config.kinds import CameraState
from dashboard.web.gate import COOKIE
from dashboard.service.access import UserService
from dashboard.service.core import shared_service
from dashboard.service.views import CameraStatus, ZoneFigures

STATE_COLORS = {CameraState.LIVE: "green", CameraState.LOADING: "orange",
                CameraState.CONNECTING: "orange", CameraState.RECONNECTING: "orange",
                CameraState.WAITING: "blue", CameraState.SILENT: "red",
                CameraState.ENDED: "gray", CameraState.STOPPED: "gray", CameraState.FAILED: "red"}
P = ParamSpec("P")
BUILT_FOR = "page_built_for_role"     # session state: the role the page was built for
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|www)(?=[:.])")   # what GFM makes a link of
_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def cookie_token() -> str | None:
    """The session token the browser sent (the gate already checked it for the websocket)."""
    return st.context.cookies.get(COOKIE)


def current_user() -> User | None:
    return shared_service().user_for(cookie_token())


def service() -> UserService:
    """The server's one service as this visitor's session may use it: every call looks
    the session's user and role up again on the server, when it acts (so a fragment or a
    button kept by an open page loses its powers with a logout, a password change, a
    removal or a demotion); buttons a role may not use are hidden as a courtesy only.
    `SessionEnded` when the login has ended already: `guarded` pages say so."""
    from dashboard.web.server import setup_logging

    setup_logging()
    svc = shared_service().as_session(cookie_token())
    # Looked up now: a page of a session that ended shows nothing else; the role the page
    # is built for is kept, so its refreshing parts notice when it changes.
    st.session_state[BUILT_FOR] = svc.user.role
    return svc


def guarded(fn: Callable[P, None]) -> Callable[P, None]:
    """A page that says "log in again" when the session behind it has ended and "not
    allowed" in words when a role is refused, instead of failing. (It returns normally,
    so Streamlit clears what the page showed before: `st.stop()` would leave it.)

    Example:
        >>> @guarded
        ... def page() -> None: ...
        >>> page.__name__
        'page'
    """
    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            fn(*args, **kwargs)
        except SessionEnded:
            st.warning("Your session has ended: log in again.")
            st.markdown('<a href="/login" target="_self">Log in</a>', unsafe_allow_html=True)
        except NotAllowed as e:
            st.error(plain(e), icon=":material/block:")
    return run


def refreshed(every_s: float, watch: bool = False
              ) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """A part of a page that runs again every `every_s` seconds (a Streamlit fragment); a
    refused role is said in words. One part of each page is its watchman (`watch`): when
    the session behind the page has ended or its role has changed, it reruns the whole page
    (which then says "log in again", or shows what the new role may do). Only one: several
    parts asking for a whole-page rerun at once could blank the page in the browser. The
    others show nothing more once the session has ended.

    Example:
        >>> @refreshed(2.0)
        ... def part() -> None: ...
        >>> callable(part)
        True
    """
    def wrap(fn: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(fn)
        def run(*args: P.args, **kwargs: P.kwargs) -> None:
            if watch:
                user = current_user()
                if user is None or user.role is not st.session_state.get(BUILT_FOR):
                    st.rerun()        # the whole page, not one part of it
            try:
                fn(*args, **kwargs)
            except SessionEnded:
                return                # the watchman reruns the page within `every_s`
            except NotAllowed as e:
                st.error(plain(e), icon=":material/block:")
        return st.fragment(run_every=every_s)(run)
    return wrap


def can(svc: UserService, role: Role) -> bool:
    """Whether this visitor's role reaches `role` (to show or hide controls)."""
    return svc.user.role.allows(role)


def plain(text: object) -> str:
    """Text for Streamlit's Markdown-reading widgets, shown as typed: names, sources and
    file names never become links, pictures, formatting or HTML. Markdown is escaped; and
    since GitHub-flavoured Markdown also turns bare addresses into links after that
    (http://..., www...., name@host), an invisible word joiner (U+2060) goes where it
    breaks them.

    Example:
        >>> plain("![x](y.png) *b*")
        '\\\\!\\\\[x\\\\]\\\\(y\\\\.png\\\\) \\\\*b\\\\*'
        >>> plain('=HYPERLINK("http://e.example")').count("\u2060"), plain("a@b.example")
        (1, 'a@\u2060b\\\\.example')
    """
    text = _AUTOLINK.sub("\\1\u2060", str(text)).replace("@", "@\u2060")
    return _MARKDOWN.sub(r"\\\1", text).replace("/", "\\/")


def state_line(s: CameraStatus) -> str:
    """"live · 15.0 fps" or "failed: why" in the state's colour; Markdown-safe."""
    line = s.state.value
    if s.state is CameraState.LIVE:
        line += f" · {s.processed_fps:.1f} fps"
    if s.detail:
        line += f": {s.detail}"
    if s.where:
        line += f" · on node {s.where[:8]}"
    color = STATE_COLORS[s.state]
    if s.behind:     # live, but not keeping up: the state itself turns amber or red
        color = "red" if s.behind_level == "error" else "orange"
        line += ", falling behind"
    text = f":{color}[{plain(line)}]"
    if s.behind:
        text += f"  \n:{color}[{plain(s.behind)}]"
    if s.store:      # crossings waiting on the database: the operator must know at once
        text += f"  \n:red[{plain(s.store)}]"
    if s.notice:
        text += f"  \n:orange[{plain(s.notice)}]"
    if s.advice:
        text += f"  \n:orange[{plain(s.advice)}]"
    return text


@refreshed(2.0, watch=True)
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


OPENING = "opening_camera"   # session key: (camera id, when) of a switch not yet arrived
OPENING_S = 10.0             # how long a lost switch is made again


def open_camera(cid: str, asked: float | None = None) -> None:
    """Go to the Camera page showing `cid`. The switch is remembered until that page runs
    (`follow_opening`): a part of the page that reruns by itself (every page has one, every
    2 s) may ask at the same moment, and Streamlit then keeps the newer request's page, so
    the switch was lost and the operator stayed where they were (seen after Add camera).
    `asked`: when the operator asked for it (a switch made again keeps the first time)."""
    st.session_state["camera_id"] = cid
    st.session_state.pop("camera_pick", None)
    st.session_state[OPENING] = (cid, time.monotonic() if asked is None else asked)
    st.switch_page(st.session_state["pages"]["camera"], query_params={"camera": cid})


def follow_opening(on_camera_page: bool) -> None:
    """Each whole run, before its page: arrived on the Camera page, the switch is done;
    on another within `OPENING_S` of it, it was lost: made again. Later, the operator
    went elsewhere themselves: forgotten."""
    opening = st.session_state.get(OPENING)
    if opening is None:
        return
    if on_camera_page or time.monotonic() - opening[1] > OPENING_S:
        st.session_state.pop(OPENING, None)
        return
    open_camera(*opening)
