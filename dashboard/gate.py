"""Who gets in: every route of the server (the pages, their websocket, /api/*, pictures and
streams) needs a logged-in user; only the login page and POST /api/login do not.

A browser logs in on /login and carries its session token in an HttpOnly, SameSite=Strict
cookie (so no other site can make it act); integrations send `Authorization: Bearer
<token>` from POST /api/login. Refusals: a browser is sent to /login, an API client gets
401 JSON, a websocket is closed before it opens.
"""
from __future__ import annotations

import html
import json
from urllib.parse import parse_qs, quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from .auth import SESSION_S, LoginFailed
from .service import shared_service

COOKIE = "hd_session"
PUBLIC = ("/login", "/api/login")
MAX_FORM = 4096

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
    client = scope.get("client")
    return client[0] if client else "unknown"


def headers_of(scope: Scope) -> dict[str, str]:
    """A request's headers by lower-case name."""
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def token_of(scope: Scope) -> str | None:
    """The token a request carries: Authorization: Bearer, else the session cookie."""
    headers = headers_of(scope)
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


def login_page(message: str = "", next_path: str = "/", status: int = 200) -> HTMLResponse:
    text = f'<p class="error">{html.escape(message)}</p>' if message else ""
    return HTMLResponse(LOGIN_PAGE.format(message=text, next=html.escape(safe_next(next_path))),
                        status_code=status, headers={"Cache-Control": "no-store"})


async def login(request: Request) -> Response:
    """GET: the form. POST: check, set the session cookie, go where the visitor was going."""
    if request.method == "GET":
        return login_page(next_path=request.query_params.get("next", "/"))
    body = (await request.body())[:MAX_FORM].decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(body).items()}
    next_path = safe_next(form.get("next"))
    try:
        token = await run_in_threadpool(shared_service().login, form.get("username", ""),
                                        form.get("password", ""), client_of(request.scope))
    except LoginFailed as e:
        return login_page(str(e), next_path, 429 if e.retry_after_s else 401)
    response = RedirectResponse(next_path, status_code=303)
    secure = request.url.scheme == "https" or \
        request.headers.get("x-forwarded-proto", "").lower() == "https"
    response.set_cookie(COOKIE, token, max_age=SESSION_S, httponly=True, samesite="strict",
                        secure=secure, path="/")
    return response


async def logout(request: Request) -> Response:
    await run_in_threadpool(shared_service().logout, token_of(request.scope))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


async def api_logout(request: Request) -> Response:
    """POST: the token this request carries stops working."""
    await run_in_threadpool(shared_service().logout, token_of(request.scope))
    return JSONResponse({"ok": True})


async def api_login(request: Request) -> Response:
    """POST {"username", "password"} -> {"token", "role"}: an API token for integrations."""
    try:
        data = json.loads((await request.body())[:MAX_FORM] or b"{}")
        name, password = str(data.get("username", "")), str(data.get("password", ""))
    except (ValueError, AttributeError):
        return JSONResponse({"error": 'Send {"username": ..., "password": ...} as JSON.'}, 400)
    svc = shared_service()
    try:
        token = await run_in_threadpool(svc.login, name, password, client_of(request.scope),
                                        "api")
    except LoginFailed as e:
        headers = {"Retry-After": str(int(e.retry_after_s) + 1)} if e.retry_after_s else {}
        return JSONResponse({"error": str(e)}, 429 if e.retry_after_s else 401, headers=headers)
    user = svc.user_for(token)
    return JSONResponse({"token": token, "role": user.role.value if user else None})


class AuthGate:
    """ASGI middleware: lets a request through only with a valid token, and hands the user
    on in `scope["user"]`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC:
            await self.app(scope, receive, send)
            return
        user = await run_in_threadpool(shared_service().user_for, token_of(scope))
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

