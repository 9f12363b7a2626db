"""Credentials stay out of every text: URLs masked by their parts, addresses sealed at rest."""
from __future__ import annotations

import pytest

from dashboard.vision.secrets import SourceVault, expand_env
from dashboard.errors import DashboardError
from dashboard.vision.secrets import mask_secrets


@pytest.mark.parametrize("text, shown", [
    ("rtsp://admin:hunter2@10.0.0.5/live", "rtsp://***@10.0.0.5/live"),
    ("rtsp://admin:p@ss@cam/live", "rtsp://***@cam/live"),                 # @ in the password
    ("rtsp://admin:pa/ss@cam:554/live", "rtsp://***@cam:554/live"),        # / in the password
    ("rtsp://admin:pa ss word@cam/live", "rtsp://***@cam/live"),           # spaces
    ("rtsps://u:pw@[fe80::1]:322/s", "rtsps://***@[fe80::1]:322/s"),
    ("http://cam/mjpg?user=a&password=b&ch=1", "http://cam/mjpg?user=***&password=***&ch=***"),
    ("http://cam/snap?pw=hunter2&p=x1&code=c0de", "http://cam/snap?pw=***&p=***&code=***"),
    ("https://cam/api/8f3k2j4h5g6f7d8s9a/live.mjpg", "https://cam/api/***/live.mjpg"),  # a key
    ("rtsp://cam/Streaming/Channels/101", "rtsp://cam/Streaming/Channels/101"),
    ("password=hunter2 in a line of text", "password=*** in a line of text"),
    ("https://cam/x?access_token=t1&api_key=k1&apikey=k2", "https://cam/x?access_token=***&api_key=***&apikey=***"),
    ("https://s3/x?X-Amz-Signature=ab&sig=cd&credentials=ef", "https://s3/x?X-Amz-Signature=***&sig=***&credentials=***"),
    ("error: cannot open rtsp://u:pw@cam/live: timeout", "error: cannot open rtsp://***@cam/live: timeout"),
    ("rtsp://cam.local/live", "rtsp://cam.local/live"),                   # nothing to hide
    ("/videos/door.mp4", "/videos/door.mp4"),
])
def test_mask_secrets_hides_every_credential_form(text, shown):
    assert mask_secrets(text) == shown


@pytest.mark.parametrize("secret", ["hunter2", "p@ss", "pa/ss", "pa ss word", "t1", "k2", "cd"])
def test_no_secret_survives_masking(secret):
    urls = ["rtsp://admin:{}@cam/live", "http://cam/x?token={}", "https://cam/x?apikey={}",
            "https://cam/x?sig={}&a=1", "http://cam/x?pw={}", "http://cam/x?a=1&code={}"]
    for u in urls:
        assert secret not in mask_secrets(u.format(secret))


def test_sealed_addresses_open_only_with_their_key(tmp_path):
    vault = SourceVault(tmp_path)
    token = vault.seal("rtsp://admin:hunter2@cam/live")
    assert "hunter2" not in token and vault.open(token).endswith("hunter2@cam/live")
    assert (tmp_path / "source.key").stat().st_mode & 0o077 == 0       # owner only
    assert SourceVault(tmp_path).open(token) == vault.open(token)       # the same key again
    with pytest.raises(DashboardError, match="key"):
        SourceVault(tmp_path / "other").open(token)


def test_environment_references_are_filled_in_when_opened(monkeypatch):
    monkeypatch.setenv("CAMERA_PASS", "s3cret")
    assert expand_env("rtsp://admin:${CAMERA_PASS}@cam/live") == "rtsp://admin:s3cret@cam/live"
    monkeypatch.delenv("CAMERA_PASS")
    with pytest.raises(DashboardError, match="CAMERA_PASS"):
        expand_env("rtsp://admin:${CAMERA_PASS}@cam/live")


@pytest.mark.parametrize("address", [
    "http://127.0.0.1:8625/leak?x=${HEATMAP_DASHBOARD_ADMIN_PASSWORD}",
    "rtsp://${HOME}@cam/live",
    "rtsp://cam/live?a=${CAMERA_OK}&b=${PATH}",
])
def test_only_variables_named_for_cameras_can_be_filled_in(monkeypatch, address):
    monkeypatch.setenv("HEATMAP_DASHBOARD_ADMIN_PASSWORD", "the-admin-secret")
    monkeypatch.setenv("CAMERA_OK", "fine-value")
    with pytest.raises(DashboardError, match="only variables named CAMERA_") as refused:
        expand_env(address)
    assert "the-admin-secret" not in str(refused.value)


def test_a_filled_in_value_is_masked_wherever_text_is_masked(monkeypatch):
    from dashboard.vision.secrets import mask_secrets

    monkeypatch.setenv("CAMERA_LEAK_TOKEN", "hunter2-value")
    opened = expand_env("http://cam.local/live?x=${CAMERA_LEAK_TOKEN}")
    assert "hunter2-value" in opened
    assert mask_secrets(f"cannot open {opened}") == "cannot open http://cam.local/live?x=***"


def test_a_filled_in_host_does_not_unmask_the_password_before_it(monkeypatch):
    from dashboard.vision.secrets import mask_secrets

    monkeypatch.setenv("CAMERA_SECRETS_HOST", "10.77.0.5:554")
    expand_env("rtsp://${CAMERA_SECRETS_HOST}/live")
    shown = mask_secrets("rtsp://admin:n3w-pass@10.77.0.5:554/live")
    assert "n3w-pass" not in shown and shown == "rtsp://***@***/live"
