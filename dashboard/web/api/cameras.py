"""Routes for cameras: list, add, change, remove, start/stop/reset, health."""
from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard.errors import NotFound
from dashboard.service.access import UserService
from dashboard.web.api.common import CAMERA_FIELDS, json_body, call, endpoint


def camera_json(svc: UserService, cid: str, zones: bool = False) -> dict[str, Any]:
    d = svc.camera(cid).to_dict()
    d["status"] = svc.status(cid).to_dict()
    if zones:
        d["zones"] = [z.to_dict() for z in svc.zones(cid)]
    return d


def health_json(svc: UserService) -> dict[str, Any]:
    cams = svc.cameras()
    live = sum(svc.status(c.id).state.value == "live" for c in cams)
    store, sent = svc.store_health(), svc.integrations_health()
    return {"status": "degraded" if store or sent else "ok", "store": store or "ok",
            "integrations": sent or "ok", "cameras": len(cams), "live": live}


@endpoint
async def health(request: Request, svc: UserService) -> Response:
    return JSONResponse(await run_in_threadpool(health_json, svc))


@endpoint
async def cameras(request: Request, svc: UserService) -> Response:
    if request.method == "POST":
        d = await json_body(request, CAMERA_FIELDS)
        cam = await call(svc, "add_camera", d.get("name"), d.get("source"), d.get("settings"),
                          d.get("presentation"), bool(d.get("enabled", True)))
        return JSONResponse(await run_in_threadpool(camera_json, svc, cam.id, True),
                            status_code=201)
    return JSONResponse(await run_in_threadpool(
        lambda: [camera_json(svc, c.id) for c in svc.cameras()]))


@endpoint
async def camera(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    if request.method == "PATCH":
        d = await json_body(request, CAMERA_FIELDS - {"enabled"})
        await call(svc, "update_camera", cid, d.get("name"), d.get("source"),
                    d.get("settings"), d.get("presentation"))
    elif request.method == "DELETE":
        await call(svc, "remove_camera", cid)
        return Response(status_code=204)
    return JSONResponse(await run_in_threadpool(camera_json, svc, cid, True))


@endpoint
async def command(request: Request, svc: UserService) -> Response:
    cid, action = request.path_params["cid"], request.path_params["action"]
    if action not in ("start", "stop", "reset"):
        raise NotFound(f"No action {action!r}: use start, stop or reset.")
    await call(svc, action, cid)
    return JSONResponse(await run_in_threadpool(camera_json, svc, cid))
