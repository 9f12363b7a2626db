"""`PostgresStore`: the store on a PostgreSQL server, for cameras spread over machines (each
process, the server's and every Ray worker's, writes to the same database).

Chosen by `HEATMAP_DASHBOARD_DATABASE_URL=postgresql://user:password@host/db`; SQLite stays
the default. Same tables, same SQL and the same behaviour as `SQLiteStore` (its methods are
`Store`'s: only connections, schema types and faults differ): psycopg 3 with a
connection pool, `?` placeholders translated to psycopg's, every write one transaction, a
crossing or visit written twice kept once. While the server cannot be reached, writes raise
`StoreUnavailable` (the `EventWriter` keeps what waits, as it does for a full disk) and
`check()` says so until it answers again. The URL's password never reaches a log line or an
error message.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterable, Iterator

from dashboard.errors import DashboardError, StoreUnavailable
from dashboard.vision.secrets import mask_secrets
from dashboard.store.base import Store
from dashboard.store.schema import POSTGRES, UNIQUE_INDEXES, render

log = logging.getLogger(__name__)

UNREACHABLE = "the database server cannot be reached"
SCHEMA_LOCK = 7_240_517   # an advisory lock id: processes starting at once make tables once


@lru_cache(maxsize=1024)
def to_psycopg(sql: str) -> str:
    """The store's SQL with psycopg's placeholders.

    Example:
        >>> to_psycopg("SELECT 1 FROM t WHERE a = ? AND b LIKE '5%'")
        "SELECT 1 FROM t WHERE a = %s AND b LIKE '5%%'"
    """
    return sql.replace("%", "%%").replace("?", "%s")


class _Cursor:
    """As sqlite3's: fetching from a statement that returns no rows gives none."""

    def __init__(self, cur: Any) -> None:
        self.cur, self.rowcount = cur, cur.rowcount

    def fetchone(self) -> Any:
        return self.cur.fetchone() if self.cur.description else None

    def fetchall(self) -> list[tuple]:
        return self.cur.fetchall() if self.cur.description else []


class _Connection:
    """A pooled connection that speaks the SQLite store's dialect (what its methods call)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Iterable[Any] = ()) -> _Cursor:
        return _Cursor(self.conn.execute(to_psycopg(sql), tuple(params)))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        rows = [tuple(r) for r in rows]
        if rows:
            with self.conn.cursor() as cur:
                cur.executemany(to_psycopg(sql), rows)


def _reason(e: Exception) -> str:
    """A failed call in a few words an operator can act on (never the URL)."""
    import psycopg

    if isinstance(e, psycopg.errors.DiskFull):
        return "disk full"
    if isinstance(e, psycopg.errors.ReadOnlySqlTransaction):
        return "read-only"
    if isinstance(e, psycopg.OperationalError) or type(e).__name__ == "PoolTimeout":
        return UNREACHABLE
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    return mask_secrets(first)


class PostgresStore(Store):
    """The store on PostgreSQL: `Store`'s queries over a pool of connections.

    Example:
        >>> s = PostgresStore("postgresql://dash:secret@db.example/dashboard")  # doctest: +SKIP
        >>> s.counts(CameraId("cam_1"))                                         # doctest: +SKIP
        {}
    """

    ROWID = "ctid"
    ZONE_ORDER = "created, seq"

    def __init__(self, url: str, pool_size: int = 4, timeout_s: float = 10.0) -> None:
        import psycopg
        from psycopg_pool import ConnectionPool, PoolTimeout

        super().__init__()
        self.path = mask_secrets(url)   # what logs and messages show
        self._errors = (psycopg.Error, PoolTimeout)
        self._timeout_s = timeout_s
        self._pool = ConnectionPool(url, min_size=1, max_size=pool_size, open=False,
                                    kwargs={"autocommit": True, "connect_timeout": 5},
                                    check=ConnectionPool.check_connection,
                                    name="dashboard")
        try:
            self._pool.open(wait=True, timeout=timeout_s)
            with self._pool.connection(timeout=timeout_s) as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                for statement in [*render(POSTGRES).split(";"), *UNIQUE_INDEXES]:
                    if statement.strip():
                        conn.execute(statement)
        except self._errors as e:
            self._pool.close()
            raise DashboardError(f"Cannot use the database {self.path}: {_reason(e)}. Is the "
                                 "server running, and are the address, user and password "
                                 "right?") from None
        log.info("database: PostgreSQL at %s", self.path)

    @contextmanager
    def _use(self, transaction: bool) -> Iterator[_Connection]:
        """Lend this thread a pooled connection (the one it holds already, when nested)."""
        with self._lock:
            if self._db is not None:
                yield self._db
                return
            # Cameras write from their own loops: while the server is known to be away, a
            # try fails fast instead of holding a camera for the whole timeout.
            wait = 0.25 if self._write_fault == UNREACHABLE else min(self._timeout_s, 2.0)
            try:
                with self._pool.connection(timeout=wait) as conn:
                    self._db = _Connection(conn)
                    try:
                        if transaction:
                            with conn.transaction():
                                yield self._db
                        else:
                            yield self._db
                    finally:
                        self._db = None
            except self._errors as e:
                raise self._failed(_reason(e), "used now") from None
            if transaction:
                self._recovered()

    def _tx(self) -> Any:
        return self._use(transaction=True)

    def _read(self) -> Any:
        return self._use(transaction=False)

    def check(self) -> str | None:
        """Ask the server; a fault of reaching it ends when it answers again. Returns
        `fault`."""
        try:
            with self._read() as db:
                db.execute("SELECT 1").fetchone()
        except StoreUnavailable:
            return self.fault
        if self._write_fault == UNREACHABLE:
            log.warning("database %s: the server answers again", self.path)
            self._write_fault = None
        return self.fault

    def _compact(self) -> None:
        """PostgreSQL's autovacuum gives freed space back."""

    def integrity(self) -> str:
        with self._read() as db:
            return "ok" if db.execute("SELECT 1").fetchone()[0] == 1 else "not ok"

    def close(self) -> None:
        self._pool.close()
