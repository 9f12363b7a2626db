"""A session's powers end when the session does: the service as a page or a stream holds it
(built once, kept for minutes) looks the user up again at every call. And the gate's rule
for where a cookie-carrying write may come from, as a table."""
from __future__ import annotations

import pytest

from dashboard.service.auth import SYSTEM, Role, User
from dashboard.errors import NotAllowed, SessionEnded
from dashboard.web.gate import cross_origin, same_origin
from dashboard.service.core import Service
from dashboard.store.sqlite import SQLiteStore

PASSWORD = "operator-pass-1"


@pytest.fixture
def svc(tmp_path):
    service = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False)
    admin = service.as_user(SYSTEM)
    admin.add_user("ada", "admin-pass-12", "admin")
    admin.add_user("olga", PASSWORD, "operator")
    yield service
    service.shutdown()
    service.store.close()


def end_by_logout(svc, token):
    svc.logout(token)


def end_by_password(svc, token):
    svc.as_user(SYSTEM).set_password("olga", "another-pass-2")


def end_by_removal(svc, token):
    svc.as_user(SYSTEM).remove_user("olga")


def end_by_demotion(svc, token):
    svc.as_user(SYSTEM).set_role("olga", "viewer")


@pytest.mark.parametrize("end, refused", [
    (end_by_logout, SessionEnded),
    (end_by_password, SessionEnded),
    (end_by_removal, SessionEnded),
    (end_by_demotion, NotAllowed),
])
def test_a_page_built_before_the_session_ended_can_no_longer_act(svc, end, refused):
    cam = svc.as_user(SYSTEM).add_camera("Door", "demo", enabled=False)
    token = svc.login("olga", PASSWORD, "127.0.0.1")
    page = svc.as_session(token)           # what a page's fragment keeps
    page.reset(cam.id)                     # an operator may
    assert page.user.role is Role.OPERATOR
    end(svc, token)
    with pytest.raises(refused):
        page.reset(cam.id)
    with pytest.raises(refused):
        page.stop(cam.id)
    resets = [r for r in svc.audit_log() if r["user"] == "olga" and r["action"] == "reset"]
    assert [r["ok"] for r in resets] == [False, True]     # newest first: refused, audited
    if refused is SessionEnded:            # a viewer's call too: nothing is read any more
        with pytest.raises(SessionEnded):
            page.counts(cam.id)
    else:
        assert page.counts(cam.id) == [] and page.user.role is Role.VIEWER


def test_a_session_that_never_was_acts_for_nobody(svc):
    page = svc.as_session("made-up-token")
    with pytest.raises(SessionEnded):
        page.cameras()
    with pytest.raises(SessionEnded):
        page.user


def test_a_live_session_keeps_working_and_sees_a_new_role_at_once(svc):
    cam = svc.as_user(SYSTEM).add_camera("Door", "demo", enabled=False)
    svc.as_user(SYSTEM).add_user("vic", "viewer-pass-12", "viewer")
    page = svc.as_session(svc.login("vic", "viewer-pass-12", "127.0.0.1"))
    with pytest.raises(NotAllowed):
        page.reset(cam.id)
    svc.as_user(SYSTEM).set_role("vic", "operator")        # promoted: no new login needed
    page.reset(cam.id)
    assert page.user.role is Role.OPERATOR


@pytest.mark.parametrize("origin, host, same", [
    ("http://127.0.0.1:8501", "127.0.0.1:8501", True),
    ("http://127.0.0.1:8625", "127.0.0.1:8501", False),        # another port: same site
    ("http://localhost:8501", "127.0.0.1:8501", False),
    ("https://dash.example.org", "dash.example.org", True),
    ("https://dash.example.org", "dash.example.org:443", True),
    ("http://dash.example.org", "dash.example.org:443", False),
    ("https://evil.dash.example.org", "dash.example.org", False),  # a subdomain
    ("https://dash.example.org.evil.example", "dash.example.org", False),
    ("http://[::1]:8501", "[::1]:8501", True),
    ("http://127.0.0.1:8501/camera?x=1", "127.0.0.1:8501", True),   # a Referer
    ("null", "127.0.0.1:8501", False),
    ("file://", "127.0.0.1:8501", False),
    ("http://127.0.0.1:99999", "127.0.0.1:8501", False),           # malformed port
    ("http://127.0.0.1:8501", "", False),
])
def test_same_origin_means_the_same_host_and_port(origin, host, same):
    assert same_origin(origin, host) is same


def scope(kind, method="GET", **headers):
    return {"type": kind, "method": method, "headers": [
        (k.replace("_", "-").encode(), v.encode())
        for k, v in {"host": "127.0.0.1:8501", **headers}.items()]}


HERE, THERE = "http://127.0.0.1:8501", "http://127.0.0.1:8625"
COOKIE = "hd_session=abc"


@pytest.mark.parametrize("request_scope, refused", [
    (scope("http", "POST", cookie=COOKIE, origin=THERE), True),
    (scope("http", "PATCH", cookie=COOKIE, origin=THERE), True),
    (scope("http", "DELETE", cookie=COOKIE, origin=THERE), True),
    (scope("http", "PUT", cookie=COOKIE, origin=THERE), True),      # Streamlit's uploads
    (scope("http", "POST", cookie=COOKIE, referer=THERE + "/attack.html"), True),
    (scope("http", "POST", cookie=COOKIE), True),                   # says nothing: refused
    (scope("http", "POST", cookie=COOKIE, origin="null"), True),
    (scope("http", "POST", origin=THERE), True),          # a login form posted from there
    (scope("http", "POST", cookie=COOKIE, origin=HERE), False),
    (scope("http", "POST", cookie=COOKIE, referer=HERE + "/camera"), False),
    (scope("http", "GET", cookie=COOKIE, origin=THERE), False),      # reads change nothing
    (scope("http", "POST", authorization="Bearer t", origin=THERE), False),
    (scope("http", "POST"), False),                       # a script logging in
    (scope("websocket", cookie=COOKIE, origin=THERE), True),
    (scope("websocket", cookie=COOKIE, origin=HERE), False),
])
def test_writes_with_the_cookie_and_websockets_must_come_from_this_origin(request_scope,
                                                                           refused):
    assert (cross_origin(request_scope) is not None) is refused


USE_CASES = {name: getattr(Service, name).needs for name in dir(Service)
             if getattr(getattr(Service, name), "needs", None) is not None}


@pytest.mark.parametrize("name", ["shutdown", "login", "as_user", "as_session", "user_for",
                                  "logout", "store", "auth", "runner", "prune", "_check_source"])
def test_what_is_not_a_declared_use_case_is_refused_to_every_role(svc, name):
    admin = svc.as_user(SYSTEM)
    with pytest.raises(AttributeError):
        getattr(admin, name)


def test_each_use_case_declares_its_least_role_on_itself():
    assert len(USE_CASES) >= 40
    by_role = {r: sorted(n for n, need in USE_CASES.items() if need is r) for r in Role}
    assert {"start", "stop", "reset", "add_zone", "push_frame"} <= set(by_role[Role.OPERATOR])
    assert {"add_camera", "add_user", "set_role", "audit_log"} <= set(by_role[Role.ADMIN])
    assert {"cameras", "counts", "jpeg", "events_csv"} <= set(by_role[Role.VIEWER])
    assert not getattr(Service, "push_frame").audited          # frames: never per frame
    assert getattr(Service, "reset").audited and not getattr(Service, "counts").audited


@pytest.mark.parametrize("role", list(Role))
def test_a_role_reaches_exactly_the_use_cases_it_may(svc, role):
    """Every use case, called by each role with placeholder arguments: refused (NotAllowed,
    before anything is read) exactly when the role is below the declared one."""
    import inspect

    svc.as_user(SYSTEM).add_user("who", "some-pass-123", role.value)
    page = svc.as_session(svc.login("who", "some-pass-123", "127.0.0.1"))
    for name, needed in USE_CASES.items():
        params = list(inspect.signature(getattr(Service, name)).parameters.values())[1:]
        args = ["x" for p in params if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD]
        if name == "update_camera":
            args.append("a new name")    # only the looks are an operator's (tested apart)
        try:
            getattr(page, name)(*args)
            refused = False
        except NotAllowed:
            refused = True
        except (TypeError, Exception):      # noqa: BLE001 - allowed through, then bad input
            refused = False
        assert refused is (not role.allows(needed)), (name, role)


def test_an_operator_may_change_a_cameras_looks_but_not_its_name(svc):
    cam = svc.as_user(SYSTEM).add_camera("Door", "demo", enabled=False)
    svc.as_user(SYSTEM).add_user("oli", "operator-pass-9", "operator")
    page = svc.as_session(svc.login("oli", "operator-pass-9", "127.0.0.1"))
    page.update_camera(cam.id, presentation={"opacity": 0.7})
    with pytest.raises(NotAllowed):
        page.update_camera(cam.id, name="Back door")
    assert svc.camera(cam.id).name == "Door"


@pytest.mark.parametrize("role, said", [("operator", "olga is an operator: add_camera needs"),
                                        ("viewer", "olga is a viewer: add_camera needs")])
def test_a_refusal_names_the_role_in_plain_english(svc, role, said):
    svc.as_user(SYSTEM).set_role("olga", role)
    with pytest.raises(NotAllowed, match=said):
        svc.as_user(User("olga", Role(role))).add_camera("Door", "demo")
