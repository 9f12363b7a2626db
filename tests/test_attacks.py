"""Attacks from outside, as they were made against a real server on loopback: a page on
another port of the same host making a logged-in browser write, and pages and streams left
open after their user's login ended (logout in another tab, password change, removal,
demotion)."""
from __future__ import annotations

import http.client
import http.server
import threading
import time
from pathlib import Path

import pytest

from support.helpers import wait_until
from support.rtsp_server import free_port
from support.server import ADMIN_PASSWORD, CHROMIUM, CHROMIUM_ARGS, DashboardServer, log_in

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)

# What a page on another port runs in the admin's browser: writes that need no permission
# from the browser (no-cors, text/plain or a form), the same as JSON (which must ask first),
# and the page's websocket.
ATTACK = """<!doctype html><html><body><script>
const base = "http://127.0.0.1:%(port)d";
async function attack() {
  const out = {};
  const user = JSON.stringify({username: "csrfadmin", password: "csrf-pass-123",
                               role: "admin"});
  for (const [name, url, init] of [
      ["user", "/api/users", {headers: {"Content-Type": "text/plain"}, body: user}],
      ["form", "/api/users", {headers: {"Content-Type": "application/x-www-form-urlencoded"},
                              body: user}],
      ["stop", "/api/cameras/%(cid)s/stop", {}]]) {
    try {
      await fetch(base + url, {method: "POST", mode: "no-cors", credentials: "include", ...init});
      out[name] = "sent";
    } catch (e) { out[name] = "error " + e; }
  }
  try {
    const r = await fetch(base + "/api/users", {method: "POST", credentials: "include",
        headers: {"Content-Type": "application/json"}, body: user});
    out.json = "answered " + r.status;
  } catch (e) { out.json = "blocked"; }
  out.ws = await new Promise(done => {
    const ws = new WebSocket("ws://127.0.0.1:%(port)d/_stcore/stream");
    ws.onopen = () => { ws.close(); done("open"); };
    ws.onerror = () => done("refused");
    setTimeout(() => done("no answer"), 15000);
  });
  window.result = out;
}
attack();
</script></body></html>"""


class AttackSite:
    """A web server on another loopback port serving one page (the attacker's)."""

    def __init__(self, folder: Path, html: str) -> None:
        (folder / "attack.html").write_text(html)
        handler = lambda *a: http.server.SimpleHTTPRequestHandler(  # noqa: E731
            *a, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/attack.html"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = DashboardServer(tmp_path_factory.mktemp("attacks"), demo=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def audit_since(srv, t0: float, user: str) -> list[dict]:
    return [r for r in srv.get("/api/audit?limit=1000")[1]
            if r["user"] == user and r["t"] >= t0]


def test_a_page_on_another_port_cannot_make_a_logged_in_admin_write(srv, browser, tmp_path):
    status, cam = srv.post("/api/cameras", {"name": "Door", "source": "demo",
                                            "enabled": False})
    assert status == 201, cam
    site = AttackSite(tmp_path, ATTACK % {"port": srv.port, "cid": cam["id"]})
    context = browser.new_context()
    try:
        page = context.new_page()
        log_in(page, srv.url, "admin", ADMIN_PASSWORD)
        page.get_by_text("admin · admin").wait_for(timeout=60_000)   # its own websocket works
        t0 = time.time()
        page.goto(site.url)
        page.wait_for_function("window.result !== undefined", timeout=60_000)
        result = page.evaluate("window.result")
        assert result["ws"] != "open", result                       # the websocket is refused
        names = [u["username"] for u in srv.get("/api/users")[1]]
        assert "csrfadmin" not in names, result
        assert srv.get(f"/api/cameras/{cam['id']}")[0] == 200       # not deleted
        assert audit_since(srv, t0, "admin") == []                   # nothing done as admin
        # The same browser on the dashboard's own page may still write with its cookie.
        page.goto(srv.url + "/")
        page.get_by_text("admin · admin").wait_for(timeout=60_000)
        answer = page.evaluate("""async (cid) => {
            const r = await fetch("/api/cameras/" + cid + "/stop", {method: "POST"});
            return r.status; }""", cam["id"])
        assert answer == 200
        assert [r["action"] for r in audit_since(srv, t0, "admin")] == ["stop"]
        # A text/plain body is refused from any page: JSON must say it is JSON.
        answer = page.evaluate("""async () => {
            const r = await fetch("/api/users", {method: "POST", body: "{}",
                                                 headers: {"Content-Type": "text/plain"}});
            return r.status; }""")
        assert answer == 415
    finally:
        context.close()
        site.close()
    # A login form posted from another site is refused too (no logging a victim in as
    # the attacker); scripts without an Origin still log in.
    status, body = srv.request("POST", "/api/login", {"username": "admin",
                                                      "password": ADMIN_PASSWORD},
                               headers={"Origin": "http://127.0.0.1:1"}, token=None)
    assert status == 403 and "another site" in body["error"]
    assert srv.login("admin", ADMIN_PASSWORD)


def change_password(admin_page, name: str) -> None:
    admin_fetch(admin_page, "PATCH", f"/api/users/{name}", {"password": "changed-pass-9"})


def remove(admin_page, name: str) -> None:
    admin_fetch(admin_page, "DELETE", f"/api/users/{name}")


def demote(admin_page, name: str) -> None:
    admin_fetch(admin_page, "PATCH", f"/api/users/{name}", {"role": "viewer"})


def admin_fetch(admin_page, method: str, path: str, body: dict | None = None) -> None:
    """The admin, in their own browser, changes a user through the API with their cookie."""
    status = admin_page.evaluate("""async ([method, path, body]) => {
        const init = {method};
        if (body) { init.body = JSON.stringify(body);
                    init.headers = {"Content-Type": "application/json"}; }
        return (await fetch(path, init)).status; }""", [method, path, body])
    assert status in (200, 204), (method, path, status)


@pytest.mark.parametrize("end", ["logout", "password", "removal", "demotion"])
def test_a_page_left_open_loses_its_powers_when_its_login_ends(srv, browser, end, tmp_path):
    name = f"op_{end}"
    assert srv.post("/api/users", {"username": name, "password": "operator-pass-1",
                                   "role": "operator"})[0] == 201
    status, cam = srv.post("/api/cameras", {"name": f"Aisle {end}", "source": "demo",
                                            "enabled": False})
    assert status == 201
    operator = browser.new_context(viewport={"width": 1280, "height": 900})
    admin = browser.new_context()
    try:
        page = operator.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        log_in(page, srv.url, name, "operator-pass-1")
        page.goto(f"{srv.url}/camera?camera={cam['id']}")
        ask = page.locator(".st-key-reset-ask button").first
        ask.wait_for(timeout=60_000)
        reset = page.locator(".st-key-reset button").first
        for _ in range(3):            # allowed now: audited as the operator (a click that
            if not reset.is_visible():   # lands during a refresh is lost: a person clicks
                ask.click()              # again); Reset asks first
                reset.wait_for(timeout=30_000)
            reset.click()
            if wait_until(lambda: any(r["action"] == "reset"
                                      for r in audit_since(srv, 0, name)), 15):
                break
        assert [r["action"] for r in audit_since(srv, 0, name)] == ["reset", "login"]
        if end == "logout":                          # in another tab of the same browser
            other = operator.new_page()
            other.goto(srv.url + "/logout")
            other.wait_for_url(lambda u: "/login" in u, timeout=30_000)
        else:
            admin_page = admin.new_page()
            log_in(admin_page, srv.url, "admin", ADMIN_PASSWORD)
            {"password": change_password, "removal": remove, "demotion": demote}[end](
                admin_page, name)
        t0 = time.time()
        try:                          # the old page's button, if it is still shown
            if not reset.is_visible():
                ask.click(timeout=3_000)
            reset.click(timeout=3_000)
        except Exception:             # noqa: BLE001 - gone already: the page knew first
            pass
        words = "You can watch and export" if end == "demotion" else "Your session has ended"
        shown = wait_until(lambda: page.get_by_text(words).count() > 0, 30)
        page.screenshot(path=str(tmp_path / f"{end}.png"), full_page=True)
        done = [r for r in audit_since(srv, t0, name) if r["ok"]]
        assert done == [], done                      # nothing was done in their name
        assert shown, (f"the page did not say {words!r}", errors[-5:])
        assert wait_until(lambda: page.locator(".st-key-reset-ask button").count() == 0, 10)
        time.sleep(3)                 # and stays so: the page's refreshing parts show nothing
        assert page.locator(".st-key-reset-ask button").count() == 0
        assert page.get_by_text(f"{name} · operator").count() == 0
    finally:
        operator.close()
        admin.close()


def test_a_stream_ends_when_its_viewer_is_removed(srv):
    assert srv.post("/api/users", {"username": "vic", "password": "viewer-pass-12",
                                   "role": "viewer"})[0] == 201
    status, cam = srv.post("/api/cameras", {"name": "Street", "source": "demo",
                                            "enabled": False})
    token = srv.login("vic", "viewer-pass-12")
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    conn.request("GET", f"/api/cameras/{cam['id']}/video.mjpg",
                 headers={"Authorization": f"Bearer {token}"})
    stream = conn.getresponse()
    assert stream.status == 200 and stream.read1(100).startswith(b"--frame")
    assert srv.delete("/api/users/vic")[0] == 204
    ended = threading.Event()

    def read_to_end() -> None:
        while stream.read1(65536):
            pass
        ended.set()

    threading.Thread(target=read_to_end, daemon=True).start()
    assert ended.wait(30), "the stream went on after its viewer was removed"
    conn.close()
    assert srv.get(f"/api/cameras/{cam['id']}", token=token)[0] == 401


def test_a_forged_forwarded_address_does_not_reset_the_login_limit(srv):
    assert srv.post("/api/users", {"username": "fay", "password": "operator-pass-1",
                                   "role": "operator"})[0] == 201
    answers = []
    for i in range(7):
        status, _ = srv.request("POST", "/api/login", {"username": "fay", "password": "wrong!"},
                                headers={"X-Forwarded-For": f"203.0.113.{i}"}, token=None)
        answers.append(status)
    assert answers[:5] == [401] * 5 and answers[5:] == [429, 429], answers
    failed = [r for r in srv.get("/api/audit?limit=50")[1]
              if r["action"] == "login" and r["user"] == "fay"]
    assert {r["target"] for r in failed} == {"unverified forwarded address"}   # one, not 7


def test_a_flood_of_parallel_logins_checks_few_passwords_and_others_are_served(srv):
    from concurrent.futures import ThreadPoolExecutor

    assert srv.post("/api/users", {"username": "flo", "password": "operator-pass-1",
                                   "role": "operator"})[0] == 201
    assert srv.post("/api/users", {"username": "val", "password": "viewer-pass-12",
                                   "role": "viewer"})[0] == 201
    viewer = srv.login("val", "viewer-pass-12")

    def attempt(_: int) -> int:
        return srv.request("POST", "/api/login", {"username": "flo", "password": "nope-nope"},
                           headers={"Origin": srv.url}, token=None)[0]

    with ThreadPoolExecutor(60) as pool:
        flood = [pool.submit(attempt, i) for i in range(100)]
        me = srv.get("/api/me", token=viewer)                 # another client meanwhile
        statuses = [f.result() for f in flood]
    assert me[0] == 200
    assert statuses.count(401) <= 5 and statuses.count(429) >= 95, statuses
    checked = [r for r in srv.get("/api/audit?limit=500")[1] if r["action"] == "login"
               and r["user"] == "flo" and "Wrong" in (r["detail"] or "")]
    assert len(checked) <= 5


def test_a_browser_that_logged_in_before_gets_in_after_a_stranger_shut_the_door(srv, browser):
    assert srv.post("/api/users", {"username": "ann", "password": "admin-pass-123",
                                   "role": "admin"})[0] == 201
    context = browser.new_context()
    try:
        page = context.new_page()
        log_in(page, srv.url, "ann", "admin-pass-123")       # her own browser, once
        page.goto(srv.url + "/logout")
        for i in range(6):                                   # a stranger, same address
            srv.request("POST", "/api/login", {"username": "ann", "password": f"guess{i}"},
                        token=None)
        status, body = srv.request("POST", "/api/login", {"username": "ann",
                                                          "password": "admin-pass-123"},
                                   token=None)
        assert status == 429, body                           # the stranger's door is shut
        log_in(page, srv.url, "ann", "admin-pass-123")       # hers is not
        page.get_by_text("ann · admin").wait_for(timeout=60_000)
    finally:
        context.close()


def test_bodies_and_numbers_a_visitor_sends_are_bounded(srv):
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
    conn.putrequest("POST", "/api/login")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(400 * 2**20))       # claims 400 MB
    conn.endheaders()
    conn.send(b"{" * 65536)
    answer = conn.getresponse()
    assert answer.status == 413
    conn.close()
    nested = b"[" * 1500 + b"]" * 1500          # 3 KB, nested deeper than Python parses
    assert srv.request("POST", "/api/login", nested, token=None)[0] == 400
    cid = srv.post("/api/cameras", {"name": "Numbers", "source": "demo",
                                    "enabled": False})[1]["id"]
    for query in ("limit=1e400", "limit=nan", "since=inf", "since=1e300", "until=-inf"):
        status, body = srv.get(f"/api/cameras/{cid}/events?{query}")
        assert status == 400 and "finite number" in body["error"], (query, status)
    assert "Traceback" not in srv.log()
    assert srv.post("/api/users", {"username": "vera", "password": "viewer-pass-12",
                                   "role": "viewer"})[0] == 201
    viewer = srv.login("vera", "viewer-pass-12")
    status, body = srv.request("PUT", "/_stcore/upload_file/session/file", b"x" * 1000,
                               token=viewer)
    assert status == 403 and "admins" in body["error"]


def test_every_answer_forbids_framing_by_others_and_the_database_is_the_owners(srv):
    import os
    import urllib.error
    import urllib.request

    for path in ("/login", "/api/health", "/", "/static/index.html"):
        req = urllib.request.Request(srv.url + path,
                                     headers={"Authorization": f"Bearer {srv.token}"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                headers = r.headers
        except urllib.error.HTTPError as e:
            headers = e.headers
        assert headers["X-Frame-Options"] == "SAMEORIGIN", path
        assert headers["Content-Security-Policy"] == "frame-ancestors 'self'", path
        assert headers["X-Content-Type-Options"] == "nosniff", path
    for name in ("dashboard.db", "dashboard.db-wal"):
        mode = os.stat(srv.data / name).st_mode & 0o777
        assert mode == 0o600, (name, oct(mode))


def test_names_stay_text_and_the_pages_ask_no_outside_host(srv, browser, tmp_path):
    status, cam = srv.post("/api/cameras", {"name": "Links", "source": "demo",
                                            "enabled": False})
    for name in ('=HYPERLINK("http://evil.example/x","click")', "[a](http://evil.example)",
                 "www.evil.example", "mail me@evil.example", "minute"):
        assert srv.post(f"/api/cameras/{cam['id']}/zones", {
            "name": name, "type": "line", "points": [[0.1, 0.5], [0.9, 0.5]]})[0] == 201
    outside: list[str] = []
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        page = context.new_page()
        page.on("request", lambda r: outside.append(r.url)
                if not r.url.startswith((srv.url, "data:", "blob:")) else None)
        log_in(page, srv.url, "admin", ADMIN_PASSWORD)
        page.get_by_text("admin · admin").wait_for(timeout=60_000)
        page.goto(f"{srv.url}/camera?camera={cam['id']}")
        table = page.locator('[data-testid="stTable"]')
        table.get_by_text("HYPERLINK").wait_for(timeout=60_000)
        page.screenshot(path=str(tmp_path / "names.png"), full_page=True)
        assert table.locator("a").count() == 0                    # no name became a link
        hrefs = page.evaluate("Array.from(document.querySelectorAll('a')).map(a => a.href)")
        assert all(h.startswith(srv.url) for h in hrefs), hrefs
        assert outside == []                                       # works offline
    finally:
        context.close()


def test_a_user_changes_their_own_password_on_the_page(srv, browser):
    assert srv.post("/api/users", {"username": "pia", "password": "viewer-pass-12",
                                   "role": "viewer"})[0] == 201
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        log_in(page, srv.url, "pia", "viewer-pass-12")
        page.get_by_text("pia · viewer").wait_for(timeout=60_000)
        page.get_by_text("Change my password").first.click()
        page.get_by_label("Current password").fill("viewer-pass-12")
        page.get_by_label("New password (8 or more characters)").fill("pia-new-pass-1")
        page.get_by_role("button", name="Change my password").last.click()
        page.get_by_text("Password changed").wait_for(timeout=30_000)
        assert srv.request("POST", "/api/login", {"username": "pia",
                                                  "password": "viewer-pass-12"},
                           token=None)[0] == 401
        assert srv.login("pia", "pia-new-pass-1")
    finally:
        context.close()


def test_an_8192_pixel_video_fails_in_words_and_the_server_stays_up(srv):
    import cv2
    import numpy as np

    media = srv.data / "media"
    media.mkdir(exist_ok=True)
    writer = cv2.VideoWriter(str(media / "huge.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5,
                             (8192, 8192))
    for _ in range(3):
        writer.write(np.full((8192, 8192, 3), 80, np.uint8))
    writer.release()
    status, cam = srv.post("/api/cameras", {"name": "Huge", "source": "huge.avi",
                                            "settings": {"imgsz": 320}})
    assert status == 201, cam

    def state() -> dict:
        return srv.get(f"/api/cameras/{cam['id']}")[1]["status"]

    assert wait_until(lambda: state()["state"] == "failed", 120), state()
    assert "8192x8192" in state()["detail"] and "megapixels" in state()["detail"]
    assert srv.get(f"/api/cameras/{cam['id']}/frame.jpg")[0] == 404   # nothing was drawn
    assert srv.get("/api/health")[0] == 200 and srv.proc.poll() is None


def test_a_decoder_that_crashes_takes_its_camera_down_not_the_server(srv):
    import os
    import signal

    from dashboard.demo.scene import write_clip
    from support.helpers import decoders

    write_clip(srv.data / "media" / "long.mp4", seconds=60, seed=3, width=320, height=180)
    status, cam = srv.post("/api/cameras", {"name": "Long", "source": "long.mp4",
                                            "settings": {"imgsz": 320, "pacing": "native"}})
    assert status == 201, cam

    def state() -> dict:
        return srv.get(f"/api/cameras/{cam['id']}")[1]["status"]

    assert wait_until(lambda: state()["state"] == "live" and decoders(srv.proc.pid), 120)
    for pid in decoders(srv.proc.pid):     # as FFmpeg dies on a damaged or hostile file
        os.kill(pid, signal.SIGSEGV)
    assert wait_until(lambda: state()["state"] == "failed", 60), state()
    assert "decoder crashed (SIGSEGV)" in state()["detail"]
    assert srv.get("/api/health")[0] == 200 and srv.proc.poll() is None   # the server lives
    assert srv.post(f"/api/cameras/{cam['id']}/start")[0] == 200         # and can try again
    assert wait_until(lambda: state()["state"] == "live", 120), state()


def test_four_floods_of_400_mb_bodies_leave_the_servers_memory_as_it_was(srv):
    import socket
    import threading

    def rss_mib() -> float:
        for line in open(f"/proc/{srv.proc.pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def flood(path: str, results: list) -> None:
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=60)
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\nContent-Type: "
                  f"application/json\r\nContent-Length: {400 * 2**20}\r\n\r\n".encode())
        sent, chunk = 0, b"{" * 2**20
        try:
            while sent < 100 * 2**20:                 # 100 MB each, or until refused
                s.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass
        try:
            results.append(s.recv(64).split(b" ")[1])
        except (OSError, IndexError):
            results.append(b"closed")
        s.close()

    before, results = rss_mib(), []
    threads = [threading.Thread(target=flood, args=("/api/login", results)) for _ in range(4)]
    peak = before
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, rss_mib())
        threads[0].join(0.05)
    for t in threads:
        t.join()
    assert set(results) <= {b"413", b"closed"} and b"413" in results
    print(f"server RSS {before:.0f} MiB before four floods, {peak:.0f} MiB at most")
    assert peak - before < 64, (before, peak)      # was: 1.5 GB to 2.5 GB
    assert srv.get("/api/health")[0] == 200


def test_an_admin_adds_users_on_the_page_with_passwords_typed_just_before_the_click(srv,
                                                                                     browser):
    """Name, password and role go with the click (a form): an 11-character password typed
    and clicked at once was sometimes refused as shorter than 8."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        log_in(page, srv.url)
        page.goto(f"{srv.url}/users")
        page.get_by_text("Add a user").first.click()
        for i in range(3):
            page.get_by_label("User name").fill(f"clerk{i}")
            page.get_by_label("Password (8 or more characters)").type("elevenchars", delay=0)
            page.get_by_role("button", name="Add user").click()
            assert wait_until(lambda: f"clerk{i}" in {u["username"] for u in
                                                      srv.get("/api/users")[1]}, 30), i
            page.get_by_text("User added.").last.wait_for(timeout=30_000)
            assert "shorter" not in page.locator("body").inner_text()
    finally:
        context.close()
