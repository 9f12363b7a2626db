"""Flows, reports and heat per hour, in figures: flows against the generated junction's
truth (cells right / cells), the time to make a week's report of one camera at 15-minute
bins (and its HTML), and the bytes heat per hour takes per camera and day.

    .venv/bin/python benchmarks/reports.py            # about two minutes on 2 cores
"""
from __future__ import annotations

import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from dashboard.config.zone import junction_specs  # noqa: E402
from dashboard.demo.junction import Junction, as_tracked  # noqa: E402
from dashboard.demo.scene import Scene  # noqa: E402
from dashboard.engine import Engine  # noqa: E402
from dashboard.engine.dwell import Visit  # noqa: E402
from dashboard.engine.flows import Trip  # noqa: E402
from dashboard.engine.heat_hours import HourlyHeat, pack  # noqa: E402
from dashboard.engine.zones import CrossingEvent  # noqa: E402
from figures import record  # noqa: E402


def flows_exact(seeds: range, seconds: float = 90.0) -> tuple[int, int, int, int]:
    """(cells right, cells, vehicles, tracks split by the bridge) over these junctions."""
    right = cells = vehicles = split = 0
    for seed in seeds:
        j = Junction(seed=seed)
        specs = junction_specs()
        names = {z.id: z.name for z in specs}
        engine = Engine(zones=[z.to_zone(j.w, j.h) for z in specs])
        trips, splits = [], 0
        for i, (img, tracks, splits) in enumerate(as_tracked(j.frames(seconds))):
            trips += engine.update(img, tracks, i / j.fps, draw=False).trips
        trips += engine.flows.close()
        got = Counter((names[t.origin], names.get(t.destination or ""), t.cls_name) for t in trips)
        truth = Counter((r["origin"], r["destination"], r["class"]) for r in j.routes)
        keys = set(got) | set(truth)
        right += sum(got[k] == truth[k] for k in keys)
        cells += len(keys)
        vehicles += len(j.routes)
        split += splits
    return right, cells, vehicles, split


def heat_bytes(scene: object, seconds: float, fps: float) -> tuple[int, int]:
    """(bytes one hour of heat takes, cells with someone in them) for this scene."""
    hh = HourlyHeat()
    frames = scene.frames(seconds) if isinstance(scene, Scene) else scene.frames(seconds,
                                                                                   tail_s=0)
    for i, (img, boxes) in enumerate(frames):
        a = np.array([[(b.xyxy[0] + b.xyxy[2]) / 2, (b.xyxy[1] + b.xyxy[3]) / 2]
                      for b in boxes]).reshape(-1, 2)
        hh.add(a, i / fps, img.shape[:2])
    grid = sum(hh.grids.values())
    return len(pack(grid)), int((grid > 0).sum())


def week_report(per_day: int = 20_000) -> tuple[float, float, float, int]:
    """(seconds for the week's report at 15-minute bins, for its HTML, for a day's at
    hours, crossings stored) of one camera with two zones, a week of crossings, trips,
    visits and heat."""
    from dashboard.service.core import Service
    from dashboard.service.periods import Compare, Interval
    from dashboard.service.summaries import chosen_period
    from dashboard.store.sqlite import SQLiteStore

    folder = Path(tempfile.mkdtemp())
    svc = Service(SQLiteStore(folder / "db.sqlite"), folder, demo=False)
    cam = svc.add_camera("Shop", "rtsp://127.0.0.1:9/none", enabled=False)
    door = svc.add_zone(cam.id, "door", "line", [[0, 0.5], [1, 0.5]])
    aisle = svc.add_zone(cam.id, "aisle", "polygon", [[0, 0], [1, 0], [1, 1]])
    r = random.Random(1)
    start = time.time() - 14 * 86400
    for day in range(14):      # the week and the one it is compared with
        t0 = start + day * 86400
        svc.store.add_events(cam.id, [
            CrossingEvent(t0 + r.uniform(0, 86400), door.id, i, "person",
                          r.choice(("in", "out"))) for i in range(per_day)]
            + [Visit(aisle.id, i, "person", t0 + i * 8.0, t0 + i * 8.0 + r.uniform(5, 90))
               for i in range(per_day // 10)]
            + [Trip(i, "person", door.id, "in", t0 + i * 8.0, aisle.id, "in", t0 + i * 8.0 + 4)
               for i in range(per_day // 10)])
        grid = np.random.default_rng(day).gamma(1.0, 2.0, (54, 96)).astype(np.float32)
        svc.store.save_heat_hours(cam.id, [(t0 // 3600 * 3600 + h * 3600, pack(grid))
                                           for h in range(24)])
    week = chosen_period(since=start + 7 * 86400, until=start + 14 * 86400)
    day = chosen_period(since=start + 13 * 86400, until=start + 14 * 86400)
    t = time.perf_counter()
    svc.report(cam.id, week, Interval.QUARTER, Compare.PREVIOUS)
    report_s = time.perf_counter() - t
    t = time.perf_counter()
    svc.report_html(cam.id, week, Interval.QUARTER, Compare.PREVIOUS)
    html_s = time.perf_counter() - t
    t = time.perf_counter()
    svc.report(cam.id, day, Interval.HOUR, Compare.LAST_WEEK)
    day_s = time.perf_counter() - t
    svc.shutdown()
    return report_s, html_s, day_s, per_day * 14


def main() -> None:
    right, cells, vehicles, split = flows_exact(range(1, 6))
    report_s, html_s, day_s, stored = week_report()
    street, street_cells = heat_bytes(Scene(seed=7, fps=2), 3600, 2.0)
    junction, junction_cells = heat_bytes(Junction(seed=3, fps=2), 3600, 2.0)
    md = f"""| What | Figure |
|---|---:|
| flows on 5 generated junctions (90 s each, {vehicles} vehicles, {split} tracks split by the bridge) | {right} / {cells} cells right |
| a week's report of one camera at 15-minute bins ({stored:,} crossings stored over two weeks) | {report_s:.2f} s |
| the same as one HTML file (charts, tables, heat) | {html_s:.2f} s |
| a day's report per hour, beside the same day a week before | {day_s:.2f} s |
| heat per hour, a busy street (demo scene, {street_cells} of 5184 cells visited) | {street / 1024:.1f} KB an hour, {street * 24 / 1024:.0f} KB a day |
| heat per hour, a junction (generated, {junction_cells} cells) | {junction / 1024:.1f} KB an hour, {junction * 24 / 1024:.0f} KB a day |"""
    print(md)
    record("reports", md, {"flows_cells_right": right, "flows_cells": cells,
                           "week_report_s": round(report_s, 3), "week_html_s": round(html_s, 3),
                           "day_report_s": round(day_s, 3), "street_heat_bytes_hour": street,
                           "junction_heat_bytes_hour": junction})


if __name__ == "__main__":
    main()
