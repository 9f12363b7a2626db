"""What users type stays what it looks like: names that would reorder or hide text are
refused, and only ASCII digits name a webcam."""
from __future__ import annotations

import pytest

from dashboard.service.auth import SYSTEM
from dashboard.errors import DashboardError
from dashboard.service.core import Service
from dashboard.vision.address import SourceKind, is_webcam_index, parse_spec
from dashboard.store.sqlite import SQLiteStore


@pytest.fixture
def admin(tmp_path, monkeypatch):
    monkeypatch.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "first-admin-pass")
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False, autostart=False)
    yield svc.as_user(SYSTEM)
    svc.shutdown()
    svc.store.close()


@pytest.mark.parametrize("name, ok", [
    ("Shop door", True),
    ("Entrée Nord", True),
    ("门口 🚪", True),
    ("Door \u202egnp.exe", False),       # right-to-left override
    ("Door\u2066A\u2069", False),        # isolates
    ("Do\u200bor", False),               # zero-width space
    ("Door\u2028two", False),            # line separator
    ("Door\x07", False),
    ("x" * 81, False),
])
def test_camera_and_zone_names_that_hide_or_reorder_text_are_refused(admin, name, ok):
    if ok:
        cam = admin.add_camera(name, "demo", enabled=False)
        assert admin.add_zone(cam.id, name, "line", [[0.1, 0.5], [0.9, 0.5]]).name == name
        return
    with pytest.raises(DashboardError, match="printable"):
        admin.add_camera(name, "demo", enabled=False)
    cam = admin.add_camera("Fine", "demo", enabled=False)
    with pytest.raises(DashboardError, match="printable"):
        admin.add_zone(cam.id, name, "line", [[0.1, 0.5], [0.9, 0.5]])


@pytest.mark.parametrize("text, webcam", [
    ("0", True), ("12", True), ("\u0663", False), ("\u00b2", False), ("\uff11", False),
    ("1a", False), ("", False),
])
def test_only_ascii_digits_name_a_webcam(text, webcam):
    assert is_webcam_index(text) is webcam
    if webcam:
        assert parse_spec(text).kind is SourceKind.WEBCAM


def test_another_scripts_digit_is_not_taken_as_a_webcam(admin):
    with pytest.raises(DashboardError, match="no video"):
        admin.add_camera("Cam", "\u0663", enabled=False)
