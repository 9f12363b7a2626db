"""A real Ray cluster of two nodes on this machine, for tests: `ray start --head` and a second
`ray start --address`, with node failure noticed within seconds. A node is killed as a
machine dies: its raylet and everything under it, SIGKILL."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from support.rtsp_server import free_port

ROOT = Path(__file__).resolve().parents[2]
RAY = Path(sys.executable).parent / "ray"


class RayCluster:
    def __init__(self, cpus_per_node: int = 3, **env: str) -> None:
        # Short: Ray's sockets live under it (Unix socket paths are limited to 107 bytes).
        self.temp = Path(tempfile.mkdtemp(prefix="ray-"))
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.cpus = cpus_per_node
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_USAGE_STATS_ENABLED": "0",
                    # A dead node is declared dead in about 3 s, not 30.
                    "RAY_health_check_period_ms": "1000", "RAY_health_check_timeout_ms": "1000",
                    "RAY_health_check_failure_threshold": "3", **env}

    def _ray(self, *args: str) -> None:
        subprocess.run([str(RAY), *args], check=True, env=self.env, cwd=ROOT,
                       capture_output=True, timeout=180)

    def start(self) -> "RayCluster":
        self._ray("start", "--head", f"--port={self.port}", f"--num-cpus={self.cpus}",
                  "--include-dashboard=false", f"--temp-dir={self.temp}",
                  "--disable-usage-stats")
        head = set(self._node_ids())
        self._ray("start", f"--address={self.address}", f"--num-cpus={self.cpus}",
                  "--disable-usage-stats")
        self.head_id = head.pop()
        self.worker_id = (set(self._node_ids()) - {self.head_id}).pop()
        return self

    @staticmethod
    def _raylets() -> dict[str, psutil.Process]:
        """Every raylet on this machine, by its node id."""
        out = {}
        for p in psutil.process_iter(["name", "cmdline"]):
            cmd = p.info["cmdline"] or []
            if cmd and "raylet" in Path(cmd[0]).name:
                ids = [a.split("=", 1)[1] for a in cmd if a.startswith("--node_id=")]
                if ids:
                    out[ids[0]] = p
        return out

    def _node_ids(self) -> list[str]:
        return list(self._raylets())

    def kill_node(self, node_id: str) -> None:
        """The machine dies: its raylet and every process under it, at once."""
        raylet = self._raylets()[node_id]
        procs = [raylet, *raylet.children(recursive=True)]
        for p in procs:
            try:
                p.send_signal(signal.SIGKILL)
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=30)

    def close(self) -> None:
        subprocess.run([str(RAY), "stop", "--force"], env=self.env, capture_output=True,
                       timeout=120)
        shutil.rmtree(self.temp, ignore_errors=True)
