"""The catalogue part of a store: settings (meta), the audit log, users and tokens, cameras
and zones. Zones are never dropped: deleting marks them, so their counts stay theirs."""
from __future__ import annotations

import json
import logging
import time
from typing import Any, Callable, ContextManager

from dashboard.config.camera import Camera, CameraSettings, Presentation
from dashboard.config.kinds import CameraId, ZoneId
from dashboard.config.zone import ZoneSpec
from dashboard.errors import DashboardError, StoreUnavailable
from dashboard.store.export import iso

log = logging.getLogger(__name__)

META_UPSERT = ("INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET "
               "value = excluded.value")


class Catalog:
    """Meta, audit, users, cameras and zones of a `Store` (its `_tx`, `_read`, `_db`)."""

    ZONE_ORDER = "created, rowid"    # zones in the order they were added
    _db: Any
    _tx: Callable[[], ContextManager[Any]]     # the dialect's (see `Store`)
    _read: Callable[[], ContextManager[Any]]

    # -- meta -----------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self._read():
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        with self._tx():
            self._db.execute(META_UPSERT, (key, value))

    # -- audit ------------------------------------------------------------------------------
    def sql(self, query: str, *params: Any) -> list[tuple]:
        """Run one statement in its own transaction; the rows it returns (for tests and
        upkeep: the dashboard's own queries are methods here)."""
        with self._tx():
            return self._db.execute(query, params).fetchall()

    def audit(self, username: str, action: str, target: str, ok: bool = True,
              detail: str = "") -> None:
        """Record who did what to which thing, and whether it was allowed. While the
        database cannot be written the record goes to the log instead (never lost)."""
        try:
            self.sql("INSERT INTO audit (t, username, action, target, ok, detail) "
                     "VALUES (?, ?, ?, ?, ?, ?)", time.time(), username, action, target,
                     int(ok), detail[:500])
        except StoreUnavailable:
            log.warning("audit (not stored: %s): %s %s %s ok=%s %s", self.fault, username,
                        action, target, ok, detail[:500])

    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        with self._read():
            rows = self._db.execute("SELECT t, username, action, target, ok, detail FROM audit "
                                    "ORDER BY id DESC LIMIT ?", (int(limit),)).fetchall()
        return [{"t": t, "time": iso(t), "user": u, "action": a, "target": g, "ok": bool(ok),
                 "detail": d} for t, u, a, g, ok, d in rows]

    # -- users and tokens (`Auth` keeps the rules; tokens are stored as digests) -----------
    def users(self) -> list[tuple[str, str]]:
        """(name, role) of every user, by name."""
        with self._read():
            return self._db.execute("SELECT username, role FROM users ORDER BY username"
                                    ).fetchall()

    def user_role(self, name: str) -> str | None:
        with self._read():
            row = self._db.execute("SELECT role FROM users WHERE username = ?", (name,)
                                   ).fetchone()
        return row[0] if row else None

    def password_hash(self, name: str) -> str | None:
        with self._read():
            row = self._db.execute("SELECT pw_hash FROM users WHERE username = ?", (name,)
                                   ).fetchone()
        return row[0] if row else None

    def add_user(self, name: str, pw_hash: str, role: str) -> None:
        with self._tx():
            self._db.execute("INSERT INTO users VALUES (?, ?, ?, ?)",
                             (name, pw_hash, role, time.time()))

    def set_password_hash(self, name: str, pw_hash: str) -> None:
        """A new password; every session of the user ends with it (one transaction)."""
        with self._tx():
            self._db.execute("UPDATE users SET pw_hash = ? WHERE username = ?", (pw_hash, name))
            self._db.execute("DELETE FROM tokens WHERE username = ?", (name,))

    def set_user_role(self, name: str, role: str) -> None:
        with self._tx():
            self._db.execute("UPDATE users SET role = ? WHERE username = ?", (role, name))

    def remove_user(self, name: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM tokens WHERE username = ?", (name,))
            self._db.execute("DELETE FROM users WHERE username = ?", (name,))

    def add_token(self, digest: str, name: str, kind: str, expires: float) -> None:
        """Keep a token's digest until `expires`; expired ones go in the same transaction."""
        now = time.time()
        with self._tx():
            self._db.execute("INSERT INTO tokens VALUES (?, ?, ?, ?, ?)",
                             (digest, name, kind, now, expires))
            self._db.execute("DELETE FROM tokens WHERE expires < ?", (now,))

    def token_user(self, digest: str) -> tuple[str, str] | None:
        """(name, role) of an unexpired token's user."""
        with self._read():
            row = self._db.execute(
                "SELECT u.username, u.role FROM tokens t JOIN users u ON u.username = "
                "t.username WHERE t.token_hash = ? AND t.expires > ?", (digest, time.time())
            ).fetchone()
        return (row[0], row[1]) if row else None

    def delete_token(self, digest: str) -> None:
        with self._tx():
            self._db.execute("DELETE FROM tokens WHERE token_hash = ?", (digest,))

    # -- cameras --------------------------------------------------------------------------
    def add_camera(self, cam: Camera, source_sealed: str) -> None:
        now = time.time()
        with self._tx():
            self._db.execute(
                "INSERT INTO cameras VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                (cam.id, cam.name, source_sealed, cam.source, json.dumps(cam.settings.to_dict()),
                 json.dumps(cam.presentation.to_dict()), int(cam.enabled), now, now))

    def update_camera(self, cam: Camera, source_sealed: str | None = None) -> None:
        with self._tx():
            self._db.execute(
                "UPDATE cameras SET name = ?, source_shown = ?, settings_json = ?, "
                "presentation_json = ?, enabled = ?, updated = ? WHERE id = ?",
                (cam.name, cam.source, json.dumps(cam.settings.to_dict()),
                 json.dumps(cam.presentation.to_dict()), int(cam.enabled), time.time(), cam.id))
            if source_sealed is not None:
                self._db.execute("UPDATE cameras SET source_sealed = ? WHERE id = ?",
                                 (source_sealed, cam.id))

    def delete_camera(self, cid: CameraId) -> None:
        """Mark a camera deleted; its events, counts and zones stay in the file, archived."""
        now = time.time()
        with self._tx():
            self._db.execute("UPDATE cameras SET deleted = ?, enabled = 0 WHERE id = ?",
                             (now, cid))
            self._db.execute("UPDATE zones SET deleted = ? WHERE camera_id = ? AND deleted IS NULL",
                             (now, cid))
            self._db.execute("UPDATE epochs SET archived = ? WHERE camera_id = ? AND "
                             "archived IS NULL", (now, cid))

    def cameras(self) -> list[tuple[Camera, str]]:
        """Every camera not deleted, oldest first, with its sealed source."""
        with self._read():
            rows = self._db.execute(
                "SELECT id, name, source_shown, settings_json, presentation_json, enabled, "
                "created, source_sealed FROM cameras WHERE deleted IS NULL ORDER BY created, id"
            ).fetchall()
        out = []
        for cid, name, shown, settings, pres, enabled, created, sealed in rows:
            saved = json.loads(settings)
            # Heat from moving objects only is the default for new cameras; one saved before
            # the setting existed keeps painting every track, as it did.
            saved.setdefault("heat_moving_only", False)
            cam = Camera(CameraId(cid), name, shown, CameraSettings.from_dict(saved),
                         Presentation.from_dict(json.loads(pres)), bool(enabled), created)
            out.append((cam, sealed))
        return out

    # -- zones ----------------------------------------------------------------------------
    def save_zone(self, cid: CameraId, spec: ZoneSpec) -> None:
        """Add or replace (by id) a camera's zone."""
        now = time.time()
        with self._tx():
            self._db.execute(
                "INSERT INTO zones VALUES (?, ?, ?, ?, ?, NULL) ON CONFLICT(id) DO UPDATE SET "
                "spec_json = excluded.spec_json, updated = excluded.updated",
                (spec.id, cid, json.dumps(spec.to_dict()), now, now))

    def delete_zone(self, zid: ZoneId) -> None:
        """Archive a zone: it is no longer shown or counted; its past counts stay."""
        with self._tx():
            self._db.execute("UPDATE zones SET deleted = ? WHERE id = ?", (time.time(), zid))

    def restore_zone(self, cid: CameraId, zid: ZoneId) -> ZoneSpec:
        """Undo a delete: the zone comes back with its id, so its counts come back too."""
        with self._tx():
            row = self._db.execute("SELECT spec_json FROM zones WHERE id = ? AND camera_id = ? "
                                   "AND deleted IS NOT NULL", (zid, cid)).fetchone()
            if row is None:
                raise DashboardError(f"Zone {zid!r} of this camera is not a deleted zone.")
            self._db.execute("UPDATE zones SET deleted = NULL, updated = ? WHERE id = ?",
                             (time.time(), zid))
        return ZoneSpec.from_dict(json.loads(row[0]))

    def zones(self, cid: CameraId) -> list[ZoneSpec]:
        """A camera's zones in the order they were added; a row that no longer passes the
        checks is skipped with a warning rather than stopping the camera."""
        with self._read():
            rows = self._db.execute("SELECT spec_json FROM zones WHERE camera_id = ? AND "
                                    f"deleted IS NULL ORDER BY {self.ZONE_ORDER}",
                                    (cid,)).fetchall()
        out = []
        for (text,) in rows:
            try:
                out.append(ZoneSpec.from_dict(json.loads(text)))
            except (DashboardError, ValueError) as e:
                log.warning("camera %s: a saved zone was skipped: %s", cid, e)
        return out
