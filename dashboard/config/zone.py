"""A zone as saved: id, name, a line or polygon in 0..1 of the frame, and its rules."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar


from dashboard.engine import Zone, zone_from_dict
from dashboard.errors import DashboardError
from dashboard.config.fields import (bool_field, checked_name, classes_field, dump_fields,
                                     enum_field, number_field, optional_field, parse_fields,
                                     unit_points)
from dashboard.config.kinds import Anchor, ZoneId, ZoneKind, new_id

ZONE_ANCHOR = Anchor.CENTER
CONFIRM_FRAMES = 2
CONFIRM_RANGE = (1, 30)
# The junction preset: one approach line per arm, drawn so that IN is into the junction (the
# turning movements read a trip as entering by one line and leaving by another).
JUNCTION_APPROACHES = {"north": ((0.3, 0.15), (0.7, 0.15)), "east": ((0.85, 0.3), (0.85, 0.7)),
                       "south": ((0.7, 0.85), (0.3, 0.85)), "west": ((0.15, 0.7), (0.15, 0.3))}


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
    points: tuple[tuple[float, float], ...] = field(metadata={"parse": unit_points})
    anchor: Anchor = field(default=ZONE_ANCHOR, metadata={"parse": enum_field(Anchor)})
    confirm_frames: int = field(default=CONFIRM_FRAMES,
                                metadata={"parse": number_field(int, *CONFIRM_RANGE)})
    classes: tuple[str, ...] | None = field(default=None, metadata={"parse": classes_field})
    # An alert when a polygon holds more than this many (a line: more in than out).
    limit: int | None = field(default=None,
                              metadata={"parse": optional_field(number_field(int, 1, 1_000_000))})
    wrong_way: bool = field(default=False, metadata={"parse": bool_field})  # lines: OUT alerts

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
        base = cls(ZoneId(zone_id or new_id("zone")), checked_name(name, "A zone"), kind, ((0, 0),))
        spec = parse_fields(cls, {"points": points, "anchor": anchor,
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
        d = dump_fields(self)
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


def junction_specs() -> list[ZoneSpec]:
    """The junction preset as new zones: an approach line per arm, IN into the junction;
    an operator then moves their ends onto the picture's arms.

    Example:
        >>> [(z.name, z.to_zone(100, 100).in_direction()) for z in junction_specs()][:2]
        [('north', (0.0, 1.0)), ('east', (-1.0, 0.0))]
    """
    return [ZoneSpec.create(arm, "line", [list(a), list(b)])
            for arm, (a, b) in JUNCTION_APPROACHES.items()]
