"""A real PostgreSQL server for tests, from Debian's `postgresql` binaries: `initdb` and
`pg_ctl` in a temporary directory, listening only on a Unix socket there. As root (CI), the
server runs as `nobody`: PostgreSQL refuses to run as root."""
from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from support.rtsp_server import free_port


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                   key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    """initdb once; start/stop at will (the data stays); `new_database()` gives each test its
    own empty database."""

    def __init__(self) -> None:
        self.bin = pg_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql "
                               "(bash .ci/setup test does it)")
        # Not under pytest's tmp folders: those are private to root, and the server is nobody.
        self.dir = Path(tempfile.mkdtemp(prefix="pg-"))
        self.data, self.port = self.dir / "data", free_port()
        self._names = itertools.count(1)
        self.as_user: list[str] = []
        if os.getuid() == 0:
            self.as_user = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]
            os.chmod(self.dir, 0o755)
            shutil.chown(self.dir, "nobody", "nogroup")
        self._run("initdb", "-D", str(self.data), "-U", "dashboard", "-A", "trust", "-E",
                  "UTF8", "--no-sync")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True,
                       capture_output=True, timeout=120, cwd=self.dir)

    def start(self) -> "PostgresServer":
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-t", "60",
                  "-o", f"-k {self.dir} -p {self.port} -c listen_addresses='' -c fsync=off",
                  "start")
        return self

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://dashboard@/{database}?host={self.dir}&port={self.port}"

    def new_database(self) -> str:
        """A fresh empty database's URL."""
        import psycopg

        name = f"test_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def close(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
