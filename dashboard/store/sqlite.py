"""`SQLiteStore`: the store in one file on this machine (the default).

Faults lose nothing: a write that fails (disk full, read-only, I/O error) raises
`StoreUnavailable` and leaves the store as it was; the `EventWriter` keeps such crossings
and writes them once the fault clears. `check()` notices a database file deleted, replaced
or made read-only under the running server and rewrites it from the connection that still
holds it.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from dashboard.errors import DashboardError
from dashboard.store.base import Store
from dashboard.store.schema import SCHEMA_VERSION, SQLITE, UNIQUE_INDEXES, render

log = logging.getLogger(__name__)

def _reason(e: Exception) -> str:
    """A failed database call in a few words an operator can act on."""
    name = getattr(e, "sqlite_errorname", "") or ""
    if name == "SQLITE_FULL" or getattr(e, "errno", None) == 28:
        return "disk full"
    if name.startswith("SQLITE_READONLY") or getattr(e, "errno", None) in (13, 30):
        return "read-only"
    if name.startswith("SQLITE_IOERR"):
        return "disk I/O error"
    if name.startswith("SQLITE_CANTOPEN"):
        return "cannot open the file"
    return str(e) or type(e).__name__


def _safe(fn: Any) -> Any:
    """fn() or None if the database refuses (for best-effort upkeep and probes)."""
    try:
        return fn()
    except sqlite3.Error:
        return None


def _read_only_fs(path: str) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


LEGACY_TABLES = ("zones", "epochs", "events", "totals", "minutes", "heat")


class SQLiteStore(Store):
    """The embedded store; one connection shared by threads under a lock.

    Example:
        >>> s = SQLiteStore(":memory:")
        >>> s.set_meta("k", "v"); s.meta("k"), s.fault
        ('v', None)
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = str(path)
        self._open()

    def _open(self) -> None:
        """(Re)connect. A file that cannot be written opens for reading, as a write fault
        until `check` finds it writable and reopens it."""
        self._db, writable = self._connect()
        self._epochs.clear()
        if not writable:
            self._note_write_fault("read-only")

    @property
    def _on_disk(self) -> bool:
        return self.path != ":memory:" and not self.path.startswith("file:")

    def _connect(self) -> tuple[sqlite3.Connection, bool]:
        """Open the file, in WAL mode with the schema; and whether it can be written. A
        file that cannot be written (made read-only) still opens, for reading: the server
        runs and says so, and writes resume when it can write again (see `check`)."""
        try:
            if self._on_disk:
                owner_only(self.path)
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=30)
            self._identity = self._stat()
        except (sqlite3.Error, OSError) as e:
            raise DashboardError(f"Cannot open the database {self.path}: {e}") from e
        try:
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # only takes on a new file
            db.execute("PRAGMA journal_mode=WAL")
            # FULL: a commit survives a power cut too, not only a killed process.
            db.execute("PRAGMA synchronous=FULL")
            self._migrate(db)
            db.executescript(render(SQLITE))
            for index in UNIQUE_INDEXES:
                try:
                    db.execute(index)
                except sqlite3.IntegrityError as e:
                    log.warning("database %s: %s; a retried write could count twice", self.path, e)
            # Also a probe: SQLite opens a file it may not write read-only, silently.
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.Error as e:
            current = _safe(lambda: db.execute("PRAGMA user_version").fetchone()[0])
            if _reason(e) != "read-only" or current != SCHEMA_VERSION:
                db.close()
                raise DashboardError(f"Cannot open the database {self.path}: {e}") from e
            return db, False
        return db, True

    def _stat(self) -> tuple[int, int] | None:
        if not self._on_disk:
            return None
        st = os.stat(self.path)
        return (st.st_dev, st.st_ino)

    def _migrate(self, db: sqlite3.Connection) -> None:
        """A database of the first version keyed everything by a hash of the typed source;
        its tables are kept, renamed legacy_*, rather than read wrongly or dropped."""
        version = db.execute("PRAGMA user_version").fetchone()[0]
        cols = [r[1] for r in db.execute("PRAGMA table_info(events)")]
        if version < SCHEMA_VERSION and "source_key" in cols:
            with db:
                for t in LEGACY_TABLES:
                    db.execute(f"ALTER TABLE {t} RENAME TO legacy_{t}")
            log.warning("The database %s came from an older version: its tables are kept as "
                        "legacy_* and cameras start afresh.", self.path)

    # -- faults ---------------------------------------------------------------------------
    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock. A failure rolls it back and raises
        `StoreUnavailable` saying why; the first failure (and the recovery) is logged once."""
        with self._lock:
            before = self._db.total_changes
            try:
                with self._db:
                    # Take the write lock first: a transaction that read before it wrote
                    # fails at once, without waiting, when another process (a camera
                    # worker) wrote in between; this one waits its turn (busy timeout).
                    if not self._db.in_transaction:
                        self._db.execute("BEGIN IMMEDIATE")
                    yield self._db
            except sqlite3.Error as e:
                raise self._failed(_reason(e)) from e
            if self._db.total_changes != before:
                self._recovered()

    @contextmanager
    def _read(self) -> Iterator[Any]:
        """Queries under the lock (one connection shared by threads). A read that wrote (a
        camera's first epoch) commits, unless it runs inside a write transaction: left open,
        it would hold the write lock from every other process sharing the file."""
        with self._lock:
            inside = self._db.in_transaction
            try:
                yield self._db
            finally:
                if self._db.in_transaction and not inside:
                    self._db.commit()


    def check(self) -> str | None:
        """Look at the database file: deleted or replaced under us, it is rewritten from
        the connection that still holds it (a replacement is kept aside, renamed); made
        read-only, that is said (once) and writes resume when it is writable again.
        Cheap (a few stat calls): the service calls it every second. Returns `fault`.

        Example:
            >>> import tempfile, os
            >>> s = SQLiteStore(os.path.join(tempfile.mkdtemp(), "d.db"))
            >>> os.unlink(s.path); s.check() is None and os.path.exists(s.path)
            True
        """
        if not self._on_disk:
            return self.fault
        with self._lock:
            try:
                try:
                    identity = self._stat()
                except FileNotFoundError:
                    identity = None
                if identity != self._identity:
                    self._restore("deleted" if identity is None else "replaced by another file")
                elif not os.path.exists(self.path + "-wal"):
                    self._restart_wal()
                writable = os.access(self.path, os.W_OK) and not _read_only_fs(self.path)
                if not writable:
                    self._note_file_fault("the database file is read-only: writes go on "
                                          "through the open file, but a restart could not "
                                          "write it; make it writable again")
                else:
                    if self._file_fault and "read-only" in self._file_fault:
                        self._note_file_fault(None)
                    if self._write_fault == "read-only":
                        self._reopen()   # a connection opened read-only stays read-only
            except (OSError, sqlite3.Error) as e:
                self._note_file_fault(f"cannot repair the database file: {_reason(e)}")
        return self.fault

    def follow(self) -> None:
        """The file at the path is not the one open here: the server rewrote it (deleted
        or replaced under it, see `check`); write to the new one. A file missing now is
        being rewritten: looked at again next time."""
        if not self._on_disk:
            return
        with self._lock:
            try:
                identity = self._stat()
            except FileNotFoundError:
                return
            if identity != self._identity:
                log.warning("database %s was rewritten by the server: reopened", self.path)
                self._db.close()
                self._open()

    def _note_file_fault(self, text: str | None) -> None:
        if text != self._file_fault:
            if text is None:
                log.warning("database %s: the file is all right again", self.path)
            else:
                log.error("database %s: %s", self.path, text)
        self._file_fault = text

    def _restore(self, why: str) -> None:
        """Write everything the open connection holds into a new file at the path (the old
        inode is still readable through it), then use that file."""
        log.error("database %s was %s while the server ran: rewriting it from the open "
                  "copy", self.path, why)
        tmp = self.path + ".restoring"
        for f in (tmp, tmp + "-journal"):
            Path(f).unlink(missing_ok=True)
        dest = sqlite3.connect(tmp)
        try:
            self._db.backup(dest)
        except sqlite3.Error:
            dest.close()
            Path(tmp).unlink(missing_ok=True)
            raise
        dest.close()
        self._db.close()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            if why == "deleted":   # the old file's -wal and -shm: copied, and stale now
                Path(self.path + suffix).unlink(missing_ok=True)
            elif os.path.exists(self.path + suffix):   # a stranger's files are kept, renamed
                aside = f"{self.path}.replaced-{stamp}{suffix}"
                os.replace(self.path + suffix, aside)
                log.error("database: the file found at %s was kept as %s", self.path + suffix,
                          aside)
        os.replace(tmp, self.path)
        self._open()
        self._note_file_fault(None)
        log.error("database %s: rewritten; nothing counted was lost", self.path)

    def _restart_wal(self) -> None:
        """The -wal file was deleted under us: what only it held goes into the main file
        (through the open descriptor), then a new -wal starts."""
        log.error("database %s: its -wal file was deleted; writing everything into the "
                  "main file", self.path)
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()   # before the new connection: two -wal files must never meet
        self._open()

    def _reopen(self) -> None:
        """A new connection in place of this one, if it can write (the -wal and -shm a
        read-only connection made carry its read-only mode: they get the file's)."""
        mode = os.stat(self.path).st_mode & 0o666
        for suffix in ("-wal", "-shm"):
            if os.path.exists(self.path + suffix) and not os.access(self.path + suffix,
                                                                    os.W_OK):
                try:
                    os.chmod(self.path + suffix, mode)
                except OSError:
                    pass
        try:
            db, writable = self._connect()
        except DashboardError:
            return
        if not writable:
            db.close()
            return
        self._db.close()
        self._db = db
        self._epochs.clear()
        if self._write_fault is not None:
            log.warning("database %s: writes work again", self.path)
            self._write_fault = None

    def _compact(self) -> None:
        """Give freed pages back to the file system (best effort)."""
        with self._lock:
            _safe(lambda: self._db.execute("PRAGMA incremental_vacuum"))

    def integrity(self) -> str:
        with self._lock:
            return self._db.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def owner_only(path: str) -> None:
    """Make the database readable by its owner only (logins, the audit log and camera
    names are in it), before SQLite opens it: it gives its -wal and -shm files the
    database file's mode.

    Example:
        >>> import tempfile
        >>> p = os.path.join(tempfile.mkdtemp(), "db.sqlite"); owner_only(p)
        >>> oct(os.stat(p).st_mode & 0o777)
        '0o600'
    """
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        for f in (path, path + "-wal", path + "-shm"):
            if os.path.exists(f):
                os.chmod(f, 0o600)
    except PermissionError:
        pass   # a file made read-only, or not ours: it opens for reading (see _connect)
