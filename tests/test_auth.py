"""Login and roles with the real server: every route closed to strangers, each role allowed
what it may and refused the rest (over HTTP and in a real browser), logins rate-limited."""
from __future__ import annotations

import re
import socket
import sqlite3

import pytest

from support.server import CHROMIUM, CHROMIUM_ARGS, DashboardServer, log_in

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)

PASSWORDS = {"olga": "operator-pass-1", "otto": "operator-pass-2", "vic": "viewer-pass-12"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """A first start with no admin password given: the server makes one and logs it once."""
    data = tmp_path_factory.mktemp("auth")
    server = DashboardServer(data, demo=True, HEATMAP_DASHBOARD_ADMIN_PASSWORD="")
    server.token = "not yet"            # start() must not log in with the test password
    server.start()
    printed = re.findall(r"user 'admin' with the password (\S+) ", server.log())
    assert len(printed) == 1, server.log()
    server.admin_password = printed[0]
    server.token = server.login("admin", printed[0])
    for name, role in (("olga", "operator"), ("otto", "operator"), ("vic", "viewer")):
        server.request("POST", "/api/users", {"username": name, "password": PASSWORDS[name],
                                              "role": role})
    yield server
    server.stop()


def test_the_first_admin_password_is_random_shown_once_and_stored_hashed(srv):
    assert len(srv.admin_password) >= 12
    srv.restart()                                          # not shown again
    assert len(re.findall(r"with the password", srv.log())) == 1
    with sqlite3.connect(srv.data / "dashboard.db") as db:
        hashes = [r[0] for r in db.execute("SELECT pw_hash FROM users")]
        tokens = [r[0] for r in db.execute("SELECT token_hash FROM tokens")]
    assert all(h.startswith("$argon2") for h in hashes) and srv.admin_password not in str(hashes)
    assert srv.token not in tokens and srv.token not in srv.log()


ROUTES = ["/", "/camera", "/cameras", "/users", "/_stcore/health", "/_stcore/host-config",
          "/static/index.html", "/api/health", "/api/cameras", "/api/me", "/logout",
          "/api/cameras/{cid}", "/api/cameras/{cid}/zones", "/api/cameras/{cid}/counts",
          "/api/cameras/{cid}/events", "/api/cameras/{cid}/frame.jpg",
          "/api/cameras/{cid}/video.mjpg", "/api/cameras/{cid}/heatmap.png",
          "/api/cameras/{cid}/events.csv"]


def test_every_route_refuses_a_visitor_who_has_not_logged_in(srv):
    cid = srv.get("/api/cameras")[1][0]["id"]
    for route in ROUTES:
        path = route.format(cid=cid)
        status, body = srv.request("GET", path, token=None)
        assert status == 401, (path, status)
        status, _ = srv.request("GET", path, token="forged-token-123")
        assert status == 401, path
        status, _ = srv.request("GET", path, token=None, headers={"Accept": "text/html"})
        assert status == (401 if path.startswith("/api/") else 303), path   # to /login
    for method, path in [("POST", f"/api/cameras/{cid}/stop"), ("DELETE", f"/api/cameras/{cid}"),
                         ("POST", "/api/cameras"), ("PATCH", f"/api/cameras/{cid}")]:
        assert srv.request(method, path, {}, token=None)[0] == 401
    assert srv.get(f"/api/cameras/{cid}")[1]["enabled"] is True          # nothing happened
    # The page's websocket: the handshake itself is refused.
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as s:
        s.sendall(b"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                  b"Sec-WebSocket-Version: 13\r\n\r\n")
        answer = s.recv(1024)
    assert not answer.startswith(b"HTTP/1.1 101"), answer


def test_each_role_may_do_its_part_and_nothing_more(srv):
    cid = srv.get("/api/cameras")[1][0]["id"]
    vic, olga = srv.login("vic", PASSWORDS["vic"]), srv.login("olga", PASSWORDS["olga"])
    assert srv.get("/api/me", token=vic)[1] == {"user": "vic", "role": "viewer"}
    # A viewer watches and exports.
    for path in (f"/api/cameras/{cid}", f"/api/cameras/{cid}/counts",
                 f"/api/cameras/{cid}/events.csv"):
        assert srv.get(path, token=vic)[0] == 200
    for method, path, body in [("POST", f"/api/cameras/{cid}/stop", {}),
                               ("POST", f"/api/cameras/{cid}/reset", {}),
                               ("POST", f"/api/cameras/{cid}/zones",
                                {"name": "x", "type": "line", "points": [[0, 0], [1, 1]]}),
                               ("PATCH", f"/api/cameras/{cid}", {"name": "mine"}),
                               ("POST", "/api/users", {"username": "eve", "password": "12345678",
                                                       "role": "admin"})]:
        status, answer = srv.request(method, path, body, token=vic)
        assert status == 403 and "viewer" in answer["error"], (method, path)
    # An operator also starts, stops, resets and edits zones and looks...
    assert srv.post(f"/api/cameras/{cid}/stop", token=olga)[0] == 200
    assert srv.post(f"/api/cameras/{cid}/start", token=olga)[0] == 200
    status, z = srv.post(f"/api/cameras/{cid}/zones", {"name": "olga's line", "type": "line",
                                                       "points": [[0, 0.5], [1, 0.5]]}, olga)
    assert status == 201
    assert srv.patch(f"/api/cameras/{cid}", {"presentation": {"opacity": 0.6}}, olga)[0] == 200
    # ... but manages neither cameras nor users.
    assert srv.patch(f"/api/cameras/{cid}", {"settings": {"imgsz": 640}}, olga)[0] == 403
    assert srv.post("/api/cameras", {"name": "x", "source": "demo"}, olga)[0] == 403
    assert srv.delete(f"/api/cameras/{cid}", olga)[0] == 403
    assert srv.get("/api/users", token=olga)[0] == 403
    # The audit log has who did what, refusals too.
    log = srv.get("/api/audit")[1]
    assert {"user": "olga", "action": "add_zone", "ok": True} in \
        [{k: r[k] for k in ("user", "action", "ok")} for r in log]
    assert any(r["user"] == "vic" and not r["ok"] for r in log)
    assert any(r["action"] == "login" and r["user"] == "olga" for r in log)


def test_logins_are_rate_limited_and_tokens_can_be_revoked(srv):
    for _ in range(5):
        status, body = srv.request("POST", "/api/login", {"username": "olga",
                                                          "password": "wrong"}, token=None)
        assert status == 401 and "Wrong" in body["error"]
    status, body = srv.request("POST", "/api/login", {"username": "olga",
                                                      "password": PASSWORDS["olga"]}, token=None)
    assert status == 429 and "Too many" in body["error"]         # even the right password
    token = srv.login("vic", "viewer-pass-12")
    assert srv.get("/api/me", token=token)[0] == 200
    assert srv.post("/api/logout", token=token)[0] == 200
    assert srv.get("/api/me", token=token)[0] == 401
    log = srv.get("/api/audit")[1]
    assert sum(r["action"] == "login" and not r["ok"] for r in log) >= 6


def test_a_browser_logs_in_sees_what_its_role_allows_and_logs_out(srv, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1024, "height": 900})
        page.goto(srv.url + "/camera")
        assert "/login" in page.url                                  # sent to log in first
        page.fill("#username", "vic")
        page.fill("#password", "not-the-password")
        page.click("button[type=submit]")
        assert "Wrong user name or password" in page.content()
        log_in(page, srv.url, "vic", PASSWORDS["vic"])
        page.get_by_text("vic · viewer").wait_for(timeout=60_000)
        page.get_by_text("Demo street").first.wait_for(timeout=60_000)
        assert page.get_by_text("Manage cameras").count() == 0       # not for a viewer
        page.get_by_role("button", name="Open").first.click()
        page.get_by_text("You can watch and export").wait_for(timeout=30_000)
        # Our Stop (by its key; Streamlit's own status bar has a "Stop" while a page runs).
        assert page.locator(".st-key-stop").count() == 0
        page.screenshot(path=str(tmp_path / "viewer.png"), full_page=True)
        page.get_by_role("link", name="Log out").click()
        page.wait_for_url(lambda u: "/login" in u, timeout=30_000)
        page.goto(srv.url + "/camera")
        assert "/login" in page.url                                  # the session is over
        log_in(page, srv.url, "otto", PASSWORDS["otto"])   # an operator (olga is locked out)
        page.get_by_text("otto · operator").wait_for(timeout=60_000)
        assert page.get_by_text("Manage cameras").count() == 0
        page.get_by_role("button", name="Open").first.click()
        page.locator(".st-key-reset-ask button").first.wait_for(timeout=30_000)  # Reset
        page.get_by_text("Zones", exact=True).first.wait_for(timeout=30_000)
        page.goto(srv.url + "/logout")
        log_in(page, srv.url, "admin", srv.admin_password)
        page.get_by_text("admin · admin").wait_for(timeout=60_000)
        page.get_by_text("Users").first.click()
        page.get_by_text("Audit log").wait_for(timeout=30_000)
        browser.close()
