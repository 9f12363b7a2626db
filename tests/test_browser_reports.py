"""Flows and reports as an operator reads them in a real browser (headless Chromium): the
junction preset added from the API, a day of crossings, trips and heat kept by the server,
then the Camera page's Flows (matrix, diagram, turning movements) and Reports (a day
beside the day before, the heat of both, the HTML report downloaded and read)."""
from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pytest

from dashboard.config.env import time_zone
from dashboard.engine.flows import Trip
from dashboard.engine.heat_hours import pack
from dashboard.engine.zones import CrossingEvent
from dashboard.store.sqlite import SQLiteStore
from support.browser import no_traceback, shot
from support.server import CHROMIUM, CHROMIUM_ARGS, DashboardServer, log_in

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)


def test_an_operator_reads_flows_and_a_days_report_and_downloads_it(tmp_path):
    srv = DashboardServer(tmp_path / "data").start()     # the demo camera, running
    try:
        (cam,) = srv.get("/api/cameras")[1]
        status, zones = srv.post(f"/api/cameras/{cam['id']}/zones/junction")
        assert status == 201
        ids = {z["name"]: z["id"] for z in zones}
        tz = time_zone()
        day = dt.datetime.now(tz).date() - dt.timedelta(days=1)
        noon = dt.datetime.combine(day, dt.time(12), tz).timestamp()
        store = SQLiteStore(srv.data / "dashboard.db")       # what the server kept, as if
        recent = time.time() - 600                          # counted: a day and its trips
        store.add_events(cam["id"], [
            *[CrossingEvent(noon + i * 60, ids["north"], i, "car", "in") for i in range(9)],
            *[CrossingEvent(noon - 86400 + i * 60, ids["north"], i, "car", "in")
              for i in range(6)],
            *[Trip(i, "car", ids["north"], "in", recent + i, ids["east"], "out", recent + i + 5)
              for i in range(3)],
            Trip(9, "car", ids["south"], "in", recent, ids["north"], "out", recent + 7)])
        grid = np.zeros((54, 96), np.float32)
        grid[30:34, 40:50] = 5.0
        store.save_heat_hours(cam["id"], [(noon // 3600 * 3600, pack(grid)),
                                          ((noon - 86400) // 3600 * 3600, pack(grid / 2))])
        store.close()
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            log_in(page, srv.url)
            page.goto(f"{srv.url}/camera?camera={cam['id']}")
            page.get_by_text("Flows: where objects went").click()
            page.get_by_text("4 trips · 0 with an unknown destination").wait_for(timeout=60_000)
            page.get_by_text("Flows: each arrow from where objects came in").wait_for()
            pictures = page.locator("img[src*='/media/']")     # what st.image serves
            assert pictures.count() >= 1                             # the flow diagram
            page.get_by_text("Turning movements (in over one line").wait_for()
            shot(page, tmp_path, "flows")
            page.get_by_text("Reports: a day or a week").click()
            caption = page.get_by_text(f"{day.day} {day:%b %Y}, compared with")
            caption.wait_for(timeout=60_000)
            heat = page.get_by_text("Heat of each period, on one colour scale")
            heat.scroll_into_view_if_needed()
            assert pictures.count() >= 3                             # and the two heats
            page.wait_for_function("[...document.querySelectorAll(\"img[src*='/media/']\")]"
                                   ".every(i => i.complete && i.naturalWidth > 0)")
            shot(page, tmp_path, "report")
            with page.expect_download() as got:
                page.get_by_role("button", name="Report (HTML)").click()
            html = got.value.path().read_text()
            assert "compared with" in html.lower() and "+50.0%" in html   # 9 in beside 6
            assert "data:image/png;base64," in html                 # the day's heat in it
            no_traceback(page)
            browser.close()
    finally:
        srv.stop()
