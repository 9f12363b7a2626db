"""The dashboard in a real browser: headless Chromium (Debian) driven by Playwright, against
the server started as a user starts it, on empty data and cache directories.

First visit: the demo is live with counts moving. Then, as an operator: add a camera from a
generated clip, draw a counting line with the mouse, count the whole file, compare with the
CLI on the same zone, restart the server and find the same counts under the same zone id;
rename, delete and re-add the zone; change the heat's opacity and keep the heat.
"""
from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest

from dashboard.cli import main as cli_main
from dashboard.demo.scene import write_clip
from dashboard.engine import HeatmapAccumulator
from support.browser import canvas_box, draw_line, no_traceback, shot
from support.helpers import wait_until
from support.server import CHROMIUM, CHROMIUM_ARGS, DashboardServer, log_in

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)

# Counts how often the <img> playing the MJPEG stream shows a new picture, by sampling it
# into a small canvas on every animation frame.
COUNT_SHOWN_FRAMES = """async (seconds) => {
  const img = document.querySelector('img[src$="/video.mjpg"]');
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
  return changes;
}"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    srv = DashboardServer(root / "data", HEATMAP_DASHBOARD_CACHE=str(root / "cache")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1024, "height": 1100})
        log_in(page, server.url)
        yield page
        browser.close()


def table_counts(page) -> dict[str, tuple[int, int]]:
    """zone -> (in, out) from the counts table on the page."""
    out = {}
    for row in page.locator('[data-testid="stTable"] tbody tr').all():
        cells = [c.strip() for c in row.locator("td, th").all_inner_texts()]
        if len(cells) >= 3 and cells[1].isdigit():
            out[cells[0]] = (int(cells[1]), int(cells[2]))
    return out


def api(server, path):
    status, body = server.get(path)
    assert status == 200, body
    return body


def test_first_visit_shows_the_live_demo_with_counts_moving(page, server, tmp_path):
    page.goto(server.url)
    page.get_by_text("Demo street").first.wait_for(timeout=60_000)
    page.get_by_role("button", name="Open").first.click()
    page.wait_for_function(
        "() => { const i = document.querySelector('img[src$=\"/video.mjpg\"]');"
        " return i && i.naturalWidth > 0; }", timeout=120_000)
    assert page.evaluate(COUNT_SHOWN_FRAMES, 3) >= 2          # the picture is moving
    assert wait_until(lambda: sum(i + o for i, o in table_counts(page).values()) > 0, 120, 1.0)
    first = sum(i + o for i, o in table_counts(page).values())
    assert wait_until(lambda: sum(i + o for i, o in table_counts(page).values()) > first,
                      120, 1.0), "the counts did not move"
    assert set(table_counts(page)) == {"crossing", "shopfront"}
    no_traceback(page)
    shot(page, tmp_path, "first-visit")


def test_an_operator_adds_a_file_camera_draws_a_line_and_counts_like_the_cli(
        page, server, tmp_path):
    clip = write_clip(server.data / "media" / "street.mp4", seconds=10, seed=11)
    page.goto(server.url)
    page.get_by_role("button", name="Add a camera").click()
    page.locator(".st-key-add-name input").fill("Side street")
    page.locator(".st-key-add-source-kind").get_by_text("Video file on the server").click()
    path = page.locator(".st-key-add-path input")
    path.fill(clip.name)                       # its name in the server's media folder
    path.press("Enter")
    page.get_by_role("button", name="Add camera").click()
    page.get_by_role("heading", name="Side street").wait_for(timeout=30_000)
    cam = next(c for c in api(server, "/api/cameras") if c["name"] == "Side street")
    assert page.url.endswith(f"camera={cam['id']}")

    x, y0, y1 = draw_line(page, 0.5, 0.39, 0.98)
    page.get_by_label("Zone name").fill("gate")
    page.get_by_role("button", name="Add zone").click()
    page.locator('[data-testid="stTable"]').get_by_text("gate").wait_for(timeout=30_000)
    (zone,) = api(server, f"/api/cameras/{cam['id']}/zones")
    assert zone["name"] == "gate"
    for got, want in zip(zone["points"], [[x, y0], [x, y1]]):
        assert got == pytest.approx(want, abs=0.01)            # where the mouse went

    # Count the whole file with the line in place: Reset starts the file again.
    page.get_by_role("button", name="Reset", exact=True).click()      # it asks first
    page.get_by_role("button", name="Reset counts", exact=True).click()
    assert wait_until(lambda: api(server, f"/api/cameras/{cam['id']}")["status"]["state"]
                      == "ended", 180, 1.0)
    page.wait_for_timeout(2500)
    shown = table_counts(page)["gate"]
    zones_file = tmp_path / "zones.json"
    zones_file.write_text(json.dumps({"zones": [{"name": "gate", "type": "line", "points": [
        [px * 640, py * 360] for px, py in zone["points"]]}]}))
    assert cli_main(["process", str(clip), "--zones", str(zones_file), "--out",
                     str(tmp_path / "cli"), "--imgsz", "640", "--no-video"]) == 0
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())["zones"]["gate"]
    assert shown == (cli["in"], cli["out"]) and cli["in"] + cli["out"] > 0
    shot(page, tmp_path, "file-camera")

    server.restart()                                       # the same counts come back
    page.goto(f"{server.url}/camera?camera={cam['id']}")
    page.locator('[data-testid="stTable"]').get_by_text("gate").wait_for(timeout=60_000)
    assert table_counts(page)["gate"] == shown
    after = api(server, f"/api/cameras/{cam['id']}/counts")["zones"]
    assert [(z["id"], z["in"], z["out"]) for z in after] == [(zone["id"], *shown)]

    # Rename keeps the counts; delete, then a new zone with the old name starts at 0.
    page.get_by_text("Zones", exact=True).first.click()
    name_box = page.locator(f".st-key-name-{zone['id']} input")   # the zone's own row
    name_box.fill("north gate")
    name_box.press("Enter")
    page.locator('[data-testid="stTable"]').get_by_text("north gate").wait_for(timeout=30_000)
    assert table_counts(page)["north gate"] == shown
    page.wait_for_timeout(1500)                # the rename's rerun settles (no stale rows)
    page.locator(f".st-key-del-{zone['id']} button").first.click()
    wait_until(lambda: "north gate" not in table_counts(page), 30, 0.5)
    assert api(server, f"/api/cameras/{cam['id']}/zones") == []
    draw_line(page, 0.5, 0.39, 0.98)
    page.get_by_label("Zone name").fill("north gate")
    page.get_by_role("button", name="Add zone").click()
    page.locator('[data-testid="stTable"]').get_by_text("north gate").wait_for(timeout=30_000)
    assert table_counts(page)["north gate"] == (0, 0)
    no_traceback(page)


def heat_grid(server, cid) -> np.ndarray:
    status, blob = server.get(f"/api/cameras/{cid}/heatmap.npz")
    assert status == 200
    return HeatmapAccumulator.load(io.BytesIO(blob)).grid()


def test_opacity_changes_the_look_and_keeps_the_heat(page, server, tmp_path):
    demo = next(c for c in api(server, "/api/cameras") if c["name"] == "Demo street")
    assert wait_until(lambda: server.get(f"/api/cameras/{demo['id']}/heatmap.npz")[0] == 200,
                      120)
    server.post(f"/api/cameras/{demo['id']}/stop")        # so only the page can touch heat
    before = heat_grid(server, demo["id"])
    assert before.max() > 0
    page.goto(f"{server.url}/camera?camera={demo['id']}")
    page.wait_for_function(                         # a stopped camera shows its last frame
        "() => { const i = document.querySelector('img[src$=\"/video.mjpg\"]');"
        " return i && i.naturalWidth > 0; }", timeout=60_000)
    page.get_by_text("Look (never changes counts or heat)").click()
    slider = page.get_by_role("slider").first
    slider.wait_for(timeout=30_000)
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    assert wait_until(lambda: api(server, f"/api/cameras/{demo['id']}")["presentation"]
                      ["opacity"] == pytest.approx(0.7), 30, 0.5)
    np.testing.assert_array_equal(heat_grid(server, demo["id"]), before)
    text = page.locator("body").inner_text()
    assert re.search(r"Running with: model demo", text)
    no_traceback(page)
    shot(page, tmp_path, "looks")


EVIL_NAME = '"><img src=x onerror="window.pwned=1"> **bold** [link](http://127.0.0.1:9/a)'
EVIL_ZONE = "![x](http://127.0.0.1:9/pixel.png) <b>zone</b> $x^2$"


def test_names_typed_by_users_are_shown_as_text_never_as_markup(page, server):
    status, cam = server.post("/api/cameras", {"name": EVIL_NAME, "source": "demo",
                                               "enabled": False})
    assert status == 201, cam
    server.post(f"/api/cameras/{cam['id']}/zones", {"name": EVIL_ZONE, "type": "polygon",
                                                    "points": [[0, 0], [0.5, 0], [0.5, 0.5]]})
    fetched: list[str] = []
    page.on("request", lambda r: fetched.append(r.url))
    try:
        for path in ("/", f"/camera?camera={cam['id']}", "/cameras"):
            page.goto(server.url + path)
            page.get_by_text("onerror", exact=False).first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)
            # Word joiners (invisible) keep addresses in names from becoming links.
            body = page.locator("body").inner_text().replace("\u2060", "")
            assert "<img src=x" in body and "**bold**" in body, path    # shown as typed
            assert page.evaluate("window.pwned") is None
            assert page.locator('img[src="x"]').count() == 0
            assert page.locator("b", has_text="zone").count() == 0
            if path.startswith("/camera?"):
                assert EVIL_ZONE in body                        # in the counts table, as text
        assert not [u for u in fetched if "127.0.0.1:9" in u]        # no picture was loaded
    finally:
        server.delete(f"/api/cameras/{cam['id']}")


def test_an_operator_draws_a_mask_where_nothing_is_counted(page, server, tmp_path):
    demo = next(c for c in api(server, "/api/cameras") if c["name"] == "Demo street")
    page.goto(f"{server.url}/camera?camera={demo['id']}")
    page.get_by_text("Zones", exact=True).first.click()
    page.locator(".st-key-draw_mode").get_by_text("Mask").click()
    # The page has redrawn for the new mode (a busy machine takes its time): clicks made
    # before would land on the line canvas.
    page.get_by_text("Draw a polygon on the picture").first.wait_for(timeout=60_000)
    box = canvas_box(page)      # in view: clicks outside the window land nowhere
    corners = [(0.05, 0.05), (0.25, 0.05), (0.25, 0.3), (0.05, 0.3), (0.05, 0.05)]
    for fx, fy in corners:                       # click each corner, then the first again
        page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
        page.wait_for_timeout(400)
    add = page.get_by_role("button", name="Add zone")
    page.wait_for_function("b => !b.disabled", arg=add.element_handle(), timeout=60_000)
    page.get_by_label("Zone name").fill("flag")
    add.click()
    page.get_by_text("mask · nothing detected, counted or heated here").first.wait_for(
        timeout=30_000)
    mask = next(z for z in api(server, f"/api/cameras/{demo['id']}/zones")
                if z["name"] == "flag")
    assert mask["type"] == "mask"
    xs, ys = zip(*mask["points"])
    assert min(xs) == pytest.approx(0.05, abs=0.02) and max(ys) == pytest.approx(0.3, abs=0.02)
    counted = api(server, f"/api/cameras/{demo['id']}/counts")["zones"]
    assert "flag" not in [z["name"] for z in counted] and "flag" not in table_counts(page)
    no_traceback(page)
    shot(page, tmp_path, "mask")
    assert server.delete(f"/api/cameras/{demo['id']}/zones/{mask['id']}")[0] == 204
