"""Engine: zones come and go without touching each other, reset, results and drawing."""
from __future__ import annotations

import numpy as np
import pytest

from support.helpers import tracks_of
from dashboard.engine import Engine, HeatmapConfig, LineZone, PolygonZone, Tracks
from dashboard.errors import DashboardError


def door():
    return LineZone("door", (100, 240), (540, 240), confirm_frames=1)


def shop():
    return PolygonZone("shop", [(200, 150), (440, 150), (440, 330)], confirm_frames=1)


@pytest.fixture
def img():
    return np.full((480, 640, 3), 90, np.uint8)


def walk(engine, img, path, tid=1, t0=0.0):
    res = None
    for i, (x, y) in enumerate(path):
        res = engine.update(img, tracks_of((tid, x, y)), t0 + i * 0.1)
    return res


def test_update_returns_counts_events_and_a_plot(img):
    eng = Engine(zones=[door(), shop()], heatmap=HeatmapConfig(half_life_s=None))
    r = walk(eng, img, [(400, 200), (400, 230), (400, 260)])  # inside the shop throughout
    assert r.counts["door"].in_count == 1 and r.counts["door"].out_count == 0
    assert r.counts["door"].per_class["person"]["in"] == 1
    assert r.counts["door"].occupancy is None and r.counts["shop"].occupancy == 1
    assert [(e.zone, e.direction) for e in r.events] == [("door", "in")]
    assert r.total_tracks == 1
    assert r.plot.shape == img.shape and r.plot.dtype == np.uint8
    assert not np.array_equal(r.plot, img)


def test_counts_in_a_result_are_a_snapshot(img):
    eng = Engine(zones=[door()])
    first = walk(eng, img, [(300, 200), (300, 260)])
    walk(eng, img, [(300, 200), (300, 260)], t0=1.0)
    assert first.counts["door"].out_count == 0 and eng.counts["door"].out_count == 1


def test_adding_and_removing_zones_keeps_other_zones_counts(img):
    eng = Engine(zones=[door()])
    walk(eng, img, [(300, 200), (300, 260)])
    eng.add_zone(shop())
    r = walk(eng, img, [(300, 200), (300, 230)], t0=1.0)
    assert r.counts["door"].out_count == 1 and r.counts["door"].in_count == 1
    eng.remove_zone("shop")
    r = walk(eng, img, [(300, 260)], t0=2.0)
    assert set(r.counts) == {"door"} and r.counts["door"].in_count == 2
    eng.zones.append(LineZone("lane", (0, 100), (640, 100)))   # a plain list works too
    assert set(eng.update(img, Tracks.empty(), 3.0).counts) == {"door", "lane"}


def test_duplicate_zone_names_are_refused(img):
    eng = Engine(zones=[door()])
    with pytest.raises(DashboardError):
        eng.add_zone(door())
    assert len(eng.zones) == 1
    with pytest.raises(DashboardError):
        eng.remove_zone("nope")


def test_reset_clears_counts_track_state_and_heat(img):
    eng = Engine(zones=[door()])
    walk(eng, img, [(300, 200), (300, 260)])
    assert eng.heatmap.value.max() > 0
    eng.reset()
    assert eng.heatmap.value.size == 0 or eng.heatmap.value.max() == 0
    # The track's old side is forgotten: its next sighting is a first sighting.
    r = walk(eng, img, [(300, 200)], t0=5.0)
    assert r.counts["door"].in_count == 0 and r.counts["door"].out_count == 0 and not r.events


def test_rejects_a_frame_that_is_not_bgr_uint8():
    with pytest.raises(DashboardError):
        Engine().update(np.zeros((10, 10), np.uint8), Tracks.empty(), 0)


def test_tracks_validate_lengths_and_convert_types():
    with pytest.raises(ValueError):
        Tracks([[0, 0, 1, 1]], [1, 2], [0], [0.5])
    t = Tracks([[0, 0, 1, 1]], [1.0], [0.0], [0.5])
    assert t.ids.dtype == np.int64 and t.xyxy.shape == (1, 4)


def test_cached_labels_draw_what_drawing_the_text_draws():
    import cv2

    from dashboard.engine.overlay import FONT, label

    img, ref = np.full((120, 300, 3), 77, np.uint8), np.full((120, 300, 3), 77, np.uint8)
    label(img, "#12 person", (20, 30), (0, 215, 255), 0.6)
    label(img, "#12 person", (20, 30), (0, 215, 255), 0.6)  # from the cache this time
    (w, h), base = cv2.getTextSize("#12 person", FONT, 0.6, 1)
    cv2.rectangle(ref, (20, 30), (20 + w + 4, 30 + h + base + 4), (0, 0, 0), -1)
    cv2.putText(ref, "#12 person", (22, 30 + h + 2), FONT, 0.6, (0, 215, 255), 1, cv2.LINE_AA)
    assert np.array_equal(img, ref)
    label(img, "door in 4", (280, 110), (255, 255, 0), 0.6)  # clipped at the corner
    label(img, "door in 4", (-50, -20), (255, 255, 0), 0.6)  # pulled inside
    assert (img[0, 0] == 0).all() and (img[110, 280] == 0).all() and (img[109, 279] == 77).all()


def test_nothing_inside_a_mask_is_counted_or_heated():
    from dashboard.engine import Engine, LineZone
    from support.helpers import tracks_of

    eng = Engine(zones=[LineZone("door", (0, 100), (400, 100), confirm_frames=1)])
    eng.masks = [[(0, 0), (200, 0), (200, 300), (0, 300)]]     # the left half
    img = np.zeros((300, 400, 3), np.uint8)
    for t, y in enumerate([80, 120]):                          # both cross the line
        r = eng.update(img, tracks_of((1, 100, y), (2, 300, y)), t)
    assert [e.track_id for e in r.events] == [2]               # only the one outside
    assert eng.heatmap.value[:, :190].max() == 0 and eng.heatmap.value[:, 210:].max() > 0
    assert len(eng.masks) == 1 and eng.masks[0].tolist()[1] == [200.0, 0.0]


def test_blur_pixelates_the_chosen_class_in_the_picture_only():
    from support.helpers import tracks_of

    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (200, 300, 3), np.uint8)
    plain, blurred = (Engine(zones=[LineZone("door", (0, 100), (300, 100), confirm_frames=1)],
                             draw_heat=False, draw_boxes=False) for _ in range(2))
    blurred.blur = ("person",)
    for t, y in enumerate([80, 120]):                 # a person (class 0) and a car (class 1)
        items = ((1, 100, y, 0), (2, 220, y, 1))
        a, b = plain.update(frame, tracks_of(*items), t), blurred.update(frame, tracks_of(*items), t)
    assert a.counts["door"].to_dict() == b.counts["door"].to_dict()   # counting untouched
    assert [e.track_id for e in b.events] == [1, 2]
    person, car = (slice(115, 125), slice(95, 105)), (slice(115, 125), slice(215, 225))
    assert (b.scene[person] != frame[person]).any()                   # the person: blocks
    assert (b.scene[car] == frame[car]).all()                         # the car: as it was
    assert (b.scene[:100] == frame[:100]).all() and (a.scene == frame).all()
    assert (b.plot[person] == b.scene[person]).all()                  # shown as blurred


@pytest.mark.parametrize("alerting, door, shop", [
    ((), (255, 255, 0), (255, 255, 0)),             # none alerting: both cyan
    ({"shop"}, (255, 255, 0), (40, 40, 255)),       # the area over its limit: red
    ({"door", "shop"}, (40, 40, 255), (40, 40, 255)),
])
def test_zones_with_an_alert_going_on_are_drawn_red(alerting, door, shop):
    eng = Engine(zones=[LineZone("door", (40, 10), (40, 170)),
                        PolygonZone("shop", [(150, 40), (300, 40), (300, 160), (150, 160)])])
    img = np.zeros((180, 320, 3), np.uint8)
    plot, _ = eng.draw(img, Tracks.empty(), 0.0, alerting)
    assert tuple(int(v) for v in plot[150, 40]) == door
    assert tuple(int(v) for v in plot[100, 300]) == shop
    assert not img.any()                             # the frame itself is left as it was
