"""Routes for a camera's reports (a day, a week or a range, compared with the period
before) as JSON, CSV and HTML, and the heat of a period."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from dashboard.service.access import UserService
from dashboard.service.periods import Compare, Interval, Period
from dashboard.service.summaries import chosen_period
from dashboard.web.api.common import call, endpoint, error, number_param


def period_param(request: Request) -> Period:
    """?day=YYYY-MM-DD, ?week=YYYY-MM-DD (the week holding it) or ?since=&until= (unix
    seconds); yesterday without any."""
    q = request.query_params
    return chosen_period(q.get("day"), q.get("week"), number_param(request, "since"),
                         number_param(request, "until"))


def _args(request: Request) -> tuple:
    q = request.query_params
    return (request.path_params["cid"], period_param(request),
            q.get("interval", Interval.HOUR.value), q.get("compare", Compare.PREVIOUS.value))


@endpoint
async def report(request: Request, svc: UserService) -> Response:
    return JSONResponse(await call(svc, "report", *_args(request)))


@endpoint
async def report_file(request: Request, svc: UserService) -> Response:
    """report.csv or report.html, as a download named after the period."""
    args = _args(request)
    name = "".join(c if c.isalnum() else "-" for c in args[1].label).strip("-").lower()
    if request.url.path.endswith(".csv"):
        text = await call(svc, "report_csv", *args)
        return Response(text, media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="report-{name}.csv"'})
    html = await call(svc, "report_html", *args)
    return HTMLResponse(html, headers={
        "Content-Disposition": f'attachment; filename="report-{name}.html"',
        # Opened from here, it still runs nothing: the page is pictures, tables, text.
        "Content-Security-Policy": "default-src 'none'; img-src data:; style-src "
                                   "'unsafe-inline'"})


@endpoint
async def period_heat(request: Request, svc: UserService) -> Response:
    """heat.png or heat.npz of a period (?day=, ?week= or ?since=&until=)."""
    cid, period = request.path_params["cid"], period_param(request)
    npz = request.url.path.endswith(".npz")
    data = await call(svc, "period_heat_npz" if npz else "period_heat_png", cid, period)
    if data is None:
        return error(404, f"No heat was kept for {period.label}.")
    return Response(data, media_type="application/octet-stream" if npz else "image/png",
                    headers={"Cache-Control": "no-store"})


@endpoint
async def schedule(request: Request, svc: UserService) -> Response:
    """Operators: where scheduled reports go and how the newest deliveries went."""
    return JSONResponse(await call(svc, "report_schedule"))
