"""What every API route shares: errors as JSON with their status, service calls off the event
loop, bounded bodies and numbers."""
from __future__ import annotations

import json
import logging
import math
import threading
from typing import Any, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from dashboard.web.gate import capped_body, service_of, token_of
from dashboard.errors import DashboardError, NotJson
from dashboard.service.access import UserService

log = logging.getLogger(__name__)

POLL_S = 0.01          # how often a viewer's stream looks for a new frame
BOUNDARY = b"frame"
REPEAT_S = 1.0         # a still picture is sent again this often
CAMERA_FIELDS = {"name", "source", "settings", "presentation", "enabled"}
MAX_BODY = 256 * 1024  # a JSON body: a camera or a zone is a few KB
MAX_NUMBER = 1e12      # query numbers: unix seconds to the year 33,000, or row counts
MAX_ROWS = 100_000     # rows one answer may hold

# Set when the server is asked to stop (SIGTERM, SIGINT: see `web.server.on_stop_signals`):
# an answer that never ends by itself (a viewer's video stream) ends then, or the server's
# graceful shutdown waits for it forever and the cameras never write their heat.
STOPPING = threading.Event()


def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def endpoint(fn: Callable[..., Any]) -> Callable[[Request], Any]:
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


async def json_body(request: Request, allowed: set[str] | None = None) -> dict[str, Any]:
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


def number_param(request: Request, name: str, default: float | None = None) -> float | None:
    """A query parameter as a finite number (times: unix seconds), or `default`.

    Example:
        >>> from starlette.requests import Request
        >>> def ask(q): return Request({"type": "http", "query_string": q.encode()})
        >>> number_param(ask("since=1.5e9"), "since"), number_param(ask(""), "since", 7.0)
        (1500000000.0, 7.0)
        >>> number_param(ask("since=inf"), "since")
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


def limit_param(request: Request, default: int) -> int:
    """How many rows to answer: ?limit=, 1 to MAX_ROWS."""
    return int(min(max(number_param(request, "limit", default) or 1, 1), MAX_ROWS))


def call(svc: UserService, method: str, /, *args: Any, **kwargs: Any) -> Any:
    """A service call on the thread pool (awaitable)."""
    return run_in_threadpool(getattr(svc, method), *args, **kwargs)
