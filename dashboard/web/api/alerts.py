"""Routes for alerts: a camera's, the board of every camera's, and acknowledging one."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard.service.access import UserService
from dashboard.web.api.common import call, endpoint, json_body, limit_param, number_param


@endpoint
async def alerts(request: Request, svc: UserService) -> Response:
    """Alerts going on and those started since ?since=, newest first, with their `ack`."""
    cid = request.path_params["cid"]
    return JSONResponse(await call(svc, "alerts", cid, number_param(request, "since"),
                                   limit_param(request, 100)))


@endpoint
async def board(request: Request, svc: UserService) -> Response:
    """Every camera's alerts that want attention, those going on first."""
    return JSONResponse(await call(svc, "alert_board"))


@endpoint
async def acknowledge(request: Request, svc: UserService) -> Response:
    """{"note": "..."} (optional): who acknowledged the alert is the caller, when is now."""
    d = await json_body(request, {"note"})
    return JSONResponse(await call(svc, "acknowledge", request.path_params["cid"],
                                   request.path_params["aid"], d.get("note", "")))
