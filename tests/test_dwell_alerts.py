"""Dwell time, zone classes, occupancy limits and wrong-way alerts: the engine's rules and
how the store keeps them (fast: no model, no server)."""
from __future__ import annotations

import json

import pytest

from dashboard.engine import (AlertKind, AlertMonitor, Engine, LineZone, PolygonZone, Visit,
                              dwell_summary)
from dashboard.engine.alerts import CLEAR_S
from dashboard.engine.dwell import VISIT_GAP_S
from dashboard.engine.zones import CrossingEvent
from dashboard.config.kinds import CameraId
from dashboard.config.zone import ZoneSpec
from dashboard.errors import DashboardError
from dashboard.store.sqlite import SQLiteStore
from dashboard.store.writer import EventWriter
from support.helpers import tracks_of

SQUARE = [(100, 100), (200, 100), (200, 200), (100, 200)]


def feed(zone, steps, dt=0.1):
    """steps: list of track tuples per frame (or None for a frame without the track);
    returns the visits that ended, in order."""
    ended = []
    for i, items in enumerate(steps):
        zone.trigger(tracks_of(*(items or ())), i * dt)
        ended += zone.ended_visits
    return ended


def walk(tid, xs, y=150, cls=0):
    return [[(tid, x, y, cls)] for x in xs]


def test_a_stay_is_timed_from_its_in_crossing_to_its_out_crossing():
    z = PolygonZone("shop", SQUARE, confirm_frames=2)
    # outside 3 frames, inside 50 frames, outside 5 frames (0.1 s apart)
    steps = walk(1, [50] * 3) + walk(1, [150] * 50) + walk(1, [250] * 5)
    visits = feed(z, steps)
    assert len(visits) == 1
    v = visits[0]
    # IN confirmed on the 2nd frame inside (t=0.4), OUT on the 2nd frame outside (t=5.4)
    assert (v.zone, v.track_id, v.cls_name) == ("shop", 1, "person")
    assert v.entered == pytest.approx(0.4) and v.left == pytest.approx(5.4)
    assert v.seconds == pytest.approx(5.0)


def test_jitter_on_the_edge_and_a_short_occlusion_keep_one_visit():
    z = PolygonZone("shop", SQUARE, confirm_frames=3)
    steps = (walk(1, [150] * 10) + walk(1, [205, 150, 205, 150]) +   # 1-frame excursions
             [None] * int((VISIT_GAP_S - 1) / 0.1) +                  # hidden 2 s
             walk(1, [150] * 10) + walk(1, [300] * 4))
    visits = feed(z, steps)
    assert len(visits) == 1
    assert visits[0].entered == 0.0   # first seen inside: the stay starts at that sighting


def test_a_track_gone_longer_than_the_gap_ends_its_visit_when_last_seen():
    z = PolygonZone("shop", SQUARE, confirm_frames=1)
    steps = walk(1, [50, 150, 150, 150]) + [None] * int(VISIT_GAP_S / 0.1 + 2)
    visits = feed(z, steps)
    assert [(v.entered, v.left) for v in visits] == [(pytest.approx(0.1), pytest.approx(0.3))]
    assert z.inside(len(steps) * 0.1) == []


def test_inside_now_lists_who_is_in_with_since_when():
    z = PolygonZone("shop", SQUARE, confirm_frames=1)
    z.trigger(tracks_of((1, 50, 150), (2, 150, 150, 1)), 0.0)
    z.trigger(tracks_of((1, 150, 150), (2, 150, 150, 1)), 1.0)
    assert [(v.track_id, v.cls_name, v.entered) for v in z.inside(1.0)] == \
        [(2, "car", 0.0), (1, "person", 1.0)]
    assert z.counts.occupancy == 2


def test_a_zone_counts_only_its_classes():
    line = LineZone("gate", (0, 100), (300, 100), confirm_frames=1, classes=["car"])
    for t, y in enumerate([50, 150]):
        line.trigger(tracks_of((1, 100, y, 0), (2, 200, y, 1)), t)
    assert dict(line.counts.per_class) == {"car": {"in": 1, "out": 0}}
    with pytest.raises(DashboardError, match="list of class names"):
        LineZone("gate", (0, 1), (5, 1), classes="car")


def test_engine_returns_ended_visits_with_its_frame():
    import numpy as np

    eng = Engine(zones=[PolygonZone("shop", SQUARE, confirm_frames=1)])
    img = np.zeros((300, 300, 3), np.uint8)
    ended = []
    for t, x in enumerate([50, 150, 150, 250]):
        ended += eng.update(img, tracks_of((7, x, 150)), float(t)).visits
    assert [(v.track_id, v.seconds) for v in ended] == [(7, 2.0)]


def test_summary_of_visits():
    assert dwell_summary([]) == {"visits": 0, "average_s": None, "longest_s": None}
    s = dwell_summary([Visit("a", 1, "p", 0.0, 3.0), Visit("a", 2, "p", 1.0, 10.0),
                       Visit("a", 3, "p", 5.0)])   # the open one is not finished
    assert s == {"visits": 2, "average_s": 6.0, "longest_s": 9.0}


# -- alerts -------------------------------------------------------------------------------
def test_occupancy_alert_has_one_start_a_peak_and_an_end():
    m = AlertMonitor()
    changes = []
    # 2 (limit 3) -> 4 -> 5 -> 3 -> 4 (back over before CLEAR_S) -> 3 ... stays under
    for t, v in [(0, 2), (1, 4), (2, 5), (3, 3), (3.5, 4), (4, 3), (5, 3), (4 + CLEAR_S, 3)]:
        changes += m.update({"shop": (v, 3)}, [], set(), float(t))
    assert len({a.id for a in changes}) == 1           # one alert, not one per wobble
    start, peak, end = changes[0], changes[-2], changes[-1]
    assert (start.started, start.peak, start.ended) == (1.0, 4, None)
    assert peak.peak == 5 and peak.active
    assert (end.ended, end.peak, end.limit, end.kind) == (4.0, 5, 3, AlertKind.OCCUPANCY)


def test_removing_the_limit_or_the_zone_ends_its_alert():
    m = AlertMonitor()
    m.update({"shop": (5, 3), "hall": (9, 1)}, [], set(), 0.0)
    ended = m.update({"shop": (5, None)}, [], set(), 1.0)   # shop's limit gone, hall deleted
    assert sorted((a.zone, a.ended) for a in ended) == [("hall", 1.0), ("shop", 1.0)]
    assert m.active == {}


def test_wrong_way_is_an_out_crossing_of_a_one_way_line():
    m = AlertMonitor()
    events = [CrossingEvent(1.0, "door", 4, "person", "in"),
              CrossingEvent(2.0, "door", 5, "person", "out"),
              CrossingEvent(2.5, "lane", 6, "car", "out")]
    alerts = m.update({}, events, {"door"}, 3.0)
    assert [(a.zone, a.kind, a.track_id, a.started, a.ended) for a in alerts] == \
        [("door", AlertKind.WRONG_WAY, 5, 2.0, 2.0)]


def test_zone_rules_are_checked():
    spec = ZoneSpec.create("door", "line", [[0, 0.5], [1, 0.5]], wrong_way=True, limit=10,
                           classes=["person"])
    assert spec.to_dict()["wrong_way"] and spec.to_zone(100, 100).classes == {"person"}
    assert spec.updated({"limit": None}).limit is None
    for bad, message in [({"limit": 0}, "limit must be between"),
                         ({"limit": "many"}, "limit"),
                         ({"wrong_way": "yes"}, "true or false"),
                         ({"classes": "person"}, "list of class names")]:
        with pytest.raises(DashboardError, match=message):
            ZoneSpec.create("door", "line", [[0, 0.5], [1, 0.5]], **bad)
    with pytest.raises(DashboardError, match="only a line has a wrong way"):
        ZoneSpec.create("shop", "polygon", [[0, 0], [1, 0], [1, 1]], wrong_way=True)
    with pytest.raises(DashboardError, match="mask"):
        ZoneSpec.create("flag", "mask", [[0, 0], [1, 0], [1, 1]], limit=3)


# -- the store ----------------------------------------------------------------------------
def test_store_keeps_visits_and_alerts_and_an_alert_written_twice_is_one():
    store = SQLiteStore(":memory:")
    cid = CameraId("cam_1")
    m = AlertMonitor()
    start = m.update({"z": (4, 2)}, [], set(), 100.0)
    end = m.update({"z": (0, 2)}, [], set(), 101.0) + \
        m.update({"z": (0, 2)}, [], set(), 101.0 + CLEAR_S)
    store.add_events(cid, [Visit("z", 1, "person", 10.0, 40.0),
                           Visit("z", 2, "person", 20.0, 80.0), *start])
    store.add_events(cid, [*start, *end, *end, *start])   # retried batches, out of order
    assert [(v.track_id, v.seconds) for v in store.visits(cid)] == [(1, 30.0), (2, 60.0)]
    assert store.visits(cid, since=50.0)[0].track_id == 2
    assert store.dwell(cid) == {"z": (2, 45.0, 60.0)}
    alerts = store.alerts(cid)
    assert len(alerts) == 1 and (alerts[0].ended, alerts[0].peak) == (101.0, 4)
    store.archive(cid)   # Reset: a new epoch starts empty, the old one is kept
    assert store.visits(cid) == [] and store.alerts(cid) == []


def test_visits_and_alerts_wait_in_the_spool_like_crossings(tmp_path):
    spool = tmp_path / "cam_1.jsonl"
    m = AlertMonitor()
    records = [CrossingEvent(1.0, "z", 1, "person", "in"), Visit("z", 1, "person", 1.0, 9.5),
               *m.update({"z": (3, 1)}, [], set(), 5.0)]
    # what a writer that could not write left behind (see EventWriter._spill)
    from dashboard.store.writer import _to_row

    spool.write_text("".join(json.dumps(_to_row(r)) + "\n" for r in records))
    store = SQLiteStore(tmp_path / "d.db")
    w = EventWriter(store, CameraId("cam_1"), spool=spool)
    assert w.pending == 0 and not spool.exists()
    cid = CameraId("cam_1")
    assert store.counts(cid)["z"].in_count == 1
    assert [v.seconds for v in store.visits(cid)] == [8.5]
    assert [(a.peak, a.active) for a in store.alerts(cid)] == [(3, True)]
