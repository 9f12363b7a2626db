"""Probes for containers and load balancers, answered without a login and revealing
nothing: /healthz (the server answers) and /readyz (and its database takes writes)."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


async def healthz(request: Request) -> Response:
    """Alive: the server answers."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    """Ready: the service is up and its database can be written (503 otherwise). Which
    fault it is stays for logged-in users (`/api/health`)."""
    svc = request.scope.get("service")
    fault = True if svc is None else await run_in_threadpool(lambda: svc.store.fault)
    return JSONResponse({"status": "not ready" if fault else "ready"}, 503 if fault else 200)
