"""Faults that must lose nothing, with the real store on a real filesystem: a full disk (a
small tmpfs), the database deleted, replaced or made read-only under a running store, and
files that end before their stated length. The same faults against a real server process
are in test_faults_server.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import pytest

from dashboard.cli import process
from dashboard.demo.scene import write_clip
from dashboard.engine.zones import CrossingEvent
from dashboard.config.kinds import CameraId, CameraState
from dashboard.vision.sources import open_source
from dashboard.errors import StoreUnavailable
from dashboard.store.sqlite import SQLiteStore
from dashboard.store.writer import EventWriter
from support.faults import Tmpfs, faststart, fill, permissions_apply
from support.helpers import wait_until

CAM = CameraId("cam_f")
ROOT = Path(__file__).resolve().parents[1]


def crossings(n: int, start: int = 0) -> list[CrossingEvent]:
    return [CrossingEvent(1000.0 + i, "zone_a", i, "person", "in" if i % 3 else "out")
            for i in range(start, start + n)]


def stored(path: Path) -> tuple[int, int]:
    """(events, sum of totals) as a separate connection reads the file: what a restart sees."""
    import sqlite3

    db = sqlite3.connect(path)
    try:
        return (db.execute("SELECT COUNT(*) FROM events").fetchone()[0],
                db.execute("SELECT COALESCE(SUM(n), 0) FROM totals").fetchone()[0])
    finally:
        db.close()


def test_a_full_disk_keeps_every_crossing_until_it_clears(tmp_path, caplog):
    with Tmpfs(tmp_path / "disk", "1m") as disk:
        store = SQLiteStore(disk / "dashboard.db")
        w = EventWriter(store, CAM, flush_s=0, spool=tmp_path / "spool" / "cam.jsonl",
                        memory_limit=50)
        w.add(crossings(10))
        assert w.pending == 0
        filler = fill(disk)
        with caplog.at_level("WARNING"):
            for k in range(20):                       # 400 crossings while the disk is full
                w.add(crossings(20, 10 + 20 * k))
                w.flush(force=True)
        assert w.pending == 400 and store.fault == "disk full"
        assert w.status == "database: disk full, 400 crossings waiting"
        assert (tmp_path / "spool" / "cam.jsonl").exists()       # past memory_limit: spooled
        assert caplog.text.count("cannot write: disk full") == 1  # said once, not per try
        filler.unlink()                                           # space comes back
        assert w.flush(force=True) == 400
        assert w.pending == 0 and w.status is None and store.fault is None
        assert not (tmp_path / "spool" / "cam.jsonl").exists()
        assert stored(disk / "dashboard.db") == (410, 410)
        assert store.counts(CAM)["zone_a"].in_count == sum(1 for e in crossings(410)
                                                           if e.direction == "in")
        store.close()


def test_crossings_spooled_by_a_process_that_died_are_written_by_the_next(tmp_path):
    spool = tmp_path / "spool" / "cam.jsonl"
    with Tmpfs(tmp_path / "disk", "1m") as disk:
        store = SQLiteStore(disk / "dashboard.db")
        w = EventWriter(store, CAM, flush_s=0, spool=spool, memory_limit=10)
        filler = fill(disk)
        w.add(crossings(30))
        w.flush((f"progress:{CAM}", "77"), force=True)   # a file camera's position waits too
        assert w.pending == 30 and spool.exists()
        w.close()                   # a stop during the fault spools the rest; then it "dies"
        store.close()
        filler.unlink()
        store = SQLiteStore(disk / "dashboard.db")
        w2 = EventWriter(store, CAM, spool=spool)        # the next start writes them at once
        assert w2.pending == 0 and not spool.exists()
        assert stored(disk / "dashboard.db") == (30, 30)
        assert store.meta(f"progress:{CAM}") == "77"
        store.close()


@pytest.mark.parametrize("deleted", [("",), ("", "-wal", "-shm"), ("-wal",)])
def test_a_deleted_database_is_rewritten_with_everything_it_held(tmp_path, deleted, caplog):
    db = tmp_path / "dashboard.db"
    store = SQLiteStore(db)
    store.set_meta("demo_created", "1")
    store.add_events(CAM, crossings(25))
    for suffix in deleted:
        os.unlink(f"{db}{suffix}")
    store.add_events(CAM, crossings(5, 25))        # written into what was deleted
    with caplog.at_level("ERROR"):
        assert store.check() is None
    assert "deleted" in caplog.text
    store.add_events(CAM, crossings(3, 30))        # and on, into the new file
    assert stored(db) == (33, 33)
    assert store.meta("demo_created") == "1" and store.integrity() == "ok"
    store.close()
    again = SQLiteStore(db).counts(CAM)["zone_a"]                # a restart sees it all
    assert again.in_count + again.out_count == 33


def test_a_replaced_database_is_kept_aside_and_ours_put_back(tmp_path):
    db = tmp_path / "dashboard.db"
    store = SQLiteStore(db)
    store.add_events(CAM, crossings(12))
    os.unlink(db)
    db.write_bytes(b"someone else's file")
    store.check()
    assert stored(db) == (12, 12)
    aside = list(tmp_path.glob("dashboard.db.replaced-*"))
    assert [p.read_bytes() for p in aside if not p.name.endswith(("-wal", "-shm"))] == \
        [b"someone else's file"]
    store.close()


READ_ONLY_SCRIPT = textwrap.dedent('''
    import json, os, sys
    sys.path.insert(0, sys.argv[2])
    from dashboard.errors import StoreUnavailable
    from dashboard.store.sqlite import SQLiteStore
    from dashboard.engine.zones import CrossingEvent
    db, out = sys.argv[1], {}
    ev = lambda i: [CrossingEvent(1000.0 + i, "zone_a", i, "car", "in")]
    s = SQLiteStore(db)
    s.add_events("cam_f", ev(0))
    os.chmod(db, 0o444)                                   # made read-only while running
    out["running"] = s.check()
    s.add_events("cam_f", ev(1))                          # the open file still takes writes
    s.close()
    s = SQLiteStore(db)                                   # a restart on the read-only file
    out["restart"] = s.check()
    out["restart_reads"] = s.counts("cam_f")["zone_a"].in_count
    try:
        s.add_events("cam_f", ev(2))
        out["restart_write"] = "written"
    except StoreUnavailable as e:
        out["restart_write"] = str(e)
    os.chmod(db, 0o644)                                   # fixed
    out["fixed"] = s.check()
    s.add_events("cam_f", ev(2))
    out["after"] = s.counts("cam_f")["zone_a"].in_count
    print(json.dumps(out))
''')


def test_a_read_only_database_is_said_and_a_restart_on_it_still_runs(tmp_path):
    done = subprocess.run([*permissions_apply(), sys.executable, "-c", READ_ONLY_SCRIPT,
                           str(tmp_path / "d.db"), str(ROOT)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert "read-only" in out["running"]
    assert "read-only" in out["restart"] and out["restart_reads"] == 2
    assert "cannot be written (read-only)" in out["restart_write"]
    assert out["fixed"] is None and out["after"] == 3


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """A whole clip in the forms users have, and each cut in half."""
    d = tmp_path_factory.mktemp("clips")
    avi = write_clip(d / "whole.avi", seconds=6, seed=4)
    mp4 = faststart(write_clip(d / "plain.mp4", seconds=6, seed=4), d / "whole.mp4")
    out = {"avi": avi, "mp4": mp4}
    for kind, path in list(out.items()):
        data = path.read_bytes()
        half = d / f"half.{kind}"
        half.write_bytes(data[:len(data) // 2])
        out[f"half {kind}"] = half
    return out


@pytest.mark.parametrize("kind", ["avi", "mp4"])
def test_a_file_cut_short_is_reported_as_truncated(clips, kind):
    for name, truncated in ((kind, False), (f"half {kind}", True)):
        with open_source(str(clips[name]), live=False) as src:
            n = 0
            while src.read() is not None:
                n += 1
            assert (src.truncated is not None) == truncated, (name, n, src.frame_count)
            assert (src.status.last_error is not None) == truncated
        if truncated:
            assert f"ends after {n} of the 90 frames" in src.truncated


@pytest.mark.slow
def test_truncation_shows_in_the_camera_status_and_the_cli_summary(clips, tmp_path):
    from test_runner import runner

    p = runner(str(clips["half avi"]), pacing="fast")
    p.start()
    assert wait_until(lambda: p.snapshot().state is CameraState.ENDED, 120), p.snapshot()
    assert "ended early" in p.snapshot().detail and "truncated" in p.snapshot().detail
    p.stop()
    summary = process(str(clips["half avi"]), tmp_path / "out", imgsz=320, write_video=False,
                      progress=False)
    assert "truncated" in summary["truncated"]
    whole = process(str(clips["avi"]), tmp_path / "out2", imgsz=320, write_video=False,
                    progress=False)
    assert whole["truncated"] is None and whole["frames"] == 90 > summary["frames"]
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["truncated"]


def test_store_unavailable_changes_nothing(tmp_path):
    """A write refused mid-transaction leaves no half: not an epoch, not a total."""
    with Tmpfs(tmp_path / "disk", "1m") as disk:
        store = SQLiteStore(disk / "dashboard.db")
        store.add_events(CAM, crossings(3))
        filler = fill(disk)
        with pytest.raises(StoreUnavailable):
            store.archive(CAM)
        with pytest.raises(StoreUnavailable):
            store.add_events(CAM, crossings(4000, 3))
        filler.unlink()
        c = store.counts(CAM)["zone_a"]
        assert c.in_count + c.out_count == 3
        store.add_events(CAM, crossings(1, 10))
        store.close()
        assert stored(disk / "dashboard.db") == (4, 4)
        assert cv2 is not None


@pytest.mark.slow
def test_a_camera_back_at_another_resolution_keeps_heat_and_zones_and_says_so(tmp_path):
    from dashboard.config.zone import ZoneSpec
    from support.rtsp_server import RtspServer
    from test_runner import runner

    small = write_clip(tmp_path / "small.avi", seconds=40, seed=5, width=320, height=176)
    big = write_clip(tmp_path / "big.avi", seconds=40, seed=5)
    srv = RtspServer(small).start()
    line = ZoneSpec.create("mid", "line", [[0.5, 0.1], [0.5, 0.9]])
    p = runner(srv.url(), [line])
    try:
        p.start()
        assert wait_until(lambda: p.snapshot().frame_size == (320, 176)
                          and p.engine.heatmap.value.max() > 0, 120), p.snapshot()
        p.engine.zones[0].counts.in_count += 5            # counted before the change
        srv.stop()
        srv.clip = big
        srv.start()
        assert wait_until(lambda: p.snapshot().frame_size == (640, 360), 120), p.snapshot()
        notice = p.snapshot().notice
        assert "changed from 320x176 to 640x360" in notice and "heat follow" in notice
        with p.step.lock:
            heat = p.engine.heatmap.value
            zone = p.engine.zones[0]
        assert heat.shape == (360, 640) and heat.max() > 0   # resampled, not reset
        assert zone.points.tolist() == [[320.0, 36.0], [320.0, 324.0]]
        assert zone.counts.in_count >= 5
    finally:
        p.stop()
        srv.stop()
