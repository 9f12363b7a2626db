"""Flows (dashboard/engine/flows.py, service/flows.py): where each object went between the
zones. Tables of hand-made tracks for the rules (joining after an occlusion, unknown
destinations, the picture's edge), the turning movements against the junction generator's
own routes, and the generated junction counted exactly, every cell, from the engine to the
store, the API and its CSV."""
from __future__ import annotations

import csv
import io
from collections import Counter

import cv2
import httpx
import numpy as np
import pytest

from dashboard.config.kinds import CameraState
from dashboard.config.zone import junction_specs
from dashboard.demo.junction import ARMS, TURNS, Junction, as_tracked, exit_arm
from dashboard.engine import Engine, LineZone, Tracks, movement
from dashboard.engine.flows import FlowTracker
from dashboard.errors import DashboardError
from dashboard.service.auth import Role, User
from dashboard.service.core import Service
from dashboard.store.sqlite import SQLiteStore
from dashboard.web.api.routes import create_app
from support.camera_clip import stamp
from support.detectors import Replay
from support.helpers import tracks_of, wait_until

SYSTEM = User("system", Role.ADMIN)
HERE = "http://127.0.0.1:8501"


def zones() -> list:
    """West (IN rightwards) and east (IN leftwards) lines on a 100x100 picture."""
    return [LineZone("west", (20, 100), (20, 0), confirm_frames=1),
            LineZone("east", (80, 0), (80, 100), confirm_frames=1)]


def walk(tid, xs, y=50, cls=0, start=0):
    """{frame: (id, x, y, cls)} for a track at these x, one frame each from `start`."""
    return {start + i: (tid, x, y, cls) for i, x in enumerate(xs)}


def trips_of(*walks, frames=None, gap=None):
    """(origin, direction, destination, direction, class, joined) of every trip the engine
    makes from these walks (10 frames a second), after the last frame and 3 s more."""
    engine = Engine(zones=zones())
    if gap is not None:
        engine.flows = FlowTracker(join_gap_s=gap)
    last = max(k for w in walks for k in w)
    img = np.zeros((100, 100, 3), np.uint8)
    trips = []
    for i in range(last + 31):
        items = [w[i] for w in walks if i in w]
        trips += engine.update(img, tracks_of(*items), i / 10, draw=False).trips
    return sorted((t.origin, t.origin_dir, t.destination, t.destination_dir, t.cls_name,
                   t.joined) for t in trips)


THROUGH = ("west", "in", "east", "out", "person", 0)
STEPS = list(range(10, 42, 2))          # x 10..40, 2 px a frame
AFTER = list(range(62, 92, 2))          # where it is found after 1 s: x 62..90


@pytest.mark.parametrize("walks, expected", [
    # one walks across: from the west line to the east line
    ([walk(1, range(10, 92, 4))], [THROUGH]),
    # crosses one line and vanishes in the middle: its destination is unknown, not dropped
    ([walk(1, range(10, 50, 4))], [("west", "in", None, None, "person", 0)]),
    # hidden for 1 s, found under a new id where it was heading: one trip, joined
    ([walk(1, STEPS), walk(2, AFTER, start=26)], [(*THROUGH[:5], 1)]),
    # the tracker switches ids in one frame: joined as well
    ([walk(1, STEPS), walk(2, range(42, 92, 2), start=16)], [(*THROUGH[:5], 1)]),
    # hidden for 3 s (past JOIN_GAP_S): two trips, each with one end unknown
    ([walk(1, STEPS), walk(2, AFTER, start=46)],
     [("east", "out", None, None, "person", 0), ("west", "in", None, None, "person", 0)]),
    # found as another class: someone else
    ([walk(1, STEPS), walk(2, AFTER, start=26, cls=1)],
     [("east", "out", None, None, "car", 0), ("west", "in", None, None, "person", 0)]),
    # found far from where it was heading: someone else
    ([walk(1, STEPS), walk(2, AFTER, y=85, start=26)],
     [("east", "out", None, None, "person", 0), ("west", "in", None, None, "person", 0)]),
    # leaves at the right edge, and a newcomer comes in there at once: never joined
    ([walk(1, range(10, 100, 4)), walk(2, range(96, 0, -4), start=23)],
     [("east", "in", "west", "out", "person", 0), THROUGH]),
    # two pass each other on the same row
    ([walk(1, range(10, 92, 4)), walk(2, range(90, 8, -4))],
     [("east", "in", "west", "out", "person", 0), THROUGH]),
    # goes in, turns back, leaves the way it came
    ([walk(1, [*range(10, 40, 4), *range(40, 4, -4)])],
     [("west", "in", "west", "out", "person", 0)]),
])
def test_a_trip_goes_from_its_first_crossing_to_its_last(walks, expected):
    assert trips_of(*walks) == expected


def test_without_joining_an_occlusion_splits_the_trip():
    hidden = [walk(1, STEPS), walk(2, AFTER, start=26)]
    assert trips_of(*hidden) == [(*THROUGH[:5], 1)]
    assert len(trips_of(*hidden, gap=0.0)) == 2                 # the rule is what joins it


@pytest.mark.parametrize("entry, leave, expected", [
    ("north", "south", "through"), ("north", "east", "left"), ("north", "west", "right"),
    ("south", "east", "right"), ("south", "west", "left"), ("east", "west", "through"),
    ("east", "north", "right"), ("west", "north", "left"), ("west", "west", "u-turn"),
])
def test_turning_movements_from_the_approach_lines(entry, leave, expected):
    lines = {z.name: z.to_zone(1000, 1000).in_direction() for z in junction_specs()}
    assert movement(lines[entry], lines[leave]) == expected


@pytest.mark.parametrize("turn", list(TURNS))
def test_the_generators_turns_are_the_movements_counted(turn):
    lines = {z.name: z.to_zone(1000, 1000).in_direction() for z in junction_specs()}
    for arm in ARMS:
        assert movement(lines[arm], lines[exit_arm(arm, turn)]) == turn


# -- the generated junction ----------------------------------------------------------------
def replayed(junction: Junction, seconds: float) -> tuple[list, list[Tracks]]:
    """The clip's frames and, per frame, the tracks a tracker would give (`as_tracked`)."""
    frames, per_frame, splits = [], [], 0
    for img, tracks, splits in as_tracked(junction.frames(seconds)):
        frames.append(img)
        per_frame.append(tracks)
    assert splits >= 3, "the bridge should hide some vehicles"
    return frames, per_frame


def truth_cells(junction: Junction) -> Counter:
    return Counter((r["origin"], r["destination"], r["class"]) for r in junction.routes)


@pytest.mark.slow   # the camera test below checks every cell of one junction in the fast run
@pytest.mark.parametrize("seed", [3, 5])
def test_the_engine_counts_every_flow_of_the_generated_junction(seed):
    junction = Junction(seed=seed)
    frames, per_frame = replayed(junction, 90)
    specs = junction_specs()
    engine = Engine(zones=[z.to_zone(junction.w, junction.h) for z in specs])
    names = {z.id: z.name for z in specs}
    trips = []
    for i, (img, tracks) in enumerate(zip(frames, per_frame)):
        trips += engine.update(img, tracks, i / junction.fps, draw=False).trips
    trips += engine.flows.close()
    got = Counter((names[t.origin], names.get(t.destination or ""), t.cls_name) for t in trips)
    assert len(junction.routes) >= 20
    assert got == truth_cells(junction)                         # every cell, exactly
    assert {t.origin_dir for t in trips} == {"in"} and {t.destination_dir for t in trips} == {"out"}


@pytest.fixture(scope="module")
def junction_camera(tmp_path_factory):
    """A service whose file camera counted a generated junction (48 s, stamped frames,
    tracks replayed from its truth) to the end over the junction preset."""
    with pytest.MonkeyPatch.context() as mp:
        yield from counted_junction(tmp_path_factory.mktemp("junction"), mp)


def counted_junction(tmp_path, monkeypatch):
    monkeypatch.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "first-admin-pass")
    monkeypatch.setenv("HEATMAP_DASHBOARD_MEDIA", str(tmp_path / "media"))
    junction = Junction(seed=10)          # 16 vehicles, every movement, 8 found again
    frames, per_frame = replayed(junction, 48)
    (tmp_path / "media").mkdir()
    writer = cv2.VideoWriter(str(tmp_path / "media" / "junction.avi"),
                             cv2.VideoWriter_fourcc(*"MJPG"), junction.fps,
                             (junction.w, junction.h))
    for i, img in enumerate(frames):
        stamp(img, i)
        writer.write(img)
    writer.release()
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False,
                  detector=Replay.factory(per_frame))
    admin = svc.as_user(SYSTEM)
    cam = admin.add_camera("Crossroads", "junction.avi", {"pacing": "fast"}, enabled=False)
    admin.add_junction(cam.id)
    admin.start(cam.id)
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.ENDED, 120), \
        svc.status(cam.id)
    yield svc, admin, cam, junction
    svc.shutdown()
    svc.store.close()


def test_a_camera_stores_the_junctions_flows_and_turns_exactly(junction_camera):
    svc, admin, cam, junction = junction_camera
    flows = admin.flows(cam.id)
    got = Counter()
    for c in flows["cells"]:
        got[(c["origin"], c["destination"], c["class"])] += c["count"]
        assert c["median_s"] is not None and 0 < c["median_s"] <= c["p90_s"]
    assert got == truth_cells(junction) and flows["unknown"] == 0
    assert flows["joined"] >= 1                                  # some came out from under the bridge
    turns = Counter()
    for r in admin.turns(cam.id):
        turns[(r["approach"], r["movement"], r["class"])] += r["count"]
    assert turns == Counter((r["origin"], r["movement"], r["class"]) for r in junction.routes)
    with pytest.raises(DashboardError, match="empty"):
        admin.flows(cam.id, since=200.0, until=100.0)


def test_the_api_gives_flows_turns_their_csv_and_the_diagram(junction_camera):
    svc, admin, cam, junction = junction_camera
    admin.add_user("vic", "viewer-pass-12", "viewer")
    token = svc.auth.login("vic", "viewer-pass-12", "test")

    async def ask():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(svc)),
                                     base_url=HERE,
                                     headers={"Authorization": f"Bearer {token}"}) as c:
            base = f"/api/cameras/{cam.id}"
            return (await c.get(f"{base}/flows"), await c.get(f"{base}/turns.csv"),
                    await c.get(f"{base}/flows.csv?interval=hour"),
                    await c.get(f"{base}/flows.png"), await c.post(f"{base}/zones/junction"),
                    await c.get(f"{base}/flows?since=10&until=5"))

    flows, turns_csv, flows_csv, png, preset, empty = asyncio_run(ask())
    assert flows.status_code == 200 and sum(c["count"] for c in flows.json()["cells"]) \
        == len(junction.routes)
    rows = list(csv.DictReader(io.StringIO(turns_csv.text)))
    assert sum(int(r["count"]) for r in rows) == len(junction.routes)
    assert {r["movement"] for r in rows} <= set(TURNS)
    rows = list(csv.DictReader(io.StringIO(flows_csv.text)))
    assert sum(int(r["count"]) for r in rows) == len(junction.routes)
    assert rows[0]["interval_start"][14:16] == "00"               # hours start on the hour
    assert png.headers["content-type"] == "image/png"
    assert cv2.imdecode(np.frombuffer(png.content, np.uint8), cv2.IMREAD_COLOR).shape[:2] \
        == (junction.h, junction.w)
    assert preset.status_code == 403                             # a viewer adds no zones
    assert empty.status_code == 400 and "empty" in empty.json()["error"]


def asyncio_run(coro):
    import asyncio

    return asyncio.run(coro)
