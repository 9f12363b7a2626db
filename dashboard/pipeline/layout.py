"""A camera's zones laid onto its frames: zones come in 0..1 of the frame and become the
engine's zones at the frame's real size when the first frame arrives (and again when the
size changes), each keeping its counts by its id."""
from __future__ import annotations

import logging
import time
from dataclasses import replace

from dashboard.config.kinds import ZoneId
from dashboard.config.zone import ZoneSpec
from dashboard.engine import Engine, Zone
from dashboard.pipeline.keeping import Keeper

log = logging.getLogger(__name__)


def _shape(spec: ZoneSpec) -> ZoneSpec:
    """What of a zone the engine uses: a change here makes a new engine zone (name, limit
    and wrong way are read from the spec each frame)."""
    return replace(spec, name="", limit=None, wrong_way=False)


class ZoneLayout:
    """The engine's zones and masks for a camera's zone specs. Its callers hold the camera's
    lock (the engine counts under it).

    Example:
        >>> from dashboard.config.kinds import CameraId
        >>> door = ZoneSpec.create("door", "line", [[0.5, 0], [0.5, 1]])
        >>> layout = ZoneLayout(Engine(), Keeper(None, CameraId("cam_1")))
        >>> layout.set([door], [])
        >>> layout.fit(640, 360), layout.engine.zones[0].points[0].tolist()
        (None, [320.0, 0.0])
    """

    def __init__(self, engine: Engine, keeper: Keeper) -> None:
        self.engine, self.keeper = engine, keeper
        self.specs: dict[ZoneId, ZoneSpec] = {}
        self.size: tuple[int, int] = (1, 1)   # until the first frame: 0..1 coordinates

    def set(self, specs: list[ZoneSpec], ended: list) -> None:
        """Make the engine's zones these, in this order. A zone whose shape and rules are
        unchanged keeps its object (and its tracks' state); every zone keeps its counts.
        The stays of a removed area end now: they go into `ended`."""
        old = {z.name: z for z in self.engine.zones}
        zones = []
        for spec in specs:
            if not spec.kind.counts:
                continue
            z, before = old.get(spec.id), self.specs.get(spec.id)
            if z is None or before is None or _shape(before) != _shape(spec):
                z = self._at_size(spec, z)
            z.label = spec.name
            zones.append(z)
        kept = {s.id for s in specs}
        ended.extend(v for z in old.values() if z.name not in kept for v in z.end_stays())
        self.engine.zones = zones
        self.specs = {s.id: s for s in specs}
        self._fit_masks()

    def fit(self, width: int, height: int) -> str | None:
        """Lay the zones onto a frame of this size (first frame, or a new resolution); the
        notice to show when the size changed from an earlier frame's, else None."""
        if self.size == (width, height):
            return None
        note = None
        if self.size != (1, 1):
            note = (f"The picture changed from {self.size[0]}x{self.size[1]} to "
                    f"{width}x{height} at {time.strftime('%H:%M:%S')}: zones and heat "
                    "follow it.")
        self.size = (width, height)
        old = {z.name: z for z in self.engine.zones}
        self.engine.zones = [self._at_size(s, old.get(s.id))
                             for s in self.specs.values() if s.kind.counts]
        self._fit_masks()
        return note

    def _fit_masks(self) -> None:
        self.engine.masks = [s.to_zone(*self.size).points for s in self.specs.values()
                             if not s.kind.counts]

    def _at_size(self, spec: ZoneSpec, previous: Zone | None) -> Zone:
        """The zone at the frame's size, with the counts (and open visits) it had; one
        new here (added, or back from a delete) takes its counts from the store."""
        z = spec.to_zone(*self.size)
        if previous is not None:
            z.counts = previous.counts
            if previous.dwell is not None and z.dwell is not None:
                z.dwell = previous.dwell
        else:
            saved = self.keeper.saved_counts().get(spec.id)
            if saved is not None:
                z.counts.in_count, z.counts.out_count = saved.in_count, saved.out_count
                z.counts.per_class = saved.per_class
        return z
