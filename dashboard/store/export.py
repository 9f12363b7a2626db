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
    r"""Local time with milliseconds and its offset from UTC (ISO 8601), as exports write it:
    a spreadsheet or a colleague in another time zone reads the same instant.

    Example:
        >>> import re
        >>> bool(re.fullmatch(r"2023-11-1\dT\d\d:\d\d:20\.250[+-]\d\d:\d\d", iso(1_700_000_000.25)))
        True
    """
    local = time.localtime(t)
    offset = time.strftime("%z", local)            # +0100
    return (time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{int(t * 1000) % 1000:03d}"
            + offset[:3] + ":" + offset[3:])
