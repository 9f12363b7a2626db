"""`Outbox`: the webhook's undelivered messages in a small SQLite file of their own, so none is
lost while the receiver is down or over a restart (bounded by `OUTBOX_MAX`)."""
from __future__ import annotations

import json
import logging
import sqlite3
import threading
import uuid
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

OUTBOX_MAX = 100_000          # undelivered messages kept; past that the oldest go (logged)
OUTBOX_FILE = "webhook-outbox.sqlite"


class Outbox:
    """Messages waiting for delivery, in a SQLite file of their own (this server's, not the
    shared store: it survives a restart and a database on another machine alike), oldest
    first, each with the key it is delivered under, at most `OUTBOX_MAX` of them.

    Example:
        >>> import tempfile, pathlib
        >>> box = Outbox(pathlib.Path(tempfile.mkdtemp()) / "outbox.sqlite")
        >>> box.add({"n": 1}); box.add({"n": 2}); len(box)
        2
        >>> key, doc = box.oldest(); doc, len(key)
        ({'n': 1}, 32)
        >>> box.done(key); len(box)
        1
    """

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY "
                         "AUTOINCREMENT, key TEXT NOT NULL, body TEXT NOT NULL)")
        self._lock = threading.RLock()    # one connection, used from two threads
        self.dropped = 0

    def add(self, doc: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("INSERT INTO outbox (key, body) VALUES (?, ?)",
                             (uuid.uuid4().hex, json.dumps(doc)))
            over = len(self) - OUTBOX_MAX
            if over > 0:     # the receiver has been gone for days: keep the newest
                self._db.execute("DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox "
                                 "ORDER BY seq LIMIT ?)", (over,))
                self.dropped += over

    def oldest(self) -> tuple[str, dict[str, Any]] | None:
        with self._lock:
            row = self._db.execute("SELECT key, body FROM outbox ORDER BY seq LIMIT 1"
                                   ).fetchone()
        return (row[0], json.loads(row[1])) if row else None

    def done(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM outbox WHERE key = ?", (key,))

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
