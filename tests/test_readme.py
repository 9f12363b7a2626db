"""The README's examples run as written: every bash and Python block, against a real server
on its own data directory (its address and first password put in for `localhost:8501` and
`...`), unless the line before it says why it is not run here."""
from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from support.helpers import wait_until
from support.server import ADMIN_PASSWORD, ROOT, DashboardServer

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)

README = ROOT / "README.md"
NOT_RUN = "<!-- example not run by tests/test_readme.py:"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)


def examples() -> list[tuple[int, str, str, str | None]]:
    """(line, language, code, why it is not run or None) of each bash and Python block."""
    text = README.read_text()
    found = []
    for m in FENCE.finditer(text):
        lang, code = m.group(1), m.group(2)
        if lang not in ("bash", "python"):
            continue
        before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
        why = before[len(NOT_RUN):].strip(" ->") if before.startswith(NOT_RUN) else None
        found.append((text[:m.start()].count("\n") + 1, lang, code, why))
    return found


def test_every_example_is_run_or_says_why_not():
    blocks = examples()
    assert len(blocks) >= 8
    assert all(why for _, _, _, why in blocks if why is not None)       # a reason each
    assert sum(why is None for *_, why in blocks) >= 5                  # most are run


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    """A server whose demo has been counting a while: crossings and heat in its database,
    as a reader's would be when they try the examples."""
    import sqlite3

    server = DashboardServer(tmp_path_factory.mktemp("readme") / "data").start()

    def stored(table: str) -> int:
        with sqlite3.connect(f"file:{server.data / 'dashboard.db'}?mode=ro", uri=True) as db:
            return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    assert wait_until(lambda: stored("events") > 0 and stored("heat") > 0, 300)
    yield server
    server.stop()


@pytest.mark.parametrize("line, lang, code", [(n, lang, code) for n, lang, code, why
                                             in examples() if why is None],
                         ids=lambda v: str(v) if isinstance(v, int) else None)
def test_the_readme_example_runs_as_written(srv, tmp_path, line, lang, code):
    work = tmp_path / "work"                      # the reader's checkout, files written here
    work.mkdir()
    for name in (".venv", "dashboard"):
        (work / name).symlink_to(ROOT / name)
    env = {**os.environ, "HEATMAP_DASHBOARD_DATA": str(srv.data), "PYTHONPATH": str(ROOT),
           "CAMERA_PASS": "secret", "YOLO_OFFLINE": "1"}
    if lang == "python":
        run = subprocess.run([sys.executable, "-c", code], cwd=work, env=env,
                             capture_output=True, text=True, timeout=600)
    else:
        script = code.replace("localhost:8501", f"127.0.0.1:{srv.port}").replace(
            '"password": "..."', f'"password": "{ADMIN_PASSWORD}"')
        run = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work, env=env,
                             capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"README line {line}:\n{run.stdout[-2000:]}\n{run.stderr[-3000:]}"
    assert '"error"' not in run.stdout, run.stdout[-2000:]        # no API call refused
