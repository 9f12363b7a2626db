"""An audit as an operator does it in a real browser (headless Chromium): a sample recorded
while the demo camera counts, then on the Camera page: step to another frame with the
keyboard, untick a counted crossing with the mouse, add a missed one, audit, and read the
accuracy shown, which is the audit the server kept."""
from __future__ import annotations

import time

import pytest

from support.browser import no_traceback, shot
from support.helpers import wait_until
from support.server import CHROMIUM, CHROMIUM_ARGS, DashboardServer, log_in

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)


def test_an_operator_audits_a_sample_with_mouse_and_keyboard(tmp_path):
    srv = DashboardServer(tmp_path / "data").start()     # the demo camera, running
    try:
        (cam,) = srv.get("/api/cameras")[1]
        cid = cam["id"]
        assert wait_until(lambda: srv.get(f"/api/cameras/{cid}")[1]["status"]["state"]
                          == "live", 120)
        status, sample = srv.post(f"/api/cameras/{cid}/samples", {"minutes": 0.25})
        assert status == 201, sample
        assert wait_until(lambda: srv.get(f"/api/cameras/{cid}/samples")[1][0]["status"]
                          != "recording", 120)
        (done,) = srv.get(f"/api/cameras/{cid}/samples")[1]
        assert done["status"] == "done", done
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1300})
            log_in(page, srv.url)
            page.goto(f"{srv.url}/camera?camera={cid}")
            page.get_by_text("Audit: how right are the counts?").click()
            page.get_by_text("Counted in this sample").wait_for(timeout=60_000)
            slider = page.get_by_role("slider", name="Frame")
            slider.focus()
            for _ in range(5):                                   # five frames on, by keyboard
                page.keyboard.press("ArrowRight")
            page.get_by_text("frame 5:").wait_for(timeout=30_000)
            header = page.get_by_text("Counted in this sample")
            grid = page.locator("[data-testid=stDataFrame]").filter(has=page.locator("canvas"))
            grid.last.scroll_into_view_if_needed()
            box = grid.last.bounding_box()
            tick = page.locator("[data-testid=stDataFrame]").last
            assert box["y"] > header.bounding_box()["y"]          # the table under the caption
            page.mouse.click(box["x"] + 70, box["y"] + 35 + 20)  # the first row's tick: chosen
            page.keyboard.press("Space")                         # and unticked
            time.sleep(2)
            assert tick.is_visible()
            page.get_by_role("button", name="Add at this frame").click()
            page.get_by_text("Added: ").wait_for(timeout=30_000)
            page.get_by_role("button", name="Audit this sample").click()
            shown = page.get_by_text("audited").first
            shown.wait_for(timeout=60_000)
            shot(page, tmp_path, "audit")
            text = shown.inner_text()
            no_traceback(page)
            browser.close()
        (kept,) = srv.get(f"/api/cameras/{cid}/audits")[1]
        assert kept["summary"] in text.replace("\\", "")          # what the page showed
        assert kept["all"]["extra"] >= 1 and kept["marks"] >= 1   # the untick, the added one
    finally:
        srv.stop()
