"""MQTT: counts (retained) and alerts to a broker, from paho-mqtt's own network thread."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from dashboard.errors import DashboardError
from dashboard.vision.secrets import mask_secrets

log = logging.getLogger(__name__)

DEFAULT_PREFIX = "heatmap_dashboard"


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
