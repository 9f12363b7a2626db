"""Routes for accuracy audits: made from marks (POST, operators), listed, and one audit
crossing by crossing as CSV."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard.engine.audit import WITHIN_S
from dashboard.errors import DashboardError
from dashboard.service.access import UserService
from dashboard.web.api.common import call, endpoint, json_body


@endpoint
async def audits(request: Request, svc: UserService) -> Response:
    """GET: a camera's audits, newest first. POST {"since", "until", "marks": [{"t", "zone",
    "direction", "class"?}], "within_s"?}: audit that period against the marks."""
    cid = request.path_params["cid"]
    if request.method == "POST":
        d = await json_body(request, {"since", "until", "marks", "within_s", "sample_id"})
        try:
            since, until = float(d["since"]), float(d["until"])
        except (KeyError, TypeError, ValueError):
            raise DashboardError("An audit needs since and until (unix seconds) and marks.") \
                from None
        return JSONResponse(await call(svc, "accuracy_audit", cid, since, until,
                                       d.get("marks"), float(d.get("within_s", WITHIN_S)),
                                       sample_id=d.get("sample_id")),
                            status_code=201)
    return JSONResponse(await call(svc, "accuracy_audits", cid))


@endpoint
async def audit_csv(request: Request, svc: UserService) -> Response:
    aid = request.path_params["aid"]
    text = await call(svc, "accuracy_audit_csv", request.path_params["cid"], aid)
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{aid}.csv"'})


@endpoint
async def samples(request: Request, svc: UserService) -> Response:
    """GET: a camera's samples. POST {"minutes"}: record the next minutes it counts."""
    cid = request.path_params["cid"]
    if request.method == "POST":
        d = await json_body(request, {"minutes"})
        return JSONResponse(await call(svc, "record_sample", cid, d.get("minutes")),
                            status_code=201)
    return JSONResponse(await call(svc, "samples", cid))


@endpoint
async def sample_frame(request: Request, svc: UserService) -> Response:
    """One frame of a sample, with its zones, as JPEG; its time in X-Frame-Time."""
    import cv2

    try:
        index = int(request.path_params["index"])
    except ValueError:
        raise DashboardError("A frame is a number: 0 for the sample's first.") from None
    img, t = await call(svc, "sample_frame", request.path_params["cid"],
                        request.path_params["sid"], index)
    ok, data = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return Response(data.tobytes(), media_type="image/jpeg",
                    headers={"X-Frame-Time": f"{t:.4f}", "Cache-Control": "no-store"})


@endpoint
async def what_if(request: Request, svc: UserService) -> Response:
    """POST {"settings": {...}, "confirm_frames"?}: what those would have counted on the
    audit's sample, against its marks (nothing is applied)."""
    d = await json_body(request, {"settings", "confirm_frames"})
    confirm = d.get("confirm_frames")
    return JSONResponse(await call(svc, "audit_what_if", request.path_params["cid"],
                                   request.path_params["aid"], d.get("settings") or {},
                                   None if confirm is None else int(confirm)))
