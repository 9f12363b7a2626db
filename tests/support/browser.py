"""What the browser tests share: screenshots, no traceback on a page, a line drawn by hand."""
from __future__ import annotations

import os
from pathlib import Path


def shot(page, tmp_path, name: str) -> Path:
    folder = Path(os.environ.get("SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def no_traceback(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.locator("body").inner_text()


def draw_line(page, x_frac: float, y0_frac: float, y1_frac: float) -> tuple[float, ...]:
    """Drag a vertical line on the zone canvas, as a hand would; returns its ends in 0..1."""
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)
    box = canvas.bounding_box()
    x = round(box["x"] + x_frac * box["width"])
    y0, y1 = (round(box["y"] + f * box["height"]) for f in (y0_frac, y1_frac))
    page.mouse.move(x, y0)
    page.mouse.down()
    for y in range(y0, y1 + 1, 12):
        page.mouse.move(x, y)
    page.mouse.move(x, y1)
    page.wait_for_timeout(300)                      # a hand rests before letting go
    page.mouse.up()
    page.wait_for_timeout(1500)
    return ((x - box["x"]) / box["width"], (y0 - box["y"]) / box["height"],
            (y1 - box["y"]) / box["height"])
