"""The HTTP API against a real server on loopback, called with a real HTTP client."""
from __future__ import annotations

import csv
import json
import socket
import time

import pytest

from dashboard.cli import main as cli_main
from dashboard.demo.scene import write_clip
from support.helpers import wait_until
from support.server import DashboardServer

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)


ZONES_PX = [{"name": "crossing", "type": "line", "points": [[320, 140], [320, 355]]},
            {"name": "shopfront", "type": "polygon",
             "points": [[220, 95], [420, 95], [420, 182], [220, 182]]}]


def unit(points):
    return [[x / 640, y / 360] for x, y in points]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = DashboardServer(tmp_path_factory.mktemp("api-data"), demo=False).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clip(srv):
    """A clip in the server's media folder, the only place it reads videos from."""
    return write_clip(srv.data / "media" / "clip.mp4", seconds=20, seed=11)


def state(srv, cid):
    return srv.get(f"/api/cameras/{cid}")[1]["status"]["state"]


def test_health_and_errors_are_json_with_the_right_status(srv):
    assert srv.get("/api/health") == (200, {"status": "ok", "store": "ok", "integrations": "ok",
                                            "cameras": 0, "live": 0})
    status, body = srv.get("/api/cameras/cam_nope")
    assert status == 404 and "no camera" in body["error"]
    status, body = srv.request("POST", "/api/cameras", headers={"Content-Type": "text/plain"})
    assert status == 400 and "name" in body["error"]
    raw = srv.request("POST", "/api/cameras", body=None)
    assert raw[0] == 400
    status, body = srv.post("/api/cameras", {"name": "x", "source": "demo", "colour": 1})
    assert status == 400 and "Unknown field colour" in body["error"]
    status, body = srv.post("/api/cameras", {"name": "x", "source": "ftp://cam/live"})
    assert status == 400 and "rtsp://" in body["error"]
    status, body = srv.post("/api/cameras", {"name": "x", "source": "demo",
                                             "settings": {"imgsz": 100}})
    assert status == 400 and "imgsz" in body["error"]
    answers = set()
    for path in ("/etc/passwd", "../dashboard.db", "/no/such.mp4", "/etc", "dashboard.db"):
        status, body = srv.post("/api/cameras", {"name": "x", "source": path})
        assert status == 400
        answers.add(body["error"].split("'")[0] + body["error"].split("'")[-1])
    assert len(answers) == 1 and "There is no video" in answers.pop()   # one text for all


def test_a_file_camera_counts_every_frame_like_the_cli_and_keeps_counts_over_a_restart(
        srv, clip, tmp_path):
    status, cam = srv.post("/api/cameras", {
        "name": "Clip", "source": clip.name, "enabled": False,
        "settings": {"imgsz": 320, "pacing": "fast"}})
    assert status == 201 and cam["id"].startswith("cam_") and cam["zones"] == []
    assert cam["source"] == "clip.mp4"                         # not its path on the server
    cid = cam["id"]
    assert srv.post("/api/cameras", {"name": "clip", "source": "demo"})[0] == 409
    ids = {}
    for z in ZONES_PX:
        status, made = srv.post(f"/api/cameras/{cid}/zones",
                                {"name": z["name"], "type": z["type"], "points": unit(z["points"])})
        assert status == 201, made
        ids[z["name"]] = made["id"]
    assert srv.post(f"/api/cameras/{cid}/start")[1]["enabled"] is True
    assert wait_until(lambda: state(srv, cid) == "ended", 180), srv.get(f"/api/cameras/{cid}")

    zones_file = tmp_path / "zones.json"
    zones_file.write_text(json.dumps({"zones": ZONES_PX}))
    assert cli_main(["process", str(clip), "--zones", str(zones_file), "--out",
                     str(tmp_path / "out"), "--imgsz", "320", "--no-video"]) == 0
    cli = json.loads((tmp_path / "out" / "summary.json").read_text())["zones"]
    counts = {z["name"]: z for z in srv.get(f"/api/cameras/{cid}/counts")[1]["zones"]}
    assert sum(c["in"] + c["out"] for c in cli.values()) >= 8       # the clip exercises them
    for name in ids:
        assert (counts[name]["in"], counts[name]["out"]) == (cli[name]["in"], cli[name]["out"])
        assert counts[name]["id"] == ids[name]
        assert counts[name]["per_class"] == cli[name]["per_class"]

    events = srv.get(f"/api/cameras/{cid}/events?limit=1000")[1]
    assert len(events) == sum(c["in"] + c["out"] for c in cli.values())
    # Each crossing at the video's time, as the CLI dates it (from the file's start), not
    # when this busy machine got to it.
    with open(tmp_path / "out" / "events.csv") as f:
        cli_events = [(float(r["t"]), r["zone"], r["class"], r["direction"])
                      for r in csv.DictReader(f)]
    names = {v: k for k, v in ids.items()}
    ours = [(e["t"], names[e["zone_id"]], e["class"], e["direction"]) for e in events]
    ours, cli_events = sorted(ours), sorted(cli_events)
    shift = ours[0][0] - cli_events[0][0]        # when the file's frame 0 happened
    assert [rest for _, *rest in ours] == [rest for _, *rest in cli_events]
    assert max(abs(a[0] - shift - b[0]) for a, b in zip(ours, cli_events)) < 1e-3
    assert {e["zone_id"] for e in events} <= set(ids.values())
    since = events[len(events) // 2]["t"]
    later = srv.get(f"/api/cameras/{cid}/events?since={since}&limit=1000")[1]
    assert later == [e for e in events if e["t"] >= since]
    assert srv.get(f"/api/cameras/{cid}/events?since=yesterday")[0] == 400
    series = srv.get(f"/api/cameras/{cid}/series?interval=hour")[1]
    assert sum(r["in"] + r["out"] for r in series) == len(events)

    srv.restart()
    again = {z["name"]: z for z in srv.get(f"/api/cameras/{cid}/counts")[1]["zones"]}
    kept = ("id", "in", "out", "per_class")          # occupancy is "inside now": not kept
    assert {n: [z[k] for k in kept] for n, z in again.items()} == \
        {n: [z[k] for k in kept] for n, z in counts.items()}
    assert wait_until(lambda: state(srv, cid) == "ended", 30)   # counted already: no replay
    assert "Reset" in srv.get(f"/api/cameras/{cid}")[1]["status"]["detail"]
    csv_status, exported = srv.get(f"/api/cameras/{cid}/events.csv")
    assert csv_status == 200 and exported.decode().count("\n") == len(events) + 1


def test_zones_rename_flip_delete_and_readd_over_http(srv):
    status, cam = srv.post("/api/cameras", {"name": "Zones", "source": "demo",
                                            "enabled": False})
    cid = cam["id"]
    base = f"/api/cameras/{cid}/zones"
    status, z = srv.post(base, {"name": "kerb", "type": "line",
                                "points": [[0.1, 0.5], [0.9, 0.5]]})
    assert status == 201
    status, renamed = srv.patch(f"{base}/{z['id']}", {"name": "edge", "confirm_frames": 3})
    assert status == 200 and renamed["id"] == z["id"] and renamed["confirm_frames"] == 3
    assert srv.post(f"{base}/{z['id']}/flip")[1]["points"] == [[0.9, 0.5], [0.1, 0.5]]
    assert srv.patch(f"{base}/{z['id']}", {"points": [[0, 0]]})[0] == 400
    assert srv.post(base, {"name": "Edge", "type": "line", "points": [[0, 0], [1, 1]]})[0] == 409
    assert srv.delete(f"{base}/{z['id']}")[0] == 204
    assert srv.get(f"{base}/{z['id']}")[0] == 404
    status, again = srv.post(base, {"name": "edge", "type": "line",
                                    "points": [[0.1, 0.5], [0.9, 0.5]]})
    assert again["id"] != z["id"]
    assert srv.get(f"/api/cameras/{cid}/counts")[1]["zones"][0]["in"] == 0
    status, patched = srv.patch(f"/api/cameras/{cid}", {"name": "Zones 2",
                                                         "presentation": {"opacity": 0.7}})
    assert patched["name"] == "Zones 2" and patched["presentation"]["opacity"] == 0.7
    assert srv.delete(f"/api/cameras/{cid}")[0] == 204
    assert srv.get(f"/api/cameras/{cid}")[0] == 404


def read_mjpeg_start(srv, path, nbytes=200_000, timeout_s=60.0) -> bytes:
    """The first bytes of an MJPEG stream, read over a plain socket."""
    with socket.create_connection(("127.0.0.1", srv.port), timeout=timeout_s) as s:
        # HTTP/1.0: the body comes as it is sent, not in chunks
        s.sendall(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n"
                  f"Authorization: Bearer {srv.token}\r\n\r\n".encode())
        data, end = b"", time.monotonic() + timeout_s
        while data.count(b"--frame\r\n") < 3 and time.monotonic() < end and len(data) < nbytes:
            try:
                data += s.recv(65536)
            except TimeoutError:   # a stopped camera sends its last frame, then nothing
                break
    return data


def test_pictures_stream_and_commands(srv):
    status, cam = srv.post("/api/cameras", {"name": "Live", "source": "demo",
                                            "settings": {"imgsz": 320, "loop": True}})
    cid = cam["id"]
    assert wait_until(lambda: state(srv, cid) == "live", 120)
    status, jpeg = srv.get(f"/api/cameras/{cid}/frame.jpg")
    assert status == 200 and jpeg[:2] == b"\xff\xd8"
    assert wait_until(lambda: srv.get(f"/api/cameras/{cid}/heatmap.png")[0] == 200, 30)
    assert srv.get(f"/api/cameras/{cid}/heatmap.png")[1][:4] == b"\x89PNG"
    import cv2
    import numpy as np

    def picture(path):
        return cv2.imdecode(np.frombuffer(srv.get(path)[1], np.uint8), cv2.IMREAD_COLOR)

    scene = picture(f"/api/cameras/{cid}/heatmap.png")              # over the scene
    heat = picture(f"/api/cameras/{cid}/heatmap.png?over=none")      # the heat alone
    assert scene.shape == heat.shape == (28 + 360 + 44, 640, 3)   # each titled, with its legend
    frame = heat[:360]
    unheated = (frame == 0).all(axis=2)
    assert unheated.any() and scene[:360][unheated].mean() > 20      # the scene shows there
    data = read_mjpeg_start(srv, f"/api/cameras/{cid}/video.mjpg")
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"multipart/x-mixed-replace; boundary=frame" in head
    # Each picture is followed at once by the next boundary: a browser can show it
    # without waiting for the frame after it.
    first = body.split(b"--frame\r\n")[1]
    assert first.startswith(b"Content-Type: image/jpeg") and first.rstrip().endswith(b"\xff\xd9")
    stopped = srv.post(f"/api/cameras/{cid}/stop")[1]
    assert stopped["status"]["state"] == "stopped" and stopped["enabled"] is False
    still = read_mjpeg_start(srv, f"/api/cameras/{cid}/video.mjpg", timeout_s=5)
    assert still.count(b"\xff\xd8") >= 1          # a stopped camera shows its last frame
    assert srv.post(f"/api/cameras/{cid}/reset")[0] == 200
    assert srv.post(f"/api/cameras/{cid}/explode")[0] == 404
    assert srv.get(f"/api/cameras/{cid}/nothing.gif")[0] == 404


def test_real_camera_settings_over_http(srv):
    """Class groups, heat from moving objects only, a mask, and the status' advice field."""
    status, cam = srv.post("/api/cameras", {
        "name": "Lawn", "source": "demo", "enabled": False,
        "settings": {"class_groups": {"thing": ["person", "car"]}}})
    assert status == 201 and cam["settings"]["class_groups"] == {"thing": ["person", "car"]}
    assert cam["settings"]["heat_moving_only"] is True                    # new cameras: on
    status, body = srv.patch(f"/api/cameras/{cam['id']}",
                             {"settings": {"class_groups": {"thing": []}}})
    assert status == 400 and "class_groups" in body["error"]
    status, mask = srv.post(f"/api/cameras/{cam['id']}/zones",
                            {"name": "cloth", "type": "mask",
                             "points": [[0, 0], [0.2, 0], [0.2, 0.2]]})
    assert status == 201 and mask["type"] == "mask"
    assert srv.get(f"/api/cameras/{cam['id']}/counts")[1]["zones"] == []
    assert "advice" in srv.get(f"/api/cameras/{cam['id']}")[1]["status"]
    assert srv.delete(f"/api/cameras/{cam['id']}")[0] == 204
