"""People: login and logout, users and roles, the audit log, the service as one user."""
from __future__ import annotations

import functools

from typing import Any

from dashboard.errors import LoginFailed
from dashboard.service.access import UserService, needs
from dashboard.service.auth import Role, User



class PeopleCases:
    """The users part of `Service` (its state: `auth`, `store`)."""

    def login(self, name: str, password: str, client: str, kind: str = "session",
              device: str | None = None) -> str:
        """A token for a right name and password (audited, ok or not); `device`: the mark
        of a browser that logged in as this user before (`Auth.login`)."""
        try:
            token = self.auth.login(name, password, client, kind, device)
        except LoginFailed as e:
            self.store.audit(str(name)[:64], "login", client, ok=False, detail=str(e))
            raise
        self.store.audit(name, "login", client, detail=kind)
        return token

    def user_for(self, token: str | None) -> User | None:
        return self.auth.user_for(token)

    def logout(self, token: str | None) -> None:
        user = self.auth.user_for(token)
        self.auth.logout(token)
        if user is not None:
            self.store.audit(user.name, "logout", "")

    @needs(Role.ADMIN, audited=False)
    def users(self) -> list[User]:
        return self.auth.users()

    @needs(Role.ADMIN)
    def add_user(self, name: str, password: str, role: str) -> None:
        self.auth.add_user(name, password, role)

    @needs(Role.ADMIN)
    def set_role(self, name: str, role: str) -> None:
        self.auth.set_role(name, role)

    @needs(Role.ADMIN)
    def set_password(self, name: str, password: str) -> None:
        self.auth.set_password(name, password)

    @needs(Role.ADMIN)
    def remove_user(self, name: str) -> None:
        self.auth.remove_user(name)

    @needs(Role.ADMIN, audited=False)
    def audit_log(self, limit: int = 200) -> list[dict[str, Any]]:
        return self.store.audit_log(limit)

    def as_user(self, user: User) -> "UserService":
        """This service as `user` may use it (the CLI's system user, tests): every call
        checked against their role."""
        return UserService(self, lambda: user, user.name)

    def as_session(self, token: str | None, seen: str = "unknown") -> "UserService":
        """This service as the holder of a session or API token may use it: the token's
        user and role are looked up again at every call, so nothing built with it (a page's
        fragment, a stream, a browser camera's sender) outlives a logout, a password change,
        a removal or a lost role. `seen`: who the caller already knows holds it (the gate
        does), named in the audit if the session ends before a call finds the user.

        Example:
            >>> import tempfile
            >>> from dashboard.service.core import Service, Path
            >>> from dashboard.store.sqlite import SQLiteStore
            >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
            >>> svc.auth.add_user("op", "password1", Role.OPERATOR)
            >>> token = svc.login("op", "password1", "127.0.0.1")
            >>> page = svc.as_session(token)
            >>> page.cameras(), page.user.role.value
            ([], 'operator')
            >>> svc.logout(token)
            >>> page.cameras()
            Traceback (most recent call last):
            dashboard.errors.SessionEnded: Your session has ended (logged out, expired, password changed or user removed): log in again.
        """
        return UserService(self, functools.partial(self.auth.user_for, token), seen)
