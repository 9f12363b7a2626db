"""Heat: decay by time, rendering that leaves unheated pixels alone, export and reload."""
from __future__ import annotations


import cv2
import numpy as np
import pytest

from support.helpers import tracks_of
from dashboard.engine import HeatmapAccumulator, HeatmapConfig, Tracks
from dashboard.errors import DashboardError

SHAPE = (240, 320)


def splat_once(cfg=None):
    h = HeatmapAccumulator(cfg or HeatmapConfig(half_life_s=2.0))
    h.add(tracks_of((1, 160, 120)), 0.0, SHAPE)
    return h


@pytest.mark.parametrize("half_life", [0.5, 2.0, 10.0])
def test_half_life_halves_heat_within_two_percent(half_life):
    h = splat_once(HeatmapConfig(half_life_s=half_life))
    peak = h.value.max()
    for k in range(1, 41):  # many small steps with no tracks
        h.add(Tracks.empty(), k * half_life / 20, SHAPE)
    assert h.value.max() / peak == pytest.approx(0.25, rel=0.02)


def test_decay_depends_on_time_not_frame_rate():
    slow, fast = splat_once(), splat_once()
    for k in range(1, 11):
        slow.add(Tracks.empty(), k * 0.3, SHAPE)       # 10 updates over 3 s
    for k in range(1, 91):
        fast.add(Tracks.empty(), k * 3 / 90, SHAPE)    # 90 updates over 3 s
    np.testing.assert_allclose(slow.value, fast.value, rtol=1e-4, atol=1e-9)


def test_cumulative_heat_never_decays():
    h = splat_once(HeatmapConfig(half_life_s=None))
    peak = h.value.max()
    h.add(Tracks.empty(), 1000.0, SHAPE)
    assert h.value.max() == pytest.approx(peak)


def test_heat_is_at_the_anchor_and_zero_far_away():
    h = splat_once()
    v = h.value
    assert v.shape == SHAPE and v.dtype == np.float32
    assert np.unravel_index(v.argmax(), v.shape) == pytest.approx((120, 160), abs=2)
    assert v[0:60, :].max() == 0 and v[:, 250:].max() == 0


def test_bottom_center_anchor_puts_heat_at_the_feet():
    h = HeatmapAccumulator(HeatmapConfig(anchor="bottom_center"))
    h.add(Tracks([[140, 60, 180, 180]], [1], [0], [1.0]), 0, SHAPE)
    y, x = np.unravel_index(h.value.argmax(), SHAPE)
    assert abs(y - 180) <= 2 and abs(x - 160) <= 2


def test_long_run_with_decay_keeps_finite_values():
    h = HeatmapAccumulator(HeatmapConfig(half_life_s=0.1))
    for k in range(400):  # the running scale factor goes far below float32's range
        h.add(tracks_of((1, 100 + (k % 50), 120)), k * 0.1, SHAPE)
    assert np.isfinite(h.value).all() and h.value.max() > 0


def test_render_keeps_unheated_pixels_exactly_and_colours_heated_ones(frame):
    h = splat_once()
    out = h.render(frame)
    unheated = h.value == 0
    assert unheated.any() and (~unheated).any()
    assert np.array_equal(out[unheated], frame[unheated])
    assert np.abs(out[118:123, 158:163].astype(int) - frame[118:123, 158:163]).mean() > 20
    assert out is not frame and out.shape == frame.shape and out.dtype == np.uint8


def test_heat_stays_on_frames_without_tracks(frame):
    h = splat_once(HeatmapConfig(half_life_s=None))
    before = h.render(frame)
    h.add(Tracks.empty(), 0.5, SHAPE)
    assert np.array_equal(h.render(frame), before)


def test_one_hot_spot_does_not_wash_out_the_rest(frame):
    """Someone standing still for 500 frames beside a path walked once."""
    h = HeatmapAccumulator()
    for i in range(500):
        h.add(tracks_of((1, 60, 60)), i / 30, SHAPE)
    for i in range(100):
        h.add(tracks_of((2, 20 + i * 2.8, 180)), (500 + i) / 30, SHAPE)
    raw = h.value
    assert raw[180, 160] / raw.max() < 0.05          # linear scaling would hide the path
    out = h.render(np.zeros_like(frame))
    assert out[180, 160].max() > 60                  # but it is plainly coloured


def test_render_reflects_new_heat_after_refresh_interval(frame):
    h = HeatmapAccumulator()
    h.add(tracks_of((1, 50, 50)), 0.0, SHAPE)
    h.render(frame, t=0.0)
    h.add(tracks_of((2, 250, 200)), 1.0, SHAPE)
    out = h.render(frame, t=1.0)
    assert not np.array_equal(out[198:203, 248:253], frame[198:203, 248:253])


def test_per_class_layers():
    h = HeatmapAccumulator(HeatmapConfig(per_class=True))
    h.add(tracks_of((1, 50, 50, 0), (2, 250, 200, 1)), 0, SHAPE)
    assert h.classes == ["car", "person"]
    assert h.class_value("person")[50, 50] > 0 and h.class_value("person")[200, 250] == 0
    np.testing.assert_allclose(h.value, h.class_value("person") + h.class_value("car"), atol=1e-6)
    with pytest.raises(DashboardError):
        HeatmapAccumulator().class_value("car")


def test_save_load_round_trip(tmp_path):
    h = splat_once(HeatmapConfig(half_life_s=3.0, colormap=cv2.COLORMAP_INFERNO, opacity=0.7))
    h.add(tracks_of((2, 40, 40)), 1.0, SHAPE)
    path = h.save(tmp_path / "heat.npz")
    fresh = HeatmapAccumulator.load(path)
    np.testing.assert_allclose(fresh.value, h.value, rtol=1e-6)
    assert fresh.config == h.config
    other = HeatmapAccumulator()
    assert other.load(path) is other and np.allclose(other.value, h.value)
    # Decay carries on from the saved time.
    fresh.add(Tracks.empty(), 4.0, SHAPE)
    assert fresh.value.max() == pytest.approx(h.value.max() / 2, rel=0.02)


def test_load_rejects_a_foreign_file(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DashboardError):
        HeatmapAccumulator.load(bad)


def test_to_png_writes_heat_image(tmp_path):
    h = splat_once()
    img = cv2.imread(str(h.to_png(tmp_path / "heat.png")))
    assert img.shape[:2] == SHAPE
    assert img[120, 160].any() and not img[10, 10].any()


def test_frame_size_change_keeps_the_heat_where_it_was_seen():
    h = splat_once()                                   # a splat at the middle of 320x240
    before = h.value
    h.add(Tracks.empty(), 0.0, (480, 640))             # the camera comes back at 640x480
    after = h.value
    assert after.shape == (480, 640)
    y, x = np.unravel_index(after.argmax(), after.shape)
    assert abs(y - 240) <= 4 and abs(x - 320) <= 4     # still the middle of the picture
    assert after.max() == pytest.approx(before.max(), rel=0.1)


@pytest.mark.parametrize("kw", [dict(half_life_s=0), dict(half_life_s=-1), dict(opacity=1.5),
                                dict(anchor="top")])
def test_bad_settings_are_rejected(kw):
    with pytest.raises(ValueError):
        HeatmapConfig(**kw)


def test_blend_in_row_bands_equals_one_pass_and_the_formula():
    from dashboard.engine.heatmap import _blend_rows, blend

    rng = np.random.default_rng(3)
    src, inv, pre = (rng.integers(0, 256, (1080, 960, 3), dtype=np.uint8) for _ in range(3))
    pre //= 2
    banded, whole = np.empty_like(src), np.empty_like(src)
    blend(src, inv, pre, banded)
    _blend_rows(src, inv, pre, whole)
    assert np.array_equal(banded, whole)
    expect = np.clip(np.round(src * (inv / 255.0)) + pre, 0, 255)
    assert np.abs(banded.astype(int) - expect).max() <= 1


def test_rebuilding_the_picture_leaves_earlier_plots_alone():
    """The heat picture's buffers are reused between rebuilds; plots already handed out
    must not change with them."""
    frame = np.full((720, 1280, 3), 90, np.uint8)
    h = HeatmapAccumulator()
    for i in range(30):  # heat along a wide path, so the region stays the same size
        h.add(tracks_of((1, 100 + i * 36, 360), (2, 640, 100 + i * 20)), i / 30, (720, 1280))
    first = h.render(frame, t=1.0)
    kept = first.copy()
    for i in range(30):
        h.add(tracks_of((3, 900, 600)), 1 + i / 30, (720, 1280))
    second = h.render(frame, t=2.0)
    assert np.array_equal(first, kept)
    assert not np.array_equal(second[595:605, 895:905], kept[595:605, 895:905])


def test_moving_only_leaves_out_what_never_moves():
    only, every = (HeatmapAccumulator(HeatmapConfig(moving_only=m)) for m in (True, False))
    for k in range(30):   # a cloth on the lawn, detected for the whole clip, and a walker
        for h in (only, every):
            h.add(tracks_of((1, 60, 60), (2, 100 + 5 * k, 180)), k * 0.1, SHAPE)
    assert only.value[55:65, 55:65].max() == 0                # the cloth: no heat at all
    assert every.value[55:65, 55:65].max() > 0                # (it would be the hottest spot)
    assert only.value[175:185, 150:240].max() > 0             # the walker is there


def test_heat_of_a_close_up_box_is_bounded_and_sits_at_the_feet():
    from dashboard.engine import Tracks

    h = HeatmapAccumulator(HeatmapConfig(anchor="bottom_center"))
    close = Tracks([[100, 20, 300, 430]], [1], [0], [.9], {0: "person"})   # most of the frame
    h.add(close, 0.0, (432, 768))
    heat = h.value
    assert (heat > 0).mean() < 0.05                            # a blob, not the whole frame
    y, x = np.unravel_index(heat.argmax(), heat.shape)
    assert abs(y - 430) <= 8 and abs(x - 200) <= 8             # on the floor, at the feet
