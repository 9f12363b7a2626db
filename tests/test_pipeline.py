"""The whole pipeline in process, fast: a saved camera on a generated file, run by its
CameraRunner with a detector from the factory (`support.detectors.Walker`: it knows where
the person is), counted by the engine, written by the store, read back through the HTTP API
and its gate (the app built over the service, as Frigate's test client builds its own)."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from dashboard.config.kinds import CameraState
from dashboard.demo.scene import write_clip
from dashboard.service.auth import Role, User
from dashboard.service.core import Service
from dashboard.store.sqlite import SQLiteStore
from dashboard.web.api.routes import create_app
from support.detectors import Walker
from support.helpers import wait_until

SYSTEM = User("system", Role.ADMIN)
HERE = "http://127.0.0.1:8501"


@pytest.fixture
def setup(tmp_path, monkeypatch):
    monkeypatch.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "first-admin-pass")
    monkeypatch.setenv("HEATMAP_DASHBOARD_MEDIA", str(tmp_path / "media"))
    clip = write_clip(tmp_path / "media" / "door.mp4", seconds=3, width=160, height=96, fps=10)
    made = []

    def service() -> Service:
        made.append(Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False,
                            detector=Walker.factory(steps=10)))
        return made[-1]

    yield service, clip
    for svc in made:
        svc.shutdown()
        svc.store.close()


def counted(svc: Service, cid: str) -> tuple[int, int]:
    (door,) = svc.counts(cid)
    return door.counts.in_count, door.counts.out_count


def test_a_file_camera_counts_every_pass_stores_it_and_resumes_after_a_restart(setup):
    service, clip = setup
    svc = service()
    admin = svc.as_user(SYSTEM)
    cam = admin.add_camera("Door", clip.name, {"pacing": "fast", "imgsz": 320}, enabled=False)
    admin.add_zone(cam.id, "door", "line", [[0.5, 0.0], [0.5, 1.0]])
    admin.start(cam.id)
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 60), \
        svc.status(cam.id)
    status = svc.status(cam.id)
    assert status.runtime == "scripted" and status.frames_read == 30
    ins, outs = counted(svc, cam.id)
    assert (ins + outs, min(ins, outs)) == (3, 0)          # three passes, one way
    assert len(svc.events(cam.id, limit=100)) == 3         # each crossing stored once
    svc.shutdown()
    again = service()                                       # a restart
    assert counted(again, cam.id) == (ins, outs)
    assert again.status(cam.id).state is not CameraState.LIVE
    again.start(cam.id)                                     # counted to its end already
    assert wait_until(lambda: again.status(cam.id).state is CameraState.ENDED, 60)
    assert counted(again, cam.id) == (ins, outs) and "Reset" in again.status(cam.id).detail


def test_the_api_and_its_gate_give_what_the_runner_counted(setup):
    service, clip = setup
    svc = service()
    admin = svc.as_user(SYSTEM)
    cam = admin.add_camera("Door", clip.name, {"pacing": "fast"}, enabled=False)
    door = admin.add_zone(cam.id, "door", "line", [[0.5, 0.0], [0.5, 1.0]])
    admin.add_user("vic", "viewer-pass-12", "viewer")
    admin.start(cam.id)
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 60)

    async def scenario() -> tuple:
        app = create_app(svc)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=HERE) as c:
            stranger = await c.get(f"/api/cameras/{cam.id}/counts")
            r = await c.post("/api/login", json={"username": "vic",
                                                 "password": "viewer-pass-12"})
            token = r.json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            counts = (await c.get(f"/api/cameras/{cam.id}/counts", headers=auth)).json()
            csv = (await c.get(f"/api/cameras/{cam.id}/events.csv", headers=auth)).text
            refused = await c.post(f"/api/cameras/{cam.id}/reset", headers=auth)
            return stranger.status_code, counts, csv, refused.status_code

    stranger, counts, csv, refused = asyncio.run(scenario())
    assert stranger == 401 and refused == 403                 # the gate, then the role
    assert counts["camera_id"] == cam.id
    (zone,) = counts["zones"]
    assert zone["id"] == door.id and zone["in"] + zone["out"] == 3
    assert csv.count("\n") == 1 + 3 and "door" in csv          # header and one row each
    assert counted(svc, cam.id) == (zone["in"], zone["out"])  # nothing reset by the viewer
