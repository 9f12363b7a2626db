"""Who gets in: every route of the server (the pages, their websocket, /api/*, pictures and
streams) needs a logged-in user; only the login page and POST /api/login do not.

A browser logs in on /login and carries its session token in an HttpOnly, SameSite=Strict
cookie; integrations send `Authorization: Bearer <token>` from POST /api/login. Refusals: a
browser is sent to /login, an API client gets 401 JSON, a websocket is closed before it
opens.

SameSite does not stop a page on another port of the same host (or another subdomain) from
making the browser send the cookie: those are the same *site*. So a request that changes
something (POST, PUT, PATCH, DELETE) on the strength of the cookie, and every websocket,
must come from a page of this very origin (its Origin, or failing that its Referer, names
the host and port the request was sent to); otherwise it is refused with 403 before it
reaches anything. Requests with a bearer token are not checked: a browser never adds one
by itself.
"""
from __future__ import annotations

import html
import json
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable
from urllib.parse import parse_qs, quote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from dashboard.service.auth import SESSION_S, Role
from dashboard.errors import DashboardError, LoginFailed, TooLarge
from dashboard.service.core import Service, shared_service
from dashboard.config.env import trusted_proxies

COOKIE = "hd_session"
DEVICE_COOKIE = "hd_device"      # a browser's mark of a past login (see Auth.login)
DEVICE_S = 365 * 86400
UPLOADS = "/_stcore/upload_file"
UNVERIFIED = "unverified forwarded address"
LOGINS_AT_ONCE = 8               # logins under way at a time; more are answered 429
PUBLIC = ("/login", "/api/login", "/healthz", "/readyz")   # probes reveal nothing
MAX_FORM = 4096
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
CROSS_ORIGIN = ("This request came from a page of another site or port (its Origin header "
                "names {origin}), so it was refused: the dashboard changes nothing for "
                "another page. Use the dashboard's own pages, or the API with a bearer token.")

LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Log in · Heatmap dashboard</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: sans-serif; background: #0e1117; color: #fafafa; display: flex;
       justify-content: center; padding-top: 12vh; }}
form {{ background: #262730; padding: 2rem; border-radius: .5rem; width: 18rem; }}
label {{ display: block; margin: .8rem 0 .3rem; }}
input {{ width: 100%; box-sizing: border-box; padding: .5rem; border-radius: .3rem;
        border: 1px solid #555; background: #0e1117; color: #fafafa; }}
button {{ margin-top: 1.2rem; width: 100%; padding: .6rem; border: 0; border-radius: .3rem;
         background: #ff4b4b; color: white; font-size: 1rem; }}
p.error {{ color: #ff8c8c; }}
</style></head>
<body><form method="post" action="/login">
<h2>Heatmap dashboard</h2>
{message}
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<input type="hidden" name="next" value="{next}">
<button type="submit">Log in</button>
</form></body></html>"""


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this server, never another site.

    Example:
        >>> safe_next("/camera?camera=cam_1"), safe_next("//evil.example/"), safe_next("https://x")
        ('/camera?camera=cam_1', '/', '/')
    """
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def client_of(scope: Scope) -> str:
    """The address a request counts under (login limits) and is audited as: its
    connection's. Uvicorn replaces that with the X-Forwarded-For address when the request
    comes from a proxy it trusts: by default loopback, where this server listens, so any
    local client could claim any address. `.ci/start` tells uvicorn to trust exactly
    HEATMAP_DASHBOARD_TRUSTED_PROXIES (FORWARDED_ALLOW_IPS); whatever started the server,
    a forwarded address with no proxy named to vouch for it is not believed, and all such
    requests count as one.

    Example:
        >>> scope = {"client": ("203.0.113.9", 5000), "headers": [(b"x-forwarded-for",
        ...                                                          b"203.0.113.9")]}
        >>> client_of(scope), client_of({"client": ("10.0.0.7", 5000), "headers": []})
        ('unverified forwarded address', '10.0.0.7')
    """
    client = scope.get("client")
    if "x-forwarded-for" in headers_of(scope) and not trusted_proxies():
        return UNVERIFIED
    return client[0] if client else "unknown"


def headers_of(scope: Scope) -> dict[str, str]:
    """A request's headers by lower-case name."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def bearer_of(scope: Scope) -> str | None:
    """The token of an `Authorization: Bearer` header, if any."""
    auth = headers_of(scope).get("authorization", "")
    return (auth[7:].strip() or None) if auth.lower().startswith("bearer ") else None


def cookie_of(scope: Scope, wanted: str) -> str | None:
    """The value of one cookie a request carries."""
    for part in headers_of(scope).get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == wanted and value:
            return value
    return None


def token_of(scope: Scope) -> str | None:
    """The token a request carries: Authorization: Bearer, else the session cookie."""
    return bearer_of(scope) or cookie_of(scope, COOKIE)


async def capped_body(request: Request, limit: int) -> bytes:
    """A request's body, read no further than `limit` bytes: a larger one is refused (413)
    before it fills memory, whatever Content-Length claimed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The request body may be at most {limit} bytes.")
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"The request body may be at most {limit} bytes.")
    return bytes(data)


_logins_now = 0


@asynccontextmanager
async def one_of_few_logins() -> AsyncIterator[None]:
    """Room for one more password check, or `LoginFailed` (429) at once when
    LOGINS_AT_ONCE are under way: a flood of logins waits in no thread, and every other
    request keeps its threads."""
    global _logins_now
    if _logins_now >= LOGINS_AT_ONCE:
        raise LoginFailed("The server is busy checking other logins: try again in a few "
                          "seconds.", 2.0)
    _logins_now += 1          # the event loop is one thread: no lock needed
    try:
        yield
    finally:
        _logins_now -= 1


def same_origin(origin: str, host: str) -> bool:
    """Whether a page's origin (`scheme://host[:port]`) is the server a request was sent to
    (its Host header): host and port alike, the scheme's default port filled in.

    Example:
        >>> same_origin("http://127.0.0.1:8501", "127.0.0.1:8501")
        True
        >>> same_origin("http://127.0.0.1:8625", "127.0.0.1:8501"), same_origin("null", "x")
        (False, False)
        >>> same_origin("https://dash.example.org", "dash.example.org")
        True
        >>> same_origin("https://evil.dash.example.org", "dash.example.org")
        False
    """
    try:
        page = urlsplit(origin)
        sent = urlsplit("//" + host)
        default = DEFAULT_PORTS.get(page.scheme)
        if not page.hostname or default is None or not sent.hostname:
            return False
        return (page.hostname == sent.hostname
                and (page.port or default) == (sent.port or default))
    except ValueError:        # a malformed port or address
        return False


def cross_origin(scope: Scope) -> str | None:
    """Where a request's page came from, when that is not this server and the request must
    come from it: a write that carries the session cookie, a write that names any Origin
    (a login form posted from elsewhere), or a websocket. None when the request may go on.

    Example:
        >>> def scope(method, **h):
        ...     return {"type": "http", "method": method, "headers": [
        ...         (k.encode(), v.encode()) for k, v in {"host": "h:8501", **h}.items()]}
        >>> cross_origin(scope("POST", cookie="hd_session=t", origin="http://h:8625"))
        'http://h:8625'
        >>> cross_origin(scope("POST", cookie="hd_session=t", origin="http://h:8501"))
        >>> cross_origin(scope("POST", authorization="Bearer t", origin="http://h:8625"))
        >>> cross_origin(scope("POST", cookie="hd_session=t"))    # no Origin, no Referer
        'no Origin or Referer header'
        >>> cross_origin(scope("POST"))     # a script logging in: no cookie, no Origin
    """
    headers = headers_of(scope)
    if scope["type"] == "http" and (scope["method"] not in WRITES or bearer_of(scope)):
        return None
    origin = headers.get("origin") or headers.get("referer")
    if origin is None:
        # Browsers always say where a websocket or a write is from; a request without
        # either is a script's, and without the cookie it is no one's but its own.
        cookie = scope["type"] == "http" and token_of(scope) is not None
        return "no Origin or Referer header" if cookie else None
    return None if same_origin(origin, headers.get("host", "")) else origin[:200]


def login_page(message: str = "", next_path: str = "/", status: int = 200) -> HTMLResponse:
    text = f'<p class="error">{html.escape(message)}</p>' if message else ""
    return HTMLResponse(LOGIN_PAGE.format(message=text, next=html.escape(safe_next(next_path))),
                        status_code=status, headers={"Cache-Control": "no-store"})


async def login(request: Request) -> Response:
    """GET: the form. POST: check, set the session cookie, go where the visitor was going."""
    if request.method == "GET":
        return login_page(next_path=request.query_params.get("next", "/"))
    try:
        body = (await capped_body(request, MAX_FORM)).decode("utf-8", "replace")
    except DashboardError as e:
        return login_page(str(e), "/", e.status)
    form = {k: v[0] for k, v in parse_qs(body).items()}
    next_path = safe_next(form.get("next"))
    name = form.get("username", "")
    svc = service_of(request)
    try:
        async with one_of_few_logins():
            token = await run_in_threadpool(svc.login, name, form.get("password", ""),
                                            client_of(request.scope), "session",
                                            cookie_of(request.scope, DEVICE_COOKIE))
    except LoginFailed as e:
        return login_page(str(e), next_path, e.status)
    response = RedirectResponse(next_path, status_code=303)
    # https as the connection or a trusted proxy says (HEATMAP_DASHBOARD_TRUSTED_PROXIES).
    secure = request.url.scheme == "https"
    response.set_cookie(COOKIE, token, max_age=SESSION_S, httponly=True, samesite="strict",
                        secure=secure, path="/")
    # This browser knows this user's password: its next tries count on their own (Auth).
    response.set_cookie(DEVICE_COOKIE, svc.auth.device_mark(name), max_age=DEVICE_S,
                        httponly=True, samesite="strict", secure=secure, path="/login")
    return response


async def logout(request: Request) -> Response:
    await run_in_threadpool(service_of(request).logout, token_of(request.scope))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def api_logout(request: Request) -> Response:
    """POST: the token this request carries stops working."""
    await run_in_threadpool(service_of(request).logout, token_of(request.scope))
    return JSONResponse({"ok": True})


async def api_login(request: Request) -> Response:
    """POST {"username", "password"} -> {"token", "role"}: an API token for integrations."""
    try:
        data = json.loads(await capped_body(request, MAX_FORM) or b"{}")
        name, password = str(data.get("username", "")), str(data.get("password", ""))
    except DashboardError as e:
        return JSONResponse({"error": str(e)}, e.status)
    except (ValueError, AttributeError, RecursionError):
        return JSONResponse({"error": 'Send {"username": ..., "password": ...} as JSON.'}, 400)
    svc = service_of(request)
    try:
        async with one_of_few_logins():
            token = await run_in_threadpool(svc.login, name, password,
                                            client_of(request.scope), "api")
    except LoginFailed as e:
        headers = {"Retry-After": str(int(e.retry_after_s) + 1)} if e.retry_after_s else {}
        return JSONResponse({"error": str(e)}, e.status, headers=headers)
    user = await run_in_threadpool(svc.user_for, token)
    return JSONResponse({"token": token, "role": user.role.value if user else None})


def service_of(request: Request) -> Service:
    """The service the gate hands every request it lets through."""
    return request.scope["service"]


class AuthGate:
    """ASGI middleware: lets a request through only with a valid token, and hands on the
    service in `scope["service"]` (the server's own, or the one a test builds) and the user
    in `scope["user"]`."""

    def __init__(self, app: ASGIApp, service: Callable[[], Service] = shared_service) -> None:
        self.app, self.service = app, service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        svc = scope["service"] = await run_in_threadpool(self.service)
        foreign = cross_origin(scope)
        if foreign is not None:
            if scope["type"] == "websocket":
                await WebSocketClose(code=1008)(scope, receive, send)
            else:
                await JSONResponse({"error": CROSS_ORIGIN.format(origin=foreign)}, 403)(
                    scope, receive, send)
            return
        if scope["path"] in PUBLIC:
            await self.app(scope, receive, send)
            return
        user = await run_in_threadpool(svc.user_for, token_of(scope))
        if user is not None and scope["path"].startswith(UPLOADS) \
                and not user.role.allows(Role.ADMIN):
            # Only admins' pages have upload widgets (videos, models); Streamlit would keep
            # anyone's files of up to server.maxUploadSize in memory.
            await JSONResponse({"error": "Only admins upload files."}, 403)(scope, receive,
                                                                             send)
            return
        if user is not None:
            scope["user"] = user
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await WebSocketClose(code=1008)(scope, receive, send)
            return
        path = scope["path"]
        headers = headers_of(scope)
        if path.startswith("/api/") or "text/html" not in headers.get("accept", ""):
            response: Response = JSONResponse({"error": "Log in first: POST /api/login, then "
                                               "send Authorization: Bearer <token>."}, 401)
        else:
            query = scope.get("query_string", b"").decode("latin-1")
            target = path + ("?" + query if query else "")
            response = RedirectResponse("/login?next=" + quote(safe_next(target)), 303)
        await response(scope, receive, send)

