"""The events store: counts that survive restarts and kills, archives, exports, retention."""
from __future__ import annotations

import csv
import io
import os
import signal
import sqlite3
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import tracks_of
from dashboard.cli import main as cli_main
from dashboard.engine import HeatmapAccumulator, LineZone, PolygonZone
from dashboard.engine.zones import CrossingEvent
from dashboard.store import EventWriter, SQLiteStore, source_key
from dashboard.worker import Registry

T0 = 1_780_000_000.0   # a fixed unix time, on a minute boundary


def ev(t, zone="door", tid=1, cls="person", d="in"):
    return CrossingEvent(t, zone, tid, cls, d)


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_counts_per_zone_and_class_come_back_from_the_store(tmp_path):
    s = SQLiteStore(tmp_path / "db.sqlite")
    s.add_events("demo", [ev(T0), ev(T0 + 1, cls="car"), ev(T0 + 2, d="out"),
                          ev(T0 + 3, zone="shop")])
    s.close()
    c = SQLiteStore(tmp_path / "db.sqlite").counts("demo")
    assert (c["door"].in_count, c["door"].out_count) == (2, 1)
    assert c["door"].per_class["car"] == {"in": 1, "out": 0}
    assert c["shop"].in_count == 1 and SQLiteStore(tmp_path / "db.sqlite").counts("other") == {}


def test_reset_archives_rather_than_deletes(tmp_path):
    s = SQLiteStore(tmp_path / "db.sqlite")
    s.add_events("demo", [ev(T0), ev(T0 + 1)])
    assert s.archive("demo") == 2
    s.add_events("demo", [ev(T0 + 2, d="out")])
    assert (s.counts("demo")["door"].in_count, s.counts("demo")["door"].out_count) == (0, 1)
    assert len(rows(s.events_csv("demo"))) == 1
    with sqlite3.connect(tmp_path / "db.sqlite") as db:   # the archived epoch is all there
        assert db.execute("SELECT COUNT(*) FROM events WHERE epoch = 1").fetchone()[0] == 2
        assert db.execute("SELECT archived IS NOT NULL FROM epochs WHERE epoch = 1"
                          ).fetchone()[0] == 1


def test_exports_events_in_a_time_range_and_counts_per_minute_or_hour(tmp_path):
    s = SQLiteStore(tmp_path / "db.sqlite")
    s.add_events("demo", [ev(T0 + 5), ev(T0 + 65, cls="car"), ev(T0 + 70, d="out"),
                          ev(T0 + 3700)])
    evs = rows(s.events_csv("demo", T0 + 60, T0 + 3600))
    assert [(r["t"], r["class"], r["direction"]) for r in evs] == \
        [(f"{T0 + 65:.3f}", "car", "in"), (f"{T0 + 70:.3f}", "person", "out")]
    minute = rows(s.counts_csv("demo", "minute"))
    assert [(r["zone"], r["class"], r["in"], r["out"]) for r in minute] == [
        ("door", "person", "1", "0"), ("door", "car", "1", "0"), ("door", "person", "0", "1"),
        ("door", "person", "1", "0")]
    hour = rows(s.counts_csv("demo", "hour"))
    first_hour = {(r["class"]): (int(r["in"]), int(r["out"])) for r in hour[:2]}
    assert first_hour == {"car": (1, 0), "person": (1, 1)} and len(hour) == 3


def test_heat_snapshots_keep_the_newest(tmp_path):
    s = SQLiteStore(tmp_path / "db.sqlite")
    for i in range(4):
        s.save_heat("demo", bytes([i]) * 10, T0 + i)
    assert s.load_heat("demo") == bytes([3]) * 10
    with sqlite3.connect(tmp_path / "db.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM heat").fetchone()[0] == 2


def test_credentials_never_reach_the_database(tmp_path):
    spec = "rtsp://admin:hunter2@10.1.2.3/live"
    s = SQLiteStore(tmp_path / "db.sqlite")
    s.save_zones(spec, [])
    s.add_events(spec, [ev(T0)])
    s.close()
    assert b"hunter2" not in (tmp_path / "db.sqlite").read_bytes()
    assert source_key(spec) != source_key("rtsp://admin:other@10.1.2.3/live")


def test_a_restarted_source_resumes_counts_and_heat(tmp_path):
    db = tmp_path / "db.sqlite"
    reg = Registry(SQLiteStore(db))
    p = reg.get("demo")
    p.add_zone(LineZone("door", (0, 100), (640, 100)))
    p.add_zone(PolygonZone("shop", [(0, 0), (100, 0), (100, 100)]))
    reg.save_zones(p)
    w = EventWriter(p.store, "demo")
    w.add([ev(T0), ev(T0 + 1, cls="car", d="out"), ev(T0 + 2, zone="shop")])
    w.flush()
    p.engine.heatmap.add(tracks_of((1, 50, 50)), 0.0, (360, 640))
    p.save_heat()
    heat = p.engine.heatmap.value
    p.store.close()

    again = Registry(SQLiteStore(db)).get("demo")            # as after a server restart
    c = again.engine.counts
    assert (c["door"].in_count, c["door"].out_count, c["shop"].in_count) == (1, 1, 1)
    assert c["door"].per_class["car"]["out"] == 1 and c["shop"].occupancy == 0
    np.testing.assert_allclose(again.engine.heatmap.value, heat, rtol=1e-6)
    again.reset()                                            # "start fresh" instead
    assert again.engine.counts["door"].in_count == 0
    assert Registry(SQLiteStore(db)).get("demo").engine.counts["door"].in_count == 0


CHILD = r"""
import sys, time
from dashboard.engine.zones import CrossingEvent
from dashboard.store import EventWriter, SQLiteStore
w = EventWriter(SQLiteStore(sys.argv[1]), "cam")
start = time.time()
print(start, flush=True)
k = 0
while True:                      # 500 crossings a second, each stamped with its wall time
    due = start + k / 500
    time.sleep(max(0.0, due - time.time()))
    w.add([CrossingEvent(time.time(), "door", k, "person", "in")])
    k += 1
"""


@pytest.mark.parametrize("run_s", [2.3, 3.7])
def test_sigkill_loses_at_most_the_last_second_and_the_db_stays_intact(tmp_path, run_s):
    db = tmp_path / "db.sqlite"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], stdout=subprocess.PIPE,
                             text=True)
    float(child.stdout.readline())
    time.sleep(run_s)
    killed_at = time.time()
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    with sqlite3.connect(db) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        ids = [r[0] for r in con.execute("SELECT track_id FROM events ORDER BY track_id")]
        last_t = con.execute("SELECT MAX(t) FROM events").fetchone()[0]
    assert ids == list(range(len(ids)))                      # no gaps: a prefix survived
    assert last_t >= killed_at - 1.0, f"lost {killed_at - last_t:.2f} s of events"
    assert len(ids) >= 500 * (run_s - 1.0) * 0.9


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


def test_cli_exports_what_the_dashboard_stored(tmp_path, monkeypatch):
    monkeypatch.setenv("HEATMAP_DASHBOARD_DATA", str(tmp_path))
    s = SQLiteStore(tmp_path / "dashboard.db")
    s.add_events("demo", [ev(T0 + 10), ev(T0 + 4000, d="out")])
    h = HeatmapAccumulator()
    h.add(tracks_of((1, 50, 50)), 0.0, (120, 160))
    buf = io.BytesIO()
    h.save(buf)
    s.save_heat("demo", buf.getvalue(), T0)
    s.close()
    out = tmp_path / "out"
    out.mkdir()
    assert cli_main(["export", "demo", "--events", str(out / "e.csv"), "--counts",
                     str(out / "c.csv"), "--interval", "hour", "--heatmap",
                     str(out / "h.png")]) == 0
    assert len(rows((out / "e.csv").read_text())) == 2
    assert len(rows((out / "c.csv").read_text())) == 2
    assert (out / "h.png").stat().st_size > 0
    assert cli_main(["export", "demo", "--events", str(out / "x.csv"), "--from", "yesterday"]) == 2
