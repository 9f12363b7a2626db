"""Cameras in worker processes (HEATMAP_DASHBOARD_WORKERS): real spawned processes, the real
demo model in each, one SQLite file shared by all. The service reads and commands them as it
does cameras in its own process; a worker killed mid-file comes back and its camera ends
with the same counts as a camera that was never interrupted, each crossing stored once."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading

import pytest

from dashboard.config.kinds import CameraState
from dashboard.demo.scene import write_clip
from dashboard.errors import DashboardError
from dashboard.pipeline.workers import WorkerRunner
from dashboard.service.core import Service
from dashboard.store.sqlite import SQLiteStore
from support.helpers import wait_until

pytestmark = pytest.mark.slow   # processes that load a model each: not in the fast default

LINE = [[0.5, 0.39], [0.5, 0.99]]


@pytest.fixture
def service(tmp_path, monkeypatch):
    """A service running its cameras in 2 worker processes, a 12 s street clip in its media."""
    monkeypatch.setenv("HEATMAP_DASHBOARD_WORKERS", "2")
    monkeypatch.setenv("HEATMAP_DASHBOARD_MEDIA", str(tmp_path / "media"))
    write_clip(tmp_path / "media" / "street.mp4", seconds=12, seed=11)    # 180 frames
    svc = Service(SQLiteStore(tmp_path / "dashboard.db"), tmp_path, demo=False)
    yield svc
    svc.shutdown()
    svc.store.close()


def add(svc: Service, name: str, pacing: str) -> tuple[str, str]:
    cam = svc.add_camera(name, "street.mp4", {"imgsz": 320, "pacing": pacing},
                         enabled=False)
    return cam.id, svc.add_zone(cam.id, "door", "line", LINE).id


def total(svc: Service, cid: str) -> tuple[int, int]:
    c = svc.counts(cid)[0].counts
    return c.in_count, c.out_count


def stored(svc: Service, zid: str) -> int:
    with sqlite3.connect(svc.store.path) as db:
        return db.execute("SELECT COUNT(*) FROM events WHERE zone_id = ?", (zid,)).fetchone()[0]


def test_cameras_in_workers_count_as_in_the_server_process(service, tmp_path):
    a, za = add(service, "street a", "fast")
    b, zb = add(service, "street b", "fast")
    assert all(isinstance(service.runner(c), WorkerRunner) for c in (a, b))
    pids = {service.runner(c).worker.pid for c in (a, b)}
    assert len(pids) == 2 and os.getpid() not in pids          # one camera in each worker
    for c in (a, b):
        service.start(c)
    assert wait_until(lambda: all(service.status(c).state is CameraState.ENDED
                                  for c in (a, b)), 240), [service.status(c) for c in (a, b)]
    assert total(service, a) == total(service, b) and sum(total(service, a)) > 0
    assert stored(service, za) == sum(total(service, a))        # each crossing stored once
    # The same clip, the same model, in the server's own process: the same counts.
    os.environ["HEATMAP_DASHBOARD_WORKERS"] = "0"     # put back by monkeypatch
    here = Service(SQLiteStore(tmp_path / "here.db"), tmp_path / "here", demo=False)
    try:
        h, _ = add(here, "street here", "fast")
        assert not isinstance(here.runner(h), WorkerRunner)
        here.start(h)
        assert wait_until(lambda: here.status(h).state is CameraState.ENDED, 240)
        assert total(here, h) == total(service, a)
    finally:
        here.shutdown()
        here.store.close()
    # Readings and commands go through: events, pictures, heat, zones, reset.
    assert len(service.recent_events(a, 100)) == sum(total(service, a))
    assert service.jpeg(a)[:2] == b"\xff\xd8"
    assert service.heat_png(a)[:4] == b"\x89PNG"
    assert service.still(a).shape == (360, 640, 3)
    runner = service.runner(a)
    service.update_camera(a, name="street A")              # the same runner, renamed
    assert service.runner(a) is runner and service.status(a).state is CameraState.ENDED
    service.update_zone(a, za, name="front door")
    assert [z.name for z in service.runner(a).zone_specs()] == ["front door"]
    service.reset(a)
    assert total(service, a) == (0, 0) and total(service, b) != (0, 0)
    assert stored(service, za) > 0                             # archived, not dropped


def test_a_killed_worker_comes_back_and_its_file_ends_with_the_right_counts(service):
    a, za = add(service, "street a", "native")     # at the clip's own pace: 12 s
    b, zb = add(service, "street b", "native")
    for c in (a, b):
        service.start(c)
    victim = service.runner(a).worker
    assert wait_until(lambda: service.status(a).frames_read >= 60, 120)
    old = victim.pid
    os.kill(old, signal.SIGKILL)
    assert wait_until(lambda: service.status(a).state is CameraState.CONNECTING, 30)
    assert wait_until(lambda: victim.pid != old and victim.process.is_alive(), 60)
    assert wait_until(lambda: all(service.status(c).state is CameraState.ENDED
                                  for c in (a, b)), 240), [service.status(c) for c in (a, b)]
    assert total(service, a) == total(service, b) and sum(total(service, a)) > 0
    assert stored(service, za) == sum(total(service, a)) == stored(service, zb)


def test_a_sample_is_recorded_in_the_worker_and_errors_come_back_as_they_are(service):
    a, _ = add(service, "street a", "native")
    with pytest.raises(DashboardError, match="Start the camera first"):
        service.record_sample(a, 0.05)
    service.start(a)
    assert wait_until(lambda: service.status(a).frames_read > 3, 120)
    service.record_sample(a, 0.05)                       # 3 s of the camera's time
    with pytest.raises(DashboardError, match="recording a sample already"):
        service.record_sample(a, 0.05)
    assert wait_until(lambda: service.samples(a)[0]["status"] != "recording", 60)
    (done,) = service.samples(a)
    assert done["status"] == "done" and 40 <= done["frames"] <= 50, done
    assert (service.media / done["path"]).is_file()


def test_workers_and_the_server_write_one_file_at_once(tmp_path):
    """Two stores on one file, as the server and a worker hold it: reads that create a
    camera's first epoch, writes that read first (Reset) and plain writes, all at once,
    all written (a transaction that read before it wrote used to fail at once with
    "database is locked" when the other wrote in between)."""
    from dashboard.config.kinds import CameraId
    from dashboard.engine.zones import CrossingEvent

    stores = [SQLiteStore(tmp_path / "shared.db") for _ in range(2)]
    failures: list[Exception] = []

    def busy(store: SQLiteStore, k: int) -> None:
        try:
            for i in range(60):
                cid = CameraId(f"cam_{k}_{i % 3}")
                store.counts(cid)                       # a read that may create the epoch
                store.add_events(cid, [CrossingEvent(float(i), "zone_a", i, "person", "in")])
                if i % 20 == 19:
                    store.archive(cid)
        except Exception as e:  # noqa: BLE001 - any failure fails the test below
            failures.append(e)

    threads = [threading.Thread(target=busy, args=(s, k)) for k, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    assert not any(s._db.in_transaction for s in stores)   # no write lock left held
    with sqlite3.connect(stores[0].path) as db:
        assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 120
    for s in stores:
        s.close()


def test_the_dashboard_runs_its_cameras_in_workers_and_ends_them_with_it(tmp_path):
    """As an admin deploys it: the server with HEATMAP_DASHBOARD_WORKERS=2, the demo camera
    live in a worker process (not the server's), its picture and counts through the API; a
    browser's camera stays in the server; the workers end with the server."""
    import psutil

    from support.server import DashboardServer

    srv = DashboardServer(tmp_path / "data", HEATMAP_DASHBOARD_WORKERS="2").start()
    try:
        server = psutil.Process(srv.proc.pid)
        workers = [p for p in server.children() if "spawn_main" in " ".join(p.cmdline())]
        assert len(workers) == 2, [p.cmdline() for p in server.children()]
        (demo,) = srv.get("/api/cameras")[1]

        def status() -> dict:
            return srv.get(f"/api/cameras/{demo['id']}")[1]["status"]

        assert wait_until(lambda: status()["state"] == "live", 180), status()
        # Its decoder is a worker's child: the camera runs there, not in the server.
        assert sum(len(w.children()) for w in workers) == 1
        code, jpeg = srv.request("GET", f"/api/cameras/{demo['id']}/frame.jpg")
        assert code == 200 and jpeg[:2] == b"\xff\xd8"
        assert wait_until(lambda: status()["frames_read"] > 30, 60)
        assert srv.get(f"/api/cameras/{demo['id']}/counts")[0] == 200
        laptop = srv.post("/api/cameras", {"name": "laptop", "source": "browser",
                                           "settings": {"imgsz": 320}})[1]
        assert wait_until(lambda: srv.get(f"/api/cameras/{laptop['id']}")[1]["status"]
                          ["state"] == "waiting", 120)
        # A camera that cannot connect says so from its worker, its password in no log line.
        door = srv.post("/api/cameras", {"name": "door", "settings": {"imgsz": 320},
                                         "source": "rtsp://viewer:hunter2-secret@127.0.0.1:9/s"})
        assert door[0] == 201, door
        assert wait_until(lambda: srv.get(f"/api/cameras/{door[1]['id']}")[1]["status"]
                          ["detail"], 120)
        assert "[worker-" in srv.log() and "hunter2-secret" not in srv.log()
    finally:
        srv.stop()
    assert wait_until(lambda: not any(w.is_running() and w.status() != psutil.STATUS_ZOMBIE
                                      for w in workers), 30)


def test_a_worker_follows_the_database_file_the_server_rewrote(tmp_path):
    """The file deleted under both: the server's store rewrites it from its open copy (see
    `SQLiteStore.check`), the worker's reopens the new file; what either wrote is in it."""
    from dashboard.config.kinds import CameraId
    from dashboard.engine.zones import CrossingEvent

    server, worker = (SQLiteStore(tmp_path / "dashboard.db") for _ in range(2))
    cid = CameraId("cam_w")
    worker.add_events(cid, [CrossingEvent(1.0, "zone_a", 1, "person", "in")])
    os.unlink(server.path)
    server.check()                      # rewritten from the server's connection
    worker.follow()                     # the worker writes to the new file from now on
    worker.add_events(cid, [CrossingEvent(2.0, "zone_a", 2, "person", "out")])
    with sqlite3.connect(server.path) as db:
        assert db.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 2
    assert server.counts(cid)["zone_a"].in_count == 1
    assert server.counts(cid)["zone_a"].out_count == 1
    for s in (server, worker):
        s.close()
