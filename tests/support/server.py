"""The dashboard's server, started as a user starts it (`streamlit run dashboard/web/server.py`),
on a loopback port with its own data directory, for HTTP and browser tests.

    srv = DashboardServer(tmp_path).start(); srv.get("/api/health"); srv.restart(); srv.stop()
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from support.rtsp_server import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN_PASSWORD = "admin-pass-1234"   # the first admin's password in every test server
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Answers are looked at as they come: a redirect is a status, not a second request."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


class DashboardServer:
    """One server process over one data directory; `restart()` keeps port and data."""

    def __init__(self, data: Path, demo: bool = True, prefix: list[str] | None = None,
                 log_path: Path | None = None, **env: str) -> None:
        self.data, self.port = Path(data), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "HEATMAP_DASHBOARD_DATA": str(data), "YOLO_OFFLINE": "1",
                    "HEATMAP_DASHBOARD_DEMO": "1" if demo else "0",
                    "HEATMAP_DASHBOARD_ADMIN_PASSWORD": ADMIN_PASSWORD, **env}
        self.token: str | None = None   # the admin's API token, sent by default
        self.proc: subprocess.Popen | None = None
        self.prefix = prefix or []   # e.g. a command that drops root's file override
        self.log_path = log_path or self.data / "server.log"

    def start(self, timeout_s: float = 120) -> "DashboardServer":
        self.data.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [*self.prefix, sys.executable, "-m", "streamlit", "run", "dashboard/web/server.py", "--server.port",
             str(self.port), "--server.headless", "true"],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("the dashboard exited: " + self.log())
            try:
                if self.request("GET", "/login", token=None)[0] == 200:
                    if self.token is None:
                        self.token = self.login("admin", ADMIN_PASSWORD)
                    return self
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError("the dashboard did not start: " + self.log())

    def stop(self, sig: int = signal.SIGTERM) -> bool:
        """Send `sig`; True when the server ended by itself, False when it was still up a
        minute later and had to be killed."""
        ended = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                ended = False
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        return ended

    def restart(self) -> "DashboardServer":
        self.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def login(self, user: str, password: str) -> str:
        """An API token for `user` (POST /api/login)."""
        status, body = self.request("POST", "/api/login", {"username": user,
                                                           "password": password}, token=None)
        if status != 200:
            raise RuntimeError(f"login as {user} failed: {status} {body}")
        return body["token"]

    def request(self, method: str, path: str, body: Any = None,
                headers: dict[str, str] | None = None, token: Any = "admin"
                ) -> tuple[int, Any]:
        """(status, JSON or bytes) of one HTTP request, as the admin unless another `token`
        (or None: as nobody) is given; error statuses are returned too. A `body` of bytes
        is sent as it is, anything else as JSON."""
        token = self.token if token == "admin" else token
        auth = {"Authorization": f"Bearer {token}"} if token else {}
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json", **auth,
                                              **(headers or {})})
        try:
            with _OPENER.open(req, timeout=60) as r:
                status, raw, kind = r.status, r.read(), r.headers.get("Content-Type", "")
        except urllib.error.HTTPError as e:
            status, raw, kind = e.code, e.read(), e.headers.get("Content-Type", "")
        return status, json.loads(raw) if "json" in kind and raw else raw

    def get(self, path: str, token: Any = "admin") -> tuple[int, Any]:
        return self.request("GET", path, token=token)

    def post(self, path: str, body: Any = None, token: Any = "admin") -> tuple[int, Any]:
        return self.request("POST", path, body if body is not None else {}, token=token)

    def patch(self, path: str, body: Any, token: Any = "admin") -> tuple[int, Any]:
        return self.request("PATCH", path, body, token=token)

    def delete(self, path: str, token: Any = "admin") -> tuple[int, Any]:
        return self.request("DELETE", path, token=token)


def log_in(page, url: str, user: str = "admin", password: str = ADMIN_PASSWORD) -> None:
    """Log a browser page in through the login form, as a person does."""
    page.goto(url + "/login")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda u: "/login" not in u, timeout=30_000)

