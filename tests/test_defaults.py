"""One default per setting: the command line, the API and the engine's callers take the
camera settings' own (`DEFAULT_SETTINGS`, the zone constants); the page's are in
test_app.py."""
from __future__ import annotations

import asyncio
import inspect

import httpx

from dashboard.web.api.routes import create_app
from dashboard.cli import parser, process
from dashboard.vision.detector import Detector
from dashboard.config.camera import DEFAULT_SETTINGS
from dashboard.config.zone import CONFIRM_FRAMES, ZONE_ANCHOR
from dashboard.service.core import Service
from dashboard.store.sqlite import SQLiteStore

D = DEFAULT_SETTINGS


def test_the_command_lines_defaults_are_the_settings_own():
    args = parser().parse_args(["process", "demo"])
    assert (args.model, args.conf, args.imgsz, args.tracker, args.runtime, args.anchor) == \
        (D.model, D.conf, D.imgsz, D.tracker, D.runtime.value, D.heat_anchor.value)
    assert (not args.heat_all_tracks) is D.heat_moving_only
    assert args.half_life == D.half_life_s
    given = inspect.signature(process).parameters
    assert {k: given[k].default for k in ("model", "conf", "imgsz", "tracker", "runtime")} == \
        {"model": D.model, "conf": D.conf, "imgsz": D.imgsz, "tracker": D.tracker,
         "runtime": D.runtime.value}
    assert given["moving_heat"].default is D.heat_moving_only
    made = inspect.signature(Detector).parameters
    assert (made["conf"].default, made["imgsz"].default, made["tracker"].default) == \
        (D.conf, D.imgsz, D.tracker)


def test_the_apis_defaults_are_the_settings_own(tmp_path, monkeypatch):
    monkeypatch.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "first-admin-pass")
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False, autostart=False)

    async def scenario() -> tuple[dict, dict]:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(svc)),
                                     base_url="http://127.0.0.1:8501") as c:
            token = (await c.post("/api/login", json={"username": "admin",
                                                      "password": "first-admin-pass"})
                     ).json()["token"]
            c.headers["Authorization"] = f"Bearer {token}"
            cam = (await c.post("/api/cameras", json={"name": "Door", "source": "demo",
                                                      "enabled": False})).json()
            zone = (await c.post(f"/api/cameras/{cam['id']}/zones", json={
                "name": "door", "type": "line", "points": [[0.1, 0.5], [0.9, 0.5]]})).json()
            return cam, zone

    try:
        cam, zone = asyncio.run(scenario())
    finally:
        svc.shutdown()
        svc.store.close()
    assert cam["settings"] == D.to_dict()
    assert (zone["anchor"], zone["confirm_frames"]) == (ZONE_ANCHOR.value, CONFIRM_FRAMES)
