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
        d = await json_body(request, {"since", "until", "marks", "within_s"})
        try:
            since, until = float(d["since"]), float(d["until"])
        except (KeyError, TypeError, ValueError):
            raise DashboardError("An audit needs since and until (unix seconds) and marks.") \
                from None
        return JSONResponse(await call(svc, "accuracy_audit", cid, since, until,
                                       d.get("marks"), float(d.get("within_s", WITHIN_S))),
                            status_code=201)
    return JSONResponse(await call(svc, "accuracy_audits", cid))


@endpoint
async def audit_csv(request: Request, svc: UserService) -> Response:
    aid = request.path_params["aid"]
    text = await call(svc, "accuracy_audit_csv", request.path_params["cid"], aid)
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{aid}.csv"'})
