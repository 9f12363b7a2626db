"""The background pipeline: runs, stops cleanly, survives bad input and a dying camera."""
from __future__ import annotations

import threading
import time

import pytest

from dashboard.demo.scene import write_clip
from dashboard.engine import LineZone, load_zones
from dashboard.demo import DEMO_DIR
from dashboard.worker import Pipeline, PipelineSettings, Registry
from rtsp_server import RtspServer


def wait_for(cond, timeout_s: float) -> bool:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def our_threads():
    return [t.name for t in threading.enumerate() if t.name.startswith(("pipeline ", "source "))]


def test_runs_counts_and_stops_without_leaving_threads():
    p = Pipeline("demo", zones=load_zones(DEMO_DIR / "demo_zones.json"))
    p.start(PipelineSettings("demo", imgsz=320))
    try:
        assert wait_for(lambda: p.snapshot().frame_index > 30, 60), p.snapshot().status
        snap = p.snapshot()
        assert snap.status == "live" and p.jpeg()[:2] == b"\xff\xd8"
        assert snap.processed_fps > 0 and snap.frame_age_s < 1.0
        p.add_zone(LineZone("late", (0, 300), (640, 300)))          # while running
        assert wait_for(lambda: "late" in p.snapshot().counts, 10)
    finally:
        p.stop()
    assert not p.running and not our_threads()
    assert p.snapshot().status == "stopped"


@pytest.mark.parametrize("settings, words", [
    (PipelineSettings("no/such/file.mp4"), "not found"),
    (PipelineSettings("demo", model="missing.pt"), "Model"),
    (PipelineSettings("rtsp://u:secret@127.0.0.1:9/x"), "Cannot open"),
])
def test_bad_input_ends_in_a_failed_status_with_the_reason(settings, words):
    p = Pipeline(settings.source)
    p.start(settings)
    assert wait_for(lambda: p.snapshot().status == "failed", 30)
    assert words in p.snapshot().error and "secret" not in p.snapshot().error
    p.stop()
    assert not our_threads()


def test_a_camera_that_dies_mid_stream_reconnects_and_keeps_counts(tmp_path):
    clip = write_clip(tmp_path / "cam.avi", seconds=40, seed=9)
    srv = RtspServer(clip).start()
    p = Pipeline(srv.url(), zones=load_zones(DEMO_DIR / "demo_zones.json"))
    try:
        p.start(PipelineSettings(srv.url(), imgsz=320))
        assert wait_for(lambda: p.snapshot().frame_index > 20, 60), p.snapshot().status
        p.engine.zones[0].counts.in_count += 5                      # counts held so far
        srv.stop()
        assert wait_for(lambda: p.snapshot().status.startswith("reconnecting"), 20)
        assert p.engine.counts["crossing"].in_count >= 5
        srv.start()
        last = p.snapshot().frame_index
        assert wait_for(lambda: p.snapshot().status == "live"
                        and p.snapshot().frame_index != last, 30)
        assert p.engine.counts["crossing"].in_count >= 5
    finally:
        p.stop()
        srv.stop()


def test_registry_shares_one_pipeline_per_source_and_restores_zones():
    from dashboard.store import SQLiteStore

    store = SQLiteStore(":memory:")
    store.save_zones("demo", [{"name": "gate", "type": "line", "points": [[0, 9], [9, 9]]},
                              {"name": "bad", "type": "polygon", "points": [[0, 0]]}])
    reg = Registry(store)
    p = reg.get("demo")
    assert reg.get(" demo ") is p and [z.name for z in p.zones()] == ["gate"]


def test_per_minute_without_a_store_is_derived_from_recent_events():
    from dashboard.engine.zones import CrossingEvent

    p = Pipeline("demo")
    now = time.time()
    p._events.extend([CrossingEvent(now - 5, "door", 1, "car", "in"),
                      CrossingEvent(now - 4, "door", 2, "car", "out"),
                      CrossingEvent(now - 7200, "door", 3, "car", "in")])   # too old
    minutes = p.per_minute(60)
    assert sum(n for m in minutes.values() for n in m.values()) == 2
    assert all(int(now // 60) - 1 <= k <= int(now // 60) for k in minutes)


def test_jpeg_is_encoded_once_a_frame_for_all_viewers_and_only_when_asked(monkeypatch):
    import dataclasses

    import cv2
    import numpy as np

    import dashboard.worker as worker

    encoded = []
    real = cv2.imencode
    monkeypatch.setattr(worker.cv2, "imencode", lambda *a: (encoded.append(1), real(*a))[1])
    p = Pipeline("demo")
    assert p.jpeg() is None and not encoded
    frames = [np.full((90, 160, 3), v, np.uint8) for v in (0, 255)]
    for k, img in enumerate(frames, 1):
        p._snap = dataclasses.replace(p.snapshot(), plot=img)   # what the loop publishes
        got = []
        viewers = [threading.Thread(target=lambda: got.append(p.jpeg())) for _ in range(4)]
        for v in viewers:
            v.start()
        for v in viewers:
            v.join()
        assert len(encoded) == k and len({id(j) for j in got}) == 1
        shown = cv2.imdecode(np.frombuffer(got[0], np.uint8), cv2.IMREAD_COLOR)
        assert np.abs(shown.astype(int) - img).max() < 8
