"""No alert is lost while a webhook receiver is slow, down or restarting, or while the
server restarts: a real HTTP receiver on loopback, the webhook's stored outbox."""
from __future__ import annotations

from support.brokers import Receiver
from dashboard.integrations.core import Integrations
from dashboard.integrations.webhook import Webhook
from support.helpers import wait_until
from support.rtsp_server import free_port


def test_no_alert_is_lost_while_the_receiver_is_slow_then_down_and_the_server_restarts(
        tmp_path):
    port, got = free_port(), []
    url, outbox = f"http://127.0.0.1:{port}/hook", tmp_path / "outbox.sqlite"
    # slow: every answer comes too late
    receiver = Receiver(port=port, delay_s=1.5, taken=got).start()
    hook = Webhook(url, outbox, timeout_s=0.5)
    for n in range(10):
        hook.post({"n": n})
    assert wait_until(lambda: len(got) >= 3, 60), got    # tried, and tried again
    receiver.close()                                    # then down: refused
    for n in range(10, 20):
        hook.post({"n": n})
    assert wait_until(lambda: hook.last_error is not None, 30)
    assert hook.waiting == 20
    hook.close(wait_s=0)                                   # the server stops meanwhile
    receiver = Receiver(port=port, taken=got).start()  # the receiver is back ...
    try:
        hook = Webhook(url, outbox, timeout_s=2)           # ... and the server starts again
        assert wait_until(lambda: hook.waiting == 0, 120), hook.waiting
        hook.close()
    finally:
        receiver.close()
    keys: dict[int, set[str]] = {}
    for key, doc, _ in got:
        keys.setdefault(doc["n"], set()).add(key)
    assert sorted(keys) == list(range(20))                 # every one delivered
    assert all(len(k) == 1 for k in keys.values())         # each under one key, however often
    firsts = []
    for _, doc, _ in got:
        if doc["n"] not in firsts:
            firsts.append(doc["n"])
    assert firsts == list(range(20))                       # in order


def test_health_says_how_many_alerts_wait_while_the_receiver_is_down(tmp_path):
    integrations = Integrations(f"http://127.0.0.1:{free_port()}/hook", None, tmp_path)
    try:
        integrations.alert({"id": "cam_1", "name": "Door"}, {"id": "a1", "kind": "wrong_way"})
        assert wait_until(lambda: integrations.status() is not None, 30)
        assert "waiting to be delivered: 1" in integrations.status()
    finally:
        integrations.close()
