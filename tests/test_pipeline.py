"""The whole pipeline in process, fast: a saved camera on a generated file, run by its
CameraRunner with a detector from the factory (`support.detectors.Walker`: it knows where
the person is), counted by the engine, written by the store, read back through the HTTP API
and its gate (the app built over the service, as Frigate's test client builds its own)."""
from __future__ import annotations

import asyncio

import httpx
import numpy as np
import pytest

from dashboard.config.kinds import CameraState
from dashboard.demo.scene import write_clip
from dashboard.engine import Engine
from dashboard.errors import DashboardError
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

    def service(delay_s: float = 0.0) -> Service:
        made.append(Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False,
                            detector=Walker.factory(steps=10, delay_s=delay_s)))
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
    again.reset(cam.id)                                     # as its message says: again
    assert wait_until(lambda: again.status(cam.id).frames_read == 30
                      and again.status(cam.id).state is CameraState.ENDED, 60)
    assert counted(again, cam.id) == (ins, outs)            # the whole file, counted anew
    assert len(again.events(cam.id, limit=100)) == 3        # this epoch's (old ones archived)


def counted_door(setup) -> tuple:
    """A service whose camera Door counted its file to the end over a line "door", and a
    viewer "vic": (service, its admin, the camera, the zone)."""
    service, clip = setup
    svc = service()
    admin = svc.as_user(SYSTEM)
    cam = admin.add_camera("Door", clip.name, {"pacing": "fast"}, enabled=False)
    door = admin.add_zone(cam.id, "door", "line", [[0.5, 0.0], [0.5, 1.0]])
    admin.add_user("vic", "viewer-pass-12", "viewer")
    admin.start(cam.id)
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 60)
    return svc, admin, cam, door


def test_the_api_and_its_gate_give_what_the_runner_counted(setup):
    svc, admin, cam, door = counted_door(setup)

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


def test_counts_a_reset_archived_are_listed_and_their_crossings_exported(setup):
    svc, admin, cam, door = counted_door(setup)
    before = counted(svc, cam.id)
    admin.reset(cam.id)                          # the file is counted again, from zero
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED
                      and svc.archives(cam.id), 60)

    async def scenario() -> tuple:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(svc)),
                                     base_url=HERE) as c:
            r = await c.post("/api/login", json={"username": "vic",
                                                 "password": "viewer-pass-12"})
            auth = {"Authorization": f"Bearer {r.json()['token']}"}
            listed = (await c.get(f"/api/cameras/{cam.id}/archives", headers=auth)).json()
            csv = await c.get(f"/api/cameras/{cam.id}/archives/1/events.csv", headers=auth)
            missing = await c.get(f"/api/cameras/{cam.id}/archives/7/events.csv", headers=auth)
            return listed, csv.text, missing.status_code

    listed, csv, missing = asyncio.run(scenario())
    (first,) = listed
    assert first["epoch"] == 1 and first["from"] <= first["to"]
    assert first["zones"] == [{"zone_id": door.id, "zone": "door", "in": before[0],
                               "out": before[1]}]
    assert csv.count("\n") == 1 + sum(before) and ",door," in csv and missing == 404


def test_a_file_cameras_times_are_the_videos_not_the_machines_and_go_on_after_a_restart(
        setup):
    service, clip = setup                        # 30 frames at 10 fps: one pass a second
    svc = service(delay_s=0.03)                  # 0.3 s of work a pass: not the video's 1 s
    admin = svc.as_user(SYSTEM)
    cams = [admin.add_camera(name, clip.name, {"pacing": "fast"}, enabled=False)
            for name in ("Door", "Yard")]        # Door is stopped and restarted, Yard not
    areas = {}
    for cam in cams:
        admin.add_zone(cam.id, "door", "line", [[0.5, 0.0], [0.5, 1.0]])
        areas[cam.id] = admin.add_zone(cam.id, "hall", "polygon",
                                       [[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]])
    door, yard = cams
    admin.start(door.id)
    admin.start(yard.id)
    assert wait_until(lambda: svc.status(door.id).frames_read >= 12, 60)
    svc.stop(door.id)                            # stopped mid-file, then a restart
    assert wait_until(lambda: svc.status(yard.id).state is CameraState.ENDED, 60)
    svc.shutdown()
    svc = service(delay_s=0.03)
    svc.start(door.id)
    assert wait_until(lambda: svc.status(door.id).state is CameraState.ENDED, 60)
    for cam in cams:                             # crossings a second apart: the video's time
        times = [e["t"] for e in svc.events(cam.id, limit=100) if e["zone"] == "door"]
        assert [round(b - a, 6) for a, b in zip(times, times[1:])] == [1.0, 1.0], cam.name
    # Yard's stays are the engine's fed at the video's times, as the CLI runs it, to the
    # frame (the machine's time would make them 0.3 of these). Door's are not compared: a
    # stop ends the stays under way (who is where while stopped is not known).
    visits = svc.visits(yard.id)
    assert len(visits) == 3 and all(v["zone_id"] == areas[yard.id].id for v in visits)
    engine = Engine(zones=[svc.zone(yard.id, areas[yard.id].id).to_zone(160, 96)])
    walker, frame = Walker(steps=10), np.zeros((96, 160, 3), np.uint8)
    truth = [v.seconds for k in range(30)
             for v in engine.update(frame, walker.track(frame), k / 10, draw=False).visits]
    truth += [v.seconds for z in engine.zones for v in z.end_stays()]
    assert [round(v["seconds"], 6) for v in visits] == [round(t, 6) for t in truth]


def test_a_file_camera_dates_its_events_from_the_start_the_operator_set(setup):
    service, clip = setup                        # 30 frames at 10 fps
    svc = service(delay_s=0.03)
    admin = svc.as_user(SYSTEM)
    with pytest.raises(DashboardError, match="UTC offset"):
        admin.add_camera("Door", clip.name, {"video_start": "2026-12-05T08:00"})
    cam = admin.add_camera("Door", clip.name, {"pacing": "fast",
                                               "video_start": "2026-12-05T08:00:00+01:00"},
                           enabled=False)
    assert cam.settings.to_dict()["video_start"] == "2026-12-05T07:00:00+00:00"
    zone = admin.add_zone(cam.id, "door", "line", [[0.5, 0.0], [0.5, 1.0]])
    admin.start(cam.id)
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 60)
    times = sorted(e["t"] for e in svc.events(cam.id, limit=100))
    # The engine fed the video's own times from that start, as `cli process --start` does.
    engine = Engine(zones=[svc.zone(cam.id, zone.id).to_zone(160, 96)])
    walker, frame, start = Walker(steps=10), np.zeros((96, 160, 3), np.uint8), 1796454000.0
    truth = [e.t for k in range(30)
             for e in engine.update(frame, walker.track(frame), start + k / 10,
                                    draw=False).events]
    assert len(times) == 3 and [round(t, 6) for t in times] == [round(t, 6) for t in truth]


def test_a_camera_that_falls_behind_says_so_in_the_status_the_api_and_the_page(setup):
    from dashboard.web.ui.common import state_line

    service, clip = setup                        # 10 frames a second to keep up with
    svc = service(delay_s=0.2)                   # 5 a second counted
    admin = svc.as_user(SYSTEM)
    cam = admin.add_camera("Door", clip.name, {"pacing": "native"}, enabled=False)
    fast = admin.add_camera("Yard", clip.name, {"pacing": "fast"}, enabled=False)
    admin.start(cam.id)
    admin.start(fast.id)
    assert wait_until(lambda: svc.status(cam.id).behind is not None, 60), svc.status(cam.id)
    status = svc.status(cam.id)
    assert status.behind_level == "warning" and "behind the video" in status.behind
    assert "fewer cameras" in status.behind and status.frame_age_s >= 2.0
    line = state_line(status)
    assert line.startswith(":orange[live") and "falling behind" in line
    assert wait_until(lambda: svc.status(fast.id).state is CameraState.ENDED, 60)
    assert svc.status(fast.id).behind is None      # as fast as it can: never behind

    async def api() -> dict:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(svc)),
                                     base_url=HERE) as c:
            r = await c.post("/api/login", json={"username": "admin",
                                                 "password": "first-admin-pass"})
            headers = {"Authorization": f"Bearer {r.json()['token']}"}
            return (await c.get(f"/api/cameras/{cam.id}", headers=headers)).json()

    shown = asyncio.run(api())["status"]
    assert shown["behind_level"] in ("warning", "error") and "behind" in shown["behind"]
    admin.stop(cam.id)


def test_a_decoder_that_crashes_fails_its_camera_only(setup):
    import os
    import signal

    from support.helpers import decoders

    service, clip = setup
    svc = service(delay_s=0.02)
    admin = svc.as_user(SYSTEM)
    doomed = admin.add_camera("Door", clip.name, {"pacing": "native"}, enabled=False)
    other = admin.add_camera("Yard", clip.name, {"pacing": "native", "loop": True},
                             enabled=False)
    before = set(decoders())                   # another test's, still ending
    admin.start(other.id)
    assert wait_until(lambda: len(set(decoders()) - before) == 1, 30)
    (kept,) = set(decoders()) - before
    admin.start(doomed.id)
    assert wait_until(lambda: svc.status(doomed.id).frames_read >= 3, 30)
    (victim,) = set(decoders()) - before - {kept}
    os.kill(victim, signal.SIGSEGV)             # as a damaged file would crash FFmpeg
    assert wait_until(lambda: svc.status(doomed.id).state is CameraState.FAILED, 30)
    detail = svc.status(doomed.id).detail
    assert "decoder crashed (SIGSEGV) at frame" in detail and "damaged" in detail
    before = svc.runner(other.id).snapshot().frames_done
    assert wait_until(lambda: svc.runner(other.id).snapshot().frames_done > before + 5, 30)
    assert svc.status(other.id).state is CameraState.LIVE    # the other camera goes on
    admin.stop(other.id)


def test_an_alert_on_the_board_is_acknowledged_by_an_operator_who_and_when(setup):
    service, clip = setup
    svc = service()
    admin = svc.as_user(SYSTEM)
    cam = admin.add_camera("Door", clip.name, {"pacing": "fast"}, enabled=False)
    # The same line both ways, each marking OUT as the wrong way: one of them sees the
    # walker go out on every pass.
    admin.add_zone(cam.id, "door", "line", [[0.5, 0.0], [0.5, 1.0]], wrong_way=True)
    admin.add_zone(cam.id, "exit", "line", [[0.5, 1.0], [0.5, 0.0]], wrong_way=True)
    admin.add_user("olga", "operator-pass-1", "operator")
    admin.add_user("vic", "viewer-pass-12", "viewer")
    admin.start(cam.id)
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 60)
    board = svc.alert_board()
    assert board and all(a["camera_id"] == cam.id and a["ack"] is None for a in board)
    assert len(board) == 3 and len({a["zone"] for a in board}) == 1   # one a pass
    first = board[0]

    async def scenario() -> tuple:
        app = create_app(svc)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url=HERE) as c:
            async def token(name: str, password: str) -> dict:
                r = await c.post("/api/login", json={"username": name, "password": password})
                return {"Authorization": f"Bearer {r.json()['token']}"}

            viewer, operator = await token("vic", "viewer-pass-12"), \
                await token("olga", "operator-pass-1")
            path = f"/api/cameras/{cam.id}/alerts/{first['id']}/ack"
            refused = await c.post(path, json={"note": "seen"}, headers=viewer)
            spoofed = await c.post(path, json={"note": "on my way", "by": "ada"},
                                   headers=operator)
            done = await c.post(path, json={"note": "on my way"}, headers=operator)
            missing = await c.post(f"/api/cameras/{cam.id}/alerts/nope/ack", json={},
                                   headers=operator)
            shown = (await c.get(f"/api/cameras/{cam.id}/alerts", headers=viewer)).json()
            left = (await c.get("/api/alerts", headers=viewer)).json()
            return refused.status_code, spoofed.status_code, done.json(), \
                missing.status_code, shown, left

    refused, spoofed, done, missing, shown, left = asyncio.run(scenario())
    assert refused == 403 and spoofed == 400 and missing == 404
    assert done["by"] == "olga" and done["note"] == "on my way" and done["at"] > 0
    (acked,) = [a for a in shown if a["id"] == first["id"]]
    assert acked["ack"]["by"] == "olga" and acked["ack"]["note"] == "on my way"
    assert first["id"] not in {a["id"] for a in left}    # ended and acknowledged: off the board
    assert any(e["action"] == "acknowledge" and e["user"] == "olga" for e in svc.audit_log())


def test_prometheus_reads_each_cameras_figures_with_a_token_and_nobody_without(setup):
    from prometheus_client.parser import text_string_to_metric_families

    service, clip = setup
    svc = service()
    admin = svc.as_user(SYSTEM)
    cam = admin.add_camera('Door "A"', clip.name, {"pacing": "fast"}, enabled=False)
    door = admin.add_zone(cam.id, "door", "line", [[0.5, 0.0], [0.5, 1.0]])
    hall = admin.add_zone(cam.id, "hall", "polygon", [[0, 0], [0.5, 0], [0.5, 1], [0, 1]])
    admin.add_user("scraper", "scraper-pass-1", "viewer")
    admin.start(cam.id)
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 60)

    async def scrape() -> tuple:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(svc)),
                                     base_url=HERE) as c:
            stranger = await c.get("/metrics")
            r = await c.post("/api/login", json={"username": "scraper",
                                                 "password": "scraper-pass-1"})
            got = await c.get("/metrics",
                              headers={"Authorization": f"Bearer {r.json()['token']}"})
            return stranger.status_code, got

    stranger, got = asyncio.run(scrape())
    assert stranger == 401 and got.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(got.text):     # Prometheus's own parser
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    of_cam = (("camera", 'Door "A"'), ("camera_id", cam.id))
    crossings = {d: samples[("heatmap_dashboard_crossings_total",
                             tuple(sorted((*of_cam, ("direction", d), ("zone", "door"),
                                           ("zone_id", door.id)))))] for d in ("in", "out")}
    assert sum(crossings.values()) == 3 and min(crossings.values()) == 0
    assert samples[("heatmap_dashboard_frames_counted_total", of_cam)] == 30
    assert samples[("heatmap_dashboard_camera_live", of_cam)] == 0       # ended
    assert samples[("heatmap_dashboard_model_seconds", of_cam)] > 0
    assert ("heatmap_dashboard_occupancy", tuple(sorted((*of_cam, ("zone", "hall"),
                                                         ("zone_id", hall.id))))) in samples
    assert samples[("heatmap_dashboard_store_fault", ())] == 0
