"""Routes for a camera's flows: the origin-destination matrix, turning movements, their
CSV and the flow diagram."""
from __future__ import annotations

import cv2
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard.errors import DashboardError
from dashboard.service.access import UserService
from dashboard.service.flows import FLOW_INTERVAL
from dashboard.web.api.common import call, endpoint, number_param


def _period(request: Request) -> tuple[float | None, float | None]:
    return number_param(request, "since"), number_param(request, "until")


@endpoint
async def flows(request: Request, svc: UserService) -> Response:
    """Origin-destination cells of trips started in [since, until), ?interval= to bin them
    (15min, hour, day)."""
    return JSONResponse(await call(svc, "flows", request.path_params["cid"], *_period(request),
                                    request.query_params.get("interval") or None))


@endpoint
async def turns(request: Request, svc: UserService) -> Response:
    """Turning movement counts per interval (15min unless ?interval=), approach, movement
    and class."""
    return JSONResponse(await call(svc, "turns", request.path_params["cid"], *_period(request),
                                    request.query_params.get("interval", FLOW_INTERVAL)))


@endpoint
async def flows_csv(request: Request, svc: UserService) -> Response:
    """flows.csv or turns.csv: one row per interval (15min unless ?interval=)."""
    what = "turns" if request.url.path.endswith("/turns.csv") else "flows"
    text = await call(svc, f"{what}_csv", request.path_params["cid"], *_period(request),
                      request.query_params.get("interval", FLOW_INTERVAL))
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{what}.csv"'})


@endpoint
async def flows_png(request: Request, svc: UserService) -> Response:
    """The flow diagram over the camera's newest picture."""
    img = await call(svc, "flow_picture", request.path_params["cid"], *_period(request))
    ok, png = cv2.imencode(".png", img)
    if not ok:
        raise DashboardError("The flow diagram could not be encoded.")
    return Response(png.tobytes(), media_type="image/png", headers={"Cache-Control": "no-store"})
