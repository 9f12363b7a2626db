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

import logging
import threading
from pathlib import Path
from typing import Any

from dashboard.errors import DashboardError
from dashboard.integrations.discovery import sensor_configs
from dashboard.integrations.mqtt import Mqtt, MqttTarget
from dashboard.integrations.outbox import OUTBOX_FILE, OUTBOX_MAX
from dashboard.integrations.webhook import Webhook

log = logging.getLogger(__name__)


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
        self._announced: dict[tuple[str, str], tuple[str, str]] = {}   # Home Assistant knows
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
                announce = self._announced.get(key) != (camera["name"], z["name"])
                self._published[key] = state
                self._announced[key] = (camera["name"], z["name"])
            if announce:   # new to Home Assistant, or renamed: its sensors' configs
                for topic, config in sensor_configs(self.mqtt.target.prefix, camera, z):
                    self.mqtt.publish(topic, config, retain=True)
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
