"""Dwell, limits and alerts through a real server, delivered to a real Mosquitto broker and a
real HTTP receiver on loopback; what the API says is checked against what was delivered."""
from __future__ import annotations

import json

import pytest

from support.brokers import Listener, Mosquitto, Receiver
from dashboard.demo.scene import write_clip
from dashboard.integrations.mqtt import MqttTarget
from dashboard.errors import DashboardError
from support.helpers import wait_until
from support.server import DashboardServer

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)

PREFIX = "shop1"
LINE = [[0.5, 0.39], [0.5, 0.99]]                                      # the demo's crossing
AREA = [[0.344, 0.264], [0.656, 0.264], [0.656, 0.506], [0.344, 0.506]]  # its shop front


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One server counting a 20 s clip with a one-way line and an area limited to one
    person, sending to a broker and a receiver that refuses its first two POSTs."""
    folder = tmp_path_factory.mktemp("integrations")
    with Mosquitto(folder) as broker, Listener(broker.port, f"{PREFIX}/#") as heard, \
            Receiver(refuse=2) as hook:
        srv = DashboardServer(folder / "data", demo=False,
                              HEATMAP_DASHBOARD_WEBHOOK_URL=hook.url,
                              HEATMAP_DASHBOARD_MQTT_URL=f"mqtt://127.0.0.1:{broker.port}/"
                                                         f"{PREFIX}")
        write_clip(srv.data / "media" / "clip.mp4", seconds=20, seed=11)
        srv.start()
        try:
            status, cam = srv.post("/api/cameras", {
                "name": "Shop", "source": "clip.mp4", "enabled": False,
                "settings": {"imgsz": 320, "pacing": "fast"}})
            assert status == 201, cam
            cid = cam["id"]
            base = f"/api/cameras/{cid}"
            status, line = srv.post(f"{base}/zones", {"name": "door", "type": "line",
                                                      "points": LINE, "wrong_way": True})
            assert status == 201, line
            status, area = srv.post(f"{base}/zones", {"name": "front", "type": "polygon",
                                                      "points": AREA, "limit": 1})
            assert status == 201 and area["limit"] == 1, area
            assert srv.post(f"{base}/start")[0] == 200
            assert wait_until(lambda: srv.get(base)[1]["status"]["state"] == "ended", 300), \
                srv.get(base)
            # everything counted is delivered: wait for the last counts on the broker
            counts = {z["id"]: z for z in srv.get(f"{base}/counts")[1]["zones"]}
            topic = f"{PREFIX}/{cid}/{area['id']}/state"
            assert wait_until(lambda: heard.last(topic) and json.loads(heard.last(topic))["in"]
                              == counts[area["id"]]["in"], 30), heard.messages[-5:]
            alerts = srv.get(f"{base}/alerts")[1]
            wait_until(lambda: len(hook.posts) >= len(alerts), 60)
            yield {"srv": srv, "cid": cid, "base": base, "line": line, "area": area,
                   "counts": counts, "alerts": alerts, "heard": heard, "hook": hook,
                   "health": srv.get("/api/health")[1]}
        finally:
            srv.stop()


def test_dwell_is_stored_per_visit_and_summed_up(run):
    srv, base, area = run["srv"], run["base"], run["area"]
    status, dwell = srv.get(f"{base}/dwell")
    assert status == 200 and [d["zone"] for d in dwell] == ["front"]   # areas only
    d = dwell[0]
    visits = srv.get(f"{base}/visits")[1]
    assert d["visits"] == len(visits) >= 3
    secs = [v["seconds"] for v in visits]
    assert d["longest_s"] == pytest.approx(max(secs), abs=0.01)
    assert d["average_s"] == pytest.approx(sum(secs) / len(secs), abs=0.01)
    assert all(v["zone"] == "front" and v["left"] >= v["entered"] for v in visits)
    assert d["inside"] == []                     # the file has ended: nobody is inside now
    # a period holds only the visits that ended in it
    mid = sorted(v["left"] for v in visits)[len(visits) // 2]
    later = srv.get(f"{base}/dwell?since={mid}")[1][0]
    assert later["visits"] == sum(v["left"] >= mid for v in visits)
    status, text = srv.get(f"{base}/visits.csv")
    rows = text.decode().strip().splitlines()
    assert status == 200 and rows[0] == "camera,zone,zone_id,track_id,class,entered,left,seconds"
    assert len(rows) == len(visits) + 1 and rows[1].startswith(f"Shop,front,{area['id']},")


def test_alerts_are_stored_and_sent_to_the_webhook_with_retries(run):
    alerts, hook = run["alerts"], run["hook"]
    kinds = {a["kind"] for a in alerts}
    assert kinds == {"occupancy", "wrong_way"}, alerts
    line_out = run["counts"][run["line"]["id"]]["out"]
    assert sum(a["kind"] == "wrong_way" for a in alerts) == line_out > 0
    for a in alerts:
        if a["kind"] == "occupancy":
            assert a["zone"] == "front" and a["limit"] == 1 and a["peak"] >= 2
            assert a["ended"] is not None and a["ended"] >= a["started"]
    # The receiver refused two POSTs; they were retried: every alert arrived, ended.
    assert hook.refused == 2
    delivered = {}
    for p in hook.posts:
        assert p["type"] == "alert" and p["camera"] == {"id": run["cid"], "name": "Shop"}
        delivered[p["alert"]["id"]] = p["alert"]
    assert set(delivered) == {a["id"] for a in alerts}
    assert all(delivered[a["id"]]["ended"] == a["ended"] for a in alerts)
    assert run["health"]["integrations"] == "ok"


def test_counts_and_alerts_reach_the_mqtt_broker(run):
    heard, cid = run["heard"], run["cid"]
    assert heard.last(f"{PREFIX}/available") == "online"
    for zone in (run["line"], run["area"]):
        c = run["counts"][zone["id"]]
        state = json.loads(heard.last(f"{PREFIX}/{cid}/{zone['id']}/state"))
        assert (state["zone"], state["in"], state["out"]) == (zone["name"], c["in"], c["out"])
        assert heard.last(f"{PREFIX}/{cid}/{zone['id']}/in") == str(c["in"])
    occupancy = [int(p) for _, p in heard.on(f"{run['area']['id']}/occupancy")]
    assert max(occupancy) >= 2 and 0 in occupancy        # published as it changed
    assert occupancy[-1] == run["counts"][run["area"]["id"]]["occupancy"]
    sent = {json.loads(p)["id"] for _, p in heard.on(f"{cid}/alerts")}
    assert sent == {a["id"] for a in run["alerts"]}


def test_limits_and_rules_are_edited_over_http_with_counts_kept(run):
    srv, base, area = run["srv"], run["base"], run["area"]
    before = run["counts"][area["id"]]
    status, z = srv.patch(f"{base}/zones/{area['id']}", {"limit": None,
                                                        "classes": ["person"]})
    assert status == 200 and z["limit"] is None and z["classes"] == ["person"]
    after = {f["id"]: f for f in srv.get(f"{base}/counts")[1]["zones"]}[area["id"]]
    assert (after["in"], after["out"]) == (before["in"], before["out"])
    status, body = srv.patch(f"{base}/zones/{area['id']}", {"wrong_way": True})
    assert status == 400 and "only a line" in body["error"]
    status, body = srv.patch(f"{base}/zones/{area['id']}", {"limit": -3})
    assert status == 400 and "limit" in body["error"]


def test_a_deleted_zone_comes_back_with_its_counts(run):
    srv, base, line = run["srv"], run["base"], run["line"]
    c = run["counts"][line["id"]]
    assert srv.delete(f"{base}/zones/{line['id']}")[0] == 204
    assert line["id"] not in [f["id"] for f in srv.get(f"{base}/counts")[1]["zones"]]
    status, back = srv.post(f"{base}/zones/{line['id']}/restore")
    assert status == 200 and back["id"] == line["id"] and back["name"] == "door"
    again = {f["id"]: f for f in srv.get(f"{base}/counts")[1]["zones"]}[line["id"]]
    assert (again["in"], again["out"]) == (c["in"], c["out"])
    assert srv.post(f"{base}/zones/{line['id']}/restore")[0] == 409   # not deleted now
    assert srv.post(f"{base}/zones/zone_nope/restore")[0] == 404


def test_bad_integration_settings_are_said_and_the_server_runs(tmp_path):
    with pytest.raises(DashboardError, match="mqtt://"):
        MqttTarget.parse("http://broker")
    srv = DashboardServer(tmp_path, demo=False,
                          HEATMAP_DASHBOARD_WEBHOOK_URL="ftp://nowhere",
                          HEATMAP_DASHBOARD_MQTT_URL="mqtt://user:sekret@127.0.0.1:1/x").start()
    try:
        health = srv.get("/api/health")[1]
        assert health["status"] == "degraded" and "http:// or https://" in health["integrations"]
        assert wait_until(lambda: "not connected" in srv.get("/api/health")[1]["integrations"],
                          30)
        assert "sekret" not in json.dumps(srv.get("/api/health")[1]) + srv.log()
    finally:
        srv.stop()


def test_home_assistant_finds_each_zones_sensors_on_the_broker_by_itself(tmp_path):
    from dashboard.integrations.core import Integrations

    cam = {"id": "cam_1", "name": "Shop door"}
    line = {"id": "zone_a", "name": "door", "in": 3, "out": 1}
    area = {"id": "zone_b", "name": "aisle", "in": 2, "out": 0, "occupancy": 2}
    with Mosquitto(tmp_path) as broker:
        sender = Integrations(mqtt_url=f"mqtt://127.0.0.1:{broker.port}/{PREFIX}")
        assert wait_until(lambda: sender.status() is None, 30), sender.status()
        sender.counts(cam, [line, area])
        sender.counts(cam, [{**line, "in": 4}, area])          # a count: no new config
        # Home Assistant subscribes later: the retained configs and states are there.
        with Listener(broker.port, "homeassistant/#") as ha, \
                Listener(broker.port, f"{PREFIX}/#") as states:
            assert wait_until(lambda: len(ha.messages) == 5, 30), ha.messages
            configs = {t: json.loads(p) for t, p in ha.messages}
            assert set(configs) == {f"homeassistant/sensor/cam_1/{z}_{k}/config"
                                    for z, k in (("zone_a", "in"), ("zone_a", "out"),
                                                 ("zone_b", "in"), ("zone_b", "out"),
                                                 ("zone_b", "occupancy"))}
            occupancy = configs["homeassistant/sensor/cam_1/zone_b_occupancy/config"]
            assert occupancy["name"] == "aisle inside" and \
                occupancy["state_class"] == "measurement"
            assert occupancy["device"] == {"identifiers": [f"{PREFIX}_cam_1"],
                                           "name": "Shop door",
                                           "manufacturer": "heatmap-dashboard",
                                           "model": "camera"}
            assert len({c["unique_id"] for c in configs.values()}) == 5
            assert all(c["availability_topic"] == f"{PREFIX}/available"
                       for c in configs.values())
            assert wait_until(lambda: all(states.last(c["state_topic"]) is not None
                                          for c in configs.values()), 30)
            assert states.last(configs["homeassistant/sensor/cam_1/zone_a_in/config"]
                               ["state_topic"]) == "4"
            sender.counts(cam, [{**line, "name": "front door", "in": 5}, area])   # renamed
            topic = "homeassistant/sensor/cam_1/zone_a_in/config"
            assert wait_until(lambda: json.loads(ha.last(topic))["name"] == "front door in",
                              30)
        sender.close()
