"""Who may do what: each use case declares its least role (`needs`); `UserService` is the
service as one user may use it, checked and audited at every call."""
from __future__ import annotations

import functools
import inspect
import json
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from dashboard.errors import DashboardError, LoginFailed, NotAllowed, SessionEnded
from dashboard.service.auth import Role, User

if TYPE_CHECKING:
    from dashboard.service.core import Service

F = TypeVar("F", bound=Callable[..., Any])


def needs(role: Role, audited: bool | None = None, acting: bool = False) -> Callable[[F], F]:
    """Declare, on a use case itself, the least role that may call it through a
    `UserService` (checked each time it acts; a method without it is refused to everyone).
    Changes (anything an operator or admin may do) go to the audit log, unless `audited`
    says otherwise (reads of admin data, frames many times a second). An `acting` use case
    is told who acts (its `by`, set here: a caller cannot name someone else).

    Example:
        >>> @needs(Role.OPERATOR)
        ... def stop(self, cid): ...
        >>> stop.needs, stop.audited
        (<Role.OPERATOR: 'operator'>, True)
    """
    def mark(fn: F) -> F:
        fn.needs = role                                          # type: ignore[attr-defined]
        fn.audited = role is not Role.VIEWER if audited is None else audited  # type: ignore[attr-defined]
        fn.acting = acting                                       # type: ignore[attr-defined]
        return fn
    return mark


class UserService:
    """The service as one user may use it. Every call is checked here, on the server, when
    it acts: the user is looked up again (so a page, stream or token opened before a logout,
    a password change, a removal or a demotion loses its powers at its next call), then
    their role is checked (hidden buttons are only a courtesy); changes are written to the
    audit log with who made them, and so are refusals.

    Example:
        >>> import tempfile
        >>> from dashboard.service.core import Service, Path
        >>> from dashboard.store.sqlite import SQLiteStore
        >>> svc = Service(SQLiteStore(":memory:"), Path(tempfile.mkdtemp()), demo=False)
        >>> viewer = svc.as_user(User("vic", Role.VIEWER))
        >>> viewer.cameras()
        []
        >>> viewer.add_camera("Door", "demo")
        Traceback (most recent call last):
        dashboard.errors.NotAllowed: vic is a viewer: add_camera needs the admin role.
    """

    def __init__(self, service: Service, who: Callable[[], User | None], seen: str) -> None:
        self._svc, self._who, self._seen = service, who, seen

    @property
    def user(self) -> User:
        """Who acts, as the store says now; `SessionEnded` once their login has ended."""
        user = self._who()
        if user is None:
            raise SessionEnded("Your session has ended (logged out, expired, password changed "
                               "or user removed): log in again.")
        self._seen = user.name
        return user

    def change_my_password(self, old: str, new: str, client: str = "page") -> None:
        """The acting user's own new password, given the current one (any role); every
        session of theirs ends, this one too (audited)."""
        user = self.user
        try:
            try:
                self._svc.auth.change_own_password(user.name, old, new, client)
            except LoginFailed as e:
                if e.retry_after_s:      # too many tries: say so, with when to try again
                    raise
                raise DashboardError("The current password is not right: nothing was "
                                     "changed.") from None
        except DashboardError as e:
            self._svc.store.audit(user.name, "change_my_password", user.name, ok=False,
                                  detail=str(e)[:200])
            raise
        self._svc.store.audit(user.name, "change_my_password", user.name)

    def peek_frame_index(self, cid: str) -> int:
        """The newest frame's number, unchecked: a stream polls it every few milliseconds
        only to learn whether a new picture is there; the picture itself (`jpeg`) is a
        checked call."""
        return self._svc.frame_index(cid)

    def __getattr__(self, name: str) -> Any:
        declared = getattr(type(self._svc), name, None)
        if getattr(declared, "needs", None) is None:   # not a use case (`needs`): refused
            raise AttributeError(name)
        fn = getattr(self._svc, name)
        signature = _signature(type(self._svc), name)
        audited: bool = declared.audited              # type: ignore[union-attr]

        def call(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(self._svc, *args, **kwargs).arguments
            needed: Role = declared.needs             # type: ignore[union-attr]
            if name == "update_camera" and all(bound.get(k) is None
                                               for k in ("name", "source", "settings")):
                needed = Role.OPERATOR            # only the looks: an operator's business
            target = str(bound.get("cid") or bound.get("name") or "")
            try:
                user = self.user
            except SessionEnded:
                if audited:
                    self._svc.store.audit(self._seen, name, target, ok=False,
                                          detail="session ended")
                raise
            if not user.role.allows(needed):
                self._svc.store.audit(user.name, name, target, ok=False, detail="not allowed")
                article = "an" if user.role.value[0] in "aeiou" else "a"
                raise NotAllowed(f"{user.name} is {article} {user.role.value}: {name} needs "
                                 f"the {needed.value} role.")
            if getattr(declared, "acting", False):
                kwargs["by"] = user.name          # who acts is the session's user, always
            result = fn(*args, **kwargs)
            if audited:
                detail = {k: v for k, v in bound.items()
                          if k not in ("self", "cid", "password", "source", "data", "by",
                                       "marks")}
                self._svc.store.audit(user.name, name, target,
                                      detail=json.dumps(detail, default=str)[:500])
            return result

        call.__name__ = name
        return call


@functools.lru_cache(maxsize=None)
def _signature(cls: type, name: str) -> inspect.Signature:
    """A use case's parameters (looked up once, not on every call)."""
    return inspect.signature(getattr(cls, name))


