"""The service: saved cameras and zones by id, what survives a restart, what Stop means."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from support.helpers import tracks_of, wait_until
from dashboard.demo.scene import demo_clip, write_clip
from dashboard.engine.zones import CrossingEvent
from dashboard.config.kinds import CameraState
from dashboard.errors import DashboardError
from dashboard.errors import Conflict, NotFound
from dashboard.service.core import Service
from dashboard.pipeline.loop import RESUME_WARMUP_FRAMES




@pytest.fixture
def open_service(tmp_path, open_store):
    """Services over one data directory and one database (SQLite, and PostgreSQL in the slow
    run), as the server starts them; each one opened is a restart of the one before (the
    earlier one is shut down first)."""
    made: list[Service] = []

    def make(demo: bool = False, autostart: bool = True) -> Service:
        if made:
            made[-1].shutdown()
            made[-1].store.close()
        made.append(Service(open_store(), tmp_path, demo=demo, autostart=autostart))
        return made[-1]

    yield make
    made[-1].shutdown()


def count(svc: Service, cid: str, zid: str, n: int = 1) -> None:
    """As if the camera counted n crossings of zone `zid` (engine and store, as a run does)."""
    runner = svc.runner(cid)
    zone = next(z for z in runner.engine.zones if z.name == zid)
    events = [CrossingEvent(time.time(), zid, k, "person", "in") for k in range(n)]
    for _ in events:
        zone.counts.add("person", "in")
    runner.keeper.add(events)
    runner.keeper.flush(force=True)


def by_name(svc: Service, cid: str) -> dict[str, int]:
    return {f.name: f.counts.in_count for f in svc.counts(cid)}


def test_counts_belong_to_the_zone_id_not_its_name(open_service):
    svc = open_service()
    cam = svc.add_camera("Door", "demo", enabled=False)
    kerb = svc.add_zone(cam.id, "kerb", "line", [[0.1, 0.5], [0.9, 0.5]])
    count(svc, cam.id, kerb.id, 3)
    svc.update_zone(cam.id, kerb.id, name="pavement edge")           # rename keeps counts
    assert by_name(svc, cam.id) == {"pavement edge": 3}
    with pytest.raises(Conflict):
        svc.add_zone(cam.id, "Pavement Edge", "line", [[0, 0.2], [1, 0.2]])
    svc.delete_zone(cam.id, kerb.id)
    again = svc.add_zone(cam.id, "pavement edge", "line", [[0.1, 0.5], [0.9, 0.5]])
    assert again.id != kerb.id and by_name(svc, cam.id) == {"pavement edge": 0}

    svc = open_service()                                             # a server restart
    assert [z.id for z in svc.zones(cam.id)] == [again.id]
    assert by_name(svc, cam.id) == {"pavement edge": 0}
    with pytest.raises(NotFound):
        svc.update_zone(cam.id, kerb.id, name="back")                # archived, not editable
    assert svc.store.counts(cam.id)[kerb.id].in_count == 3           # but kept


def test_reshaping_a_zone_keeps_its_counts_and_its_id(open_service):
    svc = open_service()
    cam = svc.add_camera("Door", "demo", enabled=False)
    z = svc.add_zone(cam.id, "door", "line", [[0.1, 0.5], [0.9, 0.5]])
    count(svc, cam.id, z.id, 2)
    moved = svc.update_zone(cam.id, z.id, points=[[0.1, 0.6], [0.9, 0.6]], confirm_frames=3)
    assert moved.id == z.id and moved.confirm_frames == 3
    assert by_name(svc, cam.id) == {"door": 2}
    flipped = svc.flip_zone(cam.id, z.id)
    assert flipped.points == moved.points[::-1] and by_name(svc, cam.id) == {"door": 2}
    with pytest.raises(DashboardError, match="cannot be changed"):
        svc.update_zone(cam.id, z.id, id="zone_other")
    with pytest.raises(DashboardError, match="at least 3 points"):
        svc.add_zone(cam.id, "area", "polygon", [[0, 0], [1, 1]])


def test_a_new_password_keeps_the_camera_its_zones_and_counts(open_service):
    svc = open_service()
    cam = svc.add_camera("Gate", "rtsp://admin:old@127.0.0.1:9/live", enabled=False)
    z = svc.add_zone(cam.id, "gate", "line", [[0, 0.5], [1, 0.5]])
    count(svc, cam.id, z.id, 4)
    new = svc.update_camera(cam.id, source="rtsp://admin:n3w@127.0.0.1:9/live")
    assert new.id == cam.id and new.source == "rtsp://***@127.0.0.1:9/live"
    svc = open_service()
    assert by_name(svc, cam.id) == {"gate": 4}
    assert svc.runner(cam.id).source.endswith("n3w@127.0.0.1:9/live")
    assert "n3w" not in str(svc.camera(cam.id).to_dict())


def test_looks_never_reset_heat_and_settings_are_checked(open_service):
    svc = open_service()
    cam = svc.add_camera("Street", "demo", enabled=False)
    heat = svc.runner(cam.id).engine.heatmap
    heat.add(tracks_of((1, 50, 50), (2, 80, 60)), 0.0, (120, 160))
    before = heat.value.copy()
    svc.update_camera(cam.id, presentation={"opacity": 0.9, "colormap": "Inferno",
                                            "show_boxes": False})
    svc.update_camera(cam.id, settings={"half_life_s": 120})
    np.testing.assert_array_equal(svc.runner(cam.id).engine.heatmap.value, before)
    assert svc.camera(cam.id).presentation.opacity == 0.9
    assert svc.runner(cam.id).engine.heatmap.config.opacity == 0.9
    for bad, words in [({"imgsz": 333}, "imgsz use one of"), ({"conf": 2}, "conf must be"),
                       ({"colour": 1}, "unknown setting")]:
        with pytest.raises(DashboardError, match=words):
            svc.update_camera(cam.id, settings=bad)
    with pytest.raises(Conflict):
        svc.add_camera("street", "demo")
    for outside in ("/no/such/video.mp4", "/etc/passwd", "../dashboard.db", "/etc", "media"):
        with pytest.raises(DashboardError, match="There is no video") as err:
            svc.add_camera("Other", outside)
        assert "passwd" not in str(err.value) or outside == "/etc/passwd"
    with pytest.raises(DashboardError, match="rtsp://"):
        svc.add_camera("Other", "ftp://cam/live")


def test_stop_sticks_across_restarts_and_start_too(open_service):
    svc = open_service()
    cam = svc.add_camera("Street", "demo", {"imgsz": 320, "loop": True})
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.LIVE, 60)
    svc.stop(cam.id)
    assert svc.status(cam.id).state is CameraState.STOPPED
    svc = open_service()
    time.sleep(1)
    assert not svc.camera(cam.id).enabled and svc.status(cam.id).state is CameraState.STOPPED
    svc.start(cam.id)
    svc = open_service()
    assert svc.camera(cam.id).enabled
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.LIVE, 60)


def test_the_demo_is_made_once_with_its_zones_and_stays_removed(open_service):
    svc = open_service(demo=True, autostart=False)
    (demo,) = svc.cameras()
    assert demo.settings.loop and [z.name for z in svc.zones(demo.id)] == ["crossing",
                                                                          "shopfront"]
    line = svc.zones(demo.id)[0]
    assert line.points == ((0.5, 140 / 360), (0.5, 355 / 360))       # stored in 0..1
    svc.remove_camera(demo.id)
    svc = open_service(demo=True, autostart=False)
    assert svc.cameras() == []
    with pytest.raises(NotFound):
        svc.status(demo.id)


def test_a_file_camera_resumes_where_it_stopped_and_counts_no_frame_twice(open_service,
                                                                           tmp_path):
    clip = write_clip(tmp_path / "media" / "clip.mp4", seconds=8, seed=5)      # 120 frames
    svc = open_service()
    cam = svc.add_camera("Clip", "clip.mp4", {"imgsz": 320, "pacing": "native"})
    assert cam.source == "clip.mp4" and svc.runner(cam.id).source == str(clip.resolve())
    assert wait_until(lambda: svc.status(cam.id).frames_read >= 30, 60)
    svc.stop(cam.id)
    done = int(svc.store.meta(f"progress:{cam.id}"))
    assert 0 < done < 120
    svc.start(cam.id)
    svc.update_camera(cam.id, settings={"pacing": "fast"})          # restarts it, resumes
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 60)
    assert int(svc.store.meta(f"progress:{cam.id}")) == 120
    assert svc.status(cam.id).frames_read <= 120 - done + 1 + RESUME_WARMUP_FRAMES
    svc.start(cam.id)                                                # nothing left to count
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 30)
    assert "Reset" in svc.status(cam.id).detail


def test_the_demo_clip_is_made_once_when_many_ask_at_once(tmp_path):
    folder = tmp_path / "cache"
    code = ("import sys; from dashboard.demo.scene import demo_clip; "
            "print(demo_clip(sys.argv[1], seconds=2))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(folder)],
                              stdout=subprocess.PIPE, text=True) for _ in range(2)]
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(str(demo_clip(folder, seconds=2))))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    outs = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len(set(got + outs)) == 1
    assert [p.name for p in folder.iterdir() if p.suffix == ".mp4"] == [
        "demo_seed7_640x360_2s.mp4"]                                  # no partial left over


def test_uploads_are_named_by_content_kept_once_and_removed_when_unused(open_service):
    svc = open_service()
    data = (write_clip(svc.media / "x.mp4", seconds=1, seed=2)).read_bytes()
    first = svc.save_upload("../../etc/evil name\x00.mp4", data)
    assert svc.save_upload("other.mp4", data) == first                # one copy per content
    assert Path(first).parent == svc.media / "uploads" and "evil" not in first
    with pytest.raises(DashboardError, match="video file"):
        svc.save_upload("notes.txt", b"hello")
    cam = svc.add_camera("Upload", first, enabled=False)
    assert cam.source == "other.mp4 (uploaded)"                      # the name it came under
    assert svc.add_camera("Again", svc.save_upload("evil\u202egnp.mp4", data),
                          enabled=False).source == "other.mp4 (uploaded)"   # not a hidden one
    model = svc.save_model("my-detector.pt", b"weights")
    assert Path(model).parent == svc.models and Path(model).name != "my-detector.pt"
    svc.remove_camera(cam.id)
    assert Path(first).exists()                                      # "Again" uses it still
    svc.remove_camera(svc.cameras()[-1].id)
    assert not Path(first).exists() and not list((svc.media / "uploads").glob("*"))


def test_camera_urls_may_be_limited_to_known_hosts(open_service, monkeypatch):
    svc = open_service()
    monkeypatch.setenv("HEATMAP_DASHBOARD_CAMERA_HOSTS", "cam1.local")
    assert svc.add_camera("Ok", "rtsp://u:p@cam1.local/live", enabled=False)
    with pytest.raises(DashboardError, match="may only reach the camera hosts cam1.local"):
        svc.add_camera("Elsewhere", "http://169.254.169.254/latest/meta-data")


def test_class_groups_are_a_setting_given_as_json_or_text(open_service):
    svc = open_service()
    cam = svc.add_camera("Hall", "demo", {"class_groups": {"person": ["Normal", "Fall"]}},
                         enabled=False)
    assert cam.settings.groups == {"person": ["Normal", "Fall"]}
    assert cam.settings.to_dict()["class_groups"] == {"person": ["Normal", "Fall"]}
    cam = svc.update_camera(cam.id, settings={"class_groups": "people = Normal + Fall"})
    assert open_service().camera(cam.id).settings.groups == {"people": ["Normal", "Fall"]}
    for bad in ({"person": []}, "person Normal", {"person": "Normal"}):
        with pytest.raises(DashboardError, match="class_groups"):
            svc = open_service()
            svc.update_camera(cam.id, settings={"class_groups": bad})


def test_a_mask_is_a_zone_that_counts_nothing(open_service):
    svc = open_service()
    cam = svc.add_camera("Lawn", "demo", enabled=False)
    door = svc.add_zone(cam.id, "door", "line", [[0.5, 0.1], [0.5, 0.9]])
    mask = svc.add_zone(cam.id, "cloth", "mask", [[0, 0], [0.3, 0], [0.3, 0.3]])
    assert [z.kind.value for z in svc.zones(cam.id)] == ["line", "mask"]
    assert [f.id for f in svc.counts(cam.id)] == [door.id]
    runner = svc.runner(cam.id)
    assert [z.name for z in runner.engine.zones] == [door.id] and len(runner.engine.masks) == 1
    svc.delete_zone(cam.id, mask.id)
    assert runner.engine.masks == []
    with pytest.raises(DashboardError, match="'line', 'polygon' or 'mask'"):
        svc.add_zone(cam.id, "x", "circle", [[0, 0], [1, 1]])


def test_new_cameras_blur_what_the_server_asks_and_each_can_change_it(open_service, monkeypatch):
    svc = open_service()
    before = svc.add_camera("Before", "demo", enabled=False)
    monkeypatch.setenv("HEATMAP_DASHBOARD_BLUR", "person")
    after = svc.add_camera("After", "demo", enabled=False)
    assert before.presentation.blur is None and after.presentation.blur == ("person",)
    changed = svc.update_camera(after.id, presentation={"blur": None})
    assert changed.presentation.blur is None
    assert svc.add_camera("Own", "demo", presentation={"blur": ["car"]},
                          enabled=False).presentation.blur == ("car",)


def test_without_a_ray_address_nothing_of_ray_is_loaded(tmp_path):
    """In a fresh interpreter: the server's whole service, cameras running, and no Ray."""
    import subprocess
    import sys

    code = ("import sys, pathlib, tempfile; from dashboard.service.core import Service; "
            "from dashboard.store.sqlite import SQLiteStore; d = pathlib.Path(tempfile.mkdtemp()); "
            "s = Service(SQLiteStore(d / 'x.db'), d, demo=False); s.shutdown(); "
            "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))")
    env = {k: v for k, v in __import__("os").environ.items()
           if k != "HEATMAP_DASHBOARD_RAY_ADDRESS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "[]"
