"""The Users page (admins): people, their roles and passwords, and the audit log."""
from __future__ import annotations

import streamlit as st

from dashboard.service.auth import Role
from dashboard.errors import DashboardError
from dashboard.service.access import UserService
from dashboard.web.ui.common import can, guarded, plain, service

ROLES = [r.value for r in Role]


@guarded
def page() -> None:
    svc = service()
    st.subheader("Users", anchor=False)
    if not can(svc, Role.ADMIN):
        st.info("Only admins manage users.")
        return
    with st.expander("Add a user"):
        # A form: name, password and role go to the server together with the click (a
        # password typed just before clicking was once sent late, and refused as too short).
        with st.form("add-user-form", clear_on_submit=True, border=False):
            c1, c2, c3 = st.columns(3)
            name = c1.text_input("User name", key="new-user", max_chars=64)
            password = c2.text_input("Password (8 or more characters)", type="password",
                                     key="new-password")
            role = c3.selectbox("Role", ROLES, key="new-role",
                                help="viewer: watch and export · operator: also start, stop, "
                                     "reset and zones · admin: also cameras and users")
            added = st.form_submit_button("Add user", type="primary", key="add-user")
        if added:
            try:
                svc.add_user(name, password, role)
                st.toast("User added.")
            except DashboardError as e:
                st.error(plain(e))
    for user in svc.users():
        with st.container(border=True):
            c1, c2, c3, c4 = st.columns([2, 2, 3, 2])
            c1.markdown(f"**{plain(user.name)}**" + (" (you)" if user == svc.user else ""))
            role = c2.selectbox("Role", ROLES, ROLES.index(user.role.value),
                                key=f"role-{user.name}", label_visibility="collapsed")
            if role != user.role.value:
                try:
                    svc.set_role(user.name, role)
                    st.rerun()
                except DashboardError as e:
                    st.error(plain(e))
            new_pw = c3.text_input("New password", type="password", key=f"pw-{user.name}",
                                   label_visibility="collapsed", placeholder="new password")
            if new_pw and c3.button("Set password", key=f"set-pw-{user.name}"):
                try:
                    svc.set_password(user.name, new_pw)
                    st.toast("Password changed; their sessions are logged out.")
                except DashboardError as e:
                    st.error(plain(e))
            if user != svc.user:
                remove(svc, c4, user.name)
    st.caption("Audit log (newest first): logins, camera and zone changes, starts, stops, "
               "resets, refusals")
    log = svc.audit_log(200)
    st.dataframe({"time": [r["time"] for r in log], "user": [r["user"] for r in log],
                  "action": [r["action"] for r in log], "target": [r["target"] for r in log],
                  "ok": [r["ok"] for r in log], "detail": [r["detail"] for r in log]},
                 hide_index=True, width="stretch", height=400)


def remove(svc: UserService, where: object, name: str) -> None:
    """Remove a user, once asked: their sessions end and they cannot log in again."""
    with where.popover("Remove", key=f"rm-ask-{name}"):
        st.caption(f"Remove {plain(name)}? Their sessions end at once; the audit log keeps "
                   "what they did.")
        if st.button(f"Remove {plain(name)}", key=f"rm-{name}", type="primary"):
            try:
                svc.remove_user(name)
                st.rerun()
            except DashboardError as e:
                st.error(plain(e))


def my_password(svc: UserService) -> None:
    """Any user's own password, in a popover of the sidebar: the current one, then the new
    one; every session of theirs ends (this page's too), so they log in again."""
    with st.popover("Change my password"):
        old = st.text_input("Current password", type="password", key="my-old-password")
        new = st.text_input("New password (8 or more characters)", type="password",
                            key="my-new-password")
        if st.button("Change my password", type="primary", key="my-password"):
            try:
                svc.change_my_password(old, new)
            except DashboardError as e:
                st.error(plain(e))
            else:
                st.success("Password changed. Every session of yours has ended: log in "
                           "again with the new one.")
                st.markdown('<a href="/login" target="_self">Log in</a>',
                            unsafe_allow_html=True)
