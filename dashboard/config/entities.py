"""The saved things of the service as types: cameras, zones, their settings and their states.

One definition of each setting (its default, its bounds, its choices) feeds the page's
widgets, the API's JSON and the CLI; `from_dict` is where user-given values are checked.
"""
from __future__ import annotations

import math
import secrets
import unicodedata
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any, Callable, ClassVar, NewType, Sequence

import cv2

from dashboard.engine import HeatmapConfig, Zone, zone_from_dict
from dashboard.errors import DashboardError

CameraId = NewType("CameraId", str)
ZoneId = NewType("ZoneId", str)

COLORMAPS = {"Jet": cv2.COLORMAP_JET, "Inferno": cv2.COLORMAP_INFERNO,
             "Turbo": cv2.COLORMAP_TURBO, "Hot": cv2.COLORMAP_HOT,
             "Viridis": cv2.COLORMAP_VIRIDIS, "Plasma": cv2.COLORMAP_PLASMA}
IMAGE_SIZES = (320, 480, 640, 960, 1280)
NAME_MAX = 80
BROWSER = "browser"   # the source of a camera whose frames a visitor's browser sends


def new_id(prefix: str) -> str:
    """A random id: it says nothing of the source and cannot be guessed from it.

    Example:
        >>> new_id("cam").startswith("cam_"), len(new_id("cam"))
        (True, 16)
    """
    return f"{prefix}_{secrets.token_hex(6)}"


class CameraState(str, Enum):
    """Where a camera stands; the human detail (why it failed, ...) travels beside it."""

    STOPPED = "stopped"
    LOADING = "loading model"
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    WAITING = "waiting"          # a browser's camera between visits: counts kept
    ENDED = "ended"
    FAILED = "failed"

    @property
    def active(self) -> bool:
        """True while the camera's thread is meant to be running."""
        return self in (CameraState.LOADING, CameraState.CONNECTING, CameraState.LIVE,
                        CameraState.RECONNECTING, CameraState.WAITING)


class Runtime(str, Enum):
    AUTO = "auto"
    ONNX = "onnx"
    TORCH = "torch"


class Anchor(str, Enum):
    CENTER = "center"
    FEET = "bottom_center"

    @property
    def label(self) -> str:
        return {"center": "box centre", "bottom_center": "feet"}[self.value]


class Pacing(str, Enum):
    """How a video file camera is read. NATIVE and FAST read every frame, so counts never
    depend on how fast the machine is; NATIVE waits to play at the file's own frame rate.
    LIVE plays it as a live camera sends: at its own rate, skipping the frames the machine
    cannot keep up with (to try a machine, or a recording standing in for a camera)."""

    NATIVE = "native"
    FAST = "fast"
    LIVE = "live"


class ZoneKind(str, Enum):
    LINE = "line"
    POLYGON = "polygon"
    MASK = "mask"         # a polygon where nothing is detected, counted or heated

    @property
    def counts(self) -> bool:
        return self is not ZoneKind.MASK


def _name(value: Any, what: str) -> str:
    """A checked name: printable, at most NAME_MAX characters, and without the characters
    that reorder or hide text (right-to-left overrides, zero-width marks), which can make a
    name read as another.

    Example:
        >>> _name("Door \u202egnp.exe", "A zone")
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


# Unicode categories refused in names: controls, format characters (bidirectional overrides
# and isolates, zero-width and direction marks: shown, they reorder or hide the text around
# them, unicode.org/reports/tr36), line and paragraph separators, private and unassigned.
HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


def _enum(cls: type[Enum]) -> Callable[[Any], Enum]:
    def parse(v: Any) -> Enum:
        try:
            return cls(v)
        except ValueError:
            raise ValueError(f"use one of {', '.join(m.value for m in cls)}") from None
    return parse


def _number(kind: type, lo: float, hi: float) -> Callable[[Any], Any]:
    def parse(v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, float, str)):
            raise ValueError("must be a number")
        x = kind(float(v)) if kind is int else kind(v)
        if not (lo <= x <= hi) or (isinstance(x, float) and not math.isfinite(x)):
            raise ValueError(f"must be between {lo:g} and {hi:g}")
        return x
    return parse


def _bool(v: Any) -> bool:
    if isinstance(v, bool):
        return v
    raise ValueError("must be true or false")


def _optional(parse: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda v: None if v is None else parse(v)


def _classes(v: Any) -> tuple[str, ...] | None:
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


def _groups(v: Any) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
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


def _choice(options: Sequence[Any]) -> Callable[[Any], Any]:
    def parse(v: Any) -> Any:
        for o in options:
            if v == o or (isinstance(o, int) and isinstance(v, (int, float, str))
                          and str(v).isdigit() and int(v) == o):
                return o
        raise ValueError(f"use one of {', '.join(map(str, options))}")
    return parse


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip() or len(v) > 400:
        raise ValueError("must be a non-empty text")
    return v.strip()


def _parse(cls: type, data: Any, what: str, base: Any = None) -> Any:
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


def _dump(obj: Any) -> dict[str, Any]:
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


@dataclass(frozen=True)
class CameraSettings:
    """What decides counts and heat: changing one of these never changes a camera's id.

    Example:
        >>> s = CameraSettings.from_dict({"imgsz": 320, "conf": 0.4})
        >>> s.imgsz, s.runtime.value, s.to_dict()["half_life_s"]
        (320, 'auto', None)
    """

    model: str = field(default="demo", metadata={"parse": _text})
    classes: tuple[str, ...] | None = field(default=None, metadata={"parse": _classes})
    # Several model classes counted as one: (("person", ("Normal", "Fall")),)
    class_groups: tuple[tuple[str, tuple[str, ...]], ...] | None = field(
        default=None, metadata={"parse": _groups,
                                "dump": lambda v: {g: list(m) for g, m in v} if v else None})
    conf: float = field(default=0.25, metadata={"parse": _number(float, 0.01, 0.99)})
    imgsz: int = field(default=640, metadata={"parse": _choice(IMAGE_SIZES)})
    tracker: str = field(default="bytetrack.yaml", metadata={"parse": _text})
    runtime: Runtime = field(default=Runtime.AUTO, metadata={"parse": _enum(Runtime)})
    half_life_s: float | None = field(
        default=None, metadata={"parse": _optional(_number(float, 1.0, 30 * 86400.0))})
    heat_anchor: Anchor = field(default=Anchor.CENTER, metadata={"parse": _enum(Anchor)})
    # Heat only from tracks that have moved: a parked car or a false detection paints nothing.
    heat_moving_only: bool = field(default=True, metadata={"parse": _bool})
    pacing: Pacing = field(default=Pacing.NATIVE, metadata={"parse": _enum(Pacing)})
    loop: bool = field(default=False, metadata={"parse": _bool})

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: "CameraSettings | None" = None
                  ) -> "CameraSettings":
        return _parse(cls, data, "Camera settings", base)

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)

    @property
    def groups(self) -> dict[str, list[str]] | None:
        """The class groups as the detector takes them."""
        return {g: list(m) for g, m in self.class_groups} if self.class_groups else None


DEFAULT_SETTINGS = CameraSettings()   # each default once: the CLI, facade and detector too


@dataclass(frozen=True)
class Presentation:
    """How the overlay looks. Changing it never touches counts or heat.

    Example:
        >>> Presentation.from_dict({"opacity": 0.8}).heatmap_config(CameraSettings()).opacity
        0.8
    """

    colormap: str = field(default="Jet", metadata={"parse": _choice(list(COLORMAPS))})
    opacity: float = field(default=0.5, metadata={"parse": _number(float, 0.0, 1.0)})
    show_heat: bool = field(default=True, metadata={"parse": _bool})
    show_boxes: bool = field(default=True, metadata={"parse": _bool})
    # Privacy: these classes' boxes are pixelated in the live view, stills and exports
    # (never in the counting), e.g. ("person",).
    blur: tuple[str, ...] | None = field(default=None, metadata={"parse": _classes})

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: "Presentation | None" = None
                  ) -> "Presentation":
        return _parse(cls, data, "Presentation", base)

    def to_dict(self) -> dict[str, Any]:
        return _dump(self)

    def heatmap_config(self, settings: CameraSettings) -> HeatmapConfig:
        """The engine's heat settings: accumulation from `settings`, looks from here."""
        return HeatmapConfig(half_life_s=settings.half_life_s, anchor=settings.heat_anchor.value,
                             colormap=COLORMAPS[self.colormap], opacity=self.opacity,
                             moving_only=settings.heat_moving_only)


def _unit_points(v: Any) -> tuple[tuple[float, float], ...]:
    if not isinstance(v, (list, tuple)) or not v:
        raise ValueError("must be a list of [x, y] pairs")
    out = []
    for p in v:
        if not isinstance(p, (list, tuple)) or len(p) != 2:
            raise ValueError("must be a list of [x, y] pairs")
        x, y = (_number(float, -0.01, 1.01)(c) for c in p)
        out.append((min(max(x, 0.0), 1.0), min(max(y, 0.0), 1.0)))
    return tuple(out)


# A zone's defaults, here once: the page, the API, the CLI and the zones file take these.
ZONE_ANCHOR = Anchor.CENTER
CONFIRM_FRAMES = 2
CONFIRM_RANGE = (1, 30)


@dataclass(frozen=True)
class ZoneSpec:
    """A saved zone: its id, the name shown, and its shape in 0..1 of the frame's width and
    height, so it covers the same part of the picture at any resolution.

    Example:
        >>> z = ZoneSpec.create("door", "line", [[0.1, 0.5], [0.9, 0.5]])
        >>> z.to_zone(640, 360).points.tolist()
        [[64.0, 180.0], [576.0, 180.0]]
    """

    id: ZoneId
    name: str
    kind: ZoneKind
    points: tuple[tuple[float, float], ...] = field(metadata={"parse": _unit_points})
    anchor: Anchor = field(default=ZONE_ANCHOR, metadata={"parse": _enum(Anchor)})
    confirm_frames: int = field(default=CONFIRM_FRAMES,
                                metadata={"parse": _number(int, *CONFIRM_RANGE)})
    classes: tuple[str, ...] | None = field(default=None, metadata={"parse": _classes})
    # An alert when a polygon holds more than this many (a line: more in than out).
    limit: int | None = field(default=None,
                              metadata={"parse": _optional(_number(int, 1, 1_000_000))})
    wrong_way: bool = field(default=False, metadata={"parse": _bool})  # lines: OUT alerts

    EDITABLE: ClassVar[tuple[str, ...]] = ("name", "points", "anchor", "confirm_frames",
                                           "classes", "limit", "wrong_way")
    RULES: ClassVar[tuple[str, ...]] = ("classes", "limit", "wrong_way")   # optional

    @classmethod
    def create(cls, name: Any, kind: Any, points: Any, anchor: Any = ZONE_ANCHOR,
               confirm_frames: Any = CONFIRM_FRAMES, zone_id: str | None = None,
               **rules: Any) -> "ZoneSpec":
        """A checked new zone (a fresh id unless one is given); `rules` are any of
        classes, limit, wrong_way.

        Example:
            >>> ZoneSpec.create("shop", "polygon", [[0, 0], [1, 0], [1, 1]], limit=5).limit
            5
        """
        try:
            kind = ZoneKind(kind)
        except ValueError:
            raise DashboardError("Zone type must be 'line', 'polygon' or 'mask'.") from None
        base = cls(ZoneId(zone_id or new_id("zone")), _name(name, "A zone"), kind, ((0, 0),))
        spec = _parse(cls, {"points": points, "anchor": anchor,
                            "confirm_frames": confirm_frames, **rules}, f"Zone {base.name!r}",
                      base)
        if spec.wrong_way and kind is not ZoneKind.LINE:
            raise DashboardError(f"Zone {base.name!r}: only a line has a wrong way.")
        if kind is ZoneKind.MASK and (spec.limit or spec.classes):
            raise DashboardError(f"Zone {base.name!r} is a mask: it counts nothing, so it "
                                 "takes no limit or classes.")
        spec.to_zone(1000, 1000)   # the engine's own checks: enough points, area, no self-crossing
        return spec

    def updated(self, changes: dict[str, Any]) -> "ZoneSpec":
        """A copy with some of `EDITABLE` changed (the id stays)."""
        bad = sorted(set(changes) - set(self.EDITABLE))
        if bad:
            raise DashboardError(f"Zone: {', '.join(bad)} cannot be changed; "
                                 f"editable: {', '.join(self.EDITABLE)}.")
        d = {k: v for k, v in self.to_dict().items() if k in self.EDITABLE}
        return ZoneSpec.create(**{**d, **changes}, kind=self.kind, zone_id=self.id)

    def flipped(self) -> "ZoneSpec":
        """A line with its IN side swapped."""
        if self.kind is not ZoneKind.LINE:
            raise DashboardError(f"Zone {self.name!r} is a polygon: only lines have a direction.")
        return replace(self, points=self.points[::-1])

    def to_zone(self, width: int, height: int) -> Zone:
        """The engine's zone in pixels of a `width` x `height` frame; its engine name is the
        zone id (counts and events belong to the id), its label the name."""
        kind = ZoneKind.POLYGON if self.kind is ZoneKind.MASK else self.kind   # its shape
        zone = zone_from_dict({"name": self.id, "type": kind.value,
                               "points": [[x * width, y * height] for x, y in self.points],
                               "anchor": self.anchor.value,
                               "confirm_frames": self.confirm_frames,
                               "classes": list(self.classes or ())})
        zone.label = self.name
        return zone

    def to_dict(self) -> dict[str, Any]:
        """The API's and the store's form: {"id", "name", "type", "points", "anchor",
        "confirm_frames", "classes", "limit", "wrong_way"} (points in 0..1)."""
        d = _dump(self)
        d["type"] = d.pop("kind")
        d["points"] = [list(p) for p in self.points]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ZoneSpec":
        return cls.create(d.get("name"), d.get("type", d.get("kind")), d.get("points"),
                          d.get("anchor", ZONE_ANCHOR), d.get("confirm_frames", CONFIRM_FRAMES), d.get("id"),
                          **{k: d[k] for k in cls.RULES if k in d})

    @classmethod
    def from_pixels(cls, d: dict[str, Any], width: int, height: int) -> "ZoneSpec":
        """From a zones-file entry in frame pixels (as the CLI reads them).

        Example:
            >>> ZoneSpec.from_pixels({"name": "a", "type": "line", "points": [[0, 90], [640, 90]]},
            ...                      640, 360).points
            ((0.0, 0.25), (1.0, 0.25))
        """
        pts = d.get("points")
        if not isinstance(pts, list):
            raise DashboardError(f"Zone {d.get('name')!r}: 'points' must be a list of [x, y].")
        try:
            unit = [[float(x) / width, float(y) / height] for x, y in pts]
        except (TypeError, ValueError):
            raise DashboardError(f"Zone {d.get('name')!r}: points must be [x, y] pairs.") from None
        return cls.from_dict({**d, "points": unit})


@dataclass(frozen=True)
class Camera:
    """A saved camera. `source` here is what may be shown (credentials masked); the real
    address stays sealed in the store and with the camera's runner.

    Example:
        >>> cam = Camera(CameraId("cam_1"), "Door", "rtsp://***@cam/live", CameraSettings(),
        ...              Presentation(), True)
        >>> cam.to_dict()["settings"]["imgsz"]
        640
    """

    id: CameraId
    name: str
    source: str
    settings: CameraSettings
    presentation: Presentation
    enabled: bool
    created: float = 0.0

    @property
    def from_browser(self) -> bool:
        """Whether its frames come from the camera of a browser that opens its page."""
        return self.source == BROWSER

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "source": self.source,
                "settings": self.settings.to_dict(), "presentation": self.presentation.to_dict(),
                "enabled": self.enabled, "created": self.created}


def camera_name(value: Any) -> str:
    """A checked camera name.

    Example:
        >>> camera_name("  Shop door ")
        'Shop door'
    """
    return _name(value, "A camera")
