"""Persistent state in SQLite (WAL): the zones drawn for each source.

Sources are keyed by a hash of what the operator typed, so credentials in a URL never
reach the database; the masked name is kept beside it for people reading the file.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

from .errors import DashboardError
from .sources import mask_secrets

SCHEMA = """
CREATE TABLE IF NOT EXISTS zones (
    source_key TEXT PRIMARY KEY,
    source_name TEXT NOT NULL,
    zones_json TEXT NOT NULL,
    updated REAL NOT NULL
);
"""


def source_key(spec: str) -> str:
    """A stable key for a source that reveals nothing of it.

    Example:
        >>> len(source_key("rtsp://user:pw@cam/live"))
        16
    """
    return hashlib.sha256(spec.strip().encode()).hexdigest()[:16]


class Store:
    """The app's SQLite database; safe to share between threads.

    Example:
        >>> s = Store(":memory:")
        >>> s.save_zones("demo", [{"name": "door", "type": "line", "points": [[0, 0], [9, 9]]}])
        >>> s.load_zones("demo")[0]["name"]
        'door'
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, timeout=10)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(SCHEMA)
        except sqlite3.Error as e:
            raise DashboardError(f"Cannot open the database {self.path}: {e}") from e
        self._lock = threading.Lock()

    def save_zones(self, spec: str, zones: list[dict[str, Any]]) -> None:
        """Remember the zones drawn for a source (replacing what was there)."""
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO zones VALUES (?, ?, ?, ?) ON CONFLICT(source_key) DO UPDATE SET "
                "source_name=excluded.source_name, zones_json=excluded.zones_json, "
                "updated=excluded.updated",
                (source_key(spec), mask_secrets(spec), json.dumps(zones), time.time()))

    def load_zones(self, spec: str) -> list[dict[str, Any]] | None:
        """The zones saved for a source, or None if there are none."""
        with self._lock:
            row = self._db.execute("SELECT zones_json FROM zones WHERE source_key = ?",
                                   (source_key(spec),)).fetchone()
        return json.loads(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            self._db.close()
