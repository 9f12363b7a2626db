"""The HTTP API under /api: JSON over the service, mounted into the dashboard's server.

Every answer is JSON (or a picture, CSV, or the MJPEG stream); an error is
`{"error": "what went wrong and what to do"}` with the status its exception carries
(`dashboard.errors`: 400 bad input, 401 no live login, 403 not allowed, 404 no such camera
or zone, 409 a clash, 415 not JSON, 503 the database cannot be written now), or 500 (our
fault: logged, never detailed).
Service calls can block (a start waits for the old run to end, a camera on Ray may be
moving between nodes), so every one runs on Starlette's thread pool, never on the event loop
that serves every page and every other client.
"""
from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any, AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from dashboard.config.zone import ZoneSpec
from dashboard.web.gate import (AuthGate, api_login, api_logout, capped_body, client_of, login, logout,
                   service_of, token_of)
from dashboard.errors import DashboardError, NotAllowed, NotFound, NotJson
from dashboard.service.access import UserService
from dashboard.service.core import Service

log = logging.getLogger(__name__)

POLL_S = 0.01          # how often a viewer's stream looks for a new frame
BOUNDARY = b"frame"
REPEAT_S = 1.0         # a still picture is sent again this often
CAMERA_FIELDS = {"name", "source", "settings", "presentation", "enabled"}
MAX_BODY = 256 * 1024  # a JSON body: a camera or a zone is a few KB
MAX_NUMBER = 1e12      # query numbers: unix seconds to the year 33,000, or row counts
MAX_ROWS = 100_000     # rows one answer may hold


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _endpoint(fn: Callable[..., Any]) -> Callable[[Request], Any]:
    """Wrap a handler: the service's errors become JSON answers with their status code."""
    async def handler(request: Request) -> Response:
        try:
            # The gate let this token in; the service looks its user up again at every
            # call (a long stream outlives neither a logout nor a lost role) and checks
            # what they may do.
            svc = service_of(request).as_session(token_of(request.scope),
                                                 request.scope["user"].name)
            return await fn(request, svc)
        except DashboardError as e:          # each knows its status (dashboard.errors)
            return error(e.status, str(e))
        except Exception:   # noqa: BLE001 - the visitor gets no traceback; the log has it
            log.exception("API %s %s failed", request.method, request.url.path)
            return error(500, "Internal error: the server log has the details.")
    handler.__name__ = fn.__name__
    return handler


async def _body(request: Request, allowed: set[str] | None = None) -> dict[str, Any]:
    """The request's JSON object. A body must say it is JSON (`Content-Type:
    application/json`): a page of another site can send text/plain or a form without asking
    the browser first, but not JSON."""
    raw = await capped_body(request, MAX_BODY)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if raw and kind != "application/json":
        raise NotJson(f"Send the body as JSON with Content-Type: application/json (got "
                      f"{kind[:60] or 'none'}).")
    try:
        data = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError, RecursionError):   # nested thousands deep
        raise DashboardError("The request body must be JSON.") from None
    if not isinstance(data, dict):
        raise DashboardError("The request body must be a JSON object.")
    if allowed is not None and set(data) - allowed:
        raise DashboardError(f"Unknown field {', '.join(sorted(set(data) - allowed))}; "
                             f"known: {', '.join(sorted(allowed))}.")
    return data


def _number(request: Request, name: str, default: float | None = None) -> float | None:
    """A query parameter as a finite number (times: unix seconds), or `default`.

    Example:
        >>> from starlette.requests import Request
        >>> def ask(q): return Request({"type": "http", "query_string": q.encode()})
        >>> _number(ask("since=1.5e9"), "since"), _number(ask(""), "since", 7.0)
        (1500000000.0, 7.0)
        >>> _number(ask("since=inf"), "since")
        Traceback (most recent call last):
        dashboard.errors.DashboardError: Query parameter since must be a finite number (unix seconds for times).
    """
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or abs(number) > MAX_NUMBER:
        raise DashboardError(f"Query parameter {name} must be a finite number (unix seconds "
                             "for times).")
    return number


def _limit(request: Request, default: int) -> int:
    """How many rows to answer: ?limit=, 1 to MAX_ROWS."""
    return int(min(max(_number(request, "limit", default) or 1, 1), MAX_ROWS))


def _call(svc: UserService, method: str, /, *args: Any, **kwargs: Any) -> Any:
    """A service call on the thread pool (awaitable)."""
    return run_in_threadpool(getattr(svc, method), *args, **kwargs)


def camera_json(svc: UserService, cid: str, zones: bool = False) -> dict[str, Any]:
    d = svc.camera(cid).to_dict()
    d["status"] = svc.status(cid).to_dict()
    if zones:
        d["zones"] = [z.to_dict() for z in svc.zones(cid)]
    return d


# -- routes ---------------------------------------------------------------------------------
@_endpoint
async def me(request: Request, svc: UserService) -> Response:
    user = await run_in_threadpool(lambda: svc.user)
    return JSONResponse({"user": user.name, "role": user.role.value})


def health_json(svc: UserService) -> dict[str, Any]:
    cams = svc.cameras()
    live = sum(svc.status(c.id).state.value == "live" for c in cams)
    store, sent = svc.store_health(), svc.integrations_health()
    return {"status": "degraded" if store or sent else "ok", "store": store or "ok",
            "integrations": sent or "ok", "cameras": len(cams), "live": live}


@_endpoint
async def my_password(request: Request, svc: UserService) -> Response:
    """POST {"old", "new"}: the caller's own new password (any role); every session and
    token of theirs ends, this one too: log in again."""
    d = await _body(request, {"old", "new"})
    await run_in_threadpool(svc.change_my_password, str(d.get("old", "")),
                            str(d.get("new", "")), client_of(request.scope))
    return JSONResponse({"ok": True, "logged_out": True})


@_endpoint
async def health(request: Request, svc: UserService) -> Response:
    return JSONResponse(await run_in_threadpool(health_json, svc))


@_endpoint
async def cameras(request: Request, svc: UserService) -> Response:
    if request.method == "POST":
        d = await _body(request, CAMERA_FIELDS)
        cam = await _call(svc, "add_camera", d.get("name"), d.get("source"), d.get("settings"),
                          d.get("presentation"), bool(d.get("enabled", True)))
        return JSONResponse(await run_in_threadpool(camera_json, svc, cam.id, True),
                            status_code=201)
    return JSONResponse(await run_in_threadpool(
        lambda: [camera_json(svc, c.id) for c in svc.cameras()]))


@_endpoint
async def camera(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    if request.method == "PATCH":
        d = await _body(request, CAMERA_FIELDS - {"enabled"})
        await _call(svc, "update_camera", cid, d.get("name"), d.get("source"),
                    d.get("settings"), d.get("presentation"))
    elif request.method == "DELETE":
        await _call(svc, "remove_camera", cid)
        return Response(status_code=204)
    return JSONResponse(await run_in_threadpool(camera_json, svc, cid, True))


@_endpoint
async def command(request: Request, svc: UserService) -> Response:
    cid, action = request.path_params["cid"], request.path_params["action"]
    if action not in ("start", "stop", "reset"):
        raise NotFound(f"No action {action!r}: use start, stop or reset.")
    await _call(svc, action, cid)
    return JSONResponse(await run_in_threadpool(camera_json, svc, cid))


@_endpoint
async def zones(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    if request.method == "POST":
        d = await _body(request, {"name", "type", "points", "anchor", "confirm_frames",
                                  *ZoneSpec.RULES})
        z = await _call(svc, "add_zone", cid, d.get("name"), d.get("type"), d.get("points"),
                        **{k: d[k] for k in ("anchor", "confirm_frames", *ZoneSpec.RULES)
                           if k in d})
        return JSONResponse(z.to_dict(), status_code=201)
    return JSONResponse([z.to_dict() for z in await _call(svc, "zones", cid)])


@_endpoint
async def zone(request: Request, svc: UserService) -> Response:
    cid, zid = request.path_params["cid"], request.path_params["zid"]
    if request.method == "PATCH":
        d = await _body(request, set(ZoneSpec.EDITABLE))
        return JSONResponse((await _call(svc, "update_zone", cid, zid, **d)).to_dict())
    if request.method == "DELETE":
        await _call(svc, "delete_zone", cid, zid)
        return Response(status_code=204)
    return JSONResponse((await _call(svc, "zone", cid, zid)).to_dict())


@_endpoint
async def flip(request: Request, svc: UserService) -> Response:
    cid, zid = request.path_params["cid"], request.path_params["zid"]
    return JSONResponse((await _call(svc, "flip_zone", cid, zid)).to_dict())


@_endpoint
async def restore(request: Request, svc: UserService) -> Response:
    """Undo a delete: the zone comes back with its id and counts."""
    cid, zid = request.path_params["cid"], request.path_params["zid"]
    return JSONResponse((await _call(svc, "restore_zone", cid, zid)).to_dict())


@_endpoint
async def dwell(request: Request, svc: UserService) -> Response:
    """Per area: visits, average and longest seconds (?since=&until=), who is inside now."""
    cid = request.path_params["cid"]
    return JSONResponse(await _call(svc, "dwell", cid, _number(request, "since"),
                                    _number(request, "until")))


@_endpoint
async def visits(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    return JSONResponse(await _call(svc, "visits", cid, _number(request, "since"),
                                    _number(request, "until"),
                                    _limit(request, 1000)))


@_endpoint
async def alerts(request: Request, svc: UserService) -> Response:
    """Alerts going on and those started since ?since=, newest first."""
    cid = request.path_params["cid"]
    return JSONResponse(await _call(svc, "alerts", cid, _number(request, "since"),
                                    _limit(request, 100)))


@_endpoint
async def counts(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    return JSONResponse({"camera_id": cid,
                         "zones": [f.to_dict() for f in await _call(svc, "counts", cid)]})


@_endpoint
async def events(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    return JSONResponse(await _call(svc, "events", cid, _number(request, "since"),
                                    _number(request, "until"), _limit(request, 100)))


@_endpoint
async def series(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    return JSONResponse(await _call(svc, "series", cid,
                                    request.query_params.get("interval", "minute"),
                                    _number(request, "since"), _number(request, "until")))


@_endpoint
async def export_csv(request: Request, svc: UserService) -> Response:
    cid, what = request.path_params["cid"], request.path_params["what"]
    since, until = _number(request, "since"), _number(request, "until")
    if what == "events":
        text = await _call(svc, "events_csv", cid, since, until)
    elif what == "visits":
        text = await _call(svc, "visits_csv", cid, since, until)
    elif what == "counts":
        text = await _call(svc, "counts_csv", cid, request.query_params.get("interval", "minute"),
                           since, until)
    else:
        raise NotFound("CSV exports: events.csv, counts.csv or visits.csv.")
    return Response(text, media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{what}.csv"'})


@_endpoint
async def picture(request: Request, svc: UserService) -> Response:
    cid, what = request.path_params["cid"], request.path_params["what"]
    kinds = {"frame.jpg": ("jpeg", "image/jpeg"), "heatmap.png": ("heat_png", "image/png"),
             "heatmap.npz": ("heat_npz", "application/octet-stream")}
    if what not in kinds:
        raise NotFound("Pictures: frame.jpg, heatmap.png, heatmap.npz, video.mjpg.")
    method, media = kinds[what]
    args = (request.query_params.get("over", "scene") != "none",) if method == "heat_png" else ()
    data = await _call(svc, method, cid, *args)
    if data is None:
        return error(404, "Nothing yet: the camera has not produced a frame (start it first).")
    return Response(data, media_type=media, headers={"Cache-Control": "no-store"})


async def mjpeg_parts(svc: UserService, cid: str, request: Request | None = None
                      ) -> AsyncIterator[bytes]:
    """The camera's overlay as a multipart/x-mixed-replace stream. Each part is followed at
    once by the next boundary, and while no new frame comes (a stopped camera) the last one
    is sent again every `REPEAT_S`: a browser shows a part only once the next one begins.
    Each picture is a checked call: the stream ends within `REPEAT_S` of its viewer's
    logout, removal or password change."""
    yield b"--" + BOUNDARY + b"\r\n"
    last, sent = None, 0.0
    loop = asyncio.get_running_loop()
    while request is None or not await request.is_disconnected():
        try:
            index = await run_in_threadpool(svc.peek_frame_index, cid)
            if index != last or loop.time() - sent >= REPEAT_S:
                jpeg = await run_in_threadpool(svc.jpeg, cid)
                sent = loop.time()
                if jpeg is not None:
                    last = index
                    yield (b"Content-Type: image/jpeg\r\nContent-Length: "
                           + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg
                           + b"\r\n--" + BOUNDARY + b"\r\n")
        except (NotFound, NotAllowed):
            return   # the camera was removed, or the viewer's login ended
        await asyncio.sleep(POLL_S)


@_endpoint
async def video(request: Request, svc: UserService) -> Response:
    cid = request.path_params["cid"]
    await _call(svc, "camera", cid)
    return StreamingResponse(mjpeg_parts(svc, cid, request),
                             media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY.decode()}",
                             headers={"Cache-Control": "no-store"})


@_endpoint
async def users(request: Request, svc: UserService) -> Response:
    """Admins: GET the users; POST {"username", "password", "role"} to add one."""
    if request.method == "POST":
        d = await _body(request, {"username", "password", "role"})
        await _call(svc, "add_user", str(d.get("username", "")), str(d.get("password", "")),
                    str(d.get("role", "viewer")))
        return JSONResponse({"username": d.get("username"), "role": d.get("role", "viewer")},
                            status_code=201)
    return JSONResponse([{"username": u.name, "role": u.role.value}
                         for u in await _call(svc, "users")])


@_endpoint
async def user(request: Request, svc: UserService) -> Response:
    """Admins: PATCH {"role"} or {"password"}; DELETE removes the user."""
    name = request.path_params["name"]
    if request.method == "DELETE":
        await _call(svc, "remove_user", name)
        return Response(status_code=204)
    d = await _body(request, {"role", "password"})
    if "role" in d:
        await _call(svc, "set_role", name, str(d["role"]))
    if "password" in d:
        await _call(svc, "set_password", name, str(d["password"]))
    return JSONResponse({"username": name, **({"role": d["role"]} if "role" in d else {})})


@_endpoint
async def audit(request: Request, svc: UserService) -> Response:
    """Admins: the newest audit entries (?limit=)."""
    return JSONResponse(await _call(svc, "audit_log", _limit(request, 200)))


ROUTES = [
    Route("/login", login, methods=["GET", "POST"]),
    Route("/logout", logout),
    Route("/api/login", api_login, methods=["POST"]),
    Route("/api/logout", api_logout, methods=["POST"]),
    Route("/api/me", me),
    Route("/api/me/password", my_password, methods=["POST"]),
    Route("/api/users", users, methods=["GET", "POST"]),
    Route("/api/users/{name}", user, methods=["PATCH", "DELETE"]),
    Route("/api/audit", audit),
    Route("/api/health", health),
    Route("/api/cameras", cameras, methods=["GET", "POST"]),
    Route("/api/cameras/{cid}", camera, methods=["GET", "PATCH", "DELETE"]),
    Route("/api/cameras/{cid}/zones", zones, methods=["GET", "POST"]),
    Route("/api/cameras/{cid}/zones/{zid}", zone, methods=["GET", "PATCH", "DELETE"]),
    Route("/api/cameras/{cid}/zones/{zid}/flip", flip, methods=["POST"]),
    Route("/api/cameras/{cid}/zones/{zid}/restore", restore, methods=["POST"]),
    Route("/api/cameras/{cid}/counts", counts),
    Route("/api/cameras/{cid}/dwell", dwell),
    Route("/api/cameras/{cid}/visits", visits),
    Route("/api/cameras/{cid}/alerts", alerts),
    Route("/api/cameras/{cid}/events", events),
    Route("/api/cameras/{cid}/series", series),
    Route("/api/cameras/{cid}/video.mjpg", video),
    Route("/api/cameras/{cid}/{what}.csv", export_csv),
    Route("/api/cameras/{cid}/{what}", picture),
    Route("/api/cameras/{cid}/{action}", command, methods=["POST"]),
]


def create_app(service: Service) -> Starlette:
    """The login and API routes alone, over `service`: what tests build on a temporary
    store (as Frigate's `create_fastapi_app` receives its database). The server mounts the
    same routes and gate into Streamlit's app over its own service (`dashboard.web.server`).

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from dashboard.store.sqlite import SQLiteStore
        >>> app = create_app(Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()),
        ...                          demo=False, autostart=False))
        >>> sorted(r.path for r in app.routes)[:2]
        ['/api/audit', '/api/cameras']
    """
    return Starlette(routes=ROUTES, middleware=[Middleware(AuthGate, service=lambda: service)])
