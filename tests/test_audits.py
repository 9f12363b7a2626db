"""Accuracy audits (engine/audit.py, service/audits.py): on a generated clip whose every
crossing is known, an audit through the API gives exactly the truth's figures: all right
when the marks are the truth, and each mark taken away, added or moved shows as extra or
missed, per zone and direction, with its interval; marks outside the period are refused."""
from __future__ import annotations

import asyncio
import csv
import io

import httpx
import pytest

from dashboard.config.kinds import CameraState
from dashboard.demo.scene import NAMES
from dashboard.engine import Engine, LineZone, Tracks
from dashboard.engine.audit import tallies, Mark
from dashboard.service.auth import Role, User
from dashboard.service.core import Service
from dashboard.store.sqlite import SQLiteStore
from dashboard.web.api.routes import create_app
from support.camera_clip import CameraClip
from support.detectors import Replay
from support.helpers import wait_until

SYSTEM = User("system", Role.ADMIN)
T0 = 1_796_454_000.0          # when the clip's first frame was filmed (its video_start)


@pytest.mark.parametrize("marks, counted, expected", [
    # (t, direction) per mark and per count, one zone; expected right, missed, extra
    ([(1.0, "in")], [(1.4, "in")], (1, 0, 0)),
    ([(1.0, "in")], [(2.5, "in")], (0, 1, 1)),            # too far apart
    ([(1.0, "in")], [(1.0, "out")], (0, 1, 1)),           # the other way
    ([(1.0, "in"), (1.5, "in")], [(1.2, "in")], (1, 1, 0)),
    ([], [(3.0, "out")], (0, 0, 1)),
])
def test_marks_and_counts_pair_by_zone_direction_and_time(marks, counted, expected):
    t = tallies([Mark(a, "door", d) for a, d in marks], [Mark(a, "door", d) for a, d in counted])
    assert (t["all"].right, t["all"].missed, t["all"].extra) == expected


@pytest.fixture(scope="module")
def audited(tmp_path_factory):   # its tests are in the slow run: a camera over a 20 s clip
    """A file camera that counted a generated street clip (tracks replayed from its truth)
    over a line, and the truth's own crossings of that line (an engine over the true boxes,
    on the camera's clock): (service, camera, true crossings, token of an operator)."""
    folder = tmp_path_factory.mktemp("audit")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HEATMAP_DASHBOARD_MEDIA", str(folder))
        mp.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "first-admin-pass")
        clip = CameraClip.make(folder, seconds=20)
        per_frame = [Tracks([b.xyxy for b in boxes], [b.id for b in boxes],
                            [b.cls for b in boxes], [1.0] * len(boxes), NAMES)
                     if boxes else Tracks.empty(NAMES) for boxes in clip.boxes]
        svc = Service(SQLiteStore(folder / "db.sqlite"), folder, demo=False,
                      detector=Replay.factory(per_frame))
        admin = svc.as_user(SYSTEM)
        cam = admin.add_camera("Street", clip.video.name, {"pacing": "fast",
                                                           "video_start": T0}, enabled=False)
        door = admin.add_zone(cam.id, "kerb", "line", [[0.0, 0.75], [1.0, 0.75]])
        admin.start(cam.id)
        assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 120)
        engine = Engine(zones=[LineZone("kerb", (0, 270), (640, 270))])
        truth = []
        for i, tracks in enumerate(per_frame):
            r = engine.update(clip_frame(), tracks, T0 + i / clip.fps, draw=False)
            truth += [{"t": e.t, "zone": door.id, "direction": e.direction} for e in r.events]
        admin.add_user("olga", "operator-pass-12", "operator")
        token = svc.auth.login("olga", "operator-pass-12", "test")
        yield svc, cam, truth, token, clip.frames / clip.fps
        svc.shutdown()
        svc.store.close()


def clip_frame():
    import numpy as np

    return np.zeros((360, 640, 3), np.uint8)


def post(svc, token, path, body=None):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(svc)),
                                     base_url="http://127.0.0.1:8501",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Origin": "http://127.0.0.1:8501"}) as c:
            if body is None:
                return await c.get(path)
            return await c.post(path, json=body)
    return asyncio.run(go())


@pytest.mark.slow
def test_an_audit_against_the_truth_is_exactly_right(audited):
    svc, cam, truth, token, seconds = audited
    assert len(truth) >= 4
    got = post(svc, token, f"/api/cameras/{cam.id}/audits",
               {"since": T0, "until": T0 + seconds, "marks": truth})
    assert got.status_code == 201, got.text
    a = got.json()
    assert a["all"] == {**a["all"], "right": len(truth), "missed": 0, "extra": 0,
                        "accuracy": 1.0}
    assert a["all"]["low"] > 0.5 and a["summary"].startswith("kerb ")


@pytest.mark.slow
def test_marks_taken_away_added_or_moved_show_as_extra_or_missed(audited):
    svc, cam, truth, token, seconds = audited
    marks = truth[2:]                                          # two not marked: extra 2
    marks.append({"t": T0 + 0.5, "zone": "kerb", "direction": "in"})    # none counted: missed
    moved = dict(marks[0], t=marks[0]["t"] + 3.0)               # 3 s off: missed and extra
    marks[0] = moved
    a = post(svc, token, f"/api/cameras/{cam.id}/audits",
             {"since": T0, "until": T0 + seconds, "marks": marks}).json()
    assert (a["all"]["right"], a["all"]["missed"], a["all"]["extra"]) == \
        (len(truth) - 3, 2, 3)
    listed = post(svc, token, f"/api/cameras/{cam.id}/audits").json()
    assert [x["id"] for x in listed][0] == a["id"]
    rows = list(csv.DictReader(io.StringIO(
        post(svc, token, f"/api/cameras/{cam.id}/audits/{a['id']}.csv").text)))
    assert sorted(r["what"] for r in rows) == sorted(["right"] * (len(truth) - 3)
                                                     + ["missed"] * 2 + ["extra"] * 3)


@pytest.mark.slow
def test_marks_outside_the_period_or_on_no_zone_are_refused(audited):
    svc, cam, truth, token, seconds = audited
    late = post(svc, token, f"/api/cameras/{cam.id}/audits",
                {"since": T0, "until": T0 + 5, "marks": [{"t": T0 + 9, "zone": "kerb",
                                                          "direction": "in"}]})
    nozone = post(svc, token, f"/api/cameras/{cam.id}/audits",
                  {"since": T0, "until": T0 + 5, "marks": [{"t": T0 + 1, "zone": "gate",
                                                            "direction": "in"}]})
    assert late.status_code == 400 and "outside the audited period" in late.json()["error"]
    assert nozone.status_code == 400 and "no zone 'gate'" in nozone.json()["error"]


# -- samples --------------------------------------------------------------------------------
@pytest.fixture
def running(tmp_path, monkeypatch):
    """A service whose file camera plays a 6 s clip at its own pace (a walker crossing a
    line every second), started: (service, camera)."""
    from dashboard.demo.scene import write_clip
    from support.detectors import Walker

    monkeypatch.setenv("HEATMAP_DASHBOARD_MEDIA", str(tmp_path / "media"))
    write_clip(tmp_path / "media" / "door.mp4", seconds=6, width=320, height=180, fps=10)
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False,
                  detector=Walker.factory(steps=10))
    cam = svc.add_camera("Door", "door.mp4", {"pacing": "native"}, enabled=False)
    svc.add_zone(cam.id, "door", "line", [[0.5, 0.0], [0.5, 1.0]])
    yield svc, cam
    svc.shutdown()
    svc.store.close()


def test_a_sample_is_recorded_while_the_camera_counts_and_audited(running):
    from dashboard.errors import DashboardError

    svc, cam = running
    with pytest.raises(DashboardError, match="Start the camera first"):
        svc.record_sample(cam.id, 0.05)
    with pytest.raises(DashboardError, match="0 to 10 minutes"):
        svc.record_sample(cam.id, 11)
    svc.start(cam.id)
    assert wait_until(lambda: svc.status(cam.id).frames_read > 3, 60)
    s = svc.record_sample(cam.id, 0.05)                   # 3 s of the camera's time
    with pytest.raises(DashboardError, match="recording a sample already"):
        svc.record_sample(cam.id, 0.05)
    assert wait_until(lambda: svc.samples(cam.id)[0]["status"] != "recording", 60)
    (done,) = svc.samples(cam.id)
    assert done["status"] == "done" and 25 <= done["frames"] <= 31, done
    assert (svc.media / done["path"]).with_suffix(".json").is_file()   # zones and settings
    img, t = svc.sample_frame(cam.id, s["id"], 5)
    assert img.shape == (180, 320, 3) and done["first_t"] <= t <= done["last_t"]
    counted = svc.events(cam.id, done["first_t"], done["last_t"] + 0.05, limit=100)
    marks = [{"t": e["t"], "zone": e["zone_id"], "direction": e["direction"]} for e in counted]
    a = svc.accuracy_audit(cam.id, done["first_t"], done["last_t"] + 0.05, marks)
    assert len(counted) >= 2 and a["all"]["right"] == len(counted) and a["all"]["extra"] == 0


@pytest.mark.slow
def test_a_sample_on_a_full_disk_fails_saying_so_and_counting_goes_on(running):
    from support.faults import Tmpfs, fill

    svc, cam = running
    with Tmpfs(svc.media / "samples", "1m") as disk:
        filler = fill(disk)
        svc.start(cam.id)
        assert wait_until(lambda: svc.status(cam.id).frames_read > 3, 60)
        svc.record_sample(cam.id, 0.05)
        assert wait_until(lambda: svc.samples(cam.id)[0]["status"] != "recording", 60)
        (failed,) = svc.samples(cam.id)
        filler.unlink()
    assert failed["status"] == "failed" and ("full" in failed["error"]
                                             or "cannot write" in failed["error"]), failed
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 60)
    assert svc.counts(cam.id)[0].counts.in_count + svc.counts(cam.id)[0].counts.out_count >= 5


@pytest.mark.slow
def test_other_settings_on_the_audits_sample_show_what_they_would_change(running):
    svc, cam = running
    svc.start(cam.id)
    assert wait_until(lambda: svc.status(cam.id).frames_read > 3, 60)
    s = svc.record_sample(cam.id, 0.05)
    assert wait_until(lambda: svc.samples(cam.id)[0]["status"] == "done", 60)
    (done,) = svc.samples(cam.id)
    until = done["last_t"] + 0.05
    counted = svc.events(cam.id, done["first_t"], until, limit=100)
    marks = [{"t": e["t"], "zone": e["zone_id"], "direction": e["direction"]} for e in counted]
    a = svc.accuracy_audit(cam.id, done["first_t"], until, marks, sample_id=s["id"])
    same = svc.audit_what_if(cam.id, a["id"], {})                 # the same settings: the same
    assert same["all"]["right"] == a["all"]["right"] == len(counted)
    cars = svc.audit_what_if(cam.id, a["id"], {"classes": ["car"]})   # people are not cars
    assert (cars["all"]["right"], cars["all"]["missed"]) == (0, len(counted))
    assert svc.camera(cam.id).settings.classes is None           # nothing was applied
