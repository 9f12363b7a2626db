"""A closed default: safe model loading, loopback only, foreign Host names refused."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from support.server import ROOT, DashboardServer

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)


PAYLOAD = """
import os, sys, torch

class Payload:
    def __reduce__(self):
        return (os.system, ("touch " + sys.argv[2],))

torch.save({"model": Payload(), "train_args": {}}, sys.argv[1])
"""


@pytest.mark.parametrize("how", ["load_model", "Detector", "cli"])
def test_a_crafted_checkpoint_never_runs_its_payload(tmp_path, how):
    evil, marker = tmp_path / "evil.pt", tmp_path / "pwned"
    subprocess.run([sys.executable, "-c", PAYLOAD, str(evil), str(marker)], check=True)
    code = {
        "load_model": "from dashboard.vision.models import load_model; load_model(sys.argv[1])",
        "Detector": "from dashboard.vision.detector import Detector; Detector(sys.argv[1])",
        "cli": "from dashboard.cli import main; sys.exit(main(['process', 'demo', '--model', "
               "sys.argv[1], '--out', sys.argv[2] + '.out']))",
    }[how]
    run = subprocess.run([sys.executable, "-c", "import sys\n" + code, str(evil), str(marker)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={k: v for k, v in __import__("os").environ.items()
                              if k != "ULTRALYTICS_SAFE_LOAD"})
    assert not marker.exists(), "the checkpoint's payload ran"
    assert run.returncode != 0
    assert "Could not load model" in run.stderr or "DashboardError" in run.stderr


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port` (from /proc/net/tcp and tcp6)."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:   # 0A: LISTEN
                found.add(addr)
    return found


def test_the_server_listens_on_loopback_only_and_refuses_foreign_hosts(tmp_path):
    srv = DashboardServer(tmp_path, demo=False).start()
    try:
        assert listening_addresses(srv.port) == {"0100007F"}        # 127.0.0.1, nothing else
        assert srv.get("/api/health")[0] == 200
        for path in ("/api/health", "/api/cameras", "/"):
            status, body = srv.request("GET", path, headers={"Host": f"rebind.example:{srv.port}"})
            assert status == 403, path
        assert srv.request("GET", "/api/health", headers={"Host": f"localhost:{srv.port}"})[0] \
            == 200
    finally:
        srv.stop()
    assert "external" not in srv.log().lower()                        # no external-IP lookup


def test_only_admins_upload_models_and_a_crafted_upload_never_runs(tmp_path):
    from dashboard.service.auth import Role, User
    from dashboard.errors import NotAllowed
    from dashboard.config.kinds import CameraState
    from dashboard.service.core import Service
    from dashboard.store.sqlite import SQLiteStore
    from support.helpers import wait_until

    evil, marker = tmp_path / "evil.pt", tmp_path / "pwned"
    subprocess.run([sys.executable, "-c", PAYLOAD, str(evil), str(marker)], check=True)
    svc = Service(SQLiteStore(tmp_path / "db.sqlite"), tmp_path, demo=False)
    try:
        for role in (Role.VIEWER, Role.OPERATOR):
            with pytest.raises(NotAllowed):
                svc.as_user(User("someone", role)).save_model("m.pt", evil.read_bytes())
        admin = svc.as_user(User("ada", Role.ADMIN))
        path = admin.save_model("../../weird name.pt", evil.read_bytes())
        assert Path(path).parent == tmp_path / "models" and "weird" not in path
        assert admin.save_model("again.pt", evil.read_bytes()) == path     # kept once
        with pytest.raises(Exception, match="model file"):
            admin.save_model("notes.txt", b"hello")
        cam = admin.add_camera("Evil", "demo", {"model": path, "imgsz": 320})
        assert wait_until(lambda: svc.status(cam.id).state is CameraState.FAILED, 120)
        assert "Could not load model" in svc.status(cam.id).detail
        assert not marker.exists(), "the uploaded checkpoint's payload ran"
        assert any(r["action"] == "save_model" and r["user"] == "ada"
                   for r in svc.audit_log())
    finally:
        svc.shutdown()
