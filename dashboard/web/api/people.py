"""Routes for people: who am I, my password, users and roles, the audit log."""
from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard.web.gate import client_of
from dashboard.service.access import UserService
from dashboard.web.api.common import json_body, call, endpoint, limit_param

log = logging.getLogger(__name__)


@endpoint
async def me(request: Request, svc: UserService) -> Response:
    user = await run_in_threadpool(lambda: svc.user)
    return JSONResponse({"user": user.name, "role": user.role.value})


@endpoint
async def my_password(request: Request, svc: UserService) -> Response:
    """POST {"old", "new"}: the caller's own new password (any role); every session and
    token of theirs ends, this one too: log in again."""
    d = await json_body(request, {"old", "new"})
    await run_in_threadpool(svc.change_my_password, str(d.get("old", "")),
                            str(d.get("new", "")), client_of(request.scope))
    return JSONResponse({"ok": True, "logged_out": True})


@endpoint
async def users(request: Request, svc: UserService) -> Response:
    """Admins: GET the users; POST {"username", "password", "role"} to add one."""
    if request.method == "POST":
        d = await json_body(request, {"username", "password", "role"})
        await call(svc, "add_user", str(d.get("username", "")), str(d.get("password", "")),
                    str(d.get("role", "viewer")))
        return JSONResponse({"username": d.get("username"), "role": d.get("role", "viewer")},
                            status_code=201)
    return JSONResponse([{"username": u.name, "role": u.role.value}
                         for u in await call(svc, "users")])


@endpoint
async def user(request: Request, svc: UserService) -> Response:
    """Admins: PATCH {"role"} or {"password"}; DELETE removes the user."""
    name = request.path_params["name"]
    if request.method == "DELETE":
        await call(svc, "remove_user", name)
        return Response(status_code=204)
    d = await json_body(request, {"role", "password"})
    if "role" in d:
        await call(svc, "set_role", name, str(d["role"]))
    if "password" in d:
        await call(svc, "set_password", name, str(d["password"]))
    return JSONResponse({"username": name, **({"role": d["role"]} if "role" in d else {})})


@endpoint
async def audit(request: Request, svc: UserService) -> Response:
    """Admins: the newest audit entries (?limit=)."""
    return JSONResponse(await call(svc, "audit_log", limit_param(request, 200)))
