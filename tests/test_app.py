"""Page logic with Streamlit's AppTest: the pages drive the shared service."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.service import core as service_module
from dashboard.config.kinds import CameraState
from dashboard.service.core import Service
from dashboard.store.sqlite import SQLiteStore
from dashboard.web.ui import common
from support.helpers import tracks_of, wait_until
from support.runners import StuckRunner, stuck

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "web" / "app.py")


@pytest.fixture
def svc(tmp_path, monkeypatch):
    """A fresh process service (with the demo camera) over a temporary data directory, and
    a browser that is logged in as its admin (a real session token; only reading the cookie
    is stood in for, since AppTest has no browser)."""
    monkeypatch.setenv("HEATMAP_DASHBOARD_DATA", str(tmp_path))
    monkeypatch.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "admin-pass-1234")
    service_module.close_shared_service()     # a process service of this data directory
    service = service_module.shared_service()
    token = service.login("admin", "admin-pass-1234", "apptest")
    monkeypatch.setattr(common, "cookie_token", lambda: token)
    yield service
    service_module.close_shared_service()


def run(at: AppTest) -> AppTest:
    at.run(timeout=60)
    assert not at.exception, at.exception
    return at


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click()
    return run(at)




def camera_page(svc) -> tuple[AppTest, str]:
    """The Camera page of the demo camera, reached from the overview's Open button."""
    at = run(AppTest.from_file(APP, default_timeout=60))
    cid = svc.cameras()[0].id
    return click(at, f"open-{cid}"), cid


def test_first_visit_shows_the_demo_on_the_overview(svc):
    at = run(AppTest.from_file(APP, default_timeout=60))
    (demo,) = svc.cameras()
    assert "**Demo street**" in [m.value for m in at.markdown]
    assert [z.name for z in svc.zones(demo.id)] == ["crossing", "shopfront"]
    assert wait_until(lambda: svc.status(demo.id).state is CameraState.LIVE, 60)
    assert any(b.key == f"open-{demo.id}" for b in at.button)


def test_stop_sticks_start_and_reset_from_the_camera_page(svc):
    at, cid = camera_page(svc)
    assert wait_until(lambda: svc.status(cid).state is CameraState.LIVE, 60)
    run(at)
    assert at.button(key="start").disabled and not at.button(key="stop").disabled
    click(at, "stop")
    assert svc.status(cid).state is CameraState.STOPPED and not svc.camera(cid).enabled
    assert not at.button(key="start").disabled and at.button(key="stop").disabled
    run(AppTest.from_file(APP, default_timeout=60))          # a new visitor: still stopped
    assert svc.status(cid).state is CameraState.STOPPED
    click(at, "start")
    assert svc.camera(cid).enabled
    zid = svc.zones(cid)[0].id
    svc.runner(cid).engine.zones[0].counts.in_count = 7      # as if counted already
    click(at, "reset")
    assert all(f.counts.in_count == 0 for f in svc.counts(cid)) and zid == svc.zones(cid)[0].id
    run(at)                                               # the archive is listed in Export
    assert "**Before each Reset** (archived, newest first)" in [m.value for m in at.markdown]


def test_zone_rows_rename_flip_and_delete_through_the_service(svc):
    at, cid = camera_page(svc)
    crossing, shopfront = svc.zones(cid)
    svc.runner(cid).engine.zones[0].counts.in_count = 7      # as if counted already
    at.text_input(key=f"name-{crossing.id}").set_value("road")
    run(at)
    assert svc.zones(cid)[0].name == "road" and svc.counts(cid)[0].counts.in_count == 7
    click(at, f"flip-{crossing.id}")
    assert svc.zones(cid)[0].points == crossing.points[::-1]
    click(at, f"del-{shopfront.id}")
    assert [z.name for z in svc.zones(cid)] == ["road"]
    at.text_input(key=f"name-{crossing.id}").set_value("")     # an empty name is ignored
    run(at)
    assert svc.zones(cid)[0].name == "road"


def test_the_junction_preset_and_the_flows_it_gives_on_the_camera_page(svc):
    import time

    from dashboard.engine.flows import Trip

    at, cid = camera_page(svc)
    click(at, "junction")                                    # the preset, from the zone editor
    zones = {z.name: z.id for z in svc.zones(cid)}
    assert {"north", "east", "south", "west"} <= set(zones)
    click(at, "junction")                                    # twice: refused, in words
    assert any("already" in e.value for e in at.error)
    now = time.time() - 60
    svc.store.add_events(cid, [                              # three left turns, two straight on
        *[Trip(i, "car", zones["north"], "in", now + i, zones["east"], "out", now + i + 4)
          for i in range(3)],
        *[Trip(10 + i, "truck", zones["south"], "in", now + i, zones["north"], "out",
               now + i + 6) for i in range(2)],
        Trip(20, "car", zones["west"], "in", now, None, None, now)])   # and one lost
    at.toggle(key=f"flows-{cid}").set_value(True)
    run(at)
    caption = next(c.value for c in at.caption if "trips" in c.value)
    assert caption.startswith("6 trips · 1 with an unknown destination")
    matrix = at.dataframe[-3].value                          # origins down, destinations across
    assert matrix.loc["north in", "east out"] == 3 and matrix.loc["south in", "north out"] == 2
    assert matrix.loc["west in", "unknown"] == 1
    turns = at.dataframe[-1].value
    assert sorted(zip(turns["approach"], turns["movement"], turns["count"])) == \
        [("north", "left", 3), ("south", "through", 2)]


def test_the_report_of_yesterday_beside_the_day_before_on_the_camera_page(svc):
    import datetime as dt

    from dashboard.config.env import time_zone
    from dashboard.engine.zones import CrossingEvent

    at, cid = camera_page(svc)
    crossing = svc.zones(cid)[0]
    tz = time_zone()
    yesterday = dt.datetime.now(tz).date() - dt.timedelta(days=1)
    noon = dt.datetime.combine(yesterday, dt.time(12), tz).timestamp()
    svc.store.add_events(cid, [CrossingEvent(noon + i, crossing.id, i, "person", "in")
                               for i in range(6)]
                         + [CrossingEvent(noon - 86400 + i, crossing.id, i, "person", "in")
                            for i in range(4)]
                         + [CrossingEvent(noon + 8 * 3600 + i, crossing.id, 50 + i, "person",
                                          "in") for i in range(2)])      # 20:00
    at.toggle(key=f"reports-{cid}").set_value(True)
    run(at)

    def door_row():
        table = next(d.value for d in at.dataframe if "in change" in d.value.columns)
        return table[table["zone"] == crossing.name].iloc[0]

    row = door_row()
    assert (row["in"], row["in before"], row["in change"]) == (8, 4, "+100.0%")
    assert any("compared with" in c.value for c in at.caption)
    at.select_slider(key=f"rep-hours-{cid}").set_value((9, 17))   # opening hours only
    run(at)
    row = door_row()
    assert (row["in"], row["in before"], row["in change"]) == (6, 4, "+50.0%")
    assert any("09:00-17:00, compared with" in c.value.replace("\\", "") for c in at.caption)


def test_looks_change_without_touching_heat(svc):
    at, cid = camera_page(svc)
    svc.stop(cid)                                  # so that only the page can touch heat
    heat = svc.runner(cid).engine.heatmap
    heat.add(tracks_of((1, 50, 50)), 0.0, (360, 640))
    before = heat.value.copy()
    at.slider(key=f"opacity-{cid}").set_value(0.9)
    run(at)
    assert svc.camera(cid).presentation.opacity == 0.9
    assert (svc.runner(cid).engine.heatmap.value == before).all()


def test_adding_a_camera_says_what_is_wrong_then_opens_it(svc, tmp_path):
    from dashboard.demo.scene import write_clip

    at = click(run(AppTest.from_file(APP, default_timeout=60)), "go-manage")
    at.text_input(key="add-name").set_value("Demo street")
    at.radio(key="add-source-kind").set_value("Video file on the server")
    run(at)
    at.text_input(key="add-path").set_value("/no/such/video.mp4")
    run(at)
    click(at, "add-camera")
    assert any("exists already" in e.value for e in at.error)
    at.text_input(key="add-name").set_value("Back door")
    click(at, "add-camera")
    assert any("There is no video" in e.value for e in at.error)
    write_clip(tmp_path / "media" / "door.mp4", seconds=2, seed=3)
    at.text_input(key="add-path").set_value("door.mp4")
    run(at)
    click(at, "add-camera")
    (door,) = [c for c in svc.cameras() if c.name == "Back door"]
    assert door.source == "door.mp4"
    assert at.query_params["camera"] == door.id
    assert "Back door" in [h.value for h in at.subheader]


@pytest.mark.parametrize("age_s, lands_on_camera", [(0.0, True), (common.OPENING_S + 5, False)])
def test_a_lost_switch_to_a_camera_is_made_again_soon_after_and_not_later(svc, age_s,
                                                                         lands_on_camera):
    """Streamlit may drop a switch_page for a rerun a part of the page asked for at the
    same moment: the next whole run (here: of the overview) makes the switch again, unless
    the operator has been elsewhere for a while since (they went there themselves)."""
    import time

    at = run(AppTest.from_file(APP, default_timeout=60))
    assert not at.subheader or "Demo street" not in [h.value for h in at.subheader]
    cid = svc.cameras()[0].id
    at.session_state[common.OPENING] = (cid, time.monotonic() - age_s)   # the lost switch
    run(at)
    on_camera = at.query_params.get("camera") == cid and \
        "Demo street" in [h.value for h in at.subheader]
    assert on_camera is lands_on_camera
    assert common.OPENING not in at.session_state      # arrived, or forgotten: once only
    run(at)
    assert ("Demo street" in [h.value for h in at.subheader]) is lands_on_camera


def test_a_failed_camera_shows_its_reason_in_words(svc):
    cam = svc.add_camera("Gate", "rtsp://admin:hunter2@127.0.0.1:9/cam", {"imgsz": 320})
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.FAILED, 60)
    at = run(AppTest.from_file(APP, default_timeout=60))
    click(at, f"open-{cam.id}")
    shown = " ".join(str(e.value) for e in [*at.error, *at.caption])
    assert "Cannot open" in shown and "hunter2" not in shown
    # shown as typed, masked (a word joiner after "@": no mail link is made of it)
    assert "rtsp\\:\\/\\/\\*\\*\\*@\u2060127\\.0\\.0\\.1" in shown


def test_the_pages_defaults_are_the_settings_own(svc):
    from dashboard.config.camera import DEFAULT_SETTINGS
    from dashboard.config.zone import CONFIRM_FRAMES, ZONE_ANCHOR

    d = DEFAULT_SETTINGS
    at = click(run(AppTest.from_file(APP, default_timeout=60)), "go-manage")
    assert at.select_slider(key="add-imgsz").value == d.imgsz
    assert at.slider(key="add-conf").value == pytest.approx(d.conf)
    assert at.selectbox(key="add-tracker").value == d.tracker
    assert at.selectbox(key="add-runtime").value == d.runtime
    assert at.selectbox(key="add-anchor").value == d.heat_anchor
    assert at.toggle(key="add-moving").value == d.heat_moving_only
    assert at.toggle(key="add-fade").value == (d.half_life_s is not None)
    at, _ = camera_page(svc)
    assert at.selectbox(key="zone_anchor").value == ZONE_ANCHOR
    assert at.number_input(key="zone_confirm").value == CONFIRM_FRAMES


def test_a_camera_that_does_not_answer_holds_no_visitors_overview(tmp_path, monkeypatch):
    """Two visitors open the Overview while one camera's runner does not answer: both pages
    are built while it is still stuck, its tile saying so, the other camera's as it is."""
    monkeypatch.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "admin-pass-1234")
    service = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False,
                      autostart=False, runner_type=StuckRunner)
    try:
        for name in ("Door", "Yard"):
            service.add_camera(name, "demo", enabled=False)
        token = service.login("admin", "admin-pass-1234", "apptest")
        monkeypatch.setattr(common, "shared_service", lambda: service)
        monkeypatch.setattr(common, "cookie_token", lambda: token)
        with stuck("Door", safety_s=90) as released:
            pages = [AppTest.from_file(APP, default_timeout=80) for _ in range(2)]
            for at in pages:
                run(at)
            assert not released.is_set()         # built while Door was still stuck
        for at in pages:
            states = [c.value for c in at.caption]
            assert any("not answering" in s and "no answer from its runner" in s
                       for s in states), states
            assert any(s.startswith(":gray[stopped") for s in states), states
    finally:
        service.shutdown()
        service.store.close()
