"""Inside a camera worker process (see `pipeline/workers.py`): the cameras it hosts, the
calls it answers, and the upkeep the server's watch does for cameras in its own process.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable

from dashboard.engine import Tracks
from dashboard.errors import DashboardError
from dashboard.pipeline.runner import CameraRunner

log = logging.getLogger(__name__)

WATCH_S = 1.0       # how often a worker retries writes and follows the database file
# What the server may ask of a camera in a worker, and nothing else.
METHODS = frozenset({"start", "stop", "reset", "configure", "set_zones", "jpeg", "still",
                     "heat_bytes", "recent_events", "recent_alerts", "store_status",
                     "behind", "snapshot"})


class WorkerDown(DashboardError):
    """The camera's worker process stopped; it is being started again."""


def serve(conn: Any, folder: str, db: str | None, name: str, threads: int) -> None:
    """A worker process's life: open the store (the SQLite file `db`, else the PostgreSQL
    database the environment names), host the cameras it is sent, answer calls until the
    server closes the pipe (or goes away)."""
    from dashboard.config.env import log_level, mqtt_url, webhook_url
    from dashboard.integrations.core import Integrations
    from dashboard.vision.runtimes import share_cores
    from dashboard.vision.secrets import SecretFilter

    # The server's log lines, on the same stderr, naming the worker; credentials masked.
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s [{name}] %(name)s: "
                                           "%(message)s"))
    handler.addFilter(SecretFilter())
    logging.basicConfig(level=log_level(), handlers=[handler])
    share_cores(threads)
    store = _open_store(db)
    # Alerts go out from here, to the server's webhook and broker, through this worker's
    # own outbox; the server alone speaks for itself on `<prefix>/available`.
    integrations = Integrations(webhook_url(), mqtt_url(), Path(folder) / "workers" / name,
                                availability=False)
    runners: dict[str, CameraRunner] = {}
    sending = threading.Lock()
    calls = ThreadPoolExecutor(32, thread_name_prefix="call")   # a slow stop holds no reading
    done = threading.Event()

    def send(message: tuple) -> None:
        with sending:
            conn.send(message)

    def answer(call_id: int, cid: str, method: str, args: tuple) -> None:
        try:
            result: tuple[bool, Any] = (True, _do(runners, store, integrations, cid, method,
                                                  args, lambda d: send((None, cid, d))))
        except Exception as e:  # noqa: BLE001 - every failure goes back to the caller
            result = (False, _portable(e))
        send((call_id, *result))

    def watch() -> None:   # what the server's watch does for cameras in its own process
        while not done.wait(WATCH_S):
            try:
                store.follow()
                for r in list(runners.values()):
                    r.retry()
            except Exception:  # noqa: BLE001 - the watch must outlive any one bad round
                log.exception("worker watch")

    threading.Thread(target=watch, name="worker watch", daemon=True).start()
    try:
        while (msg := receive(conn)) is not None:
            calls.submit(answer, *msg)
    finally:
        done.set()
        calls.shutdown(wait=True)
        for r in list(runners.values()):
            r.close()
        integrations.close()
        store.close()


def _open_store(db: str | None) -> Any:
    if db:
        from dashboard.store.sqlite import SQLiteStore

        return SQLiteStore(db)
    from dashboard.config.env import database_url
    from dashboard.store.postgres import PostgresStore

    return PostgresStore(database_url())


def receive(conn: Any) -> tuple | None:
    """The next message on a worker's pipe; None once the other end has gone (or said so
    with None).

    Example:
        >>> import multiprocessing
        >>> a, b = multiprocessing.Pipe(); a.send((1, "cam_1", "snapshot", ())); a.close()
        >>> receive(b), receive(b)
        ((1, 'cam_1', 'snapshot', ()), None)
    """
    try:
        return conn.recv()
    except (EOFError, OSError):   # the server went away: end, writing what was counted
        return None


def _do(runners: dict[str, CameraRunner], store: Any, integrations: Any, cid: str,
        method: str, args: tuple, tell: Callable[[Any], None]) -> Any:
    if method == "open":
        camera, source, zones, spool = args
        old = runners.pop(cid, None)
        if old is not None:
            old.close()
        runners[cid] = CameraRunner(camera, source, zones, store, spool=spool,
                                    integrations=integrations)
        return None
    runner = runners.get(cid)
    if runner is None:   # a worker started again: its cameras are being opened
        raise WorkerDown("The camera's worker process started again; the camera is "
                         "opening.")
    if method == "drop":
        runners.pop(cid).close()
        return None
    if method == "record":   # the service saves the sample when it is done: told back
        recorder = args[0]
        recorder.done = tell
        return runner.record(recorder)
    if method not in METHODS:
        raise DashboardError(f"A worker does not do {method!r}.")
    if method == "snapshot":   # the raw frame stays here: pictures come by `jpeg`
        return replace(runner.snapshot(), frame=None, tracks=Tracks.empty())
    value = getattr(runner, method)
    return value(*args) if callable(value) else value


def _portable(e: Exception) -> Exception:
    """The error as the caller may raise it: ours as they are, others said in words."""
    import pickle

    try:
        if isinstance(pickle.loads(pickle.dumps(e)), DashboardError):
            return e
    except Exception:  # noqa: BLE001 - an error that cannot travel is said in words
        pass
    log.error("camera call failed: %s: %s", type(e).__name__, e)
    return DashboardError(f"The camera's worker failed: {type(e).__name__}: {e}")
