"""The counting rules, each checked with hand-made tracks."""
from __future__ import annotations

import pytest

from support.helpers import run_path, tracks_of
from dashboard.engine import LineZone, PolygonZone, zone_from_dict
from dashboard.errors import DashboardError


def line(k=1, **kw):
    return LineZone("door", (100, 100), (300, 100), confirm_frames=k, **kw)


def test_left_to_right_line_moving_down_is_in_and_up_is_out():
    assert run_path(line(), [(200, 80), (200, 120)]) == ["in"]
    assert run_path(line(), [(200, 120), (200, 80)]) == ["out"]


def test_side_follows_the_cross_product_sign_for_any_orientation():
    # b-a = (0, 200) pointing down: cross = 0*(py-ay) - 200*(px-ax); left side (px<ax) positive.
    z = LineZone("v", (100, 0), (100, 200), confirm_frames=1)
    assert run_path(z, [(120, 100), (80, 100)]) == ["in"]
    z = LineZone("diag", (0, 0), (200, 200), confirm_frames=1)
    assert run_path(z, [(150, 50), (50, 150)]) == ["in"]   # above-right of the diagonal to below-left


def test_first_sighting_counts_nothing():
    assert run_path(line(), [(200, 120)]) == []
    assert run_path(line(), [(200, 120), (200, 130)]) == []


def test_point_exactly_on_the_line_keeps_the_previous_side():
    assert run_path(line(), [(200, 80), (200, 100), (200, 120)]) == ["in"]
    assert run_path(line(), [(200, 80), (200, 100), (200, 80)]) == []
    # k=2: the on-line point after a first new-side sighting keeps the new side.
    assert run_path(line(2), [(200, 80), (200, 120), (200, 100)]) == ["in"]


def test_confirm_frames_ignores_jitter_and_counts_once_confirmed():
    jitter = [(200, 95), (200, 105), (200, 95), (200, 105), (200, 95)]
    assert run_path(line(2), jitter) == []
    assert run_path(line(1), jitter) == ["in", "out", "in", "out"]
    z = line(3)
    counted = []
    for i, p in enumerate([(200, 80), (200, 120), (200, 130)]):
        counted += [e.direction for e in z.trigger(tracks_of((1, *p)), i)]
    assert counted == []
    assert [e.direction for e in z.trigger(tracks_of((1, 200, 140)), 3)] == ["in"]


def test_path_beside_a_short_line_counts_nothing_but_later_crossings_do():
    z = line()
    assert run_path(z, [(350, 80), (350, 120)]) == []        # past the b end
    assert run_path(z, [(350, 120), (200, 120), (200, 80)]) == ["out"]


def test_crossing_path_uses_last_old_side_and_first_new_side_anchor():
    # With k=2 the first new-side point decides whether the segment was crossed.
    z = line(2)
    assert run_path(z, [(200, 80), (200, 120), (400, 130)]) == ["in"]
    z = line(2)
    assert run_path(z, [(400, 80), (400, 120), (200, 130)]) == []


def test_every_crossing_counts_in_its_direction():
    z = line()
    assert run_path(z, [(200, 80), (200, 120), (200, 80), (200, 120)]) == ["in", "out", "in"]
    assert (z.counts.in_count, z.counts.out_count) == (2, 1)
    assert z.counts.occupancy is None


def test_per_class_uses_the_class_at_the_crossing():
    z = line()
    z.trigger(tracks_of((1, 200, 80, 1)), 0)
    ev = z.trigger(tracks_of((1, 200, 120, 0)), 1)
    assert ev[0].cls_name == "person"
    assert z.counts.per_class["person"] == {"in": 1, "out": 0}
    assert z.counts.per_class["car"] == {"in": 0, "out": 0}


def test_events_carry_time_zone_track_class_and_direction():
    z = line()
    z.trigger(tracks_of((7, 200, 80, 1)), 1.0)
    (e,) = z.trigger(tracks_of((7, 200, 120, 1)), 1.5)
    assert (e.t, e.zone, e.track_id, e.cls_name, e.direction) == (1.5, "door", 7, "car", "in")


def test_tracks_are_independent():
    z = line()
    z.trigger(tracks_of((1, 150, 80), (2, 250, 120)), 0)
    ev = z.trigger(tracks_of((1, 150, 120), (2, 250, 80)), 1)
    assert sorted((e.track_id, e.direction) for e in ev) == [(1, "in"), (2, "out")]


def test_anchor_bottom_center_uses_the_feet():
    z = LineZone("door", (0, 100), (300, 100), anchor="bottom_center", confirm_frames=1)
    # Box centre stays above the line (y=90) but its bottom (y=95 -> 105) crosses it.
    assert run_path(z, [(150, 88), (150, 98)]) == ["in"]
    zc = LineZone("door", (0, 100), (300, 100), anchor="center", confirm_frames=1)
    assert run_path(zc, [(150, 88), (150, 98)]) == []


def test_flip_swaps_direction_and_keeps_counts():
    z = line()
    run_path(z, [(200, 80), (200, 120)], tid=1)
    z.flip()
    assert run_path(z, [(200, 120), (200, 80)], tid=1, t0=1) == ["in"]
    assert (z.counts.in_count, z.counts.out_count) == (2, 0)


SQUARE = [(100, 100), (200, 100), (200, 200), (100, 200)]


@pytest.mark.parametrize("pts", [SQUARE, SQUARE[::-1]], ids=["cw", "ccw"])
def test_polygon_direction_comes_from_motion_not_vertex_order(pts):
    z = PolygonZone("shop", pts, confirm_frames=1)
    assert run_path(z, [(50, 150), (150, 150), (250, 150)]) == ["in", "out"]


def test_polygon_occupancy_counts_present_tracks_confirmed_inside():
    z = PolygonZone("shop", SQUARE, confirm_frames=2)
    z.trigger(tracks_of((1, 150, 150), (2, 50, 50)), 0)      # 1 first seen inside
    assert z.counts.occupancy == 1 and z.counts.in_count == 0
    z.trigger(tracks_of((1, 150, 150), (2, 150, 160)), 1)    # 2 inside, not yet confirmed
    assert z.counts.occupancy == 1
    z.trigger(tracks_of((1, 150, 150), (2, 150, 170)), 2)
    assert (z.counts.occupancy, z.counts.in_count) == (2, 1)
    z.trigger(tracks_of((2, 150, 170)), 3)                   # 1 not present in this update
    assert z.counts.occupancy == 1


def test_polygon_jitter_on_the_edge_counts_nothing():
    z = PolygonZone("shop", SQUARE, confirm_frames=2)
    assert run_path(z, [(95, 150), (105, 150), (95, 150), (105, 150), (95, 150)]) == []


def test_fast_step_through_a_thin_polygon_counts_in_and_out():
    thin = [(100, 0), (110, 0), (110, 300), (100, 300)]
    z = PolygonZone("strip", thin, confirm_frames=2)
    assert run_path(z, [(50, 150), (160, 150)]) == ["in", "out"]
    assert run_path(z, [(50, 400), (160, 400)], tid=2) == []   # beside it


@pytest.mark.parametrize("bad", [
    lambda: PolygonZone("p", [(0, 0), (10, 0)]),
    lambda: PolygonZone("p", [(0, 0), (10, 0), (20, 0)]),
    lambda: PolygonZone("p", [(0, 0), (10, 10), (10, 0), (0, 10)]),
    lambda: LineZone("l", (5, 5), (5, 5)),
    lambda: LineZone("", (0, 0), (5, 5)),
    lambda: LineZone("l", (0, 0), (5, 5), anchor="top"),
    lambda: LineZone("l", (0, 0), (5, 5), confirm_frames=0),
    lambda: zone_from_dict({"name": "x", "type": "line", "points": [[0, 0]]}),
    lambda: zone_from_dict({"name": "x", "type": "circle", "points": [[0, 0]]}),
    lambda: zone_from_dict({"name": "x", "type": "line", "points": [["a", 0], [1, 1]]}),
])
def test_bad_zones_raise_a_clear_project_error(bad):
    with pytest.raises(DashboardError):
        bad()


def test_zone_dict_round_trip():
    z = PolygonZone("shop", SQUARE, anchor="bottom_center", confirm_frames=3)
    z2 = zone_from_dict(z.to_dict())
    assert z2.to_dict() == z.to_dict() and isinstance(z2, PolygonZone)


def feed(zone, frames, dt=0.1):
    """Frames of tracks (each a list of (id, x, y)); every crossing as (t, id, direction)."""
    out = []
    for i, items in enumerate(frames):
        out += [(round(e.t, 3), e.track_id, e.direction)
                for e in zone.trigger(tracks_of(*items), i * dt)]
    return out


def test_a_track_lost_while_pending_after_crossing_counts_when_it_is_lost():
    # Seen once past the line, then gone (left the picture): counted 1 s later, at the time
    # it was last seen; with confirm_frames=2 it was never counted before this rule.
    frames = [[(1, 200, 80)], [(1, 200, 120)]] + [[]] * 12
    assert feed(line(2), frames) == [(0.1, 1, "in")]
    assert feed(line(2), frames[:10]) == []                        # 0.8 s: not lost yet


def test_a_lost_track_counts_nothing_if_its_path_missed_the_line_or_it_came_back():
    assert feed(line(2), [[(1, 350, 80)], [(1, 350, 120)]] + [[]] * 12) == []  # beside it
    back = [[(1, 200, 80)], [(1, 200, 120)], [(1, 200, 80)]] + [[]] * 12       # jitter
    assert feed(line(2), back) == []


def test_a_lost_track_counted_once_even_if_it_comes_back_on_the_new_side():
    frames = [[(1, 200, 80)], [(1, 200, 120)]] + [[]] * 12 + [[(1, 200, 130)]] * 3
    assert feed(line(2), frames) == [(0.1, 1, "in")]


def test_a_polygon_entered_at_the_edge_by_a_track_then_lost_counts_in():
    z = PolygonZone("area", [(100, 100), (300, 100), (300, 300), (100, 300)], confirm_frames=3)
    frames = [[(1, 50, 200)], [(1, 120, 200)]] + [[]] * 12
    assert feed(z, frames) == [(0.1, 1, "in")] and z.counts.occupancy == 0
