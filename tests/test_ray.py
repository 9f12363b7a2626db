"""Cameras on a real two-node Ray cluster (HEATMAP_DASHBOARD_RAY_ADDRESS) with the store on a
real PostgreSQL server: the API is the same as in one process, and when the node running a
camera dies, Ray starts it on the other node, where it carries on with its counts."""
from __future__ import annotations

import pytest

from dashboard.demo.scene import write_clip
from support.helpers import wait_until
from support.server import DashboardServer

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)

LINE = {"name": "door", "type": "line", "points": [[0.5, 0.39], [0.5, 0.99]],
        "wrong_way": True}        # every OUT crossing is an alert: to the webhook and MQTT
PREFIX = "ray1"


def test_a_camera_whose_node_dies_moves_to_the_other_with_its_counts(postgres, tmp_path):
    import json
    from contextlib import ExitStack

    import psycopg

    from support.brokers import Listener, Mosquitto, Receiver
    from support.raycluster import RayCluster

    url = postgres.new_database()
    outside = ExitStack()           # the webhook receiver and the broker, closed at the end
    broker = outside.enter_context(Mosquitto(tmp_path))
    heard = outside.enter_context(Listener(broker.port, f"{PREFIX}/#"))
    hook = outside.enter_context(Receiver())
    cluster = RayCluster(HEATMAP_DASHBOARD_CACHE=str(tmp_path / "cache"), YOLO_OFFLINE="1")
    srv = DashboardServer(tmp_path / "data", demo=False, HEATMAP_DASHBOARD_DATABASE_URL=url,
                          HEATMAP_DASHBOARD_CACHE=str(tmp_path / "cache"),
                          HEATMAP_DASHBOARD_RAY_ADDRESS="placeholder",
                          HEATMAP_DASHBOARD_WEBHOOK_URL=hook.url,
                          HEATMAP_DASHBOARD_MQTT_URL=f"mqtt://127.0.0.1:{broker.port}/{PREFIX}")
    write_clip(srv.data / "media" / "clip.mp4", seconds=30, seed=11)       # 450 frames
    try:
        cluster.start()
        srv.env["HEATMAP_DASHBOARD_RAY_ADDRESS"] = cluster.address
        srv.start()
        cams = {}
        for i in range(3):
            status, cam = srv.post("/api/cameras", {"name": f"street {i}", "source": "clip.mp4",
                                                    "enabled": False,
                                                    "settings": {"imgsz": 320}})
            assert status == 201, cam
            zone = srv.post(f"/api/cameras/{cam['id']}/zones", LINE)[1]
            cams[cam["id"]] = zone["id"]
        for cid in cams:
            assert srv.post(f"/api/cameras/{cid}/start")[0] == 200

        def status(cid: str) -> dict:
            return srv.get(f"/api/cameras/{cid}")[1]["status"]

        assert wait_until(lambda: all(status(c)["state"] == "live" for c in cams), 240)
        # A browser's camera runs where its frames arrive: in the server's own process.
        laptop = srv.post("/api/cameras", {"name": "laptop", "source": "browser",
                                           "settings": {"imgsz": 320}})[1]
        assert wait_until(lambda: status(laptop["id"])["state"] == "waiting", 120)
        assert status(laptop["id"])["where"] is None
        where = {c: status(c)["where"] for c in cams}
        assert set(where.values()) == {cluster.head_id, cluster.worker_id}, where   # spread
        moved = next(c for c in cams if where[c] == cluster.worker_id)
        assert wait_until(lambda: status(moved)["frames_read"] >= 90, 120)  # well under way
        cluster.kill_node(cluster.worker_id)
        assert wait_until(lambda: status(moved)["where"] == cluster.head_id
                          and status(moved)["state"] in ("live", "ended"), 240), status(moved)
        assert wait_until(lambda: all(status(c)["state"] == "ended" for c in cams), 300), \
            {c: status(c) for c in cams}

        def api(cid: str) -> tuple[int, int]:
            z = next(z for z in srv.get(f"/api/cameras/{cid}/counts")[1]["zones"]
                     if z["id"] == cams[cid])
            return z["in"], z["out"]

        counts = {c: api(c) for c in cams}
        assert sum(counts[moved]) > 0
        # The same clip counted by three cameras: the one that moved counts as the others.
        assert len(set(counts.values())) == 1, counts
        with psycopg.connect(url) as db:      # and the store holds each crossing once
            for cid, zid in cams.items():
                rows = db.execute("SELECT COUNT(*) FROM events WHERE zone_id = %s", (zid,))
                assert rows.fetchone()[0] == sum(counts[cid])
        # Alerts and counts went out from the nodes, to the server's webhook and broker.
        for cid, zid in cams.items():
            alerts = {a["id"] for a in srv.get(f"/api/cameras/{cid}/alerts")[1]}
            assert len(alerts) == counts[cid][1] > 0          # one per wrong-way crossing

            def delivered() -> set[str]:
                return {p["alert"]["id"] for p in hook.posts if p["camera"]["id"] == cid}

            def published() -> tuple[int, int] | None:
                last = heard.last(f"{PREFIX}/{cid}/{zid}/state")
                return None if last is None else (json.loads(last)["in"],
                                                  json.loads(last)["out"])

            assert wait_until(lambda: alerts <= delivered(), 60), (alerts, delivered())
            assert wait_until(lambda: published() == counts[cid], 60), published()
        # The server, up all along, stayed "online": a camera's node dying is not the
        # server going (its actor's client has no last will of its own).
        said = [p for _, p in heard.on(f"{PREFIX}/available")]
        assert said and set(said) == {"online"}, said
    finally:
        srv.stop()
        cluster.close()
        outside.close()
