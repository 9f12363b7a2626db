"""Zone use cases: add, reshape, flip, delete and restore a camera's zones."""
from __future__ import annotations

import logging
from typing import Any

from dashboard.config.kinds import CameraId, ZoneId
from dashboard.config.zone import CONFIRM_FRAMES, ZONE_ANCHOR, ZoneSpec, junction_specs
from dashboard.errors import Conflict, DashboardError, NotFound, StoreUnavailable
from dashboard.service.access import needs
from dashboard.service.auth import Role

log = logging.getLogger(__name__)



class ZoneCases:
    """The zones part of `Service`: each change goes check -> store -> runner, under its lock."""

    @needs(Role.VIEWER)
    def zones(self, cid: str) -> list[ZoneSpec]:
        self.camera(cid)
        return self._runners[CameraId(cid)].zone_specs()

    @needs(Role.VIEWER)
    def zone(self, cid: str, zid: str) -> ZoneSpec:
        for z in self.zones(cid):
            if z.id == zid:
                return z
        raise NotFound(f"Camera {cid!r} has no zone {zid!r}.")

    def _check_zone_name(self, cid: str, name: str, exclude: str | None = None) -> None:
        if any(z.name.lower() == name.lower() and z.id != exclude for z in self.zones(cid)):
            raise Conflict(f"This camera has a zone called {name!r} already: pick another name.")

    def _put_zones(self, cid: str, specs: list[ZoneSpec]) -> None:
        self._runners[CameraId(cid)].set_zones(specs)

    @needs(Role.OPERATOR)
    def add_zone(self, cid: str, name: Any, kind: Any, points: Any,
                 anchor: Any = ZONE_ANCHOR, confirm_frames: Any = CONFIRM_FRAMES,
                 **rules: Any) -> ZoneSpec:
        """Add a zone (points in 0..1 of the frame); it starts at zero, whatever its name.
        `rules`: classes (counted), limit, wrong_way (see `ZoneSpec`)."""
        with self._lock:
            spec = ZoneSpec.create(name, kind, points, anchor, confirm_frames, **rules)
            self._check_zone_name(cid, spec.name)
            self.store.save_zone(CameraId(cid), spec)
            self._put_zones(cid, [*self.zones(cid), spec])
        log.info("camera %s: zone %s added (%s)", cid, spec.id, spec.name)
        return spec

    @needs(Role.OPERATOR)
    def update_zone(self, cid: str, zid: str, **changes: Any) -> ZoneSpec:
        """Rename, reshape or change a zone's rules; its id and counts stay."""
        with self._lock:
            new = self.zone(cid, zid).updated(changes)
            self._check_zone_name(cid, new.name, exclude=zid)
            self.store.save_zone(CameraId(cid), new)
            self._put_zones(cid, [new if z.id == zid else z for z in self.zones(cid)])
        return new

    @needs(Role.OPERATOR)
    def flip_zone(self, cid: str, zid: str) -> ZoneSpec:
        """Swap a line's IN and OUT sides for future crossings."""
        with self._lock:
            new = self.zone(cid, zid).flipped()
            self.store.save_zone(CameraId(cid), new)
            self._put_zones(cid, [new if z.id == zid else z for z in self.zones(cid)])
        return new

    @needs(Role.OPERATOR)
    def delete_zone(self, cid: str, zid: str) -> None:
        """Remove a zone; its counts are archived under its id, never given to another
        (`restore_zone` brings it back with them)."""
        with self._lock:
            self.zone(cid, zid)
            self.store.delete_zone(ZoneId(zid))
            self._put_zones(cid, [z for z in self.zones(cid) if z.id != zid])
        log.info("camera %s: zone %s deleted", cid, zid)

    @needs(Role.OPERATOR)
    def restore_zone(self, cid: str, zid: str) -> ZoneSpec:
        """Undo a delete: the zone is back with its id and its counts (unless its name was
        taken meanwhile: then rename that one first)."""
        with self._lock:
            self.camera(cid)
            if any(z.id == zid for z in self.zones(cid)):
                raise Conflict(f"Zone {zid!r} is not deleted.")
            try:
                spec = self.store.restore_zone(CameraId(cid), ZoneId(zid))
            except StoreUnavailable:
                raise
            except DashboardError as e:
                raise NotFound(str(e)) from None
            try:
                self._check_zone_name(cid, spec.name)
            except Conflict:
                self.store.delete_zone(ZoneId(zid))
                raise
            self._put_zones(cid, [*self.zones(cid), spec])
        log.info("camera %s: zone %s restored", cid, zid)
        return spec

    @needs(Role.OPERATOR)
    def add_junction(self, cid: str) -> list[ZoneSpec]:
        """The junction preset: four approach lines (north, east, south, west), IN into the
        junction, added together or not at all."""
        specs = junction_specs()
        with self._lock:
            taken = {z.name.lower() for z in self.zones(cid)}
            clash = [s.name for s in specs if s.name in taken]
            if clash:
                raise Conflict(f"This camera has zones called {', '.join(clash)} already: "
                               "rename or delete them before adding the junction preset.")
            for spec in specs:
                self.store.save_zone(CameraId(cid), spec)
            self._put_zones(cid, [*self.zones(cid), *specs])
        return specs
