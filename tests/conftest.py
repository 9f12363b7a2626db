"""Fixtures the tests share (servers and helpers are in support/)."""
from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

# Nothing a test does lands in the user's own data directory: tests that need one of their
# own set it themselves; everything else shares this throwaway one.
os.environ["HEATMAP_DASHBOARD_DATA"] = tempfile.mkdtemp(prefix="heatmap-dashboard-tests-")
# Counts in tests must not hang on which runtime won a timing race on this machine: float
# ONNX Runtime unless a test asks for another (tests/test_runtimes.py tries "auto" itself).
os.environ.setdefault("HEATMAP_DASHBOARD_RUNTIME", "onnx")


@pytest.fixture
def frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)


@pytest.fixture(autouse=True)
def no_camera_left_running():
    """Every test stops the cameras it started: a camera left running would count on in the
    background and upset the tests after it (and the interpreter's exit)."""
    import threading

    before = {t.ident for t in threading.enumerate()}
    yield
    from support.helpers import wait_until

    def leaked():
        return [t.name for t in threading.enumerate()
                if t.name.startswith("camera ") and t.ident not in before]

    assert wait_until(lambda: not leaked(), 30), f"cameras left running: {leaked()}"


@pytest.fixture(scope="session")
def postgres():
    """One real PostgreSQL server for the session (see support/pg.py); each test takes its own
    database from it with `postgres.new_database()`."""
    from support.pg import PostgresServer

    server = PostgresServer().start()
    yield server
    server.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.slow)])
def open_store(request, tmp_path):
    """Opens the store a test runs on, again each call (a restart): SQLite in tmp_path, or a
    fresh database on the test PostgreSQL server (slow: the fast default runs SQLite)."""
    from dashboard.store.sqlite import SQLiteStore

    opened = []

    def make():
        if request.param == "sqlite":
            opened.append(SQLiteStore(tmp_path / "db.sqlite"))
        else:
            from dashboard.store.postgres import PostgresStore

            opened.append(PostgresStore(url))
        return opened[-1]

    url = request.getfixturevalue("postgres").new_database() \
        if request.param == "postgres" else None
    yield make
    for s in opened:
        try:
            s.close()
        except Exception:   # noqa: BLE001 - closed by the test already
            pass
