"""The events store: counts that survive restarts and kills, archives, exports, retention."""
from __future__ import annotations

import datetime
import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from support.helpers import tracks_of, wait_until
from dashboard.cli import main as cli_main
from dashboard.engine import HeatmapAccumulator
from dashboard.engine.zones import CrossingEvent
from dashboard.service.core import Service
from dashboard.store.sqlite import SQLiteStore

T0 = 1_780_000_000.0   # a fixed unix time, on a minute boundary


def ev(t, zone="door", tid=1, cls="person", d="in"):
    return CrossingEvent(t, zone, tid, cls, d)


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_counts_per_zone_and_class_come_back_from_the_store(open_store):
    s = open_store()
    s.add_events("demo", [ev(T0), ev(T0 + 1, cls="car"), ev(T0 + 2, d="out"),
                          ev(T0 + 3, zone="shop")])
    s.close()
    c = open_store().counts("demo")
    assert (c["door"].in_count, c["door"].out_count) == (2, 1)
    assert c["door"].per_class["car"] == {"in": 1, "out": 0}
    assert c["shop"].in_count == 1 and open_store().counts("other") == {}


def test_reset_archives_rather_than_deletes(open_store):
    s = open_store()
    s.add_events("demo", [ev(T0), ev(T0 + 1)])
    assert s.archive("demo") == 2
    s.add_events("demo", [ev(T0 + 2, d="out")])
    assert (s.counts("demo")["door"].in_count, s.counts("demo")["door"].out_count) == (0, 1)
    assert len(s.events("demo")) == 1
    # The archived epoch is all there.
    assert s.sql("SELECT COUNT(*) FROM events WHERE epoch = 1") == [(2,)]
    assert s.sql("SELECT COUNT(*) FROM epochs WHERE epoch = 1 AND archived IS NOT NULL") == [(1,)]


def test_a_retried_batch_never_counts_twice(open_store):
    """A batch written again (its commit's answer lost: the writer cannot know it landed)
    adds nothing: not a crossing, not a visit, not an alert."""
    from dashboard.engine import Alert, AlertKind, Visit

    s = open_store()
    batch = [ev(T0), ev(T0 + 1, cls="car", d="out"), Visit("area", 4, "person", T0, T0 + 9.5),
             Alert("area:occupancy:1", "area", AlertKind.OCCUPANCY, T0, None, 3, 2)]
    assert s.add_events("demo", batch) == 2
    ended = Alert("area:occupancy:1", "area", AlertKind.OCCUPANCY, T0, T0 + 20, 5, 2)
    assert s.add_events("demo", [*batch, ev(T0 + 2), ended]) == 1   # only the new crossing
    c = s.counts("demo")["door"]
    assert (c.in_count, c.out_count) == (2, 1) and len(s.events("demo")) == 3
    assert sum(n for *_, i, o in s.series("demo") for n in (i, o)) == 3
    assert [v.seconds for v in s.visits("demo")] == [9.5]
    assert [(a.ended, a.peak) for a in s.alerts("demo")] == [(T0 + 20, 5)]
    assert s.dwell("demo") == {"area": (1, 9.5, 9.5)}


def test_a_batch_written_again_counts_once_a_trip_too_and_again_after_a_reset(open_store):
    """A video file counted again after a Reset writes the same video times again: in the
    new epoch they count (a retry within one epoch does not)."""
    from dashboard.engine import Trip, Visit

    s = open_store()
    batch = [ev(T0), Visit("area", 4, "person", T0, T0 + 9.5),
             Trip(4, "person", "door", "in", T0, "area", "in", T0 + 3)]
    assert s.add_events("demo", batch) == 1 and s.add_events("demo", batch) == 0
    assert len(s.trips("demo")) == 1
    s.archive("demo")
    assert s.add_events("demo", batch) == 1 and s.counts("demo")["door"].in_count == 1
    assert len(s.trips("demo")) == len(s.visits("demo")) == 1
    assert len(s.period_trips("demo", T0, T0 + 60)) == 2        # every epoch, for a report


def test_events_in_a_time_range_and_counts_per_minute_hour_or_day(open_store):
    s = open_store()
    s.add_events("demo", [ev(T0 + 5), ev(T0 + 65, cls="car"), ev(T0 + 70, d="out"),
                          ev(T0 + 3700)])
    evs = s.events("demo", T0 + 60, T0 + 3600)
    assert [(e.t, e.cls_name, e.direction) for e in evs] == [(T0 + 65, "car", "in"),
                                                              (T0 + 70, "person", "out")]
    assert [e.t for e in s.events("demo", limit=2, newest_first=True)] == [T0 + 3700, T0 + 70]
    minute = s.series("demo", "minute")
    m0 = T0 // 60 * 60                                       # the minute T0 falls in
    assert [(b - m0, z, c, i, o) for b, z, c, i, o in minute] == [
        (0, "door", "person", 1, 0), (60, "door", "car", 1, 0), (60, "door", "person", 0, 1),
        (3720, "door", "person", 1, 0)]
    hour = s.series("demo", "hour")
    assert all(b % 3600 == 0 for b, *_ in hour) and sum(i + o for *_, i, o in hour) == 4
    assert {c for _, _, c, _, _ in hour} == {"car", "person"}
    assert sum(i + o for *_, i, o in s.series("demo", "day")) == 4
    # Local hours and days: in India (UTC+5:30) an hour starts at :30 UTC, a day at 18:30.
    india = 19800
    assert all(b % 3600 == 1800 for b, *_ in s.series("demo", "hour", utc_offset_s=india))
    days = s.series("demo", "day", utc_offset_s=india)
    assert all((b + india) % 86400 == 0 for b, *_ in days) and \
        sum(i + o for *_, i, o in days) == 4
    with pytest.raises(Exception, match="per minute, hour, day"):
        s.series("demo", "week")


def test_heat_snapshots_keep_the_newest(open_store):
    s = open_store()
    for i in range(4):
        s.save_heat("demo", bytes([i]) * 10, T0 + i)
    assert s.load_heat("demo") == bytes([3]) * 10
    assert s.sql("SELECT COUNT(*) FROM heat") == [(2,)]


def test_credentials_are_sealed_and_counts_resume_after_a_restart(tmp_path, open_store):
    svc = Service(open_store(), tmp_path, demo=False, autostart=False)
    cam = svc.add_camera("Door", "rtsp://admin:hunter2@10.1.2.3/live", enabled=False)
    door = svc.add_zone(cam.id, "door", "line", [[0, 0.3], [1, 0.3]])
    shop = svc.add_zone(cam.id, "shop", "polygon", [[0, 0], [0.2, 0], [0.2, 0.3]])
    runner = svc.runner(cam.id)
    runner.keeper.add([ev(T0, zone=door.id), ev(T0 + 1, zone=door.id, cls="car", d="out"),
                        ev(T0 + 2, zone=shop.id)])
    runner.keeper.flush(force=True)
    runner.engine.heatmap.add(tracks_of((1, 50, 50)), 0.0, (360, 640))
    runner.save_heat()
    heat = runner.engine.heatmap.value
    dump = repr(svc.store.sql("SELECT * FROM cameras")) + repr(svc.store.sql("SELECT * FROM zones"))
    assert "hunter2" not in dump and "rtsp://***@10.1.2.3/live" in dump
    svc.store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("db.sqlite*"))
    assert b"hunter2" not in raw

    again = Service(open_store(), tmp_path, demo=False, autostart=False)  # a restart
    assert again.camera(cam.id).source == "rtsp://***@10.1.2.3/live"
    assert again.runner(cam.id).source == "rtsp://admin:hunter2@10.1.2.3/live"
    c = {f.name: f.counts for f in again.counts(cam.id)}
    assert (c["door"].in_count, c["door"].out_count, c["shop"].in_count) == (1, 1, 1)
    assert c["door"].per_class["car"]["out"] == 1 and c["shop"].occupancy == 0
    np.testing.assert_allclose(again.runner(cam.id).engine.heatmap.value, heat, rtol=1e-6)
    again.reset(cam.id)                                      # "start fresh" instead
    assert again.counts(cam.id)[0].counts.in_count == 0
    third = Service(open_store(), tmp_path, demo=False, autostart=False)
    assert third.counts(cam.id)[0].counts.in_count == 0


CHILD = r"""
import sys, time
from dashboard.engine.zones import CrossingEvent
from dashboard.store.sqlite import SQLiteStore
from dashboard.store.writer import EventWriter
w = EventWriter(SQLiteStore(sys.argv[1]), "cam")
start = time.time()
k = 0
while True:                      # 500 crossings a second, each stamped with its wall time
    due = start + k / 500
    time.sleep(max(0.0, due - time.time()))
    w.add([CrossingEvent(time.time(), "door", k, "person", "in")])
    k += 1
    if not w.pending:            # that add committed everything so far: say how much
        print(k, flush=True)
"""


@pytest.mark.parametrize("run_s", [2.3, 3.7])
def test_sigkill_loses_nothing_committed_and_the_db_stays_intact(tmp_path, run_s):
    db = tmp_path / "db.sqlite"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE,
                             text=True)
    committed = int(child.stdout.readline())          # it is writing
    time.sleep(run_s)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    reported = [int(x) for x in child.stdout.read().split()]
    committed = max([committed, *reported])
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [r[0] for r in con.execute("SELECT track_id FROM events ORDER BY track_id")]
    assert ids == list(range(len(ids)))                      # no gaps: a prefix survived
    assert len(ids) >= committed                             # all it said was committed


def test_retention_keeps_the_database_bounded_over_100k_events(tmp_path):
    """12 fast-forwarded days at ~10,000 crossings a day, keeping 2 days of raw events and
    4 days of per-minute counts."""
    db = tmp_path / "db.sqlite"
    s = SQLiteStore(db)
    rng = np.random.default_rng(0)
    sizes, total = [], 0
    for day in range(12):
        for quarter in range(4):
            t = T0 + day * 86400 + quarter * 21600 + np.sort(rng.uniform(0, 21600, 2600))
            s.add_events("cam", [ev(float(x), zone=f"z{i % 3}", tid=i, cls=("person", "car")[i % 2],
                                    d=("in", "out")[i % 2 == 0]) for i, x in enumerate(t)])
            total += len(t)
            s.prune(2 * 86400, 4 * 86400, now=float(t[-1]))
        sizes.append(db.stat().st_size + (tmp_path / "db.sqlite-wal").stat().st_size)
    assert total >= 100_000
    counts = s.counts("cam")
    assert sum(c.in_count + c.out_count for c in counts.values()) == total   # totals kept
    with sqlite3.connect(db) as con:
        oldest = con.execute("SELECT MIN(t) FROM events").fetchone()[0]
        kept = con.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert oldest >= T0 + 11 * 86400 + 21600 * 3 - 2 * 86400 - 1
    assert kept < 3 * 10_400
    assert max(sizes[6:]) <= 1.3 * max(sizes[:6]), sizes      # it stops growing


def test_cli_exports_what_the_dashboard_stored(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HEATMAP_DASHBOARD_DATA", str(tmp_path))
    svc = Service(SQLiteStore(tmp_path / "dashboard.db"), tmp_path, demo=False,
                  autostart=False)
    cam = svc.add_camera("Shop door", "demo", enabled=False)
    z = svc.add_zone(cam.id, "=cmd|' /C calc'!A0", "line", [[0, 0.5], [1, 0.5]])
    svc.store.add_events(cam.id, [ev(T0 + 10, zone=z.id), ev(T0 + 4000, zone=z.id, d="out")])
    h = HeatmapAccumulator()
    h.add(tracks_of((1, 50, 50)), 0.0, (120, 160))
    buf = io.BytesIO()
    h.save(buf)
    svc.store.save_heat(cam.id, buf.getvalue(), T0)
    svc.store.close()
    out = tmp_path / "out"
    out.mkdir()
    assert cli_main(["export", "shop door", "--events", str(out / "e.csv"), "--counts",
                     str(out / "c.csv"), "--interval", "hour", "--heatmap",
                     str(out / "h.png")]) == 0
    events = rows((out / "e.csv").read_text())
    assert len(events) == 2 and events[0]["zone"].startswith("'=")   # inert in a spreadsheet
    assert events[0]["zone_id"] == z.id
    # The same instant wherever it is read: the local time carries its offset from UTC.
    stamp = datetime.datetime.fromisoformat(events[0]["time"])
    assert stamp.utcoffset() is not None and stamp.timestamp() == pytest.approx(T0 + 10, abs=1e-3)
    assert len(rows((out / "c.csv").read_text())) == 2
    assert (out / "h.png").read_bytes()[:4] == b"\x89PNG"
    assert cli_main(["export", cam.id, "--events", str(out / "x.csv"), "--from",
                     "yesterday"]) == 2
    assert cli_main(["export", "nobody", "--events", str(out / "x.csv")]) == 2
    assert cli_main(["cameras"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["id"] == cam.id and listed[0]["zones"][0]["in"] == 1


def test_a_camera_saved_before_moving_only_heat_keeps_painting_every_track(tmp_path):
    from dashboard.config.camera import Camera, CameraSettings, Presentation
    from dashboard.config.kinds import CameraId

    store = SQLiteStore(tmp_path / "d.db")
    old = Camera(CameraId("cam_old"), "Old", "demo", CameraSettings(), Presentation(), True)
    store.add_camera(old, "sealed")
    settings = CameraSettings().to_dict()
    del settings["heat_moving_only"]                      # as the older version saved it
    store.sql("UPDATE cameras SET settings_json = ? WHERE id = ?", json.dumps(settings),
              "cam_old")
    store.add_camera(Camera(CameraId("cam_new"), "New", "demo", CameraSettings(),
                            Presentation(), True), "sealed")
    got = {c.id: c.settings.heat_moving_only for c, _ in store.cameras()}
    assert got == {"cam_old": False, "cam_new": True}


@pytest.mark.slow
def test_postgres_going_away_loses_nothing_and_counts_nothing_twice(postgres, tmp_path):
    from dashboard.store.postgres import UNREACHABLE, PostgresStore
    from dashboard.store.writer import EventWriter

    s = PostgresStore(postgres.new_database())
    w = EventWriter(s, "cam", flush_s=0, spool=tmp_path / "spool.jsonl")
    w.add([ev(T0)])
    assert w.pending == 0
    postgres.stop()
    try:
        w.add([ev(T0 + 1), ev(T0 + 2, d="out")])
        w.flush(force=True)
        assert w.pending == 2 and UNREACHABLE in w.status and s.check() == UNREACHABLE
        assert (tmp_path / "spool.jsonl").exists()              # on disk, not only in memory
    finally:
        postgres.start()
    assert wait_until(lambda: s.check() is None, 60)      # the pool reconnects by itself
    w.flush(force=True)
    c = s.counts("cam")["door"]
    assert w.pending == 0 and (c.in_count, c.out_count) == (2, 1) and len(s.events("cam")) == 3
    s.close()


def test_a_bad_database_url_says_so_without_its_password():
    from dashboard.errors import DashboardError
    from dashboard.store.postgres import PostgresStore

    with pytest.raises(DashboardError) as e:
        PostgresStore("postgresql://dash:s3cret-pw@127.0.0.1:9/counts", timeout_s=2)
    assert "s3cret-pw" not in str(e.value) and "cannot be reached" in str(e.value)
