"""Home Assistant MQTT discovery: each zone's counts appear in Home Assistant as sensors of
a device per camera, without configuration (https://www.home-assistant.io/integrations/mqtt/
#mqtt-discovery). The configs are retained under `homeassistant/sensor/...` and point at the
zone topics this server publishes anyway."""
from __future__ import annotations

from typing import Any

DISCOVERY_PREFIX = "homeassistant"   # Home Assistant's default
# (the zone topic's last part, what it is, its state class, its unit)
SENSORS = (("in", "in", "total_increasing", "crossings"),
           ("out", "out", "total_increasing", "crossings"),
           ("occupancy", "inside", "measurement", "objects"))


def sensor_configs(prefix: str, camera: dict[str, str], zone: dict[str, Any]
                   ) -> list[tuple[str, dict[str, Any]]]:
    """(config topic, payload) of each of a zone's sensors: in and out, and for an area
    who is inside. Ids are the camera's and zone's (a rename keeps the sensor).

    Example:
        >>> cfg = sensor_configs("heatmap_dashboard", {"id": "cam_1", "name": "Door"},
        ...                      {"id": "zone_2", "name": "gate", "occupancy": None})
        >>> [t for t, _ in cfg]
        ['homeassistant/sensor/cam_1/zone_2_in/config', 'homeassistant/sensor/cam_1/zone_2_out/config']
        >>> cfg[0][1]["state_topic"], cfg[0][1]["name"], cfg[0][1]["device"]["name"]
        ('heatmap_dashboard/cam_1/zone_2/in', 'gate in', 'Door')
    """
    out = []
    for part, what, state_class, unit in SENSORS:
        if part == "occupancy" and zone.get("occupancy") is None:
            continue   # a line has no inside
        object_id = f"{zone['id']}_{part}"
        out.append((f"{DISCOVERY_PREFIX}/sensor/{camera['id']}/{object_id}/config", {
            "name": f"{zone['name']} {what}",
            "unique_id": f"{prefix}_{camera['id']}_{object_id}",
            "object_id": f"{prefix}_{camera['id']}_{object_id}",
            "state_topic": f"{prefix}/{camera['id']}/{zone['id']}/{part}",
            "state_class": state_class,
            "unit_of_measurement": unit,
            "availability_topic": f"{prefix}/available",
            "device": {"identifiers": [f"{prefix}_{camera['id']}"], "name": camera["name"],
                       "manufacturer": "heatmap-dashboard", "model": "camera"},
        }))
    return out
