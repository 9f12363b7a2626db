"""The ultralytics wrapper: load a model (clear errors), track a frame, return `Tracks`."""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from .demo import DEMO_MODEL
from .engine.tracks import Tracks
from .errors import DashboardError
from .settings import downloads_allowed

log = logging.getLogger(__name__)

RUNTIMES = ("auto", "onnx", "torch")
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
    if not path.exists() and path.suffix not in (".yaml", ".yml") and not downloads_allowed():
        # Ultralytics would try the download before it checks YOLO_OFFLINE: ask nothing.
        raise DashboardError(
            f"Model {spec!r} is not on this machine and downloads are off (offline by default). "
            "Copy the weights here and give their path, use the bundled demo model ('demo'), "
            "or set HEATMAP_DASHBOARD_ALLOW_DOWNLOADS=1 to let ultralytics fetch it.")
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


def onnx_cache_dir() -> Path:
    """Where exported ONNX models are kept ($HEATMAP_DASHBOARD_CACHE/onnx by default)."""
    root = os.environ.get("HEATMAP_DASHBOARD_CACHE") or Path.home() / ".cache" / "heatmap-dashboard"
    path = Path(root) / "onnx"
    path.mkdir(parents=True, exist_ok=True)
    return path


def cached_onnx(weights: Path, imgsz: int) -> Path:
    """The ONNX export of `weights` (ultralytics' own exporter, dynamic shapes), made once and
    kept under a name from the weights' content hash and the image size.

    Example:
        >>> cached_onnx(DEMO_MODEL, 640).suffix  # doctest: +SKIP
        '.onnx'
    """
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()[:16]
    target = onnx_cache_dir() / f"{weights.stem}-{digest}-{imgsz}.onnx"
    if target.exists():
        return target
    from ultralytics import YOLO

    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        copy = Path(tmp) / "model.pt"
        shutil.copy(weights, copy)
        out = YOLO(str(copy), task="detect").export(format="onnx", imgsz=imgsz, dynamic=True,
                                                   simplify=True, verbose=False)
        os.replace(out, target)  # atomic: a half-written export is never picked up
    log.info("exported %s to ONNX for imgsz %d: %s", weights.name, imgsz, target.name)
    return target


class DirectOnnx:
    """ONNX Runtime without ultralytics' predictor: letterbox, run, class-aware NMS (its
    defaults), then ultralytics' own ByteTrack or BoT-SORT. About 4 ms a frame less than
    `model.track` on 2 CPU cores, the same boxes and tracks.

    Example:
        >>> d = DirectOnnx(cached_onnx(DEMO_MODEL, 640), 640, 0.25, 0.7, None, "bytetrack.yaml")  # doctest: +SKIP
        >>> d.track(frame).ids  # doctest: +SKIP
        array([1, 2])
    """

    def __init__(self, onnx: Path, imgsz: int, conf: float, iou: float,
                 classes: list[int] | None, tracker: str) -> None:
        import onnxruntime as ort
        from ultralytics.trackers.track import TRACKER_MAP
        from ultralytics.utils import YAML, IterableSimpleNamespace
        from ultralytics.utils.checks import check_yaml

        self.session = ort.InferenceSession(str(onnx), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.imgsz, self.conf, self.iou, self.classes = imgsz, conf, iou, classes
        cfg = IterableSimpleNamespace(**YAML.load(check_yaml(tracker)))
        if cfg.tracker_type not in ("bytetrack", "botsort") or getattr(cfg, "with_reid", False):
            raise ValueError(f"tracker {tracker} needs ultralytics' predictor")
        self.tracker = TRACKER_MAP[cfg.tracker_type](args=cfg)

    def detect(self, img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (xyxy, frame pixels), confidences and class ids of one BGR frame."""
        import cv2

        h, w = img.shape[:2]
        r = self.imgsz / max(h, w)
        nh, nw = round(h * r), round(w * r)
        # As ultralytics' LetterBox(auto=True): pad each side to a multiple of 32, centred.
        ph, pw = (32 - nh % 32) % 32, (32 - nw % 32) % 32
        top, left = round(ph / 2 - 0.1), round(pw / 2 - 0.1)
        im = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nh, nw) != (h, w) else img
        im = cv2.copyMakeBorder(im, top, ph - top, left, pw - left, cv2.BORDER_CONSTANT,
                                value=(114, 114, 114))
        out = self.session.run(None, {self.input: cv2.dnn.blobFromImage(im, 1 / 255.0,
                                                                          swapRB=True)})[0][0]
        if out.ndim != 2 or out.shape[0] < 5:
            raise ValueError(f"unexpected ONNX output shape {out.shape}")
        scores = out[4:]
        cls = scores.argmax(axis=0)
        conf = scores[cls, np.arange(scores.shape[1])]
        keep = conf > self.conf
        if self.classes is not None:
            keep &= np.isin(cls, self.classes)
        (cx, cy, bw, bh), conf, cls = out[:4, keep], conf[keep], cls[keep]
        xyxy = np.stack([cx - bw / 2 - left, cy - bh / 2 - top, cx + bw / 2 - left,
                         cy + bh / 2 - top], axis=1) / r
        idx = cv2.dnn.NMSBoxesBatched(np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]),
                                      conf, cls, 0.0, self.iou) if len(conf) else []
        idx = np.asarray(idx, dtype=int).reshape(-1)[:300]
        xyxy = np.clip(xyxy[idx], 0, [w, h, w, h]).astype(np.float32)
        return xyxy, conf[idx].astype(np.float32), cls[idx].astype(np.float32)

    def track(self, img: np.ndarray, names: dict[int, str]) -> Tracks:
        from ultralytics.engine.results import Boxes

        xyxy, conf, cls = self.detect(img)
        boxes = Boxes(np.column_stack([xyxy, conf, cls]), img.shape[:2])
        out = self.tracker.update(boxes, img)
        if not len(out):
            return Tracks.empty(names)
        return Tracks(xyxy=out[:, :4], ids=out[:, 4], cls=out[:, 6], conf=out[:, 5], names=names)


def _cuda_wanted(device: str | None) -> bool:
    import torch

    if device is not None and str(device).lower() == "cpu":
        return False
    return bool(torch.cuda.is_available())


class Detector:
    """A model plus a tracker: `track(frame)` gives this frame's `Tracks` (ids persist).

    runtime: "auto" runs a .pt model through ONNX Runtime on a CPU (exported once, cached)
    and through PyTorch on a CUDA device; "onnx" or "torch" force one. The environment
    variable HEATMAP_DASHBOARD_RUNTIME sets the default.

    Example:
        >>> det = Detector("demo", conf=0.3, imgsz=320)  # doctest: +SKIP
        >>> det.runtime, det.track(frame).ids            # doctest: +SKIP
        ('onnx', array([1, 2]))
    """

    def __init__(self, model: str | Path = "demo", conf: float = 0.25, iou: float = 0.7,
                 imgsz: int = 640, classes: Iterable[int | str] | None = None,
                 tracker: str = "bytetrack.yaml", device: str | None = None,
                 runtime: str | None = None) -> None:
        if not 0.0 < conf < 1.0:
            raise DashboardError("Confidence must be between 0 and 1.")
        runtime = (runtime or os.environ.get("HEATMAP_DASHBOARD_RUNTIME") or "auto").lower()
        if runtime not in RUNTIMES:
            raise DashboardError(f"Runtime {runtime!r}: use one of {', '.join(RUNTIMES)}.")
        self.model = load_model(model)
        self.direct: DirectOnnx | None = None
        spec = resolve_model(model)
        self.runtime = "onnx" if spec.endswith(".onnx") else "torch"
        exportable = spec.endswith(".pt")  # a .yaml has no weights, other formats are final
        onnx = None
        if self.runtime == "torch" and (runtime == "onnx" or (
                runtime == "auto" and exportable and not _cuda_wanted(device))):
            onnx = self._export_onnx(int(imgsz), forced=runtime == "onnx")
        if tracker not in builtin_trackers() and not Path(tracker).is_file():
            raise DashboardError(f"Tracker {tracker!r}: use one of {', '.join(builtin_trackers())} "
                                 "or the path of a tracker .yaml file.")
        self.names: dict[int, str] = dict(self.model.names)
        self.classes = class_ids(classes, self.names)
        self.args = dict(conf=conf, iou=iou, imgsz=int(imgsz), classes=self.classes,
                         tracker=tracker, device=device, verbose=False)
        if onnx is not None:
            self.runtime = "onnx"
            try:
                self.direct = DirectOnnx(onnx, int(imgsz), conf, iou, self.classes, tracker)
            except Exception as e:  # an unusual export or tracker: ultralytics' path works
                log.info("ONNX through ultralytics' predictor (%s: %s)", type(e).__name__, e)
                from ultralytics import YOLO

                self.model = YOLO(str(onnx), task="detect")

    def _export_onnx(self, imgsz: int, forced: bool) -> Path | None:
        """The cached ONNX export of the loaded .pt model; None (PyTorch stays) if it fails."""
        weights = Path(getattr(self.model, "ckpt_path", None) or "")
        try:
            if weights.suffix != ".pt" or not weights.is_file():
                raise DashboardError(f"no .pt weights file to export ({weights or 'none'})")
            return cached_onnx(weights, imgsz)
        except Exception as e:  # the exporter raises many kinds; PyTorch still works
            if forced:
                raise DashboardError(f"ONNX export failed ({type(e).__name__}: {e}). Use the "
                                     "PyTorch runtime instead.") from e
            log.warning("ONNX export failed (%s: %s); running on PyTorch instead.",
                        type(e).__name__, e)
            return None

    def detect(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (xyxy), confidences and class ids of one BGR frame, without tracking."""
        if self.direct is not None:
            return self.direct.detect(frame)
        args = {k: v for k, v in self.args.items() if k != "tracker"}
        b = self.model.predict(frame, **args)[0].boxes
        return (b.xyxy.cpu().numpy(), b.conf.cpu().numpy(), b.cls.cpu().numpy())

    def track(self, frame: np.ndarray) -> Tracks:
        """Detect and track one BGR frame."""
        if self.direct is not None:
            return self.direct.track(frame, self.names)
        results = self.model.track(frame, persist=True, **self.args)
        return Tracks.from_ultralytics(results[0])

    def reset(self) -> None:
        """Forget track ids (for a new source): the next frame starts new tracks."""
        if self.direct is not None:
            self.direct.tracker.reset()
        predictor = getattr(self.model, "predictor", None)
        for tr in getattr(predictor, "trackers", None) or []:
            tr.reset()
