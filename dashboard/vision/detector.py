"""`Detector`: a camera's model and tracker, on the runtime that suits it (ONNX Runtime on a
CPU, ultralytics/PyTorch otherwise), turning a frame into `Tracks`."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from dashboard.engine.tracks import Tracks
from dashboard.config.camera import DEFAULT_SETTINGS
from dashboard.errors import DashboardError
from dashboard.config.kinds import Runtime
from dashboard.vision.models import (RUNTIMES, cached_onnx, check_image_size, class_ids,
                                     load_model, resolve_model)
from dashboard.vision import runtimes
from dashboard.vision.runtimes import EXPORTED, Choice
from dashboard.vision.objects import ClassVotes, OneBox, Riders, Twins
from dashboard.vision.onnx import DirectOnnx
from dashboard.vision.tracking import ClassGroups, builtin_trackers, make_tracker, track_boxes

log = logging.getLogger(__name__)
EXPORTED_NAMES = tuple(r.value for r in EXPORTED)


def _cuda_wanted(device: str | None) -> bool:
    import torch

    if device is not None and str(device).lower() == "cpu":
        return False
    return bool(torch.cuda.is_available())


class Detector:
    """A model plus a tracker: `track(frame)` gives this frame's `Tracks` (ids persist).

    runtime: "auto" runs a .pt model on a CPU through the fastest of ONNX Runtime and
    OpenVINO, float or INT8, measured here once (`vision/runtimes.py`; exported and
    quantised once, cached), and through PyTorch on a CUDA device; "onnx", "onnx-int8",
    "openvino", "openvino-int8" or "torch" force one. The environment variable
    HEATMAP_DASHBOARD_RUNTIME sets the default.

    Example:
        >>> det = Detector("demo", conf=0.3, imgsz=320)  # doctest: +SKIP
        >>> det.runtime, det.track(frame).ids            # doctest: +SKIP
        ('onnx', array([1, 2]))
    """

    def __init__(self, model: str | Path = DEFAULT_SETTINGS.model,
                 conf: float = DEFAULT_SETTINGS.conf, iou: float = 0.7,
                 imgsz: int = DEFAULT_SETTINGS.imgsz, classes: Iterable[int | str] | None = None,
                 tracker: str = DEFAULT_SETTINGS.tracker, device: str | None = None,
                 runtime: str | None = None,
                 groups: dict[str, Sequence[str]] | None = None,
                 one_box: bool = DEFAULT_SETTINGS.one_box,
                 riders: bool = DEFAULT_SETTINGS.riders) -> None:
        if not 0.0 < conf < 1.0:
            raise DashboardError("Confidence must be between 0 and 1.")
        # "auto" is what the machine's setting says (itself "auto" unless an admin pins one);
        # a runtime the machine names is tried as auto is, one the caller names must run.
        asked = runtime.lower() if runtime and runtime.lower() != "auto" else None
        runtime = asked or runtime_default().lower()
        if runtime not in RUNTIMES:
            raise DashboardError(f"Runtime {runtime!r}: use one of {', '.join(RUNTIMES)}.")
        # A model exported at one fixed size takes no other: said now, not as a crash later.
        self.fixed_size = check_image_size(model, imgsz)
        self.model = load_model(model)
        self.direct: DirectOnnx | None = None
        spec = resolve_model(model)
        # What runs it, as the camera's status says: ultralytics loads each format's runtime.
        self.runtime = "onnx" if spec.endswith(".onnx") else \
            "openvino" if spec.rstrip("/").endswith("_openvino_model") else "torch"
        exportable = spec.endswith(".pt")  # a .yaml has no weights, other formats are final
        exported = None   # (file, runtime): what runs the model, where we export it
        self.choice: Choice | None = None   # what the automatic choice measured
        if self.runtime == "torch" and (
                (runtime in EXPORTED_NAMES and (asked or exportable))
                or (runtime == "auto" and exportable and not _cuda_wanted(device))):
            exported = self._export(int(imgsz), runtime, forced=asked is not None)
        if tracker not in builtin_trackers() and not Path(tracker).is_file():
            raise DashboardError(f"Tracker {tracker!r}: use one of {', '.join(builtin_trackers())} "
                                 "or the path of a tracker .yaml file.")
        self.names: dict[int, str] = dict(self.model.names)
        self.groups = ClassGroups(groups, self.names) if groups else None
        # One object, one box, and a rider one object (vision/objects.py), on the classes as
        # grouped.
        grouped = self.groups.names if self.groups else self.names
        self.one_box = OneBox(grouped) if one_box else None
        self.twins = Twins(grouped) if one_box else None   # the same rules, after the tracker
        self.riders = Riders(grouped) if riders else None
        if self.riders is not None and not self.riders.rides:
            self.riders = None                   # the model has no person, or nothing ridden
        self.votes = ClassVotes()
        self._tracker: Any = None   # our own tracker where ultralytics' predictor would track
        if self.groups is not None and classes is not None:   # a group's name: its members
            classes = [m for c in classes
                       for m in self.groups.members.get(str(c), [c])]
        self.classes = class_ids(classes, self.names)
        self.args = dict(conf=conf, iou=iou, imgsz=int(imgsz), classes=self.classes,
                         tracker=tracker, device=device, verbose=False)
        if exported is not None:
            path, chosen = exported
            self.runtime = chosen.value
            try:
                self.direct = DirectOnnx(path, int(imgsz), conf, iou, self.classes, tracker,
                                         chosen.value)
            except DashboardError:   # a runtime asked for and not installed: said as is
                raise
            except Exception as e:  # an unusual export or tracker: ultralytics' path works
                log.info("ONNX through ultralytics' predictor (%s: %s)", type(e).__name__, e)
                from ultralytics import YOLO

                self.model = YOLO(str(cached_onnx(Path(self.model.ckpt_path), int(imgsz))),
                                  task="detect")
                self.runtime = Runtime.ONNX.value

    def _export(self, imgsz: int, runtime: str, forced: bool
                ) -> tuple[Path, Runtime] | None:
        """The exported file of the loaded .pt model and the runtime to run it: the one
        named, or for "auto" the one measured fastest here (`vision/runtimes.py`); None
        (PyTorch stays) if exporting fails and the caller named no runtime."""
        weights = Path(getattr(self.model, "ckpt_path", None) or "")
        try:
            if weights.suffix != ".pt" or not weights.is_file():
                raise DashboardError(f"no .pt weights file to export ({weights or 'none'})")
            if runtime != "auto":
                chosen = Runtime(runtime)
            else:
                self.choice = runtimes.choose(weights, imgsz)
                chosen = self.choice.runtime
            return runtimes.model_file(weights, imgsz, chosen), chosen
        except Exception as e:  # the exporter raises many kinds; PyTorch still works
            if forced:
                if isinstance(e, DashboardError):
                    raise
                raise DashboardError(f"Exporting the model for {runtime} failed ("
                                     f"{type(e).__name__}: {e}). Use the PyTorch runtime "
                                     "instead.") from e
            log.warning("ONNX export failed (%s: %s); running on PyTorch instead.",
                        type(e).__name__, e)
            return None

    @property
    def runtime_why(self) -> str | None:
        """Why this runtime, in words: the automatic choice's measurements, or None (asked
        for in the settings, or the only way this model runs)."""
        return self.choice.words() if self.choice is not None else None

    @property
    def can_probe(self) -> bool:
        """Whether `detect` may run between `track` calls: not when ultralytics' predictor
        tracks (its tracking callbacks would take the extra frame as the next one), nor on a
        model fixed to one size."""
        return self.fixed_size is None and self._own_tracker() is not None

    def detect(self, frame: np.ndarray, imgsz: int | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (xyxy), confidences and class ids of one BGR frame, without tracking (at
        another image size if given, e.g. to see what a larger one would find)."""
        if self.direct is not None:
            return self.direct.detect(frame, imgsz)
        args = {k: v for k, v in self.args.items() if k != "tracker"}
        if imgsz:
            args["imgsz"] = int(imgsz)
        b = self.model.predict(frame, **args)[0].boxes
        return (b.xyxy.cpu().numpy(), b.conf.cpu().numpy(), b.cls.cpu().numpy())

    def track(self, frame: np.ndarray) -> Tracks:
        """Detect and track one BGR frame; each track's class is its most frequent."""
        tracks = self.votes.apply(self._track(frame))
        return self.twins.apply(tracks) if self.twins is not None else tracks

    def _track(self, frame: np.ndarray) -> Tracks:
        tracker = self._own_tracker()
        if tracker is None:                 # ultralytics' predictor tracks, as it is
            return Tracks.from_ultralytics(self.model.track(frame, persist=True, **self.args)[0])
        xyxy, conf, cls = self.detect(frame)
        names = self.names
        if self.groups is not None:         # boxes grouped before the tracker sees them
            xyxy, conf, cls = self.groups.apply(xyxy, conf, cls, self.args["iou"])
            names = self.groups.names
        if self.one_box is not None:
            xyxy, conf, cls = self.one_box.apply(xyxy, conf, cls)
        if self.riders is not None:
            xyxy, conf, cls = self.riders.apply(xyxy, conf, cls)
            names = self.riders.names
        return track_boxes(tracker, frame, xyxy, conf, cls, names)

    def _own_tracker(self) -> Any:
        """The tracker our boxes go to; None where ultralytics' predictor must track (no
        grouping or one-box rule asked for, or a tracker only it runs, e.g. with ReID)."""
        if self.direct is not None:
            return self.direct.tracker
        if self.groups is None and self.one_box is None and self.riders is None:
            return None
        if self._tracker is None:
            try:
                self._tracker = make_tracker(self.args["tracker"])
            except ValueError as e:
                if self.groups is not None:
                    raise DashboardError(f"Class groups need ByteTrack or BoT-SORT without "
                                         f"ReID ({e}).") from None
                log.info("one box per object and riders are off: %s", e)
                self.one_box = self.riders = None
                return None
        return self._tracker

    def reset(self) -> None:
        """Forget track ids (for a new source): the next frame starts new tracks."""
        if self.direct is not None:
            self.direct.tracker.reset()
        if self._tracker is not None:
            self._tracker.reset()
        self.votes.reset()
        if self.twins is not None:
            self.twins.reset()
        predictor = getattr(self.model, "predictor", None)
        for tr in getattr(predictor, "trackers", None) or []:
            tr.reset()
from dashboard.config.env import runtime_default
