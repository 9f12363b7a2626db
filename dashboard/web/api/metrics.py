"""GET /metrics: Prometheus's scrape, for a logged-in caller (an API token as a bearer)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from dashboard.service.access import UserService
from dashboard.web.api.common import call, endpoint


@endpoint
async def metrics(request: Request, svc: UserService) -> Response:
    return PlainTextResponse(await call(svc, "metrics"),
                             media_type="text/plain; version=0.0.4; charset=utf-8")
