"""What the browser tests share: screenshots, no traceback on a page, a line drawn by hand."""
from __future__ import annotations

import os
from pathlib import Path

from support.helpers import wait_until


def shot(page, tmp_path, name: str) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_traceback(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.locator("body").inner_text()


def settled(page, timeout_ms: int = 60_000) -> None:
    """Wait until the page's script has finished the rerun a change asked for (Streamlit marks
    its root), so the server has the change before the next click acts on it (a slider's
    new value, say, before "Add camera" saves the settings)."""
    page.wait_for_timeout(500)          # a slider sends its change a moment after the key
    page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]').wait_for(
        timeout=timeout_ms)


ZONE_CANVAS = "svg.picture"     # the zone canvas's picture (dashboard/web/zone_canvas.js)


def canvas_box(page, timeout_ms: int = 30_000) -> dict:
    """Where the zone canvas is, in view and settled: the figures beside it load and
    grow, moving it, and a drag aimed at where it was lands nowhere."""
    canvas = page.locator(ZONE_CANVAS).first
    canvas.wait_for(timeout=timeout_ms)
    last = None
    for _ in range(30):
        try:
            canvas.scroll_into_view_if_needed(timeout=10_000)
        except Exception:  # noqa: BLE001 - playwright's Error: replaced by a rerun; again
            pass
        page.wait_for_timeout(700)
        box = canvas.bounding_box()
        inside = box is not None and box["y"] >= 0 and \
            box["y"] + box["height"] <= page.viewport_size["height"]
        if box is not None and not inside:   # partly in view: "if needed" leaves it there
            canvas.evaluate("e => e.scrollIntoView({block: 'center'})")
        if inside and box == last:
            return box
        last = box
    raise AssertionError(f"the zone canvas does not settle in view: {last}")


def open_zones(page) -> None:
    """Open the Camera page's Zones panel (a click landing during a rerun is lost: again
    until the zone tools show)."""
    tools = page.locator(".st-key-draw_mode, .st-key-save_shape").first
    for _ in range(6):
        if tools.is_visible():
            return
        page.get_by_text("Zones", exact=True).first.click()
        if wait_until(tools.is_visible, 10, 0.5):
            return
    tools.wait_for(timeout=30_000)


def drag(page, points: list[tuple[float, float]], step_ms: int = 30) -> None:
    """A mouse drag through `points` (page pixels), as a hand would: resting at the end."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for p in points[1:]:
        page.mouse.move(*p)
        page.wait_for_timeout(step_ms)
    page.wait_for_timeout(300)
    page.mouse.up()
    page.wait_for_timeout(1500)


def draw_line(page, x_frac: float, y0_frac: float, y1_frac: float) -> tuple[float, ...]:
    """Drag a vertical line on the zone canvas, as a hand would; returns its ends in 0..1."""
    box = canvas_box(page)
    x = round(box["x"] + x_frac * box["width"])
    y0, y1 = (round(box["y"] + f * box["height"]) for f in (y0_frac, y1_frac))
    drag(page, [(x, y) for y in range(y0, y1 + 1, 12)] + [(x, y1)], step_ms=0)
    return ((x - box["x"]) / box["width"], (y0 - box["y"]) / box["height"],
            (y1 - box["y"]) / box["height"])
