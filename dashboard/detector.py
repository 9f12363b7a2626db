"""The ultralytics wrapper: load a model (clear errors), track a frame, return `Tracks`."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .demo import DEMO_MODEL
from .engine.tracks import Tracks
from .errors import DashboardError

log = logging.getLogger(__name__)

MODEL_SUFFIXES = (".pt", ".onnx", ".yaml", ".yml", ".torchscript", ".engine", "_openvino_model")


def resolve_model(model: str | Path) -> str:
    """Turn what a user typed into what ultralytics loads: "demo" is the bundled model.

    Example:
        >>> resolve_model("demo").endswith("demo_model.pt")
        True
    """
    spec = str(model).strip()
    if spec in ("", "demo"):
        return str(DEMO_MODEL)
    if not spec.endswith(MODEL_SUFFIXES):
        raise DashboardError(f"Model {spec!r} is not a model file: give a .pt or .onnx path, "
                             "'yolo26n.pt' (downloaded by ultralytics when online) or 'demo'.")
    return spec


def load_model(model: str | Path) -> Any:
    """Load an ultralytics YOLO model, raising `DashboardError` with what to do if it fails.

    Example:
        >>> load_model("demo").names  # doctest: +SKIP
        {0: 'person', 1: 'car'}
    """
    spec = resolve_model(model)
    path = Path(spec)
    is_bare_name = path.name == spec  # ultralytics downloads known names like yolo26n.pt
    if not path.exists() and not is_bare_name:
        raise DashboardError(f"Model file not found: {spec}. Check the path, or use 'demo'.")
    from ultralytics import YOLO  # heavy import: only when a model is really needed

    try:
        yolo = YOLO(spec, task="detect")
        _ = yolo.names
    except ConnectionError as e:
        raise DashboardError(
            f"Could not download {spec!r}: this machine seems to be offline. Copy the weights "
            "here and give their path, or use the bundled demo model ('demo').") from e
    except FileNotFoundError as e:
        raise DashboardError(f"Model {spec!r} not found locally and not a name ultralytics can "
                             "download. Give the path of a .pt or .onnx file.") from e
    except Exception as e:  # torch/onnx raise many types for a damaged file
        raise DashboardError(f"Could not load model {spec!r} ({type(e).__name__}: {e}). Is it a "
                             "complete YOLO .pt or .onnx file?") from e
    if getattr(yolo, "task", "detect") != "detect":
        raise DashboardError(f"Model {spec!r} is a {yolo.task} model; a detection model is needed.")
    return yolo


def class_ids(classes: Iterable[int | str] | None, names: dict[int, str]) -> list[int] | None:
    """Class filter as ids, from ids or names; None means every class.

    Example:
        >>> class_ids(["car"], {0: "person", 1: "car"})
        [1]
    """
    if classes is None:
        return None
    by_name = {v: k for k, v in names.items()}
    out = []
    for c in classes:
        if isinstance(c, str) and not c.isdigit():
            if c not in by_name:
                raise DashboardError(f"Class {c!r} is not one this model knows: "
                                     f"{', '.join(names.values())}.")
            out.append(by_name[c])
        elif int(c) in names:
            out.append(int(c))
        else:
            raise DashboardError(f"Class id {c} is not one of this model's: {sorted(names)}.")
    return out


def builtin_trackers() -> list[str]:
    """The tracker configs ultralytics ships, e.g. "bytetrack.yaml".

    Example:
        >>> "bytetrack.yaml" in builtin_trackers()
        True
    """
    import ultralytics

    folder = Path(ultralytics.__file__).parent / "cfg" / "trackers"
    return sorted(p.name for p in folder.glob("*.yaml"))


class Detector:
    """A model plus a tracker: `track(frame)` gives this frame's `Tracks` (ids persist).

    Example:
        >>> det = Detector("demo", conf=0.3, imgsz=320)  # doctest: +SKIP
        >>> det.track(frame).ids                          # doctest: +SKIP
        array([1, 2])
    """

    def __init__(self, model: str | Path = "demo", conf: float = 0.25, iou: float = 0.7,
                 imgsz: int = 640, classes: Iterable[int | str] | None = None,
                 tracker: str = "bytetrack.yaml", device: str | None = None) -> None:
        if not 0.0 < conf < 1.0:
            raise DashboardError("Confidence must be between 0 and 1.")
        self.model = load_model(model)
        if tracker not in builtin_trackers() and not Path(tracker).is_file():
            raise DashboardError(f"Tracker {tracker!r}: use one of {', '.join(builtin_trackers())} "
                                 "or the path of a tracker .yaml file.")
        self.names: dict[int, str] = dict(self.model.names)
        self.classes = class_ids(classes, self.names)
        self.args = dict(conf=conf, iou=iou, imgsz=int(imgsz), classes=self.classes,
                         tracker=tracker, device=device, verbose=False)

    def track(self, frame: np.ndarray) -> Tracks:
        """Detect and track one BGR frame."""
        results = self.model.track(frame, persist=True, **self.args)
        return Tracks.from_ultralytics(results[0])

    def reset(self) -> None:
        """Forget track ids (for a new source): the next frame starts new tracks."""
        predictor = getattr(self.model, "predictor", None)
        for tr in getattr(predictor, "trackers", None) or []:
            tr.reset()
