"""`Engine`: one frame's bookkeeping and drawing: zones, counts, heat, overlay. No model."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Collection, Iterable, Sequence

import numpy as np
import shapely

from ..errors import DashboardError
from .flows import FlowTracker, Trip
from .heatmap import HeatmapAccumulator, HeatmapConfig
from .overlay import draw_tracks, draw_zones, pixelate
from .tracks import Tracks
from .dwell import Visit
from .zones import CrossingEvent, Zone, ZoneCounts


@dataclass
class FrameResult:
    """What one `Engine.update` produced.

    `counts` maps zone name to a snapshot of its `ZoneCounts`; `events` are the crossings
    counted in this update, `visits` the stays in areas it ended and `trips` the ways through
    the zones of the objects now gone (see flows.py); `total_tracks` is the
    number of tracks in this frame. `plot` and `scene` are None when the update was asked
    not to draw (`Engine.draw` makes them later, for the frames someone looks at).
    """

    plot: np.ndarray | None
    counts: dict[str, ZoneCounts]
    scene: np.ndarray | None = field(repr=False)   # the frame as it may be shown (blurred)
    events: list[CrossingEvent]
    total_tracks: int
    t: float
    tracks: Tracks = field(repr=False, default_factory=Tracks.empty)
    visits: list[Visit] = field(default_factory=list)
    trips: list[Trip] = field(default_factory=list)


class Engine:
    """Counts zone crossings and accumulates heat from tracks, and draws both on the frame.

    `zones` is a plain list: add or remove zones between updates; each zone keeps its own
    counts, so the others are untouched.

    Example:
        >>> from dashboard.engine import LineZone
        >>> eng = Engine(zones=[LineZone("door", (0, 50), (100, 50), confirm_frames=1)])
        >>> img = np.zeros((100, 100, 3), np.uint8)
        >>> for t, y in enumerate([30, 70]):
        ...     r = eng.update(img, Tracks([[45, y - 5, 55, y + 5]], [1], [0], [.9], {0: "person"}), t)
        >>> r.counts["door"].in_count, r.events[0].direction
        (1, 'in')
    """

    def __init__(self, zones: list[Zone] | tuple[Zone, ...] = (),
                 heatmap: HeatmapConfig | None = None, draw_boxes: bool = True,
                 draw_heat: bool = True) -> None:
        self.zones: list[Zone] = list(zones)
        self._check_names()
        self.heatmap = HeatmapAccumulator(heatmap or HeatmapConfig())
        self.draw_boxes = draw_boxes
        self.draw_heat = draw_heat
        self.blur: tuple[str, ...] = ()   # classes whose boxes are pixelated in the picture
        self.flows = FlowTracker()
        self._masks: list[shapely.Polygon] = []

    @property
    def masks(self) -> list[np.ndarray]:
        """Polygons (frame pixels) where nothing is detected, counted or heated: a track
        whose feet are inside one is left out, as Frigate's object masks do (a flag that
        moves in the wind, a screen showing people, a busy road behind the shop door)."""
        return [np.asarray(m.exterior.coords)[:-1] for m in self._masks]

    @masks.setter
    def masks(self, polygons: Iterable[Sequence[Sequence[float]]]) -> None:
        made = [shapely.Polygon(p) for p in polygons]
        for m in made:
            shapely.prepare(m)
        self._masks = made

    def _unmasked(self, tracks: Tracks) -> Tracks:
        if not self._masks or not len(tracks):
            return tracks
        feet = tracks.anchors("bottom_center")
        inside = np.zeros(len(tracks), bool)
        for m in self._masks:
            inside |= shapely.contains_xy(m, feet[:, 0], feet[:, 1])
        return tracks.select(~inside) if inside.any() else tracks

    def _check_names(self) -> None:
        names = [z.name for z in self.zones]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise DashboardError(f"Zone names must be unique; repeated: {', '.join(sorted(dup))}.")

    def add_zone(self, zone: Zone) -> None:
        """Add a zone; it starts counting at the next update."""
        self.zones.append(zone)
        try:
            self._check_names()
        except DashboardError:
            self.zones.pop()
            raise

    def remove_zone(self, name: str) -> Zone:
        """Remove and return the zone called `name`."""
        for i, z in enumerate(self.zones):
            if z.name == name:
                return self.zones.pop(i)
        raise DashboardError(f"There is no zone called {name!r}.")

    @property
    def counts(self) -> dict[str, ZoneCounts]:
        """A snapshot of every zone's counts."""
        return {z.name: z.counts.copy() for z in self.zones}

    def update(self, frame: np.ndarray, tracks: Tracks, t: float, draw: bool = True
               ) -> FrameResult:
        """Count, accumulate heat and (if `draw`) draw for one frame taken at time `t`
        (seconds). Counting and heat never depend on `draw`: a camera nobody watches skips
        the drawing, blending and encoding, and calls `draw` for the frames that are seen."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise DashboardError(f"Expected a BGR uint8 frame (H, W, 3), got {frame.dtype} "
                                 f"{frame.shape}.")
        self._check_names()
        tracks = self._unmasked(tracks)
        events: list[CrossingEvent] = []
        visits: list[Visit] = []
        for z in self.zones:
            events += z.trigger(tracks, t)
            visits += z.ended_visits
        trips = self.flows.update(tracks, events, t, frame.shape[:2])
        self.heatmap.add(tracks, t, frame.shape[:2])
        plot, scene = self.draw(frame, tracks, t) if draw else (None, None)
        return FrameResult(plot=plot, counts=self.counts, scene=scene, events=events,
                           total_tracks=len(tracks), t=float(t), tracks=tracks, visits=visits,
                           trips=trips)

    def draw(self, frame: np.ndarray, tracks: Tracks, t: float,
             alerting: Collection[str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """(overlay, scene) for a frame already counted, with the tracks its `update`
        returned: heat as of now, boxes, zones with their counts (those in `alerting`, by
        name, red); the scene is the frame as it may be shown (classes in `blur`
        pixelated). The frame itself is not changed.

        Example:
            >>> eng = Engine()
            >>> img = np.zeros((90, 160, 3), np.uint8)
            >>> r = eng.update(img, Tracks.empty(), 0.0, draw=False)
            >>> r.plot is None, eng.draw(img, r.tracks, r.t)[0].shape
            (True, (90, 160, 3))
        """
        scene = frame
        if self.blur:   # the picture only: counting and heat used the tracks as they are
            scene = frame.copy()
            pixelate(scene, tracks, self.blur)
        plot = self.heatmap.render(scene, t=t) if self.draw_heat else scene.copy()
        if self.draw_boxes:
            draw_tracks(plot, tracks)
        draw_zones(plot, self.zones, self.counts, self.masks if self._masks else (), alerting)
        return plot, scene

    def inside(self, t: float) -> dict[str, list[Visit]]:
        """Per area (zone name): the tracks inside now, with when each entered."""
        return {z.name: z.inside(t) for z in self.zones if z.dwell is not None}

    def reset(self) -> None:
        """Counts, track state and heat back to zero; zones stay."""
        for z in self.zones:
            z.reset()
        self.flows.reset()
        self.heatmap.reset()
