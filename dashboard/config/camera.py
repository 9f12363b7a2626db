"""A camera's settings (each default, bound and choice once), its looks and the saved camera."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2

from dashboard.engine import HeatmapConfig
from dashboard.config.fields import (bool_field, checked_name, choice_field, classes_field,
                                     dump_fields, enum_field, groups_field, number_field,
                                     optional_field, parse_fields, text_field, time_field,
                                     time_text)
from dashboard.config.kinds import BROWSER, IMAGE_SIZES, Anchor, CameraId, Pacing, Runtime

COLORMAPS = {"Jet": cv2.COLORMAP_JET, "Inferno": cv2.COLORMAP_INFERNO,
             "Turbo": cv2.COLORMAP_TURBO, "Hot": cv2.COLORMAP_HOT,
             "Viridis": cv2.COLORMAP_VIRIDIS, "Plasma": cv2.COLORMAP_PLASMA}


@dataclass(frozen=True)
class CameraSettings:
    """What decides counts and heat: changing one of these never changes a camera's id.

    Example:
        >>> s = CameraSettings.from_dict({"imgsz": 320, "conf": 0.4})
        >>> s.imgsz, s.runtime.value, s.to_dict()["half_life_s"]
        (320, 'auto', None)
    """

    model: str = field(default="demo", metadata={"parse": text_field})
    classes: tuple[str, ...] | None = field(default=None, metadata={"parse": classes_field})
    # Several model classes counted as one: (("person", ("Normal", "Fall")),)
    class_groups: tuple[tuple[str, tuple[str, ...]], ...] | None = field(
        default=None, metadata={"parse": groups_field,
                                "dump": lambda v: {g: list(m) for g, m in v} if v else None})
    conf: float = field(default=0.25, metadata={"parse": number_field(float, 0.01, 0.99)})
    imgsz: int = field(default=640, metadata={"parse": choice_field(IMAGE_SIZES)})
    tracker: str = field(default="bytetrack.yaml", metadata={"parse": text_field})
    runtime: Runtime = field(default=Runtime.AUTO, metadata={"parse": enum_field(Runtime)})
    half_life_s: float | None = field(
        default=None, metadata={"parse": optional_field(number_field(float, 1.0, 30 * 86400.0))})
    heat_anchor: Anchor = field(default=Anchor.CENTER, metadata={"parse": enum_field(Anchor)})
    # Heat only from tracks that have moved: a parked car or a false detection paints nothing.
    heat_moving_only: bool = field(default=True, metadata={"parse": bool_field})
    # One object, one box: what a detector boxes twice (car and truck, a whole and a part)
    # is made one before the tracker (dashboard/vision/objects.py).
    one_box: bool = field(default=True, metadata={"parse": bool_field})
    # A person riding (or walking) a bicycle or motorcycle counts as one cyclist or
    # motorcyclist; off: the person and the vehicle count apart.
    riders: bool = field(default=True, metadata={"parse": bool_field})
    pacing: Pacing = field(default=Pacing.NATIVE, metadata={"parse": enum_field(Pacing)})
    loop: bool = field(default=False, metadata={"parse": bool_field})
    # When a video file's first frame happened (Unix seconds; ISO 8601 with its offset in the
    # API): its events are dated from it. None: when counting the file from its start began.
    video_start: float | None = field(
        default=None, metadata={"parse": optional_field(time_field), "dump": time_text})

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: "CameraSettings | None" = None
                  ) -> "CameraSettings":
        return parse_fields(cls, data, "Camera settings", base)

    def to_dict(self) -> dict[str, Any]:
        return dump_fields(self)

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

    colormap: str = field(default="Jet", metadata={"parse": choice_field(list(COLORMAPS))})
    opacity: float = field(default=0.5, metadata={"parse": number_field(float, 0.0, 1.0)})
    show_heat: bool = field(default=True, metadata={"parse": bool_field})
    show_boxes: bool = field(default=True, metadata={"parse": bool_field})
    # Privacy: these classes' boxes are pixelated in the live view, stills and exports
    # (never in the counting), e.g. ("person",).
    blur: tuple[str, ...] | None = field(default=None, metadata={"parse": classes_field})
    # Evidence: a small picture of what crossed (blurred as above) and the moment around it,
    # kept with each crossing for this many days (0: none kept), in at most this many MB.
    evidence_days: int = field(default=30, metadata={"parse": number_field(int, 0, 3650)})
    evidence_mb: int = field(default=200, metadata={"parse": number_field(int, 1, 100_000)})

    @classmethod
    def from_dict(cls, data: dict[str, Any], base: "Presentation | None" = None
                  ) -> "Presentation":
        return parse_fields(cls, data, "Presentation", base)

    def to_dict(self) -> dict[str, Any]:
        return dump_fields(self)

    def heatmap_config(self, settings: CameraSettings) -> HeatmapConfig:
        """The engine's heat settings: accumulation from `settings`, looks from here."""
        return HeatmapConfig(half_life_s=settings.half_life_s, anchor=settings.heat_anchor.value,
                             colormap=COLORMAPS[self.colormap], opacity=self.opacity,
                             moving_only=settings.heat_moving_only)


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
    return checked_name(value, "A camera")
