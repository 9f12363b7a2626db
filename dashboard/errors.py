"""The one exception type for errors a user can cause and fix."""
from __future__ import annotations


class DashboardError(ValueError):
    """A problem the user can fix (bad source, model, zone or file); the message says how.

    Example:
        >>> try:
        ...     raise DashboardError("Zone 'door' needs 2 points, got 1.")
        ... except DashboardError as e:
        ...     print(e)
        Zone 'door' needs 2 points, got 1.
    """
