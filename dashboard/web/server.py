"""The dashboard's server: the Streamlit pages plus the HTTP API (/api, see `dashboard.web.api`).

    streamlit run dashboard/web/server.py

The service starts with the server, not with the first page: enabled cameras run and count
whether or not anyone has a page open, and stop cleanly (writing what they counted and
their heat) when the server shuts down.
"""
from __future__ import annotations

import logging
import signal
import threading
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator, Callable

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.web.api.common import STOPPING
from dashboard.web.api.routes import ROUTES
from dashboard.web.gate import AuthGate
from dashboard.service.core import close_shared_service, shared_service
from dashboard.vision.secrets import SecretFilter


def setup_logging() -> None:
    """The dashboard's log lines on stderr, with credentials masked in every one."""
    logger = logging.getLogger("dashboard")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(SecretFilter())
        logger.addHandler(handler)
        logger.setLevel(log_level())
        logger.propagate = False


def host_allowed(host: str, allowed: list[str]) -> bool:
    """Whether a request's Host header names this server (`server.allowedHosts`; an empty
    list or "*" allows any). A page on another site that resolves its own name to this
    machine (DNS rebinding) sends its own name, and is refused.

    Example:
        >>> host_allowed("localhost:8501", ["localhost", "127.0.0.1"])
        True
        >>> host_allowed("evil.example:8501", ["localhost", "*.local"]), host_allowed("a.local", ["*.local"])
        (False, True)
    """
    if not allowed or "*" in allowed:
        return True
    name = host.strip().lower()
    name = name[1:name.index("]")] if name.startswith("[") and "]" in name else name.split(":")[0]
    name = name.rstrip(".")
    for pattern in (a.strip().lower().rstrip(".") for a in allowed):
        if name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


class HostCheck:
    """Refuses HTTP requests whose Host is not allowed (Streamlit checks only its
    websocket's); every route, the API and the pages' files alike."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            from streamlit import config

            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1")
            if not host_allowed(host, config.get_option("server.allowedHosts")):
                await JSONResponse({"error": "This server does not answer to that host name; "
                                    "see server.allowedHosts."}, 403)(scope, receive, send)
                return
        await self.app(scope, receive, send)


# Sent with every answer: no other site may frame the pages (clickjacking), browsers take
from dashboard.config.env import log_level
# each answer as the type it says it is, and links out carry no address of ours.
SECURITY_HEADERS = [(b"x-frame-options", b"SAMEORIGIN"),
                    (b"content-security-policy", b"frame-ancestors 'self'"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin")]


class SecurityHeaders:
    """Adds `SECURITY_HEADERS` to every HTTP answer (pages, their files, the API, streams);
    'self' and SAMEORIGIN, not 'none': the pages' own components are frames of this origin."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in SECURITY_HEADERS if k not in names)]
            await send(message)

        await self.app(scope, receive, with_headers)


def on_stop_signals(stopping: threading.Event) -> None:
    """Set `stopping` first when SIGTERM or SIGINT comes, then do what was done before (the
    web server's graceful shutdown). That shutdown waits for every answer in progress to
    end; a viewer's video stream ends only when told, so without this a page left open
    on a camera kept the server up until it was killed, its heat unwritten. Only the main
    thread may set handlers: elsewhere (a server run in a test thread) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, chained(stopping, signal.getsignal(sig)))


def chained(stopping: threading.Event, before: Any) -> Callable[[int, Any], None]:
    """A signal handler that sets `stopping`, then calls `before` (a handler, or a
    `signal.SIG_*` value that is not one, when no Python handler was set).

    Example:
        >>> e, seen = threading.Event(), []
        >>> chained(e, lambda signum, frame: seen.append(signum))(signal.SIGTERM, None)
        >>> e.is_set(), seen
        (True, [<Signals.SIGTERM: 15>])
    """
    def handler(signum: int, frame: Any) -> None:
        stopping.set()
        if callable(before):
            before(signum, frame)
    return handler


@asynccontextmanager
async def lifespan(app: st.App) -> AsyncIterator[None]:
    setup_logging()
    on_stop_signals(STOPPING)   # set after the web server's own handlers, so it chains them
    await run_in_threadpool(shared_service)   # loads cameras, starts the enabled ones
    try:
        yield
    finally:
        await run_in_threadpool(close_shared_service)


app = st.App(str(Path(__file__).with_name("app.py")), routes=ROUTES, lifespan=lifespan,
             middleware=[Middleware(SecurityHeaders), Middleware(HostCheck),
                         Middleware(AuthGate)])
