"""Exports' text: CSV that a spreadsheet cannot run, local times as exports write them."""
from __future__ import annotations

import csv
import io
import time
from typing import Any, Iterable


def csv_text(header: list[str], rows: Iterable[Iterable[Any]]) -> str:
    """CSV with every cell that a spreadsheet would run as a formula made inert.

    Example:
        >>> csv_text(["zone"], [["=HYPERLINK(1)"], ["door"]]).splitlines()
        ['zone', "'=HYPERLINK(1)", 'door']
    """
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows([("'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@", "\t", "\r")
                  else c) for c in row] for row in rows)
    return buf.getvalue()


def iso(t: float) -> str:
    """Local time with milliseconds, as exports write it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t)) + f".{int(t * 1000) % 1000:03d}"
