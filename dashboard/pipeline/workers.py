"""Cameras in worker processes (HEATMAP_DASHBOARD_WORKERS=N; default 0: every camera runs
in the server's own process).

Why: in one process every camera's letterbox, tracker and engine take turns on one
interpreter lock. Past about 10 cameras at 15 fps on 2 cores frames were dropped while the
cores were not full (12 cameras: 1.78 of 2 cores busy, 79% of frames kept); the same 12
cameras in two processes of 6 kept 94-95% (benchmarks/many_cameras.py).

Each worker is a process of its own (spawned: no thread is forked) hosting plain
`CameraRunner`s over the same store (SQLite in WAL mode, or PostgreSQL) with its own models,
on its share of the cores, and its own outbox for alerts. The server keeps a `WorkerRunner`
per camera with `CameraRunner`'s methods, so the service, the pages and the API do not
change. A worker that dies is started again with its cameras: each runner takes up its
counts, heat and a file's position from the store, as after a restart. Messages go over a
pipe only the server and its worker hold, as pickles of the project's own types: nothing a
visitor sends is unpickled.
"""
from __future__ import annotations

import atexit
import copy
import itertools
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future
from concurrent.futures import TimeoutError as Pending
from dataclasses import replace
from pathlib import Path
from typing import Any

from dashboard.config.camera import Camera
from dashboard.config.kinds import CameraState
from dashboard.config.zone import ZoneSpec
from dashboard.errors import DashboardError
from dashboard.pipeline.runner import make_detector
from dashboard.pipeline.snapshot import Snapshot
from dashboard.pipeline.stand_in import Forwarded
from dashboard.pipeline.worker_process import WorkerDown, receive, serve

log = logging.getLogger(__name__)

READ_S = 5.0        # a reading (pages do not wait even that: service/readings.py)
COMMAND_S = 90.0    # a change an operator made and waits for (a stop joins its run)
RESTART_S = (1.0, 30.0)   # a worker that keeps dying is started again this often, doubling


class Worker:
    """One worker process, its pipe and the calls waiting on it; started again when it
    dies, with its cameras."""

    def __init__(self, index: int, folder: Path, db: str | None, threads: int) -> None:
        self.name, self.folder, self.db, self.threads = f"worker-{index}", folder, db, threads
        self.cameras: dict[str, WorkerRunner] = {}
        self._lock = threading.Lock()            # the pipe's sends and the calls waiting
        self._waiting: dict[int, Future] = {}
        self._ids = itertools.count()
        self.closing = False
        self._pause = RESTART_S[0]
        self._spawn()

    def _spawn(self) -> None:
        ctx = multiprocessing.get_context("spawn")   # forking a threaded server is unsafe
        here, there = ctx.Pipe()
        self.process = ctx.Process(target=serve, name=self.name, daemon=True,
                                   args=(there, str(self.folder), self.db, self.name,
                                         self.threads))
        self.process.start()
        there.close()
        self._conn, self._born = here, time.monotonic()
        threading.Thread(target=self._read, args=(here,), name=f"{self.name} answers",
                         daemon=True).start()

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def call(self, cid: str, method: str, *args: Any, timeout_s: float = READ_S) -> Any:
        """The camera's answer; `DashboardError` if it raised one, did not answer in time,
        or the worker is down."""
        future: Future = Future()
        with self._lock:
            call_id = next(self._ids)
            self._waiting[call_id] = future
            try:
                self._conn.send((call_id, cid, method, args))
            except (OSError, ValueError):   # the pipe broke: the reader starts it again
                self._waiting.pop(call_id, None)
                raise WorkerDown("The camera's worker process stopped; it is starting "
                                 "again.") from None
        try:
            ok, value = future.result(timeout=timeout_s)
        except Pending:
            with self._lock:
                self._waiting.pop(call_id, None)
            raise DashboardError("The camera does not answer now (its worker process is "
                                 "busy); try again.") from None
        if not ok:
            raise value
        return value

    def _read(self, conn: Any) -> None:
        while (msg := receive(conn)) is not None:
            call_id, ok, value = msg
            if call_id is None:   # a camera tells: a sample it recorded is done
                runner = self.cameras.get(ok)
                if runner is not None:
                    runner.sample_done(value)
                continue
            with self._lock:
                future = self._waiting.pop(call_id, None)
            if future is not None:
                future.set_result((ok, value))
        with self._lock:
            waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            future.set_result((False, WorkerDown("The camera's worker process stopped; it "
                                                 "is starting again.")))
        if not self.closing:
            self._restart()

    def _restart(self) -> None:
        self.process.join(timeout=5)
        log.error("%s (pid %s) stopped (exit code %s): starting it again with its %d "
                  "cameras", self.name, self.pid, self.process.exitcode, len(self.cameras))
        # One that lived a while comes back at once; one that dies as it starts, less often.
        lived = time.monotonic() - self._born
        self._pause = RESTART_S[0] if lived > 60 else min(RESTART_S[1], self._pause * 2)
        time.sleep(self._pause)
        if self.closing:
            return
        self._conn.close()
        self._spawn()
        for runner in list(self.cameras.values()):
            try:
                runner.reopen()
            except DashboardError as e:
                log.error("%s: camera %s did not come back: %s", self.name, runner.camera.id, e)

    def close(self) -> None:
        """End the process: it stops its cameras, writing what they counted."""
        self.closing = True
        with self._lock:
            try:
                self._conn.send(None)
            except (OSError, ValueError):
                pass
        self.process.join(timeout=COMMAND_S)
        if self.process.is_alive():
            log.warning("%s did not end in time: terminated", self.name)
            self.process.terminate()
            self.process.join(timeout=5)
        self._conn.close()


class Workers:
    """The worker processes of one service; a camera goes to the one with fewest cameras.

    Example:
        >>> pool = Workers(2, data_folder, store)                           # doctest: +SKIP
        >>> r = pool.runner(cam, "rtsp://...", zones, store); r.start()     # doctest: +SKIP
    """

    def __init__(self, count: int, folder: Path, store: Any) -> None:
        """`folder`: the data directory (the workers' outboxes); `store`: the server's,
        which the workers open too (its SQLite file, or the environment's PostgreSQL)."""
        from dashboard.store.sqlite import SQLiteStore

        db = store.path if isinstance(store, SQLiteStore) else None
        if db is not None and not Path(db).is_file():
            raise DashboardError("Cameras in worker processes need the database in a file "
                                 f"they can open too, not {db!r}.")
        # Each worker's models take their share of the cores: two processes each using
        # every core would only fight over them.
        threads = max(1, len(os.sched_getaffinity(0)) // count)
        self.workers = [Worker(i, folder, db, threads) for i in range(count)]
        # At exit, multiprocessing ends the workers: not a death to start them again after.
        atexit.register(self._exiting)

    def _exiting(self) -> None:
        for w in self.workers:
            w.closing = True

    def runner(self, camera: Camera, source: str, zones: list[ZoneSpec], store: Any,
               spool: Path | None = None, **_: Any) -> "WorkerRunner":
        """A camera's stand-in, its runner made in the least busy worker (the server's
        integrations are not handed over: each worker sends through its own)."""
        worker = min(self.workers, key=lambda w: len(w.cameras))
        return WorkerRunner(worker, camera, source, zones, store, spool)

    def close(self) -> None:
        for w in self.workers:
            w.close()


class WorkerRunner(Forwarded):
    """A camera's runner in a worker process, as the service sees it (`CameraRunner`'s
    methods).

    Example:
        >>> r = Workers(1, folder, store).runner(cam, "demo", zones, store)  # doctest: +SKIP
        >>> r.start(); r.snapshot().state                              # doctest: +SKIP
        <CameraState.LOADING: 'loading model'>
    """

    make_detector = staticmethod(make_detector)   # an audit counts a sample here
    COMMAND_S = COMMAND_S

    def __init__(self, worker: Worker, camera: Camera, source: str, zones: list[ZoneSpec],
                 store: Any, spool: Path | None) -> None:
        self.worker, self.camera, self._source, self.store = worker, camera, source, store
        self._zones, self._spool = list(zones), spool   # kept here: what a new worker gets
        self._wanted = False                    # started and not stopped since
        self._sample_done: Any = None           # the service's, while a sample records
        self._last = Snapshot()
        worker.cameras[camera.id] = self
        try:
            self.reopen()
        except WorkerDown:   # it is being started again, and opens its cameras, this one too
            log.warning("camera %s waits for %s to start again", camera.id, worker.name)

    def reopen(self) -> None:
        """Make the camera's runner in the worker (again), running if it was."""
        self._call("open", self.camera, self._source, self._zones, self._spool,
                   timeout_s=COMMAND_S)
        if self._wanted:
            self._call("start", timeout_s=COMMAND_S)

    def _call(self, method: str, *args: Any, timeout_s: float = READ_S) -> Any:
        return self.worker.call(self.camera.id, method, *args, timeout_s=timeout_s)

    def snapshot(self) -> Snapshot:
        try:
            self._last = self._call("snapshot")
        except DashboardError as e:   # down, or busy past READ_S: its last figures, said so
            return replace(self._last, state=CameraState.CONNECTING, detail=str(e))
        return self._last

    # The commands and readings, forwarded.
    def start(self) -> None:
        self._wanted = True
        self._call("start", timeout_s=COMMAND_S)

    def stop(self) -> None:
        self._wanted = False
        self._call("stop", timeout_s=COMMAND_S)

    def reset(self) -> None:
        self._call("reset", timeout_s=COMMAND_S)
        self.store.forget_epoch(self.camera.id)   # archived there: this process reads anew

    def configure(self, camera: Camera, source: str) -> bool:
        self.camera, self._source = camera, source
        return self._call("configure", camera, source, timeout_s=COMMAND_S)

    def record(self, recorder: Any) -> None:
        """The worker records (the media folder is on this machine); its `done` is called
        here when the worker tells the sample is done."""
        travelling = copy.copy(recorder)
        travelling.done = None          # a callback of this process's: it stays here
        # Set before the call (a short sample could be done before it returns); a refusal
        # (not running, one recording already) leaves the one recording its callback.
        previous, self._sample_done = self._sample_done, recorder.done
        try:
            self._call("record", travelling, timeout_s=COMMAND_S)
        except DashboardError:
            self._sample_done = previous
            raise

    def sample_done(self, done: Any) -> None:
        """The worker says the sample being recorded is done (or failed): the service's
        callback saves it. Called on the worker's reader thread, which must live on."""
        callback, self._sample_done = self._sample_done, None
        try:
            if callback is not None:
                callback(done)
        except Exception:  # noqa: BLE001 - a failed save is logged; answers keep coming
            log.exception("camera %s: the sample could not be saved", self.camera.id)

    @property
    def behind(self) -> int:
        try:
            return self._call("behind")
        except DashboardError:
            return 0

    def retry(self) -> None:
        """The worker retries its cameras' writes by itself."""

    def close(self) -> None:
        """Stop the camera, writing what it counted, and forget it in its worker."""
        self.worker.cameras.pop(self.camera.id, None)
        try:
            self._call("drop", timeout_s=COMMAND_S)
        except DashboardError:
            pass   # a worker that is down has nothing left to close
