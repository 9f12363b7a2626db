"""A browser's camera as a source: frames handed in by the page, read like a live camera's,
one browser at a time, waiting between visits; and as a camera of the service, whose frames
only an operator may send and which counts them as the CLI counts the same frames."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest

from support.camera_clip import CameraClip
from dashboard.service.auth import Role, User
from dashboard.errors import NotAllowed
from dashboard.cli import main as cli_main
from dashboard.config.kinds import CameraState
from dashboard.errors import DashboardError
from dashboard.vision import browser as browser_source
from dashboard.service.core import Service
from dashboard.vision.browser import BrowserSource, GONE, STOPPED, WAITING
from dashboard.vision.sources import open_source
from dashboard.store.sqlite import SQLiteStore
from support.helpers import wait_until

FRAME = np.zeros((90, 160, 3), np.uint8)


def browser(idle_s: float = 0.3) -> BrowserSource:
    src = open_source("browser")
    src.idle_s = idle_s
    return src


def test_it_waits_for_a_browser_goes_live_with_its_frames_and_waits_again_when_it_goes():
    src = browser()
    assert (src.status.state, src.status.last_error) == ("waiting", WAITING)
    assert src.read(timeout_s=0.05) is None
    src.push("tab-1", FRAME)
    frame = src.read(timeout_s=0.05)
    assert src.status.state == "live" and frame.image is FRAME and frame.index == 0
    assert src.read(timeout_s=0.05) is None            # each frame is handed out once
    time.sleep(0.35)
    assert src.read(timeout_s=0.05) is None
    assert (src.status.state, src.status.last_error) == ("waiting", GONE)
    src.push("tab-1", FRAME)
    assert src.read(timeout_s=0.05).index == 1 and src.status.state == "live"
    src.close()


def test_every_frame_is_read_in_order_unless_it_waited_past_the_backlog(monkeypatch):
    monkeypatch.setattr(browser_source, "BROWSER_BACKLOG_S", 0.2)
    src = browser()
    frames = [np.full((90, 160, 3), i, np.uint8) for i in range(4)]
    for f in frames[:3]:                      # the server was busy: they wait, in order
        src.push("tab-1", f)
    assert [int(src.read(timeout_s=0.05).image[0, 0, 0]) for _ in range(3)] == [0, 1, 2]
    src.push("tab-1", frames[0])
    time.sleep(0.3)
    src.push("tab-1", frames[3])              # the one before has waited too long
    assert src.read(timeout_s=0.05).image is frames[3]
    stats = src.stats
    assert (stats.frames_read, stats.frames_dropped) == (5, 1)
    src.close()


def test_one_browser_at_a_time_and_another_once_the_first_has_gone():
    src = browser()
    src.push("tab-1", FRAME)
    with pytest.raises(DashboardError, match="Another browser is sending"):
        src.push("tab-2", FRAME)
    time.sleep(0.35)                                    # the first one went quiet
    src.push("tab-2", FRAME)
    with pytest.raises(DashboardError, match="Another browser is sending"):
        src.push("tab-1", FRAME)
    src.close()


@pytest.mark.parametrize("img, words", [
    (np.zeros((90, 160), np.uint8), "colour picture"),
    (np.zeros((90, 160, 3), np.float32), "colour picture"),
    (np.zeros((2200, 4000, 3), np.uint8), "at most 3840x2160"),
])
def test_unfit_frames_are_refused_with_why(img, words):
    src = browser()
    with pytest.raises(DashboardError, match=words):
        src.push("tab-1", img)
    src.close()


def test_a_closed_source_takes_nothing_and_a_reader_gets_none():
    src = browser()
    src.close()
    assert src.status.state == "ended" and src.read(timeout_s=0.05) is None
    with pytest.raises(DashboardError, match="stopped"):
        src.push("tab-1", FRAME)


def test_a_browser_camera_cannot_be_read_in_batch_and_the_cli_says_so(tmp_path, caplog):
    with pytest.raises(DashboardError, match="only to the dashboard's camera page"):
        open_source("browser", live=False)
    assert cli_main(["process", "browser", "--out", str(tmp_path / "out")]) == 2
    assert "only to the dashboard's camera page" in caplog.text


@pytest.fixture
def service(tmp_path):
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False)
    yield svc
    svc.shutdown()


def test_frames_go_only_to_a_running_browser_camera_and_only_from_an_operator(service):
    cam = service.add_camera("Laptop", "browser", {"imgsz": 320}, enabled=False)
    assert cam.source == "browser" and cam.from_browser
    other = service.add_camera("Door", "demo", enabled=False)
    operator = service.as_user(User("olga", Role.OPERATOR))
    viewer = service.as_user(User("vic", Role.VIEWER))
    with pytest.raises(DashboardError, match=STOPPED):
        operator.push_frame(cam.id, "tab-1", FRAME)
    with pytest.raises(NotAllowed, match="push_frame needs the operator role"):
        viewer.push_frame(cam.id, "tab-1", FRAME)
    with pytest.raises(DashboardError, match="does not take pictures from a browser"):
        operator.push_frame(other.id, "tab-1", FRAME)
    with pytest.raises(DashboardError, match="no picture yet"):
        service.still(cam.id)
    operator.start(cam.id)
    assert wait_until(lambda: service.status(cam.id).state is CameraState.WAITING, 60)
    assert "Start my camera" in service.status(cam.id).detail
    # A refusal is audited; Start is; frames are not (many a second: see the slow test).
    assert [(a["user"], a["action"], a["ok"]) for a in reversed(service.audit_log())] == [
        ("vic", "push_frame", False), ("olga", "start", True)]


def push_all(svc, cid: str, frames: list[np.ndarray]) -> None:
    """Hand in the frames one by one, each once the one before was counted (none dropped,
    so the counts can be compared with a batch run's)."""
    for img in frames:
        before = svc.frame_index(cid)
        for _ in range(100):             # until the camera has left loading its model
            try:
                svc.push_frame(cid, "tab-1", img)
                break
            except DashboardError as e:
                assert "starting" in str(e)
                time.sleep(0.1)
        assert wait_until(lambda: svc.frame_index(cid) > before, 30, step=0.005)


@pytest.mark.slow
def test_pushed_frames_count_as_the_cli_counts_them_and_counts_are_kept_between_visits(
        service, tmp_path):
    clip = CameraClip.make(tmp_path, seconds=20)
    with open_source(clip.video, live=False) as src:
        frames = [f.image for f in iter(src.read, None)]
    line = [[320, 140], [320, 353]]
    zones = tmp_path / "zones.json"
    zones.write_text(json.dumps({"zones": [{"name": "gate", "type": "line", "points": line}]}))
    assert cli_main(["process", str(clip.video), "--zones", str(zones), "--out",
                     str(tmp_path / "cli"), "--imgsz", "320", "--no-video"]) == 0
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())["zones"]["gate"]
    assert cli["in"] + cli["out"] >= 4                  # the clip exercises the line

    cam = service.add_camera("Laptop", "browser", {"imgsz": 320})
    zone = service.add_zone(cam.id, "gate", "line", [[x / 640, y / 360] for x, y in line])
    operator = service.as_user(User("olga", Role.OPERATOR))
    push_all(operator, cam.id, frames)
    (got,) = service.counts(cam.id)
    assert (got.counts.in_count, got.counts.out_count) == (cli["in"], cli["out"])

    # The browser goes: the camera waits, counts kept; it comes back and goes on counting.
    assert wait_until(lambda: service.status(cam.id).state is CameraState.WAITING, 30)
    assert service.counts(cam.id)[0].counts.in_count == cli["in"]
    push_all(operator, cam.id, frames)
    (again,) = service.counts(cam.id)
    assert (again.counts.in_count, again.counts.out_count) == (2 * cli["in"], 2 * cli["out"])
    assert service.status(cam.id).state is CameraState.LIVE
    assert not [a for a in service.audit_log() if a["action"] == "push_frame"]
    stored = service.store.counts(cam.id)[zone.id]
    assert (stored.in_count, stored.out_count) == (2 * cli["in"], 2 * cli["out"])


def test_a_browser_lowering_its_resolution_is_counted_at_the_size_it_had():
    src = browser()
    big, small = np.zeros((360, 640, 3), np.uint8), np.zeros((180, 320, 3), np.uint8)
    src.push("tab-1", big)
    src.push("tab-1", small)                   # a busy browser sends less: scaled back up
    assert [src.read(timeout_s=0.05).image.shape for _ in range(2)] == [(360, 640, 3)] * 2
    src.push("tab-1", np.zeros((480, 640, 3), np.uint8))    # another shape: its own size
    assert src.read(timeout_s=0.05).image.shape == (480, 640, 3)
    src.push("tab-1", np.zeros((720, 960, 3), np.uint8))    # larger: the new size
    src.push("tab-1", np.zeros((240, 320, 3), np.uint8))
    assert [src.read(timeout_s=0.05).image.shape for _ in range(2)] == [(720, 960, 3)] * 2
    with pytest.raises(DashboardError, match="Another browser"):   # refused: sets nothing
        src.push("tab-2", np.zeros((1080, 1920, 3), np.uint8))
    src.push("tab-1", np.zeros((480, 640, 3), np.uint8))     # still scaled to 960x720
    assert src.read(timeout_s=0.05).image.shape == (720, 960, 3)
    src.close()


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """The server process's service over a temporary data directory, with an operator and
    a viewer logged in (real session tokens)."""
    from dashboard.service import core as service_module

    monkeypatch.setenv("HEATMAP_DASHBOARD_DATA", str(tmp_path))
    monkeypatch.setenv("HEATMAP_DASHBOARD_DEMO", "0")
    service_module.close_shared_service()     # a process service of this data directory
    svc = service_module.shared_service()
    svc.add_user("olga", "operator-pass-1", "operator")
    svc.add_user("vic", "viewer-pass-123", "viewer")
    yield svc, {u: svc.login(u, p, "test") for u, p in (("olga", "operator-pass-1"),
                                                         ("vic", "viewer-pass-123"))}
    service_module.close_shared_service()


def test_the_pages_sender_counts_only_for_a_logged_in_operator_and_says_why_not(
        shared, monkeypatch):
    from dashboard.web.ui import browser as page

    svc, tokens = shared
    cam = svc.add_camera("Laptop", "browser", {"imgsz": 320}, enabled=False)
    img = np.full((180, 320, 3), 90, np.uint8)

    def said(sender) -> bool:        # the frame came back with a message written on it
        return not np.array_equal(sender.picture([img]), img)

    assert said(page.Sender(None, cam.id))                           # nobody logged in
    assert said(page.Sender(tokens["vic"], cam.id))                  # a viewer
    operator = page.Sender(tokens["olga"], cam.id)
    assert said(operator)                                            # the camera is stopped
    svc.start(cam.id)
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.WAITING, 60)
    assert not said(operator)                        # taken: no overlay yet, the frame itself
    assert wait_until(lambda: svc.status(cam.id).state is CameraState.LIVE, 30)
    assert svc.status(cam.id).frames_read == 1
    svc.logout(tokens["olga"])
    assert said(operator) and svc.status(cam.id).frames_read == 1   # logged out: not taken
