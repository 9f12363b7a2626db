"""The API's routes, mounted into the dashboard's server (`dashboard.web.server`) or, alone,
into an app over a service of the caller's (`create_app`)."""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from dashboard.service.core import Service
from dashboard.web.api.alerts import acknowledge, alerts, board
from dashboard.web.api.audits import audit_csv, audits, sample_frame, samples, what_if
from dashboard.web.api.cameras import camera, cameras, command, health
from dashboard.web.api.figures import (archived_events, archives, counts, dwell, events,
                                       evidence, export_csv, series, visits)
from dashboard.web.api.flows import flows, flows_csv, flows_png, turns
from dashboard.web.api.media import picture, video
from dashboard.web.api.metrics import metrics
from dashboard.web.api.people import audit, me, my_password, user, users
from dashboard.web.api.reports import period_heat, report, report_file, schedule
from dashboard.web.api.probes import healthz, readyz
from dashboard.web.api.zones import flip, junction, restore, zone, zones
from dashboard.web.gate import AuthGate, api_login, api_logout, login, logout

ROUTES = [
    Route("/healthz", healthz),
    Route("/readyz", readyz),
    Route("/metrics", metrics),
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
    Route("/api/alerts", board),
    Route("/api/reports", schedule),
    Route("/api/cameras", cameras, methods=["GET", "POST"]),
    Route("/api/cameras/{cid}", camera, methods=["GET", "PATCH", "DELETE"]),
    Route("/api/cameras/{cid}/zones", zones, methods=["GET", "POST"]),
    Route("/api/cameras/{cid}/zones/junction", junction, methods=["POST"]),
    Route("/api/cameras/{cid}/zones/{zid}", zone, methods=["GET", "PATCH", "DELETE"]),
    Route("/api/cameras/{cid}/zones/{zid}/flip", flip, methods=["POST"]),
    Route("/api/cameras/{cid}/zones/{zid}/restore", restore, methods=["POST"]),
    Route("/api/cameras/{cid}/counts", counts),
    Route("/api/cameras/{cid}/dwell", dwell),
    Route("/api/cameras/{cid}/visits", visits),
    Route("/api/cameras/{cid}/alerts", alerts),
    Route("/api/cameras/{cid}/alerts/{aid}/ack", acknowledge, methods=["POST"]),
    Route("/api/cameras/{cid}/events", events),
    Route("/api/cameras/{cid}/audits", audits, methods=["GET", "POST"]),
    Route("/api/cameras/{cid}/audits/{aid}.csv", audit_csv),
    Route("/api/cameras/{cid}/audits/{aid}/what-if", what_if, methods=["POST"]),
    Route("/api/cameras/{cid}/samples", samples, methods=["GET", "POST"]),
    Route("/api/cameras/{cid}/samples/{sid}/frames/{index}.jpg", sample_frame),
    Route("/api/cameras/{cid}/evidence.jpg", evidence),
    Route("/api/cameras/{cid}/series", series),
    Route("/api/cameras/{cid}/report", report),
    Route("/api/cameras/{cid}/report.csv", report_file),
    Route("/api/cameras/{cid}/report.html", report_file),
    Route("/api/cameras/{cid}/heat.png", period_heat),
    Route("/api/cameras/{cid}/heat.npz", period_heat),
    Route("/api/cameras/{cid}/flows", flows),
    Route("/api/cameras/{cid}/turns", turns),
    Route("/api/cameras/{cid}/flows.png", flows_png),
    Route("/api/cameras/{cid}/flows.csv", flows_csv),
    Route("/api/cameras/{cid}/turns.csv", flows_csv),
    Route("/api/cameras/{cid}/archives", archives),
    Route("/api/cameras/{cid}/archives/{epoch}/events.csv", archived_events),
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
        ['/api/alerts', '/api/audit']
    """
    return Starlette(routes=ROUTES, middleware=[Middleware(AuthGate, service=lambda: service)])
