"""How a value a user gives (page, API, CLI) is checked: names, numbers in bounds, choices,
class lists and groups, moments in time; each check names the offending field in words."""
from __future__ import annotations

import math
import unicodedata
from dataclasses import fields, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any, Callable, Sequence

from dashboard.errors import DashboardError
from dashboard.config.kinds import NAME_MAX


def checked_name(value: Any, what: str) -> str:
    """A checked name: printable, at most NAME_MAX characters, and without the characters
    that reorder or hide text (right-to-left overrides, zero-width marks), which can make a
    name read as another.

    Example:
        >>> checked_name("Door \u202egnp.exe", "A zone")
        Traceback (most recent call last):
        dashboard.errors.DashboardError: A zone name must be at most 80 printable characters, with no characters that reorder or hide text.
    """
    if not isinstance(value, str) or not value.strip():
        raise DashboardError(f"{what} needs a name.")
    value = value.strip()
    if len(value) > NAME_MAX or any(unicodedata.category(c) in HIDDEN for c in value):
        raise DashboardError(f"{what} name must be at most {NAME_MAX} printable characters, "
                             "with no characters that reorder or hide text.")
    return value


def checked_text(value: Any, what: str, most: int, empty: bool = False) -> str:
    r"""A checked free text (a note): at most `most` characters, none that reorder or hide
    text; line breaks and tabs are kept.

    Example:
        >>> checked_text("  on my way\n", "A note", 500)
        'on my way'
        >>> checked_text("x" * 501, "A note", 500)
        Traceback (most recent call last):
        dashboard.errors.DashboardError: A note must be at most 500 characters, with no characters that reorder or hide text.
    """
    if value is None and empty:
        return ""
    if not isinstance(value, str) or (not value.strip() and not empty):
        raise DashboardError(f"{what} must be text.")
    value = value.strip()
    if len(value) > most or any(unicodedata.category(c) in HIDDEN and c not in "\n\t"
                                for c in value):
        raise DashboardError(f"{what} must be at most {most} characters, with no characters "
                             "that reorder or hide text.")
    return value


# Unicode categories refused in names: controls, format characters (bidirectional overrides
# and isolates, zero-width and direction marks: shown, they reorder or hide the text around
# them, unicode.org/reports/tr36), line and paragraph separators, private and unassigned.
HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


def enum_field(cls: type[Enum]) -> Callable[[Any], Enum]:
    def parse(v: Any) -> Enum:
        try:
            return cls(v)
        except ValueError:
            raise ValueError(f"use one of {', '.join(m.value for m in cls)}") from None
    return parse


def number_field(kind: type, lo: float, hi: float) -> Callable[[Any], Any]:
    def parse(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise ValueError("must be a number")
        x = kind(float(v)) if kind is int else kind(v)
        if not (lo <= x <= hi) or (isinstance(x, float) and not math.isfinite(x)):
            raise ValueError(f"must be between {lo:g} and {hi:g}")
        return x
    return parse


def bool_field(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise ValueError("must be true or false")


def optional_field(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else parse(v)


def time_field(v: Any) -> float:
    """A moment as Unix seconds, from ISO 8601 with its UTC offset or from Unix seconds. A
    time without an offset is refused: whose 08:00 it is cannot be guessed.

    Example:
        >>> time_field("2026-12-05T08:00:00+01:00"), time_field("2026-12-05T07:00:00Z")
        (1796454000.0, 1796454000.0)
        >>> time_field(1796454000)
        1796454000.0
    """
    if isinstance(v, str):
        try:
            moment = datetime.fromisoformat(v.strip())
        except ValueError:
            raise ValueError("must be a time like 2026-12-05T08:00:00+01:00") from None
        if moment.tzinfo is None:
            raise ValueError("needs its UTC offset, e.g. 2026-12-05T08:00:00+01:00 or ...Z")
        return moment.timestamp()
    return number_field(float, 0.0, 2.0 ** 33)(v)


def time_text(t: float | None) -> str | None:
    """Unix seconds as ISO 8601 in UTC (None stays None); `time_field` reads it back.

    Example:
        >>> time_text(1796454000.0)
        '2026-12-05T07:00:00+00:00'
    """
    return None if t is None else datetime.fromtimestamp(t, timezone.utc).isoformat()


def classes_field(v: Any) -> tuple[str, ...] | None:
    if v is None:
        return None
    if isinstance(v, str) or not isinstance(v, Sequence) or not all(
            isinstance(c, str) and c.strip() for c in v):
        raise ValueError("must be a list of class names, or null for every class")
    return tuple(c.strip() for c in v) or None


def groups_from_text(text: str) -> dict[str, list[str]]:
    """Class groups as typed in the page or the CLI: "group = class + class", separated by
    semicolons.

    Example:
        >>> groups_from_text("person = Normal + Fall; vehicle = car+truck")
        {'person': ['Normal', 'Fall'], 'vehicle': ['car', 'truck']}
    """
    out: dict[str, list[str]] = {}
    for part in filter(str.strip, str(text).split(";")):
        name, eq, members = part.partition("=")
        classes = [c.strip() for c in members.split("+") if c.strip()]
        if not eq or not name.strip() or not classes:
            raise DashboardError(f"Class group {part.strip()!r}: write it as "
                                 "'group = class + class'.")
        out[name.strip()] = classes
    return out


def groups_text(groups: dict[str, Sequence[str]] | None) -> str:
    """The text form of class groups (see `groups_from_text`).

    Example:
        >>> groups_text({"person": ["Normal", "Fall"]})
        'person = Normal + Fall'
    """
    return "; ".join(f"{g} = {' + '.join(m)}" for g, m in (groups or {}).items())


def groups_field(v: Any) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    if v is None or v == {} or v == "":
        return None
    if isinstance(v, str):
        v = groups_from_text(v)
    if not isinstance(v, dict) or not all(
            isinstance(g, str) and g.strip() and isinstance(m, (list, tuple)) and m
            and all(isinstance(c, str) and c.strip() for c in m) for g, m in v.items()):
        raise ValueError('must map a group name to its classes, e.g. {"person": '
                         '["Normal", "Fall"]}')
    return tuple((g.strip(), tuple(c.strip() for c in m)) for g, m in v.items())


def choice_field(options: Sequence[Any]) -> Callable[[Any], Any]:
    def parse(v: Any) -> Any:
        for o in options:
            if v == o or (isinstance(o, int) and isinstance(v, (int, float, str))
                          and str(v).isdigit() and int(v) == o):
                return o
        raise ValueError(f"use one of {', '.join(map(str, options))}")
    return parse


def text_field(v: Any) -> str:
    if not isinstance(v, str) or not v.strip() or len(v) > 400:
        raise ValueError("must be a non-empty text")
    return v.strip()


def parse_fields(cls: type, data: Any, what: str, base: Any = None) -> Any:
    """Build dataclass `cls` from a dict (over `base`, for partial updates), each value
    checked by its field's `parse`; unknown keys are refused by name."""
    if not isinstance(data, dict):
        raise DashboardError(f"{what} must be an object.")
    known = {f.name: f for f in fields(cls) if f.init}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise DashboardError(f"{what}: unknown setting {', '.join(map(repr, unknown))}; "
                             f"known: {', '.join(known)}.")
    values = {}
    for key, value in data.items():
        try:
            values[key] = known[key].metadata["parse"](value)
        except (ValueError, TypeError) as e:
            raise DashboardError(f"{what}: {key} {e}.") from None
    return replace(base, **values) if base is not None else cls(**values)


def dump_fields(obj: Any) -> dict[str, Any]:
    out = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if "dump" in f.metadata:
            v = f.metadata["dump"](v)
        elif isinstance(v, Enum):
            v = v.value
        elif isinstance(v, tuple):
            v = [list(x) if isinstance(x, tuple) else x for x in v]
        out[f.name] = v
    return out


def unit_points(v: Any) -> tuple[tuple[float, float], ...]:
    if not isinstance(v, (list, tuple)) or not v:
        raise ValueError("must be a list of [x, y] pairs")
    out = []
    for p in v:
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise ValueError("must be a list of [x, y] pairs")
        x, y = (number_field(float, -0.01, 1.01)(c) for c in p)
        out.append((min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)))
    return tuple(out)


# A zone's defaults, here once: the page, the API, the CLI and the zones file take these.
