"""Routes for a camera's zones: list, add, change, delete, flip, restore."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard.config.zone import ZoneSpec
from dashboard.service.access import UserService
from dashboard.web.api.common import json_body, call, endpoint


@endpoint
async def zones(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    if request.method == "POST":
        d = await json_body(request, {"name", "type", "points", "anchor", "confirm_frames",
                                  *ZoneSpec.RULES})
        z = await call(svc, "add_zone", cid, d.get("name"), d.get("type"), d.get("points"),
                        **{k: d[k] for k in ("anchor", "confirm_frames", *ZoneSpec.RULES)
                           if k in d})
        return JSONResponse(z.to_dict(), status_code=201)
    return JSONResponse([z.to_dict() for z in await call(svc, "zones", cid)])


@endpoint
async def zone(request: Request, svc: UserService) -> Response:
    cid, zid = request.path_params["cid"], request.path_params["zid"]
    if request.method == "PATCH":
        d = await json_body(request, set(ZoneSpec.EDITABLE))
        return JSONResponse((await call(svc, "update_zone", cid, zid, **d)).to_dict())
    if request.method == "DELETE":
        await call(svc, "delete_zone", cid, zid)
        return Response(status_code=204)
    return JSONResponse((await call(svc, "zone", cid, zid)).to_dict())


@endpoint
async def flip(request: Request, svc: UserService) -> Response:
    cid, zid = request.path_params["cid"], request.path_params["zid"]
    return JSONResponse((await call(svc, "flip_zone", cid, zid)).to_dict())


@endpoint
async def restore(request: Request, svc: UserService) -> Response:
    """Undo a delete: the zone comes back with its id and counts."""
    cid, zid = request.path_params["cid"], request.path_params["zid"]
    return JSONResponse((await call(svc, "restore_zone", cid, zid)).to_dict())


@endpoint
async def junction(request: Request, svc: UserService) -> Response:
    """The junction preset: four approach lines, IN into the junction."""
    specs = await call(svc, "add_junction", request.path_params["cid"])
    return JSONResponse([z.to_dict() for z in specs], status_code=201)
