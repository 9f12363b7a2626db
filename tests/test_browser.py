"""The dashboard in a real browser: headless Chromium (Debian) driven by Playwright.

Starts `streamlit run dashboard/web.py` on a loopback port, waits for the demo's live view,
measures frames shown per second against frames processed, draws a counting line on the
canvas with the mouse and waits until that zone counts. Saves a screenshot.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rtsp_server import free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

# Counts how often the <img> playing the MJPEG stream shows a new picture, by sampling it
# into a small canvas on every animation frame.
COUNT_SHOWN_FRAMES = """async (seconds) => {
  const img = document.querySelector('img[src^="/video/"]');
  const c = document.createElement('canvas'); c.width = 64; c.height = 36;
  const g = c.getContext('2d', {willReadFrequently: true});
  let last = null, changes = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    await new Promise(r => requestAnimationFrame(r));
    g.drawImage(img, 0, 0, 64, 36);
    const d = g.getImageData(0, 0, 64, 36).data;
    let h = 0; for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) | 0;
    if (last !== null && h !== last) changes++;
    last = h;
  }
  return changes / seconds;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("browser-data")
    port = free_port()
    env = {**os.environ, "HEATMAP_DASHBOARD_DATA": str(data), "YOLO_OFFLINE": "1"}
    log = open(data / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/web.py",
                             "--server.port", str(port), "--server.headless", "true",
                             "--server.address", "127.0.0.1"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    end = time.monotonic() + 60
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the dashboard did not start: " + (data / "server.log").read_text())
    yield url, data
    proc.terminate()
    proc.wait(20)
    log.close()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.goto(server[0])
        yield page
        browser.close()


def caption_figure(page, name: str) -> float:
    text = page.get_by_text(re.compile(r"processed [\d.]+ fps")).first.inner_text()
    return float(re.search(rf"{name} ([\d.]+)", text).group(1))


def metric(page, label: str) -> int:
    box = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return int(box.locator('[data-testid="stMetricValue"]').inner_text())


def test_live_view_plays_and_the_page_keeps_up(page, record_property):
    page.wait_for_function(
        "() => { const i = document.querySelector('img[src^=\"/video/\"]');"
        " return i && i.naturalWidth > 0; }", timeout=90_000)
    page.wait_for_timeout(3000)
    shown = page.evaluate(COUNT_SHOWN_FRAMES, 6)
    processed = caption_figure(page, "processed")
    age_ms = caption_figure(page, "frame age")
    record_property("shown_fps", shown)
    record_property("processed_fps", processed)
    print(f"\nbrowser: shown {shown:.1f} fps, processed {processed:.1f} fps, "
          f"ratio {shown / processed:.2f}, frame age {age_ms:.0f} ms")
    assert processed > 3
    assert shown >= 0.8 * processed


def test_draw_a_line_with_the_mouse_and_its_counts_rise(page, server, tmp_path):
    page.get_by_text("Zones", exact=True).first.click()
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=30_000)
    page.wait_for_timeout(1500)
    box = canvas.bounding_box()
    scale = 640 / box["width"]                     # the demo frame is 640x360
    # A vertical line across the road, where cars pass both ways.
    x, y0, y1 = round(box["x"] + 420), round(box["y"] + 175), round(box["y"] + 320)
    page.mouse.move(x, y0)
    page.mouse.down()
    for y in range(y0, y1 + 1, 15):
        page.mouse.move(x, y)
    page.mouse.move(x, y1)
    page.wait_for_timeout(300)                     # a hand rests before letting go
    page.mouse.up()
    page.wait_for_timeout(1500)
    page.get_by_label("Zone name").fill("gate")
    page.get_by_role("button", name="Add zone").click()
    page.locator('[data-testid="stMetric"]').filter(has_text="gate in").first.wait_for(
        timeout=30_000)

    with sqlite3.connect(server[1] / "dashboard.db") as db:
        zones = json.loads(db.execute("SELECT zones_json FROM zones").fetchone()[0])
    gate = next(z for z in zones if z["name"] == "gate")
    expected = [((x - box["x"]) * scale, (y - box["y"]) * scale) for y in (y0, y1)]
    for got, want in zip(gate["points"], expected):
        assert got == pytest.approx(want, abs=1.5 * scale)   # one screen pixel, rounded

    end = time.monotonic() + 120
    while time.monotonic() < end and metric(page, "gate in") + metric(page, "gate out") == 0:
        page.wait_for_timeout(1000)
    counted = metric(page, "gate in") + metric(page, "gate out")
    shot = Path(os.environ.get("SCREENSHOT", tmp_path / "dashboard.png"))
    page.screenshot(path=str(shot))
    assert counted > 0, f"no crossings of the drawn line within 2 minutes; see {shot}"
