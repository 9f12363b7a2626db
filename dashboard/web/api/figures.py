"""Routes for a camera's figures: counts, dwell, visits, crossings, series, CSV."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard.errors import NotFound
from dashboard.service.access import UserService
from dashboard.web.api.common import call, endpoint, limit_param, number_param


@endpoint
async def counts(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    return JSONResponse({"camera_id": cid,
                         "zones": [f.to_dict() for f in await call(svc, "counts", cid)]})


@endpoint
async def dwell(request: Request, svc: UserService) -> Response:
    """Per area: visits, average and longest seconds (?since=&until=), who is inside now."""
    cid = request.path_params["cid"]
    return JSONResponse(await call(svc, "dwell", cid, number_param(request, "since"),
                                    number_param(request, "until")))


@endpoint
async def visits(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    return JSONResponse(await call(svc, "visits", cid, number_param(request, "since"),
                                    number_param(request, "until"),
                                    limit_param(request, 1000)))


@endpoint
async def events(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    return JSONResponse(await call(svc, "events", cid, number_param(request, "since"),
                                    number_param(request, "until"), limit_param(request, 100)))


@endpoint
async def series(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    return JSONResponse(await call(svc, "series", cid,
                                    request.query_params.get("interval", "minute"),
                                    number_param(request, "since"), number_param(request, "until")))


@endpoint
async def export_csv(request: Request, svc: UserService) -> Response:
    cid, what = request.path_params["cid"], request.path_params["what"]
    since, until = number_param(request, "since"), number_param(request, "until")
    if what == "events":
        text = await call(svc, "events_csv", cid, since, until)
    elif what == "visits":
        text = await call(svc, "visits_csv", cid, since, until)
    elif what == "counts":
        text = await call(svc, "counts_csv", cid, request.query_params.get("interval", "minute"),
                           since, until)
    else:
        raise NotFound("CSV exports: events.csv, counts.csv or visits.csv.")
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{what}.csv"'})


@endpoint
async def archives(request: Request, svc: UserService) -> Response:
    """The counts each Reset archived, newest first."""
    return JSONResponse(await call(svc, "archives", request.path_params["cid"]))


@endpoint
async def archived_events(request: Request, svc: UserService) -> Response:
    """An archived period's crossings as CSV."""
    try:
        epoch = int(request.path_params["epoch"])
    except ValueError:
        raise NotFound("An archived period is a number: see /archives.") from None
    text = await call(svc, "archived_events_csv", request.path_params["cid"], epoch)
    return Response(text, media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="events-archived-{epoch}.csv"'})


@endpoint
async def evidence(request: Request, svc: UserService) -> Response:
    """A crossing's picture (?zone=&track=&t=&direction=, as /events gives them;
    &kind=moment for the frames around it)."""
    q = request.query_params
    t, track = number_param(request, "t"), number_param(request, "track")
    if t is None or track is None or not q.get("zone") or q.get("direction") not in ("in", "out"):
        raise NotFound("A crossing's picture: ?zone=ZONE_ID&track=N&t=UNIX_SECONDS"
                       "&direction=in|out (as /events lists them).")
    got = await call(svc, "evidence", request.path_params["cid"], q["zone"], int(track), t,
                     q["direction"])
    picture = None if got is None else got[1] if q.get("kind") == "moment" else got[0]
    if not picture:
        raise NotFound("No picture was kept of this crossing (kept for the camera's evidence "
                       "days; none while it keeps none).")
    return Response(picture, media_type="image/jpeg", headers={"Cache-Control": "no-store"})
