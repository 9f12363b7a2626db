"""Which store the settings choose."""
from __future__ import annotations

from pathlib import Path

from dashboard.store.base import Store


def open_store(folder: Path) -> Store:
    """The store the settings choose: PostgreSQL at HEATMAP_DASHBOARD_DATABASE_URL (see
    `pgstore`), else SQLite in `folder`/dashboard.db.

    Example:
        >>> import tempfile; type(open_store(Path(tempfile.mkdtemp()))).__name__  # doctest: +SKIP
        'SQLiteStore'
    """
    from dashboard.config.env import database_url

    url = database_url()
    if url is None:
        from dashboard.store.sqlite import SQLiteStore

        return SQLiteStore(folder / "dashboard.db")
    from dashboard.store.postgres import PostgresStore

    return PostgresStore(url)
