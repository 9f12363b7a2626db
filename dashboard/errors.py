"""Every exception a user can cause and fix, each knowing the HTTP status the API answers.

The page shows the message in an error box, the API as `{"error": message}` with `status`,
the CLI on standard error with exit code 2. Anything else is our fault: logged, and answered
500 without details.
"""
from __future__ import annotations


class DashboardError(ValueError):
    """A problem the user can fix (bad source, model, zone or file); the message says how.

    Example:
        >>> try:
        ...     raise DashboardError("Zone 'door' needs 2 points, got 1.")
        ... except DashboardError as e:
        ...     print(e.status, e)
        400 Zone 'door' needs 2 points, got 1.
    """

    status = 400


class NotAllowed(DashboardError):
    """The user's role does not allow this."""

    status = 403


class SessionEnded(NotAllowed):
    """The login behind a page, stream or token has ended: logged out, expired, password
    changed or user removed."""

    status = 401


class LoginFailed(DashboardError):
    """Wrong name or password (401), or too many tries (429, with how long to wait)."""

    status = 401

    def __init__(self, message: str, retry_after_s: float = 0.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        if retry_after_s:
            self.status = 429


class NotFound(DashboardError):
    """No camera or zone with that id."""

    status = 404


class Conflict(DashboardError):
    """The change clashes with what exists, e.g. a name already taken."""

    status = 409


class TooLarge(DashboardError):
    """A request body larger than the route takes."""

    status = 413


class NotJson(DashboardError):
    """A request body sent as something other than JSON."""

    status = 415


class StoreUnavailable(DashboardError):
    """The database cannot be written now (disk full, read-only, gone); nothing was
    changed. The same request can work later."""

    status = 503
