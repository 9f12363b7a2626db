"""Faults against a real server process counting the demo: the disk fills up, the database
is deleted or made read-only under it, and it is stopped by SIGTERM, SIGINT or SIGKILL.
Each time, every crossing the server counted ends up in the database, once."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from support.faults import Tmpfs, fill, permissions_apply
from support.helpers import wait_until
from support.server import CHROMIUM, CHROMIUM_ARGS, DashboardServer, log_in

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)


def demo_id(srv: DashboardServer) -> str:
    return srv.get("/api/cameras")[1][0]["id"]


def api_counts(srv: DashboardServer, cid: str) -> dict[str, tuple[int, int]]:
    """{zone id: (in, out)} as the server counts them now."""
    return {z["id"]: (z["in"], z["out"])
            for z in srv.get(f"/api/cameras/{cid}/counts")[1]["zones"]}


def db_counts(db: Path, cid: str) -> dict[str, tuple[int, int]]:
    """{zone id: (in, out)} of the current epoch, as a restart would read the file."""
    con = sqlite3.connect(db)
    try:
        ep = con.execute("SELECT MAX(epoch) FROM epochs WHERE camera_id = ?", (cid,)).fetchone()[0]
        rows = con.execute("SELECT zone_id, direction, SUM(n) FROM totals WHERE camera_id = ? "
                           "AND epoch = ? GROUP BY zone_id, direction", (cid, ep)).fetchall()
        events = con.execute("SELECT COUNT(*) FROM events WHERE camera_id = ? AND epoch = ?",
                             (cid, ep)).fetchone()[0]
    finally:
        con.close()
    out: dict[str, list[int]] = {}
    for zone, direction, n in rows:
        out.setdefault(zone, [0, 0])[direction == "out"] += n
    assert events == sum(a + b for a, b in out.values())   # every total has its event
    return {z: (a, b) for z, (a, b) in out.items()}


def total(counts: dict[str, tuple[int, int]]) -> int:
    return sum(a + b for a, b in counts.values())


def health(srv: DashboardServer) -> dict:
    return srv.get("/api/health")[1]


def stop_and_compare(srv: DashboardServer, cid: str, db: Path) -> dict[str, tuple[int, int]]:
    """Stop the camera (what it counted is written), then the file must hold exactly what
    the server counted."""
    assert srv.post(f"/api/cameras/{cid}/stop")[0] == 200
    shown = api_counts(srv, cid)
    assert {z: c for z, c in db_counts(db, cid).items() if any(c)} == \
        {z: c for z, c in shown.items() if any(c)}
    return shown


def page_text(srv: DashboardServer, shot: Path) -> str:
    """The overview page's text as a logged-in browser shows it (a screenshot is kept)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1024, "height": 800})
        log_in(page, srv.url)
        page.wait_for_selector("text=database", timeout=60_000)
        page.screenshot(path=str(shot))
        text = page.inner_text("body")
        browser.close()
    return text


def test_a_full_disk_loses_no_crossing_and_clears_by_itself(tmp_path):
    with Tmpfs(tmp_path / "disk", "24m") as disk:
        srv = DashboardServer(disk, log_path=tmp_path / "server.log").start()
        try:
            cid = demo_id(srv)
            assert wait_until(lambda: total(api_counts(srv, cid)) > 0, 180)
            filler = fill(disk)
            full_at = time.monotonic()
            assert wait_until(lambda: "events waiting" in health(srv)["store"], 180), \
                health(srv)
            h = health(srv)
            assert h["status"] == "degraded" and "disk full" in h["store"]
            status = srv.get(f"/api/cameras/{cid}")[1]["status"]
            assert status["state"] == "live" and "disk full" in status["store"]
            text = page_text(srv, tmp_path / "disk-full.png")
            assert "disk full" in text and "events waiting" in text
            counted_in_fault = total(api_counts(srv, cid))
            filler.unlink()                                   # space comes back
            freed = time.monotonic()
            assert wait_until(lambda: health(srv)["status"] == "ok", 60), health(srv)
            print(f"disk full for {freed - full_at:.0f} s; written again "
                  f"{time.monotonic() - freed:.1f} s after space came back")
            shown = stop_and_compare(srv, cid, disk / "dashboard.db")
            assert total(shown) >= counted_in_fault
            log = srv.log()
            assert log.count("cannot write: disk full") == 1       # said once, not per frame
            assert "waiting crossings written" in log
        finally:
            srv.stop()


@pytest.mark.parametrize("files", [("",), ("", "-wal", "-shm")], ids=["file", "with-wal"])
def test_a_deleted_database_is_rewritten_and_a_restart_keeps_everything(tmp_path, files):
    srv = DashboardServer(tmp_path / "data").start()
    db = srv.data / "dashboard.db"
    try:
        cid = demo_id(srv)
        zones = [z["id"] for z in srv.get(f"/api/cameras/{cid}/zones")[1]]
        assert wait_until(lambda: total(api_counts(srv, cid)) > 0, 180)
        for suffix in files:
            os.unlink(f"{db}{suffix}")
        assert wait_until(lambda: "rewritten" in srv.log(), 30), srv.log()[-3000:]
        assert "was deleted while the server ran" in srv.log()
        before = total(api_counts(srv, cid))
        assert wait_until(lambda: total(api_counts(srv, cid)) > before, 180)  # counts on
        shown = stop_and_compare(srv, cid, db)
        srv.restart()
        assert api_counts(srv, cid) == shown
        assert [z["id"] for z in srv.get(f"/api/cameras/{cid}/zones")[1]] == zones
        assert srv.get(f"/api/cameras/{cid}/heatmap.npz")[0] == 200
    finally:
        srv.stop()


def test_a_read_only_database_is_said_and_the_server_restarts_on_it(tmp_path):
    srv = DashboardServer(tmp_path / "data", prefix=permissions_apply()).start()
    db = srv.data / "dashboard.db"
    try:
        cid = demo_id(srv)
        assert wait_until(lambda: total(api_counts(srv, cid)) > 0, 180)
        os.chmod(db, 0o444)
        assert wait_until(lambda: "read-only" in health(srv)["store"], 30), health(srv)
        srv.restart()                                    # it starts, and lets people in
        assert "read-only" in health(srv)["store"]
        assert srv.get(f"/api/cameras/{cid}")[1]["status"]["state"] != "failed"
        for action in ("stop", "start"):                 # the buttons still act
            assert srv.post(f"/api/cameras/{cid}/{action}")[0] == 200
        assert wait_until(lambda: "events waiting" in health(srv)["store"], 180)
        status, body = srv.post(f"/api/cameras/{cid}/zones",
                                {"name": "x", "type": "line", "points": [[0, 0], [1, 1]]})
        assert status == 503 and "read-only" in body["error"]
        status, body = srv.post(f"/api/cameras/{cid}/reset")   # would mix waiting ones in
        assert status == 503 and "Reset has to wait" in body["error"]
        os.chmod(db, 0o644)                              # fixed: what waited is written
        assert wait_until(lambda: health(srv)["status"] == "ok", 60), health(srv)
        stop_and_compare(srv, cid, db)
    finally:
        os.chmod(db, 0o644)
        srv.stop()


def newest_heat(db: Path, cid: str) -> float:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT MAX(t) FROM heat WHERE camera_id = ?", (cid,)).fetchone()[0]
    finally:
        con.close()


def watch_video(srv: DashboardServer, cid: str) -> threading.Thread:
    """A viewer of the camera's video stream (as the Camera page shows it), reading it in a
    thread until the server ends it."""
    req = urllib.request.Request(f"{srv.url}/api/cameras/{cid}/video.mjpg",
                                 headers={"Authorization": f"Bearer {srv.token}"})
    stream = urllib.request.urlopen(req, timeout=120)
    assert stream.read(1000)                   # pictures flow

    def read() -> None:
        try:
            while stream.read(65536):
                pass
        except OSError:
            pass
    viewer = threading.Thread(target=read, daemon=True)
    viewer.start()
    return viewer


def test_sigterm_and_sigint_write_everything_and_sigkill_loses_seconds_of_heat(tmp_path):
    srv = DashboardServer(tmp_path / "data").start()
    db = srv.data / "dashboard.db"
    cid = demo_id(srv)
    for sig in (signal.SIGTERM, signal.SIGINT):
        assert wait_until(lambda: total(api_counts(srv, cid)) > 0, 180)
        viewer = watch_video(srv, cid)           # a page left open on the camera
        seen = api_counts(srv, cid)
        sent = time.time()
        # It stops by itself: the open stream ends (it held the server up until killed).
        assert srv.stop(sig), f"still up a minute after {sig!r}"
        viewer.join(30)
        assert not viewer.is_alive()
        assert newest_heat(db, cid) >= sent               # heat written on the way out
        kept = db_counts(db, cid)
        assert total(kept) >= total(seen)
        srv.start()
        assert api_counts(srv, cid) == kept or total(api_counts(srv, cid)) >= total(kept)
    started = time.time()
    # Snapshots while running, not only at a stop: one is taken with the server still up.
    assert wait_until(lambda: (newest_heat(db, cid) or 0) > started + 1, 180)
    killed = time.time()
    srv.stop(signal.SIGKILL)
    heat_t = newest_heat(db, cid)
    assert heat_t > started + 1
    print(f"SIGKILL: the last heat snapshot was {killed - heat_t:.1f} s old")
