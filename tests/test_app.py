"""Page logic with Streamlit's AppTest: the page drives the shared pipelines."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import worker

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")


@pytest.fixture
def registry(tmp_path, monkeypatch):
    """A fresh process registry with its store in a temporary data directory."""
    monkeypatch.setenv("HEATMAP_DASHBOARD_DATA", str(tmp_path))
    monkeypatch.setattr(worker, "_shared", None)
    yield lambda: worker.shared_registry()
    if worker._shared is not None:
        worker._shared.stop_all()


def run(at: AppTest) -> AppTest:
    at.run(timeout=60)
    assert not at.exception, at.exception
    return at


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return run(at)


def wait_for(at: AppTest, cond, timeout_s: float = 60.0) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond(run(at)):
            return True
        time.sleep(0.5)
    return False


def choose(at: AppTest, select: tuple[str, str, str], field: tuple[str, str]) -> AppTest:
    """Pick an option in a radio or selectbox, then type into the field it shows."""
    kind, key, option = select
    getattr(at, kind)(key=key).set_value(option)
    run(at)
    at.text_input(key=field[0]).set_value(field[1])
    return run(at)


def texts(at: AppTest) -> str:
    return " ".join(str(e.value) for e in [*at.error, *at.info, *at.warning, *at.caption])


def test_first_visit_starts_the_demo_with_demo_zones(registry):
    at = run(AppTest.from_file(APP, default_timeout=60))
    p = registry().get("demo")
    assert {z.name for z in p.zones()} == {"crossing", "shopfront"}
    assert p.running or p.snapshot().status in ("loading model", "connecting", "live")
    assert wait_for(at, lambda a: p.snapshot().frame_index > 5)
    assert 'src="/video/' in " ".join(m.value for m in at.markdown)
    assert any("crossing in" in m.label for m in at.metric)


def test_stop_start_keep_counts_and_reset_clears_them(registry):
    at = run(AppTest.from_file(APP, default_timeout=60))
    p = registry().get("demo")
    assert wait_for(at, lambda a: sum(c.in_count + c.out_count
                                      for c in p.snapshot().counts.values()) > 0, 90)
    click(at, "stop")
    assert not p.running
    before = {k: (c.in_count, c.out_count) for k, c in p.engine.counts.items()}
    click(at, "start")
    assert p.running
    after = {k: (c.in_count, c.out_count) for k, c in p.engine.counts.items()}
    assert all(after[k] >= before[k] for k in before)
    click(at, "reset")
    assert all(c.in_count == c.out_count == 0 for c in p.engine.counts.values())


def test_deleting_and_flipping_zones_keeps_the_others_and_is_saved(registry):
    at = run(AppTest.from_file(APP, default_timeout=60))
    p = registry().get("demo")
    p.engine.zones[0].counts.in_count = 7          # as if counted already
    click(at, "flip-crossing")
    click(at, "del-shopfront")
    assert [z.name for z in p.zones()] == ["crossing"]
    assert p.engine.counts["crossing"].in_count == 7
    saved = registry().store.load_zones("demo")
    assert [z["name"] for z in saved] == ["crossing"]
    assert saved[0]["points"] == [[320.0, 355.0], [320.0, 140.0]]   # flipped


def test_zones_are_restored_for_a_source_next_time(registry, tmp_path):
    clip = tmp_path / "clip.mp4"
    from dashboard.demo.scene import write_clip
    write_clip(clip, seconds=2, seed=3)
    registry().store.save_zones(str(clip), [{"name": "gate", "type": "line",
                                             "points": [[0, 100], [640, 100]]}])
    at = run(AppTest.from_file(APP, default_timeout=60))
    choose(at, ("radio", "source_kind", "Video file path"), ("source_path", str(clip)))
    assert [z.name for z in registry().get(str(clip)).zones()] == ["gate"]


def test_a_bad_source_shows_a_clear_error_and_the_page_keeps_working(registry):
    at = run(AppTest.from_file(APP, default_timeout=60))
    choose(at, ("radio", "source_kind", "Camera URL"),
           ("source_url", "rtsp://admin:hunter2@127.0.0.1:9/cam"))
    click(at, "start")
    assert wait_for(at, lambda a: "Cannot open" in texts(a))
    assert "hunter2" not in texts(at) and "***@127.0.0.1" in texts(at)
    at.radio(key="source_kind").set_value("Demo clip")
    run(at)                                              # still works after the failure


def test_a_bad_model_path_is_reported_in_the_sidebar(registry):
    at = run(AppTest.from_file(APP, default_timeout=60))
    choose(at, ("selectbox", "model_kind", "Local model path"), ("model_path", "/nowhere/model.pt"))
    assert any("Model file not found" in e.value for e in at.sidebar.error)
    assert at.button(key="start").disabled


def test_downloads_are_made_at_click_time_from_the_store(registry):
    from dashboard.app import counts_json, heat_file
    from dashboard.engine.zones import CrossingEvent

    at = run(AppTest.from_file(APP, default_timeout=60))
    p = registry().get("demo")
    assert wait_for(at, lambda a: p.snapshot().frame_index > 3)
    p.store.add_events("demo", [CrossingEvent(time.time(), "crossing", 99, "car", "in")])
    assert "crossing,99,car,in" in p.store.events_csv("demo")
    assert json.loads(counts_json(p))["source"] == "demo"
    assert heat_file(p, "png")[:4] == b"\x89PNG" and heat_file(p, "npz")[:2] == b"PK"
    labels = [b.label for b in at.get("download_button")]
    assert {"Events CSV", "Counts JSON", "Heatmap PNG", "Heatmap NPZ"} <= set(labels)


def test_other_running_sources_are_listed_and_can_be_stopped(registry, tmp_path):
    from dashboard.demo.scene import write_clip
    from dashboard.store import source_key

    clip = write_clip(tmp_path / "other.mp4", seconds=30, seed=4)
    at = run(AppTest.from_file(APP, default_timeout=60))
    demo = registry().get("demo")
    assert wait_for(at, lambda a: demo.running)
    choose(at, ("radio", "source_kind", "Video file path"), ("source_path", str(clip)))
    stop_demo = f"stop-{source_key('demo')}"
    assert any(b.key == stop_demo for b in at.sidebar.button)
    click(at, stop_demo)
    assert not demo.running
