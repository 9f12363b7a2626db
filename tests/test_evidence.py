"""Evidence (pipeline/evidence.py, store/evidence.py): each crossing keeps a picture of what
crossed and the moment around it, blurred as the camera blurs, served by the API beside
the crossing; none where the camera keeps none; pruned by age and by a size cap."""
from __future__ import annotations

import asyncio

import cv2
import httpx
import numpy as np
import pytest

from dashboard.config.kinds import CameraState
from dashboard.demo.scene import write_clip
from dashboard.engine.zones import CrossingEvent
from dashboard.service.auth import Role, User
from dashboard.service.core import Service
from dashboard.store.sqlite import SQLiteStore
from dashboard.web.api.routes import create_app
from support.detectors import Walker
from support.helpers import wait_until

SYSTEM = User("system", Role.ADMIN)


@pytest.fixture
def counted(tmp_path, monkeypatch):
    """A function: a file camera (a walker crossing a line three times) counted to its
    end with these looks; returns (service, camera)."""
    monkeypatch.setenv("HEATMAP_DASHBOARD_MEDIA", str(tmp_path / "media"))
    write_clip(tmp_path / "media" / "door.mp4", seconds=3, width=320, height=180, fps=10, seed=3)
    made = []

    def run(**looks):
        svc = Service(SQLiteStore(tmp_path / f"db{len(made)}.sqlite"), tmp_path, demo=False,
                      detector=Walker.factory(steps=10))
        made.append(svc)
        admin = svc.as_user(SYSTEM)
        cam = admin.add_camera("Door", "door.mp4", {"pacing": "fast"}, looks, enabled=False)
        admin.add_zone(cam.id, "door", "line", [[0.5, 0.0], [0.5, 1.0]])
        admin.start(cam.id)
        assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 60)
        return svc, cam

    yield run
    for svc in made:
        svc.shutdown()
        svc.store.close()


def picture(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_each_crossing_keeps_what_crossed_and_the_moment_and_the_api_serves_them(counted):
    svc, cam = counted()
    events = svc.events(cam.id)
    assert len(events) == 3 and all(e["evidence"] for e in events)
    svc.add_user("vic", "viewer-pass-12", "viewer")
    token = svc.auth.login("vic", "viewer-pass-12", "test")
    e = events[0]
    q = f"zone={e['zone_id']}&track={e['track_id']}&t={e['t']}&direction={e['direction']}"
    nobody = f"zone={e['zone_id']}&track=999999&t={e['t']}&direction={e['direction']}"

    async def ask(*paths):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(svc)),
                                     base_url="http://127.0.0.1:8501",
                                     headers={"Authorization": f"Bearer {token}"}) as c:
            return [await c.get(f"/api/cameras/{cam.id}/{p}") for p in paths]

    crop, moment, listed, missing = asyncio.run(ask(
        f"evidence.jpg?{q}", f"evidence.jpg?{q}&kind=moment", "events",
        f"evidence.jpg?{nobody}"))
    what = picture(crop.content)
    # The walker's box (32 x 36 px) a fifth wider each way: what crossed, not the frame.
    assert crop.headers["content-type"] == "image/jpeg" and what.shape[:2] == (52, 46)
    frames = picture(moment.content)
    assert frames.shape[1] == 240 and frames.shape[0] == 5 * 135      # five frames, stacked
    assert [x["evidence"] for x in listed.json()] == [True] * 3
    assert missing.status_code == 404 and "No picture" in missing.json()["error"]


def test_a_blurred_class_is_blurred_in_its_picture_and_a_camera_may_keep_none(counted):
    plain_svc, plain = counted()
    blur_svc, blurred = counted(blur=["person"])
    none_svc, none = counted(evidence_days=0)

    def crop(svc, cam):
        e = svc.events(cam.id)[0]
        return picture(svc.evidence(cam.id, e["zone_id"], e["track_id"], e["t"],
                                    e["direction"])[0]).astype(int)

    again_svc, again = counted()
    same = np.abs(crop(plain_svc, plain) - crop(again_svc, again)).mean()
    changed = np.abs(crop(plain_svc, plain) - crop(blur_svc, blurred)).mean()
    assert same < 1.0 and changed > 3.0        # the same picture each run, unless blurred
    assert len(none_svc.events(none.id)) == 3 and not any(
        e["evidence"] for e in none_svc.events(none.id))


def test_pictures_go_after_their_days_and_past_the_size_cap(tmp_path):
    store = SQLiteStore(tmp_path / "db.sqlite")
    rows = [(CrossingEvent(float(t), "door", t, "person", "in"), b"x" * 1000, b"y" * 1000)
            for t in range(100, 110)]
    store.save_evidence("cam", rows)
    assert store.prune_evidence("cam", older_than=103.0, most_bytes=10**9) == 3
    assert store.prune_evidence("cam", older_than=0.0, most_bytes=4000) == 5   # 2 left
    assert len(store.with_evidence("cam", [e for e, _, _ in rows])) == 2


@pytest.mark.parametrize("frames, at, shades", [
    (7, 3, [1, 2, 3, 4, 5]),       # two before, the crossing's, two after
    (6, 0, [0, 1, 2, 3, 4]),       # at the first frame: none before, four after
    (4, 1, [0, 1, 2, 3]),          # one before, the run ends two frames after
])
def test_the_moment_is_the_frames_around_the_crossing_in_order(frames, at, shades):
    """Frames painted 0, 1, 2, ... (x40 grey): the moment stacks five frames around the
    crossing (two before where there are), top to bottom; fewer where the run ended."""
    from dashboard.engine import Tracks
    from dashboard.pipeline.evidence import MOMENT_PX, Evidence

    kept = []
    ev = Evidence(kept.extend)
    t = Tracks([[300, 100, 340, 200]], [4], [0], [.9], {0: "person"})
    for k in range(frames):
        crossing = [CrossingEvent(float(k), "z", 4, "person", "in")] if k == at else []
        ev.frame(np.full((360, 640, 3), 40 * k, np.uint8), t, crossing, ())
    ev.flush()
    (event, crop, moment), = kept
    img = cv2.imdecode(np.frombuffer(moment, np.uint8), cv2.IMREAD_GRAYSCALE)
    rows = MOMENT_PX * 360 // 640
    assert img.shape == (rows * len(shades), MOMENT_PX)
    assert [round(float(img[i * rows + rows // 2].mean()) / 40) for i in range(len(shades))] \
        == shades
