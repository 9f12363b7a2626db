"""Reports (service/periods.py, service/summaries.py): buckets on the server's clock, in a
time zone other than UTC and across changes of the clocks, and each period beside the one
it is compared with, checked against crossings written by hand and summed by hand."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from dashboard.engine.dwell import Visit
from dashboard.engine.flows import Trip
from dashboard.engine.zones import CrossingEvent
from dashboard.errors import DashboardError
from dashboard.service.core import Service
from dashboard.service.periods import (Compare, Interval, bucket_start, buckets, compared,
                                       day_period, week_period)
from dashboard.service.summaries import chosen_period
from dashboard.store.sqlite import SQLiteStore

NY = ZoneInfo("America/New_York")        # clocks back at 02:00 on Sun 1 Nov 2026
LONDON = ZoneInfo("Europe/London")       # forward at 01:00 on Sun 29 Mar 2026


def at(tz, *when) -> float:
    return dt.datetime(*when, tzinfo=tz).timestamp()


@pytest.mark.parametrize("tz, day, interval, n", [
    (NY, dt.date(2026, 11, 1), Interval.HOUR, 25),        # the day the clocks go back
    (NY, dt.date(2026, 11, 2), Interval.HOUR, 24),
    (LONDON, dt.date(2026, 3, 29), Interval.HOUR, 23),    # the day they go forward
    (LONDON, dt.date(2026, 3, 29), Interval.QUARTER, 92),
    (NY, dt.date(2026, 11, 1), Interval.DAY, 1),
])
def test_a_local_day_has_the_buckets_its_clock_has(tz, day, interval, n):
    p = day_period(day, tz)
    starts = buckets(p.start, p.end, interval, tz)
    assert len(starts) == n == len(set(starts))
    assert all(bucket_start(t, interval, tz) == t for t in starts)


def test_the_two_one_oclocks_of_a_night_the_clocks_go_back_are_two_hours():
    first = at(NY, 2026, 11, 1, 1, 30)                      # 01:30 EDT
    second = first + 3600                                    # 01:30 EST, an hour later
    a, b = bucket_start(first, Interval.HOUR, NY), bucket_start(second, Interval.HOUR, NY)
    assert b - a == 3600 and dt.datetime.fromtimestamp(b, NY).strftime("%H:%M") == "01:00"


@pytest.mark.parametrize("how, expected", [
    (Compare.PREVIOUS, "Sat 31 Oct 2026"), (Compare.YESTERDAY, "Sat 31 Oct 2026"),
    (Compare.LAST_WEEK, "Sun 25 Oct 2026"),
])
def test_a_day_is_compared_with_a_whole_local_day(how, expected):
    before = compared(day_period(dt.date(2026, 11, 1), NY), how, NY)
    assert before.label == expected
    assert before.end - before.start == 86400               # those days had no change


def test_a_week_is_compared_with_the_week_before_and_hours_with_the_same_hours():
    week = week_period(dt.date(2026, 11, 4), NY)
    assert compared(week, Compare.PREVIOUS, NY).label.startswith("week 44 of 2026 (Mon 26 Oct")
    morning = chosen_period(since=at(NY, 2026, 11, 2, 9), until=at(NY, 2026, 11, 2, 17))
    before = compared(morning, Compare.YESTERDAY, NY)        # 9-17 the day the clocks went back
    assert before.start == at(NY, 2026, 11, 1, 9) and before.end - before.start == 8 * 3600


@pytest.fixture
def shop(monkeypatch):
    """A live camera (an RTSP address, never started) with a line and an area, in New York."""
    monkeypatch.setenv("HEATMAP_DASHBOARD_TIMEZONE", "America/New_York")
    svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
    cam = svc.add_camera("Shop", "rtsp://127.0.0.1:9/none", enabled=False)
    door = svc.add_zone(cam.id, "door", "line", [[0, 0.5], [1, 0.5]])
    aisle = svc.add_zone(cam.id, "aisle", "polygon", [[0, 0], [1, 0], [1, 1]])
    yield svc, cam, door, aisle
    svc.shutdown()


def crossings(door, times, direction="in"):
    return [CrossingEvent(t, door.id, i, "person", direction) for i, t in enumerate(times)]


def test_a_days_report_sums_the_stored_crossings_per_hour_and_compares(shop):
    svc, cam, door, aisle = shop
    day, before = dt.date(2026, 11, 1), dt.date(2026, 10, 25)    # Sundays a week apart
    ins = [at(NY, 2026, 11, 1, 9, m) for m in (0, 10, 59)] + [at(NY, 2026, 11, 1, 1, 30)]
    ins.append(ins[-1] + 3600)                                   # the second 01:30
    outs = [at(NY, 2026, 11, 1, 17, 45)]
    old = [at(NY, 2026, 10, 25, 9, 30), at(NY, 2026, 10, 25, 9, 31)]
    svc.store.add_events(cam.id, crossings(door, ins) + crossings(door, outs, "out")
                         + crossings(door, old) + crossings(door, [at(NY, 2026, 11, 2, 0, 0)]))
    svc.reset(cam.id)          # a Reset zeroes the counters, not what happened (a live camera)
    r = svc.report(cam.id, day_period(day, NY), "hour", "last_week")
    assert r["period"]["label"] == "Sun 1 Nov 2026" and r["compared_with"]["label"] == \
        day_period(before, NY).label
    (row,) = [z for z in r["zones"] if z["zone"] == "door"]
    assert (row["in"], row["out"], row["before_in"], row["change_in_pct"]) == (5, 1, 2, 150.0)
    door_rows = [s for s in r["series"] if s["zone"] == "door"]
    assert len(door_rows) == 25                                  # every hour of a 25-hour day
    by_hour = [(s["label"], s["in"], s["out"], s["before_in"]) for s in door_rows
               if s["in"] or s["out"] or s["before_in"]]
    assert by_hour == [("01:00", 1, 0, 0), ("01:00", 1, 0, 0), ("09:00", 3, 0, 2),
                       ("17:00", 0, 1, 0)]
    csv_rows = svc.report_csv(cam.id, day_period(day, NY), "day", "yesterday").splitlines()
    assert csv_rows[1].split(",")[2:5] == ["door", "5", "1"]


def test_the_report_has_flows_dwell_peak_and_alerts_of_its_period(shop):
    svc, cam, door, aisle = shop
    t0 = at(NY, 2026, 12, 1, 10)
    svc.store.add_events(cam.id, [
        Visit(aisle.id, 1, "person", t0, t0 + 60), Visit(aisle.id, 2, "person", t0 + 30, t0 + 50),
        Visit(aisle.id, 3, "person", t0 + 55, t0 + 70),
        Trip(1, "person", door.id, "in", t0, aisle.id, "in", t0 + 5),
        Trip(2, "person", door.id, "in", t0 + 9, None, None, t0 + 9)])
    r = svc.report(cam.id, day_period(dt.date(2026, 12, 1), NY))
    (area,) = [z for z in r["zones"] if z["zone"] == "aisle"]
    assert (area["visits"], area["peak_inside"], area["average_s"]) == (3, 2, 31.7)
    assert (area["before_visits"], area["before_peak_inside"], area["change_visits_pct"]) == \
        (0, 0, None)                                             # nobody the day before
    assert [(f["origin"], f["destination"], f["count"]) for f in r["flows"]] == \
        [("door in", "aisle in", 1), ("door in", "unknown", 1)]


def test_a_file_counted_again_after_a_reset_is_reported_once(shop):
    svc, _, _, _ = shop
    from dashboard.demo.scene import write_clip

    write_clip(svc.media / "clip.mp4", seconds=1, width=160, height=96, fps=5)
    cam = svc.add_camera("Recording", "clip.mp4", enabled=False)
    door = svc.add_zone(cam.id, "door", "line", [[0, 0.5], [1, 0.5]])
    t = at(NY, 2026, 12, 1, 10)
    svc.store.add_events(cam.id, crossings(door, [t]))
    svc.reset(cam.id)
    svc.store.add_events(cam.id, crossings(door, [t]))       # the same video time, again
    r = svc.report(cam.id, day_period(dt.date(2026, 12, 1), NY))
    assert r["zones"][0]["in"] == 1 and not r["every_epoch"]


@pytest.mark.parametrize("kwargs, message", [
    ({"day": "2026-13-01"}, "YYYY-MM-DD"),
    ({"day": "2999-01-01"}, "future"),
    ({"since": 2000.0, "until": 1000.0}, "empty"),
])
def test_a_report_of_a_period_that_cannot_be_says_why(shop, kwargs, message):
    with pytest.raises(DashboardError, match=message):
        chosen_period(**kwargs)


# -- heat per hour --------------------------------------------------------------------------
def test_heat_is_kept_per_hour_as_seconds_of_presence():
    import numpy as np

    from dashboard.engine.heat_hours import HourlyHeat

    kept = {}
    hh = HourlyHeat(loader=kept.get)
    one = np.array([[320.0, 180.0]])
    for k in range(14):                           # 14 frames 0.5 s apart over an hour's end
        hh.add(one, 3595.0 + k * 0.5, (360, 640))
    assert sorted(hh.grids) == [0.0, 3600.0]
    # the time since the frame before counts in the hour of the frame: 9 and 4 half seconds
    assert (float(hh.grids[0.0].sum()), float(hh.grids[3600.0].sum())) == (4.5, 2.0)
    assert float(hh.grids[0.0][27, 48]) == 4.5                   # all of it where it stood
    hh.kept([0.0, 3600.0])
    assert sorted(hh.grids) == [3600.0]                          # the hour still going stays
    kept[7200.0] = np.full((54, 96), 0.25, np.float32)           # kept before a restart
    again = HourlyHeat(loader=kept.get)
    again.add(one, 7200.0, (360, 640))
    again.add(one, 7201.0, (360, 640))
    assert float(again.grids[7200.0].sum()) == pytest.approx(0.25 * 54 * 96 + 1.0)


def test_a_camera_keeps_its_hours_of_heat_and_gives_a_periods_heat(tmp_path, monkeypatch):
    import io

    import numpy as np

    from dashboard.config.kinds import CameraState
    from dashboard.demo.scene import write_clip
    from support.detectors import Walker
    from support.helpers import wait_until

    monkeypatch.setenv("HEATMAP_DASHBOARD_MEDIA", str(tmp_path / "media"))
    write_clip(tmp_path / "media" / "door.mp4", seconds=3, width=160, height=96, fps=10)
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False,
                  detector=Walker.factory(steps=10))
    try:
        cam = svc.add_camera("Door", "door.mp4", {"pacing": "fast",
                                                  "heat_moving_only": False}, enabled=False)
        svc.start(cam.id)
        assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 60)
        everything = chosen_period(since=0.0, until=__import__("time").time() + 1)
        npz = svc.period_heat_npz(cam.id, everything)
        with np.load(io.BytesIO(npz)) as z:
            grid = z["grid"]
        # 30 frames, one walker in each, 0.1 s apart: 2.9 s of presence (float16 kept)
        assert float(grid.sum()) == pytest.approx(2.9, abs=0.01)
        (img,) = svc.period_heat(cam.id, everything)
        assert img is not None and img.shape[1] == 160
        empty = chosen_period(since=1000.0, until=2000.0)
        assert svc.period_heat_npz(cam.id, empty) is None
    finally:
        svc.shutdown()
        svc.store.close()


def test_the_api_gives_reports_and_heat_and_escapes_what_was_typed(shop):
    import asyncio

    import httpx

    from dashboard.web.api.routes import create_app

    svc, cam, door, aisle = shop
    svc.update_zone(cam.id, door.id, name="<img src=x onerror=alert(1)>")
    svc.store.add_events(cam.id, crossings(door, [at(NY, 2026, 12, 1, 10), at(NY, 2026, 12, 1, 11)]))
    svc.add_user("vic", "viewer-pass-12", "viewer")
    token = svc.auth.login("vic", "viewer-pass-12", "test")

    async def ask(*paths):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(svc)),
                                     base_url="http://127.0.0.1:8501",
                                     headers={"Authorization": f"Bearer {token}"}) as c:
            return [await c.get(f"/api/cameras/{cam.id}/{p}") for p in paths]

    data, csv_, html, heat, bad, future = asyncio.run(ask(
        "report?day=2026-12-01&interval=hour&compare=last_week", "report.csv?day=2026-12-01",
        "report.html?week=2026-12-01", "heat.png?day=2026-12-01", "report?day=yesterday",
        "report?day=2999-01-01"))
    assert data.status_code == 200
    (row,) = [z for z in data.json()["zones"] if z["zone_id"] == door.id]
    assert (row["in"], row["before_in"]) == (2, 0)
    assert sum(int(line.split(",")[3]) for line in csv_.text.splitlines()[1:]) == 2
    assert html.status_code == 200 and "week 49 of 2026" in html.text
    assert "<img src=x" not in html.text and "&lt;img src=x" in html.text
    assert "script-src" not in html.headers["content-security-policy"] and \
        "default-src 'none'" in html.headers["content-security-policy"]
    assert heat.status_code == 404 and "No heat" in heat.json()["error"]
    assert bad.status_code == 400 and "YYYY-MM-DD" in bad.json()["error"]
    assert future.status_code == 400 and "future" in future.json()["error"]


# -- scheduled reports ----------------------------------------------------------------------
@pytest.fixture
def scheduled(tmp_path, monkeypatch):
    """A service with one camera and a crossing every hour of yesterday and of the same
    day a week before, set to send daily reports by mail (a real SMTP server on loopback:
    STARTTLS, a login) and into a folder; its schedule is ticked by the test."""
    from support.smtp import SmtpServer

    with SmtpServer(tmp_path) as smtp:
        monkeypatch.setenv("HEATMAP_DASHBOARD_TIMEZONE", "America/New_York")
        monkeypatch.setenv("HEATMAP_DASHBOARD_REPORTS", "daily")
        monkeypatch.setenv("HEATMAP_DASHBOARD_REPORT_TO", "boss@example.com")
        monkeypatch.setenv("HEATMAP_DASHBOARD_REPORT_FROM", "dash@example.com")
        monkeypatch.setenv("HEATMAP_DASHBOARD_SMTP_URL", smtp.url)
        monkeypatch.setenv("HEATMAP_DASHBOARD_SMTP_CAFILE", str(smtp.cafile))
        monkeypatch.setenv("HEATMAP_DASHBOARD_REPORT_DIR", str(tmp_path / "reports"))
        from dashboard.service.delivery import ReportDelivery

        # The test ticks it, at moments it picks: its thread would tick at the real time
        # first, and start the schedule with the day just over then (not Fri 4 Dec).
        monkeypatch.setattr(ReportDelivery, "start", lambda self: self)
        svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False)
        cam = svc.add_camera("Shop", "rtsp://127.0.0.1:9/none", enabled=False)
        door = svc.add_zone(cam.id, "door", "line", [[0, 0.5], [1, 0.5]])
        now = at(NY, 2026, 12, 5, 0, 30)           # just after the day Fri 4 Dec ended
        svc.store.add_events(cam.id, crossings(door, [at(NY, 2026, 12, 4, h) for h in range(24)])
                             + crossings(door, [at(NY, 2026, 11, 27, h) for h in range(12)]))
        yield svc, cam, smtp, now, tmp_path / "reports"
        svc.shutdown()
        svc.store.close()


def test_a_daily_report_goes_by_mail_over_starttls_and_into_the_folder(scheduled):
    svc, cam, smtp, now, folder = scheduled
    assert svc.delivery.tick(now) == 2                          # mail and folder
    (msg,) = smtp.messages
    assert msg["Subject"] == "Shop: Fri 4 Dec 2026" and msg["To"] == "boss@example.com"
    body, html, csv_ = [part for part in msg.walk() if not part.is_multipart()]
    assert "door: in 24 (+100.0%)" in body.get_payload(decode=True).decode()
    assert html.get_filename() == "daily-2026-12-04.html"
    assert "Fri 27 Nov 2026" in html.get_payload(decode=True).decode()   # a week before
    files = sorted(p.name for p in folder.rglob("*") if p.is_file())
    assert files == ["daily-2026-12-04.csv", "daily-2026-12-04.html"]
    assert svc.delivery.tick(now + 60) == 0                     # each once


def test_a_refused_mail_waits_is_shown_and_goes_later(scheduled):
    svc, cam, smtp, now, folder = scheduled
    smtp.box.refuse = True
    assert svc.delivery.tick(now) == 1                           # the folder's went
    (waiting,) = [d for d in svc.report_schedule()["deliveries"] if not d["sent"]]
    assert waiting["target"] == "mail" and "451" in waiting["error"]
    assert svc.delivery.tick(now + 10) == 0 and not smtp.messages   # not before its time
    smtp.box.refuse = False
    assert svc.delivery.tick(waiting["next_try"] + 1) == 1 and len(smtp.messages) == 1
    assert all(d["sent"] for d in svc.report_schedule()["deliveries"])


def test_a_wrong_password_or_an_untrusted_server_says_so(scheduled, monkeypatch):
    from dashboard.integrations.mail import Mailer
    from dashboard.errors import DashboardError

    svc, cam, smtp, now, folder = scheduled
    wrong = Mailer(smtp.url.replace("mail-pass-123", "nope"), "d@example.com", str(smtp.cafile))
    with pytest.raises(DashboardError, match="refused the user name or password") as e:
        wrong.send(["x@example.com"], "s", "t")
    assert "nope" not in str(e.value)
    untrusted = Mailer(smtp.url, "d@example.com")                # no CA given: not trusted
    with pytest.raises(DashboardError, match="TLS failed"):
        untrusted.send(["x@example.com"], "s", "t")
    assert not smtp.messages


def test_the_schedule_is_shown_to_operators_only(scheduled):
    import asyncio

    import httpx

    from dashboard.web.api.routes import create_app

    svc, cam, smtp, now, folder = scheduled
    svc.delivery.tick(now)
    svc.add_user("vic", "viewer-pass-12", "viewer")
    svc.add_user("olga", "operator-pass-12", "operator")

    async def ask(user, password):
        token = svc.auth.login(user, password, "test")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(svc)),
                                     base_url="http://127.0.0.1:8501",
                                     headers={"Authorization": f"Bearer {token}"}) as c:
            return await c.get("/api/reports")

    viewer = asyncio.run(ask("vic", "viewer-pass-12"))
    operator = asyncio.run(ask("olga", "operator-pass-12"))
    assert viewer.status_code == 403
    body = operator.json()
    assert body["kinds"] == ["daily"] and body["to"] == ["boss@example.com"]
    assert "mail-pass-123" not in operator.text and body["smtp"].startswith("smtp://***@")
    assert sorted(d["target"] for d in body["deliveries"] if d["sent"]) == ["folder", "mail"]
