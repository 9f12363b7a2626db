"""Where counts and alerts go besides the store: an HTTP webhook and an MQTT broker.

Both are set by the admin who runs the server (environment, like Frigate's config file),
never from the page: a visitor must not make the server post to an address of their
choosing. Neither ever blocks a camera: the webhook has its own thread and a stored outbox
(nothing dropped while the receiver is down; kept over a restart), and paho-mqtt publishes
from its own network thread and reconnects by itself.

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
import sqlite3
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dashboard.errors import DashboardError
from dashboard.vision.secrets import mask_secrets

log = logging.getLogger(__name__)

OUTBOX_MAX = 100_000          # undelivered messages kept; past that the oldest go (logged)
RETRY_MIN_S, RETRY_MAX_S = 0.5, 30.0   # between tries of one message, doubling
DEFAULT_PREFIX = "heatmap_dashboard"
OUTBOX_FILE = "webhook-outbox.sqlite"


class Outbox:
    """Messages waiting for delivery, in a SQLite file of their own (this server's, not the
    shared store: it survives a restart and a database on another machine alike), oldest
    first, each with the key it is delivered under, at most `OUTBOX_MAX` of them.

    Example:
        >>> import tempfile, pathlib
        >>> box = Outbox(pathlib.Path(tempfile.mkdtemp()) / "outbox.sqlite")
        >>> box.add({"n": 1}); box.add({"n": 2}); len(box)
        2
        >>> key, doc = box.oldest(); doc, len(key)
        ({'n': 1}, 32)
        >>> box.done(key); len(box)
        1
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY "
                         "AUTOINCREMENT, key TEXT NOT NULL, body TEXT NOT NULL)")
        self._lock = threading.RLock()    # one connection, used from two threads
        self.dropped = 0

    def add(self, doc: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT INTO outbox (key, body) VALUES (?, ?)",
                             (uuid.uuid4().hex, json.dumps(doc)))
            over = len(self) - OUTBOX_MAX
            if over > 0:     # the receiver has been gone for days: keep the newest
                self._db.execute("DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox "
                                 "ORDER BY seq LIMIT ?)", (over,))
                self.dropped += over

    def oldest(self) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            row = self._db.execute("SELECT key, body FROM outbox ORDER BY seq LIMIT 1"
                                   ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def done(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE key = ?", (key,))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class Webhook:
    """POSTs JSON documents to one URL from a thread of its own, in order. Nothing is
    dropped while the receiver is down or slow: each message waits in a stored `Outbox`
    (a restart keeps it) and is tried again, 0.5 s doubling to `RETRY_MAX_S` apart, until
    the receiver takes it (any 2xx). Each carries an `Idempotency-Key` header, the same on
    every try, so a receiver that took a message whose answer was lost can tell.

    Example:
        >>> hook = Webhook("http://127.0.0.1:9/hook", Path("outbox.sqlite"))  # doctest: +SKIP
        >>> hook.post({"type": "alert"}); hook.close()                          # doctest: +SKIP
    """

    def __init__(self, url: str, outbox: Path, timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DashboardError(f"Webhook URL {mask_secrets(url)!r}: use http:// or https:// "
                                 "with a host.")
        self.url, self.timeout_s = url, timeout_s
        self.sent = 0
        self.last_error: str | None = None
        self._box = Outbox(outbox)
        self._wake = threading.Condition()
        self._closing = False
        if len(self._box):
            log.warning("webhook %s: %d messages from before the restart to deliver",
                        mask_secrets(url), len(self._box))
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Messages not yet delivered."""
        return len(self._box)

    @property
    def dropped(self) -> int:
        """Messages given up because more than `OUTBOX_MAX` waited."""
        return self._box.dropped

    def post(self, doc: dict[str, Any]) -> None:
        """Keep one document for delivery (a local write: it never waits on the receiver)."""
        self._box.add(doc)
        with self._wake:
            self._wake.notify()

    def _run(self) -> None:
        delay = RETRY_MIN_S
        while True:
            with self._wake:
                while not self._closing and not len(self._box):
                    self._wake.wait()
                if self._closing:
                    return
            key, doc = self._box.oldest() or (None, None)
            if key is None:
                continue
            if self._deliver(key, doc):
                self._box.done(key)
                delay = RETRY_MIN_S
                continue
            with self._wake:       # wait before the next try, unless closing
                self._wake.wait_for(lambda: self._closing, timeout=delay)
            delay = min(RETRY_MAX_S, delay * 2)

    def _deliver(self, key: str, doc: dict[str, Any]) -> bool:
        try:
            req = urllib.request.Request(self.url, json.dumps(doc).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Idempotency-Key": key,
                                                  "User-Agent": "heatmap-dashboard"})
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                r.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            if self.last_error is None:     # said once per outage, not once per try
                log.error("webhook %s: %s; alerts wait in the outbox and are tried again",
                          mask_secrets(self.url), mask_secrets(str(e)))
            self.last_error = mask_secrets(str(e))
            return False
        self.sent += 1
        if self.last_error is not None:
            log.warning("webhook %s: delivering again (%d waiting)", mask_secrets(self.url),
                        len(self._box) - 1)
        self.last_error = None
        return True

    def close(self, wait_s: float = 5.0) -> None:
        """Send what waits for up to `wait_s`, then stop; what is left stays in the outbox
        for the next start."""
        end = time.monotonic() + wait_s
        while len(self._box) and self.last_error is None and time.monotonic() < end:
            time.sleep(0.05)
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        self._thread.join(timeout=max(0.5, self.timeout_s + 1))
        self._box.close()


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

    def __init__(self, target: MqttTarget, availability: bool = True) -> None:
        """`availability`: whether this client speaks for the server on
        `<prefix>/available` ("online", and "offline" as its last will): the server's own
        does; a camera on a Ray node does not (its node dying is not the server going)."""
        import paho.mqtt.client as mqtt

        self.target, self.availability = target, availability
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"heatmap-dashboard-{time.time_ns() % 10**9}")
        if target.username:
            self.client.username_pw_set(target.username, target.password)
        if availability:
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
            if self.availability:
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
        if self.availability:
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

    def __init__(self, webhook_url: str | None = None, mqtt_url: str | None = None,
                 data: Path | None = None, availability: bool = True) -> None:
        """`data`: where the webhook's outbox lives; `availability`: see `Mqtt`."""
        self.webhook: Webhook | None = None
        self.mqtt: Mqtt | None = None
        self.problems: list[str] = []   # settings that could not be used: said, not fatal
        try:
            self.webhook = Webhook(webhook_url, (data or Path(".")) / OUTBOX_FILE) \
                if webhook_url else None
        except DashboardError as e:
            self.problems.append(str(e))
        try:
            self.mqtt = Mqtt(MqttTarget.parse(mqtt_url), availability) if mqtt_url else None
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
    def from_env(cls, data: Path) -> "Integrations":
        """As the environment says, the webhook's outbox in the data directory `data`."""
        from dashboard.config.env import mqtt_url, webhook_url

        return cls(webhook_url(), mqtt_url(), data)

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
            problems.append(f"webhook: {self.webhook.last_error} (waiting to be delivered: "
                            f"{self.webhook.waiting})")
        if self.webhook is not None and self.webhook.dropped:
            problems.append(f"webhook: {self.webhook.dropped} oldest alerts dropped "
                            f"(more than {OUTBOX_MAX} waited)")
        if self.mqtt is not None and not self.mqtt.connected:
            problems.append(f"MQTT broker {self.mqtt.target.host}:{self.mqtt.target.port} "
                            "not connected")
        return "; ".join(problems) or None

    def close(self) -> None:
        if self.webhook is not None:
            self.webhook.close()
        if self.mqtt is not None:
            self.mqtt.close()
