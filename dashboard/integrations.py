"""Where counts and alerts go besides the store: an HTTP webhook and an MQTT broker.

Both are set by the admin who runs the server (environment, like Frigate's config file),
never from the page: a visitor must not make the server post to an address of their
choosing. Neither ever blocks a camera: the webhook has its own thread and queue (retried
with backoff, the oldest dropped past `QUEUE_MAX`, said in the log), and paho-mqtt
publishes from its own network thread and reconnects by itself.

MQTT topics, under the prefix (default `heatmap_dashboard`), the way Home Assistant users
read Frigate's:

- `<prefix>/available`: "online", or "offline" (the broker says it if the server dies);
- `<prefix>/<camera id>/<zone id>/state`: JSON {camera, zone, in, out, net, occupancy}
  (retained, published when it changes);
- `<prefix>/<camera id>/<zone id>/occupancy`, `/in`, `/out`: the bare numbers (retained);
- `<prefix>/<camera id>/alerts`: each alert change as JSON (not retained).

The webhook gets each alert change as a JSON POST: {"type": "alert", "camera": {...},
"alert": {...}}.
"""
from __future__ import annotations

import json
import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .errors import DashboardError
from .sources import mask_secrets

log = logging.getLogger(__name__)

QUEUE_MAX = 1000
RETRIES = 5                    # a POST is tried this often, waiting 0.5, 1, 2, 4 s between
DEFAULT_PREFIX = "heatmap_dashboard"


class Webhook:
    """POSTs JSON documents to one URL from a thread of its own, in order, retried.

    Example:
        >>> hook = Webhook("http://127.0.0.1:9/hook")   # doctest: +SKIP
        >>> hook.post({"type": "alert"}); hook.close()  # doctest: +SKIP
    """

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DashboardError(f"Webhook URL {mask_secrets(url)!r}: use http:// or https:// "
                                 "with a host.")
        self.url, self.timeout_s = url, timeout_s
        self.sent = self.failed = 0
        self.last_error: str | None = None
        self._q: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._dropped = 0
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    def post(self, doc: dict[str, Any]) -> None:
        """Queue one document (never blocks; past `QUEUE_MAX` the oldest is dropped)."""
        if self._q.qsize() >= QUEUE_MAX:
            try:
                self._q.get_nowait()
                self._dropped += 1
                if self._dropped == 1 or self._dropped % 100 == 0:
                    log.error("webhook %s: %d undelivered messages dropped (the receiver is "
                              "down or slow)", mask_secrets(self.url), self._dropped)
            except queue.Empty:
                pass
        self._q.put(doc)

    def _run(self) -> None:
        while (doc := self._q.get()) is not None:
            body = json.dumps(doc).encode()
            for attempt in range(RETRIES):
                try:
                    req = urllib.request.Request(self.url, body, method="POST", headers={
                        "Content-Type": "application/json",
                        "User-Agent": "heatmap-dashboard"})
                    with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                        r.read()
                    self.sent += 1
                    if self.last_error is not None:
                        log.warning("webhook %s: delivering again", mask_secrets(self.url))
                    self.last_error = None
                    break
                except (urllib.error.URLError, OSError, ValueError) as e:
                    if self.last_error is None:
                        log.error("webhook %s: %s (retrying)", mask_secrets(self.url),
                                  mask_secrets(str(e)))
                    self.last_error = mask_secrets(str(e))
                    if attempt + 1 < RETRIES:
                        time.sleep(0.5 * 2 ** attempt)
            else:
                self.failed += 1

    def close(self, wait_s: float = 5.0) -> None:
        """Send what is queued (for up to `wait_s`), then stop."""
        self._q.put(None)
        self._thread.join(timeout=wait_s)


@dataclass(frozen=True)
class MqttTarget:
    """Where MQTT goes: `mqtt://[user[:password]@]host[:port][/prefix]`.

    Example:
        >>> t = MqttTarget.parse("mqtt://ha:secret@broker:1884/shop")
        >>> t.host, t.port, t.prefix, t.username
        ('broker', 1884, 'shop', 'ha')
    """

    host: str
    port: int = 1883
    prefix: str = DEFAULT_PREFIX
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> "MqttTarget":
        parts = urlsplit(url)
        if parts.scheme != "mqtt" or not parts.hostname:
            raise DashboardError(f"MQTT URL {mask_secrets(url)!r}: write it as "
                                 "mqtt://[user:password@]host[:port][/prefix].")
        try:
            port = parts.port or 1883
        except ValueError:
            raise DashboardError(f"MQTT URL {mask_secrets(url)!r}: the port must be a number."
                                 ) from None
        prefix = parts.path.strip("/") or DEFAULT_PREFIX
        if any(c in prefix for c in "#+"):
            raise DashboardError("MQTT prefix: '#' and '+' are wildcards, not names.")
        return cls(parts.hostname, port, prefix, parts.username, parts.password)


class Mqtt:
    """Publishes to an MQTT broker through paho-mqtt (connects in the background and
    reconnects by itself; a broker that is down never stops a camera)."""

    def __init__(self, target: MqttTarget) -> None:
        import paho.mqtt.client as mqtt

        self.target = target
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"heatmap-dashboard-{time.time_ns() % 10**9}")
        if target.username:
            self.client.username_pw_set(target.username, target.password)
        self.client.will_set(self.topic("available"), "offline", qos=1, retain=True)
        self.client.on_connect = self._connected
        self.client.on_disconnect = self._disconnected
        self.connected = False
        self.client.reconnect_delay_set(1, 30)
        self.client.connect_async(target.host, target.port, keepalive=30)
        self.client.loop_start()

    def topic(self, *parts: str) -> str:
        return "/".join((self.target.prefix, *parts))

    def _connected(self, client: Any, userdata: Any, flags: Any, reason: Any,
                   properties: Any = None) -> None:
        self.connected = not getattr(reason, "is_failure", False)
        if self.connected:
            log.info("mqtt: connected to %s:%d", self.target.host, self.target.port)
            client.publish(self.topic("available"), "online", qos=1, retain=True)
        else:
            log.error("mqtt: %s:%d refused the connection: %s", self.target.host,
                      self.target.port, reason)

    def _disconnected(self, client: Any, userdata: Any, flags: Any, reason: Any,
                      properties: Any = None) -> None:
        if self.connected:
            log.error("mqtt: lost %s:%d (%s); reconnecting", self.target.host,
                      self.target.port, reason)
        self.connected = False

    def publish(self, topic: str, payload: Any, retain: bool = False, qos: int = 1) -> None:
        if not isinstance(payload, (str, bytes)):
            payload = json.dumps(payload)
        self.client.publish(topic, payload, qos=qos, retain=retain)

    def close(self) -> None:
        self.client.publish(self.topic("available"), "offline", qos=1, retain=True)
        self.client.loop_stop()
        self.client.disconnect()


class Integrations:
    """The webhook and MQTT broker a server sends to (either, both or none), shared by
    every camera.

    Example:
        >>> Integrations().status() is None
        True
    """

    def __init__(self, webhook_url: str | None = None, mqtt_url: str | None = None) -> None:
        self.webhook: Webhook | None = None
        self.mqtt: Mqtt | None = None
        self.problems: list[str] = []   # settings that could not be used: said, not fatal
        try:
            self.webhook = Webhook(webhook_url) if webhook_url else None
        except DashboardError as e:
            self.problems.append(str(e))
        try:
            self.mqtt = Mqtt(MqttTarget.parse(mqtt_url)) if mqtt_url else None
        except DashboardError as e:
            self.problems.append(str(e))
        for p in self.problems:
            log.error("integrations: %s Running without it.", p)
        self._published: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether anything is configured to send to (else callers skip building messages)."""
        return self.webhook is not None or self.mqtt is not None

    @classmethod
    def from_env(cls) -> "Integrations":
        from .settings import mqtt_url, webhook_url

        return cls(webhook_url(), mqtt_url())

    def alert(self, camera: dict[str, str], alert: dict[str, Any]) -> None:
        """An alert started, peaked or ended: to the webhook and MQTT."""
        if self.webhook is not None:
            self.webhook.post({"type": "alert", "camera": camera, "alert": alert})
        if self.mqtt is not None:
            self.mqtt.publish(self.mqtt.topic(camera["id"], "alerts"),
                              {"camera": camera, **alert})

    def counts(self, camera: dict[str, str], zones: list[dict[str, Any]]) -> None:
        """Each zone's counts, published to MQTT when they changed since the last time."""
        if self.mqtt is None:
            return
        for z in zones:
            state = {"camera": camera["name"], "zone": z["name"], "in": z["in"],
                     "out": z["out"], "net": z["in"] - z["out"], "occupancy": z.get("occupancy")}
            key = (camera["id"], z["id"])
            with self._lock:
                if self._published.get(key) == state:
                    continue
                self._published[key] = state
            self.mqtt.publish(self.mqtt.topic(camera["id"], z["id"], "state"), state,
                              retain=True)
            for k in ("in", "out", "occupancy"):
                if state[k] is not None:
                    self.mqtt.publish(self.mqtt.topic(camera["id"], z["id"], k), str(state[k]),
                                      retain=True)

    def status(self) -> str | None:
        """What is wrong with delivery now, in words, or None."""
        problems = list(self.problems)
        if self.webhook is not None and self.webhook.last_error:
            problems.append(f"webhook: {self.webhook.last_error}")
        if self.mqtt is not None and not self.mqtt.connected:
            problems.append(f"MQTT broker {self.mqtt.target.host}:{self.mqtt.target.port} "
                            "not connected")
        return "; ".join(problems) or None

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.close()
        if self.mqtt is not None:
            self.mqtt.close()
