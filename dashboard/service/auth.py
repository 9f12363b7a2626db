"""Who may do what: users with argon2-hashed passwords, three roles, session and API tokens,
rate-limited logins.

Tokens are random (32 bytes), handed out once and kept only as their SHA-256, so the
database holds nothing that logs anyone in. A browser carries its session token in an
HttpOnly cookie; integrations send an API token as `Authorization: Bearer ...`.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from enum import Enum
from typing import Any

from dashboard.errors import DashboardError, LoginFailed, StoreUnavailable
from dashboard.store.base import Store

log = logging.getLogger(__name__)

SESSION_S = 12 * 3600          # a browser session lasts this long
from dashboard.config.env import admin_password
API_TOKEN_S = 90 * 86400       # an API token from POST /api/login lasts this long
FAILS_ALLOWED = 5              # failed logins for one user from one client ...
CLIENT_FAILS_ALLOWED = 20      # ... or from one client whatever the user name ...
FAILS_WINDOW_S = 300.0         # ... within this many seconds, then the door shuts ...
LOCKOUT_S = 60.0               # ... for this long
VERIFY_AT_ONCE = 2             # password checks at a time (2 cores: the rest still answer)
DEVICE_KEY = "device_mark_key"   # meta: the key browsers' marks of past logins are signed with
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8


class Role(str, Enum):
    """viewer: watch and export; operator: also start/stop/reset and zones; admin: also
    cameras, users and models."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    def allows(self, needed: "Role") -> bool:
        order = [Role.VIEWER, Role.OPERATOR, Role.ADMIN]
        return order.index(self) >= order.index(needed)


@dataclass(frozen=True)
class User:
    """A logged-in person (or the CLI's local "system" user, an admin)."""

    name: str
    role: Role


SYSTEM = User("system", Role.ADMIN)   # the CLI on the server's own data directory


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Auth:
    """Users, roles, logins and tokens in the store.

    Example:
        >>> from dashboard.store.sqlite import SQLiteStore
        >>> a = Auth(SQLiteStore(":memory:"))
        >>> a.add_user("ann", "correct horse", Role.OPERATOR)
        >>> token = a.login("ann", "correct horse", client="127.0.0.1")
        >>> a.user_for(token)
        User(name='ann', role=<Role.OPERATOR: 'operator'>)
    """

    def __init__(self, store: Store, hasher: Any = None) -> None:
        """`hasher`: argon2's `PasswordHasher` with its recommended cost, unless one is
        handed in (tests that check hundreds of passwords use a cheaper one)."""
        from argon2 import PasswordHasher

        self.store = store
        self._hasher = hasher or PasswordHasher()
        self._fails: dict[str, deque[float]] = {}
        self._locked: dict[str, float] = {}
        self._trying: dict[str, int] = {}     # tries being checked now, per key
        self._lock = threading.Lock()
        self._verifying = threading.BoundedSemaphore(VERIFY_AT_ONCE)
        self._key: bytes | None = None        # see _device_key
        # Tokens issued while the database could not be written (disk full, read-only):
        # people can still log in to see what is wrong; these end with the process.
        self._held: dict[str, tuple[str, float]] = {}
        self._revoked: set[str] = set()   # logged out while the database could not be written
        # A hash to check against when the user does not exist: the answer takes as long
        # either way, so timing tells nobody which names exist.
        self._decoy = self._hasher.hash(secrets.token_hex(8))

    # -- users ----------------------------------------------------------------------------
    def ensure_admin(self) -> str | None:
        """On first start (no users), create "admin" with HEATMAP_DASHBOARD_ADMIN_PASSWORD
        or a random password; returns the random one (to be shown once), else None."""
        if self.users():
            return None
        given = admin_password()
        password = given or secrets.token_urlsafe(12)
        self.add_user("admin", password, Role.ADMIN)
        return None if given else password

    def users(self) -> list[User]:
        return [User(n, Role(r)) for n, r in self.store.users()]

    def add_user(self, name: str, password: str, role: Role | str) -> None:
        if not isinstance(name, str) or not USERNAME.match(name):
            raise DashboardError("A user name is 1 to 64 letters, digits or . _ @ -.")
        role = self._role(role)
        self._check_password(password)
        if self.store.user_role(name) is not None:
            raise DashboardError(f"There is a user {name!r} already.")
        self.store.add_user(name, self._hasher.hash(password), role.value)

    def set_password(self, name: str, password: str) -> None:
        self._check_password(password)
        self._need_user(name)
        self.store.set_password_hash(name, self._hasher.hash(password))   # logs out everywhere

    def set_role(self, name: str, role: Role | str) -> None:
        role = self._role(role)
        self._need_user(name)
        if role is not Role.ADMIN and self._last_admin(name):
            raise DashboardError("The last admin cannot lose the role: make another admin first.")
        self.store.set_user_role(name, role.value)

    def remove_user(self, name: str) -> None:
        self._need_user(name)
        if self._last_admin(name):
            raise DashboardError("The last admin cannot be removed: make another admin first.")
        self.store.remove_user(name)

    def _last_admin(self, name: str) -> bool:
        admins = [u.name for u in self.users() if u.role is Role.ADMIN]
        return admins == [name]

    def _need_user(self, name: str) -> None:
        if self.store.user_role(name) is None:
            raise DashboardError(f"There is no user {name!r}.")

    @staticmethod
    def _role(role: Role | str) -> Role:
        try:
            return Role(role)
        except ValueError:
            raise DashboardError("A role is one of viewer, operator, admin.") from None

    @staticmethod
    def _check_password(password: str) -> None:
        if not isinstance(password, str) or len(password) < MIN_PASSWORD:
            raise DashboardError(f"A password needs at least {MIN_PASSWORD} characters.")

    # -- logging in -----------------------------------------------------------------------
    def login(self, name: str, password: str, client: str, kind: str = "session",
              device: str | None = None) -> str:
        """A new token for a right name and password; `LoginFailed` otherwise.

        Tries are counted before the password is checked, under one lock, so parallel tries
        cannot slip past the limit. They are counted per name and address, and per address
        for any names (a spray of names); after FAILS_ALLOWED (or CLIENT_FAILS_ALLOWED) within
        FAILS_WINDOW_S, that door shuts for LOCKOUT_S, right password or not. A browser that
        logged in as `name` before carries a `device` mark (`device_mark`): its tries are
        counted on their own, so nobody else's failures, from the same address or for the
        same name, can keep that person out."""
        self._attempt(name, password, client, device)
        token = secrets.token_urlsafe(32)
        life = SESSION_S if kind == "session" else API_TOKEN_S
        try:
            self.store.add_token(_digest(token), name, kind, time.time() + life)
        except StoreUnavailable:
            with self._lock:
                self._held[_digest(token)] = (str(name), time.time() + life)
        return token

    def change_own_password(self, name: str, old: str, new: str, client: str) -> None:
        """A user's own new password, given their current one (tried and counted like a
        login); every session of theirs ends, this one too.

        Example:
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> a = Auth(SQLiteStore(":memory:"))
            >>> a.add_user("ann", "correct horse", Role.VIEWER)
            >>> a.change_own_password("ann", "correct horse", "battery staple", "127.0.0.1")
            >>> a.user_for(a.login("ann", "battery staple", "127.0.0.1")).name
            'ann'
        """
        self._check_password(new)
        self._attempt(name, old, client, None)
        self.set_password(name, new)

    def _attempt(self, name: str, password: str, client: str, device: str | None) -> None:
        """Check a password, counted against the limits (`login`); `LoginFailed` if wrong."""
        keys = self._keys(name, client, device)
        now = time.monotonic()
        with self._lock:
            until = max(self._locked.get(k, 0.0) for k in keys)
            if until > now:
                raise LoginFailed(f"Too many failed logins: try again in {until - now:.0f} s.",
                                  until - now)
            if any(len(self._recent(k, now)) + self._trying.get(k, 0) >= self._limit(k)
                   for k in keys):
                raise LoginFailed("Too many logins tried at once: try again in a few seconds.",
                                  2.0)
            for k in keys:
                self._trying[k] = self._trying.get(k, 0) + 1
        try:
            ok = self._verify(str(name), password)
        finally:
            with self._lock:
                for k in keys:
                    self._trying[k] -= 1
        if not ok:
            self._failed(keys, now)
            raise LoginFailed("Wrong user name or password.")
        with self._lock:
            for k in keys:
                self._fails.pop(k, None)

    def _keys(self, name: str, client: str, device: str | None) -> tuple[str, ...]:
        mark = self._device_of(device)
        if mark is not None and mark[0] == name:
            return (f"device:{mark[1]}",)       # this browser's own tries, nobody else's
        return (f"user:{name}@{client}", f"client:{client}")

    @staticmethod
    def _limit(key: str) -> int:
        return CLIENT_FAILS_ALLOWED if key.startswith("client:") else FAILS_ALLOWED

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._fails.setdefault(key, deque())
        while q and now - q[0] > FAILS_WINDOW_S:
            q.popleft()
        return q

    def _verify(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s: argon2, a few at a time (each takes tens of
        milliseconds of a core and 64 MiB), as long for a name that does not exist."""
        known = self.store.password_hash(name)
        with self._verifying:
            try:
                return self._hasher.verify(known or self._decoy,
                                           str(password)) and known is not None
            except Exception:   # argon2 raises VerifyMismatchError (and kin) for a wrong one
                return False

    def _failed(self, keys: tuple[str, ...], now: float) -> None:
        with self._lock:
            for k in keys:
                q = self._recent(k, now)
                q.append(now)
                if len(q) >= self._limit(k):
                    self._locked[k] = now + LOCKOUT_S
                    q.clear()

    # -- a browser's mark of a past login -------------------------------------------------
    def device_mark(self, name: str) -> str:
        """A mark for a browser that just logged in as `name` (kept in a long-lived cookie):
        random, signed with a key of this server's, naming the user.

        Example:
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> a = Auth(SQLiteStore(":memory:"))
            >>> mark = a.device_mark("ann")
            >>> a.device_user(mark), a.device_user(mark.replace("ann", "bob"))
            ('ann', None)
        """
        nonce = secrets.token_urlsafe(12)
        return f"{nonce}:{self._sign(nonce, name)}:{name}"

    def device_user(self, mark: str | None) -> str | None:
        """The user a browser's genuine mark names; None for none or a forged one."""
        found = self._device_of(mark)
        return found[0] if found else None

    def _device_of(self, mark: str | None) -> tuple[str, str] | None:
        """(user name, the mark's own id) of a genuine mark; None for none or a forged one."""
        parts = (mark or "").split(":", 2)
        if len(parts) != 3 or not hmac.compare_digest(parts[1], self._sign(parts[0],
                                                                            parts[2])):
            return None
        return parts[2], parts[0]

    def _sign(self, nonce: str, name: str) -> str:
        return hmac.new(self._device_key(), f"{nonce}:{name}".encode(),
                        hashlib.sha256).hexdigest()[:32]

    def _device_key(self) -> bytes:
        """The key marks are signed with: kept in the store, made on first use. While the
        store cannot be written (disk full) a new one lives in memory: logins go on, and
        the marks it signs last until the next start."""
        with self._lock:
            if self._key is None:
                key = self.store.meta(DEVICE_KEY)
                if key is None:
                    key = secrets.token_hex(32)
                    try:
                        self.store.set_meta(DEVICE_KEY, key)
                    except StoreUnavailable:
                        log.warning("the key for browsers' login marks could not be stored: "
                                    "marks made now last until the server restarts")
                self._key = bytes.fromhex(key)
            return self._key

    def user_for(self, token: str | None) -> User | None:
        """The user a token logs in, or None (unknown, expired, or its user removed)."""
        if not token:
            return None
        with self._lock:
            held = self._held.get(_digest(token))
            if _digest(token) in self._revoked:
                return None
        if held is not None and held[1] > time.time():
            role = self.store.user_role(held[0])
            return User(held[0], Role(role)) if role else None
        found = self.store.token_user(_digest(token))
        return User(found[0], Role(found[1])) if found else None

    def logout(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._held.pop(_digest(token), None)
            try:
                self.store.delete_token(_digest(token))
            except StoreUnavailable:
                with self._lock:
                    self._revoked.add(_digest(token))
