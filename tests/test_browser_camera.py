"""The operator's own camera, through the browser: real headless Chromium with a fake camera
playing a generated clip (`camera_clip`), real WebRTC to the real server.

The operator adds a camera whose source is "This browser's camera", starts their camera on
its page, draws a counting line on the picture it sent, and one whole pass of the clip is
counted as the clip's ground truth says, and as closely as the CLI counts the same clip. They
leave (the camera waits, counts kept) and come back: counting goes on from the kept counts
(that a camera counts right again after a wait is `test_browser_source`'s, without a browser).
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from support.camera_clip import CameraClip, read_stamp
from dashboard.cli import main as cli_main
from dashboard.engine import LineZone
from support.helpers import wait_until
from support.server import CHROMIUM, CHROMIUM_ARGS, DashboardServer, log_in
from support.browser import ZONE_CANVAS, draw_line, no_traceback, settled, shot

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return CameraClip.make(tmp_path_factory.mktemp("camera"), seconds=25)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-camera")
    srv = DashboardServer(root / "data", demo=False,
                          HEATMAP_DASHBOARD_CACHE=str(root / "cache")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def page(server, clip):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            *CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={clip.y4m}"])
        context = browser.new_context(permissions=["camera"],
                                      viewport={"width": 1280, "height": 1100})
        page = context.new_page()
        log_in(page, server.url)
        yield page
        browser.close()


def start_camera(page, camera: "Camera") -> None:
    """Press the view's own Start (inside the WebRTC component's frame) until the server
    gets pictures: a connection that never carries any (seen once in ten CI runs, cause not
    known) is stopped and started again, as a person would."""
    view = page.frame_locator('iframe[src*="streamlit_webrtc"]')
    for _ in range(3):
        view.get_by_role("button", name="Start my camera").click(timeout=120_000)
        view.get_by_role("button", name="Stop my camera").wait_for(timeout=60_000)
        if wait_until(lambda: camera.state() == "live", 45, 0.5):
            return
        view.get_by_role("button", name="Stop my camera").click(timeout=30_000)
    raise AssertionError("the browser's camera never reached the server")


class Camera:
    """What the server shows of one camera, read through its API."""

    def __init__(self, server: DashboardServer, cid: str, clip: CameraClip) -> None:
        self.server, self.base, self.clip = server, f"/api/cameras/{cid}", clip

    def state(self) -> str:
        return self.server.get(self.base)[1]["status"]["state"]

    def counts(self) -> tuple[int, int]:
        (z,) = self.server.get(f"{self.base}/counts")[1]["zones"]
        return z["in"], z["out"]

    def frame(self) -> int | None:
        """Which frame of the clip the camera counted last (the stamp in its picture)."""
        status, jpeg = self.server.get(f"{self.base}/frame.jpg")
        if status != 200:
            return None
        return read_stamp(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR))

    def quiet(self) -> tuple[int, int] | None:
        """The counts while the clip's empty street shows (between two passes of the scene,
        when they cannot change); None while the scene plays."""
        before = self.frame()
        counts = self.counts()
        after = self.frame()
        if None in (before, after) or before in self.clip.scene or after in self.clip.scene:
            return None
        if (before < self.clip.scene.start) != (after < self.clip.scene.start):
            return None        # the clip looped between the two reads: still quiet, re-read
        return counts

    def one_pass(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """The counts before and after one whole pass of the scene: at a quiet point, then
        the scene seen playing, then at the next quiet point."""
        first: list = []
        assert wait_until(lambda: first.append(self.quiet()) or first[-1] is not None, 120,
                          0.3), "the empty street never showed"
        assert wait_until(lambda: self.frame() in self.clip.scene, 60, 0.3)
        last: list = []
        assert wait_until(lambda: last.append(self.quiet()) or last[-1] is not None, 120, 0.3)
        return first[-1], last[-1]


def added(before: tuple[int, int], after: tuple[int, int]) -> tuple[int, int]:
    return after[0] - before[0], after[1] - before[1]


def test_the_browsers_camera_counts_a_drawn_line_like_the_truth_and_the_cli(
        server, page, clip, tmp_path):
    page.goto(server.url + "/cameras")
    page.locator(".st-key-add-name input").fill("My laptop")
    page.locator(".st-key-add-source-kind").get_by_text("This browser's camera").click()
    page.get_by_text("sent while the page is open").wait_for(timeout=30_000)
    page.locator(".st-key-add-imgsz").get_by_role("slider").focus()
    page.keyboard.press("Home")                      # image size 320, as the CLI below
    settled(page)
    page.get_by_role("button", name="Add camera").click()
    page.get_by_role("heading", name="My laptop").wait_for(timeout=120_000)   # busy CI
    (cam,) = server.get("/api/cameras")[1]
    assert (cam["source"], cam["settings"]["imgsz"]) == ("browser", 320)
    camera = Camera(server, cam["id"], clip)
    assert wait_until(lambda: camera.state() == "waiting", 120, 0.5)
    page.get_by_text("no browser is sending its camera").first.wait_for(timeout=30_000)

    start_camera(page, camera)
    assert wait_until(lambda: camera.frame() is not None, 60, 0.5)   # its picture is the clip
    canvas, again = page.locator(ZONE_CANVAS), page.get_by_role("button",
                                                                          name="Try again")
    for _ in range(40):       # the picture to draw on, once the camera has sent one (a rerun
        if canvas.count():    # of the page may have brought it already)
            break
        if again.count():
            try:
                again.click(timeout=5_000)
            except Exception:  # noqa: BLE001 - playwright's Error: gone in a rerun
                pass
        page.wait_for_timeout(1500)
    x, y0, y1 = draw_line(page, 0.5, 0.39, 0.98)
    page.get_by_label("Zone name").fill("gate")
    page.get_by_role("button", name="Add zone").click()
    page.locator('[data-testid="stTable"]').get_by_text("gate").wait_for(timeout=60_000)
    (zone,) = server.get(f"{camera.base}/zones")[1]
    points = [(px * 640, py * 360) for px, py in zone["points"]]

    truth = clip.truth(LineZone("gate", *points))
    zones = tmp_path / "zones.json"
    zones.write_text(json.dumps({"zones": [{"name": "gate", "type": "line",
                                            "points": [list(p) for p in points]}]}))
    assert cli_main(["process", str(clip.video), "--zones", str(zones), "--out",
                     str(tmp_path / "cli"), "--imgsz", "320", "--no-video"]) == 0
    cli = json.loads((tmp_path / "cli" / "summary.json").read_text())["zones"]["gate"]
    cli = cli["in"], cli["out"]
    assert sum(truth) >= 6                               # the clip exercises the line

    def frames() -> tuple[int, int]:
        status = server.get(camera.base)[1]["status"]
        return status["frames_read"], status["frames_dropped"]

    # A pass counted with frames dropped (a machine too busy to take every frame a live
    # camera sends, which the page says in red) may miss crossings: another pass is
    # watched, up to three. A pass with every frame taken must count as well as the CLI.
    for attempt in range(3):
        (read0, dropped0) = frames()
        start, end = camera.one_pass()
        (read1, dropped1) = frames()
        got = added(start, end)
        lost = (dropped1 - dropped0) / max(1, read1 - read0)
        print(f"pass {attempt + 1}: browser {got}, CLI {cli}, truth {truth}; "
              f"{lost:.0%} of its frames dropped")
        if all(abs(ours - true) <= abs(batch - true)
               for ours, batch, true in zip(got, cli, truth)):
            break
        assert lost > 0.05, "every frame was taken, and the counts are off"
    else:
        raise AssertionError("three passes, each with frames dropped: too busy to compare")
    shot(page, tmp_path, "browser-camera")
    no_traceback(page)

    # The operator leaves: the camera waits with its counts; back, it goes on from them.
    page.goto(server.url + "/")
    assert wait_until(lambda: camera.state() == "waiting", 60, 0.5)
    kept = camera.counts()
    assert kept[0] >= end[0] and kept[1] >= end[1]
    page.goto(f"{server.url}/camera?camera={cam['id']}")
    page.get_by_text("the browser stopped sending").first.wait_for(timeout=60_000)
    assert camera.counts() == kept
    start_camera(page, camera)
    seen: list = []                  # counting goes on from the kept counts, never below
    assert wait_until(lambda: seen.append(camera.counts()) or sum(seen[-1]) > sum(kept), 120,
                      0.5)
    assert all(c[0] >= kept[0] and c[1] >= kept[1] for c in seen)
    no_traceback(page)
