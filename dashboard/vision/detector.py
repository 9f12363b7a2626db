"""The ultralytics wrapper: load a model (clear errors), track a frame, return `Tracks`."""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from dashboard.demo import DEMO_MODEL
from dashboard.engine.tracks import Tracks
from dashboard.config.entities import DEFAULT_SETTINGS, IMAGE_SIZES
from dashboard.errors import DashboardError
from dashboard.config.env import downloads_allowed

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


def nms(xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray, iou: float) -> np.ndarray:
    """Indices of the boxes kept by non-maximum suppression within each class, best first.

    Example:
        >>> b = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [1, 0, 11, 10]], np.float32)
        >>> nms(b, np.array([.9, .8, .7], np.float32), np.array([0, 0, 1]), 0.5).tolist()
        [0, 2]
    """
    import cv2

    if not len(conf):
        return np.zeros(0, int)
    idx = cv2.dnn.NMSBoxesBatched(np.column_stack([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]]),
                                  conf, np.asarray(cls, np.int32), 0.0, iou)
    return np.asarray(idx, dtype=int).reshape(-1)


def make_tracker(tracker: str) -> Any:
    """ultralytics' ByteTrack or BoT-SORT (without ReID) from its yaml, to feed boxes to."""
    from ultralytics.trackers.track import TRACKER_MAP
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.utils.checks import check_yaml

    cfg = IterableSimpleNamespace(**YAML.load(check_yaml(tracker)))
    if cfg.tracker_type not in ("bytetrack", "botsort") or getattr(cfg, "with_reid", False):
        raise ValueError(f"tracker {tracker} needs ultralytics' predictor")
    return TRACKER_MAP[cfg.tracker_type](args=cfg)


def track_boxes(tracker: Any, img: np.ndarray, xyxy: np.ndarray, conf: np.ndarray,
                cls: np.ndarray, names: dict[int, str]) -> Tracks:
    """One frame's boxes through `tracker`: this frame's `Tracks`."""
    from ultralytics.engine.results import Boxes

    boxes = Boxes(np.column_stack([xyxy, conf, cls]).astype(np.float32), img.shape[:2])
    out = tracker.update(boxes, img)
    if not len(out):
        return Tracks.empty(names)
    return Tracks(xyxy=out[:, :4], ids=out[:, 4], cls=out[:, 6], conf=out[:, 5], names=names)


class SizeCheck:
    """Says when objects are too small for the image size, and which size to use.

    A probe: now and then one frame is also detected at a larger size (twice this one;
    dynamic-shape ONNX or PyTorch take any); if that finds many more objects, this size is
    losing them. Where the detector cannot probe (ultralytics' predictor tracking), the
    boxes' median height in the model's input pixels stands in: under MIN_PX a detector
    misses most objects. The probe is the better sign, since the boxes that are found are
    the larger ones: on real footage (PETS 2009, 480x360, people 40-90 px tall) image size
    320 found 14% of the people 640 found, while the median of those it found was 47 px; and
    a model trained on small objects finds them at sizes a rule of thumb would call small.

    Example:
        >>> c = SizeCheck(320); c.probing = False
        >>> for _ in range(40):
        ...     c.add(np.array([[0, 0, 20, 50]]), (432, 768))
        >>> c.advice()
        'Objects are small for image size 320: half are under 21 px tall in the model input (it finds them reliably from about 32 px). Use image size 640.'
        >>> c = SizeCheck(320)
        >>> for _ in range(5):
        ...     c.add_probe(1, 7)
        >>> c.advice()
        'Objects are small for image size 320: at image size 640 the model finds 35 objects where it finds 5 at 320. Use image size 640.'
    """

    MIN_PX = 32.0       # below this, detection falls off
    WINDOW = 600        # recent boxes considered
    MIN_BOXES = 30      # fewer than this: no advice from heights yet
    PROBES = 5          # probes before the probe's verdict counts (the last 10 are kept)
    PROBE_EVERY = (25, 500)   # frames between probes: until PROBES are in, then after
    MORE = 1.5          # the larger size finding this many times as many objects...
    MORE_AT_LEAST = 3   # ... and at least this many more, over the kept probes

    def __init__(self, imgsz: int) -> None:
        from collections import deque

        self.imgsz = int(imgsz)
        self._heights: deque[float] = deque(maxlen=self.WINDOW)
        self._probes: deque[tuple[int, int]] = deque(maxlen=10)
        bigger = [s for s in IMAGE_SIZES if s >= 2 * self.imgsz] or \
            [s for s in IMAGE_SIZES if s > self.imgsz]
        self.probe_size: int | None = bigger[0] if bigger else None
        self.probing = self.probe_size is not None   # else the heights decide
        self._next_probe = self.PROBE_EVERY[0]

    def add(self, xyxy: np.ndarray, frame_shape: tuple[int, ...]) -> None:
        """Take one frame's boxes (frame pixels) and the frame's (height, width)."""
        if len(xyxy):
            scale = self.imgsz / max(frame_shape[0], frame_shape[1])
            self._heights.extend(((xyxy[:, 3] - xyxy[:, 1]) * scale).tolist())

    def add_probe(self, found_here: int, found_bigger: int) -> None:
        """One probe: objects found in a frame at this size and at `probe_size`."""
        self._probes.append((int(found_here), int(found_bigger)))

    def observe(self, detector: "Detector", frame: np.ndarray, tracks: Tracks,
                index: int) -> None:
        """Take a frame's tracks, and probe the frame at the larger size when one is due."""
        self.add(tracks.xyxy, frame.shape)
        if not detector.can_probe:
            self.probing = False
        if not self.probing or index < self._next_probe:
            return
        self._next_probe = index + self.PROBE_EVERY[len(self._probes) + 1 >= self.PROBES]
        self.add_probe(len(detector.detect(frame)[1]),
                       len(detector.detect(frame, imgsz=self.probe_size)[1]))

    def advice(self) -> str | None:
        """What to do when objects are too small for this image size, else None."""
        if self.probing:
            here = sum(a for a, _ in self._probes)
            bigger = sum(b for _, b in self._probes)
            if len(self._probes) >= self.PROBES and bigger >= self.MORE * here and \
                    bigger - here >= self.MORE_AT_LEAST:
                return (f"Objects are small for image size {self.imgsz}: at image size "
                        f"{self.probe_size} the model finds {bigger} objects where it finds "
                        f"{here} at {self.imgsz}. Use image size {self.probe_size}.")
            return None
        if len(self._heights) < self.MIN_BOXES:
            return None
        median = float(np.median(np.asarray(self._heights)))
        if median >= self.MIN_PX:
            return None
        better = [s for s in IMAGE_SIZES
                  if s > self.imgsz and median * s / self.imgsz >= self.MIN_PX]
        todo = (f"Use image size {better[0]}." if better else
                "Use the largest image size, or a camera closer to the scene.")
        return (f"Objects are small for image size {self.imgsz}: half are under "
                f"{median:.0f} px tall in the model input (it finds them reliably from about "
                f"{self.MIN_PX:.0f} px). {todo}")


class ClassGroups:
    """Several model classes counted as one: {"person": ["Normal", "Fall"]} makes one class
    "person" of a model's "Normal" and "Fall", and overlapping boxes of the group are
    suppressed together (class-agnostic within the group), so one object is one box and
    one track whatever the model says it is doing. Classes in no group keep their names.

    Example:
        >>> g = ClassGroups({"person": ["Normal", "Fall"]}, {0: "Normal", 1: "Fall", 2: "car"})
        >>> g.names
        {0: 'person', 1: 'car'}
        >>> xyxy = np.array([[0, 0, 10, 20], [1, 0, 11, 20], [50, 50, 60, 60]], np.float32)
        >>> _, conf, cls = g.apply(xyxy, np.array([.9, .8, .7]), np.array([0, 1, 2]), 0.7)
        >>> conf.tolist(), cls.tolist()
        ([0.9, 0.7], [0.0, 1.0])
    """

    def __init__(self, groups: dict[str, Sequence[str]], names: dict[int, str]) -> None:
        by_name = {v.lower(): k for k, v in names.items()}
        lut = np.full(max(names) + 1, -1, np.int64)
        self.names: dict[int, str] = {}
        self.members: dict[str, list[int]] = {}
        for group, classes in groups.items():
            gid = len(self.names)
            self.names[gid] = group
            self.members[group] = []
            for c in classes:
                k = int(c) if str(c).isdigit() else by_name.get(str(c).lower())
                if k is None or k not in names:
                    raise DashboardError(f"Class group {group!r}: the model has no class "
                                         f"{c!r}; it has {', '.join(names.values())}.")
                if lut[k] != -1:
                    raise DashboardError(f"Class {names[k]!r} is in two class groups.")
                lut[k] = gid
                self.members[group].append(k)
        for k, name in sorted(names.items()):
            if lut[k] == -1:
                if name.lower() in (g.lower() for g in groups):
                    raise DashboardError(f"Class group {name!r} has the name of a model class "
                                         "it does not hold: name the group otherwise.")
                lut[k] = len(self.names)
                self.names[int(lut[k])] = name
        self.lut = lut

    def apply(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray, iou: float
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes with their classes mapped to groups and overlaps within a group removed."""
        if not len(conf):
            return xyxy, conf, cls
        g = self.lut[np.asarray(cls, np.int64)]
        xyxy = np.asarray(xyxy, np.float32)
        idx = nms(xyxy, np.asarray(conf, np.float32), g, iou)
        return xyxy[idx], np.asarray(conf)[idx], g[idx].astype(np.float32)


class SharedModel:
    """This process's one ONNX Runtime session for a model file, shared by every camera on
    it (each keeps its own tracker). Frames handed in while a call runs wait for it and then
    go together as one batch: no camera waits for another's frame that has not come, and
    under load the calls merge by themselves.

    Why (benchmarks/onnx_batching.py, 2 cores): N sessions of their own, each with a thread
    pool spinning on the same cores, ran 1.5-1.8x slower a frame than one session called
    in turn, and each held its own copy of the weights; a batch of 2-4 frames took about
    0.8x the time of those frames one by one.

    Example:
        >>> m = SharedModel.of(cached_onnx(DEMO_MODEL, 320))          # doctest: +SKIP
        >>> m.run(np.zeros((1, 3, 192, 320), np.float32)).shape       # doctest: +SKIP
        (6, 1260)
    """

    _models: dict[str, "SharedModel"] = {}
    _models_lock = threading.Lock()

    def __init__(self, path: Path) -> None:
        import onnxruntime as ort

        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self._cond = threading.Condition()
        self._queue: list[dict[str, Any]] = []
        self._busy = False
        self.calls = self.frames = 0   # how much batching happened (for the curious)

    @classmethod
    def of(cls, onnx: Path) -> "SharedModel":
        """The shared model for this file (a file replaced in place is a new model)."""
        path = Path(onnx).resolve()
        st = path.stat()
        key = f"{path}:{st.st_mtime_ns}:{st.st_size}"
        with cls._models_lock:
            if key not in cls._models:
                cls._models[key] = cls(path)
            return cls._models[key]

    def run(self, blob: np.ndarray) -> np.ndarray:
        """The model's first output for one image (`blob`: 1x3xHxW)."""
        slot: dict[str, Any] = {"blob": blob}
        with self._cond:
            self._queue.append(slot)
            while "out" not in slot:
                if self._busy:
                    self._cond.wait()
                    continue
                # Lead: every frame of this shape waiting now goes in this one call.
                batch = [q for q in self._queue if q["blob"].shape == blob.shape]
                self._queue = [q for q in self._queue if q["blob"].shape != blob.shape]
                self._busy = True
                self._cond.release()
                try:
                    out: Any = self.session.run(
                        None, {self.input: np.concatenate([q["blob"] for q in batch])})[0]
                except Exception as e:  # noqa: BLE001 - every frame of the batch hears of it
                    out = e
                finally:
                    self._cond.acquire()
                    self._busy = False
                for i, q in enumerate(batch):
                    q["out"] = out if isinstance(out, Exception) else out[i]
                self.calls, self.frames = self.calls + 1, self.frames + len(batch)
                self._cond.notify_all()
        if isinstance(slot["out"], Exception):
            raise slot["out"]
        return slot["out"]


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
        self.model = SharedModel.of(onnx)
        self.imgsz, self.conf, self.iou, self.classes = imgsz, conf, iou, classes
        self.tracker = make_tracker(tracker)

    def detect(self, img: np.ndarray, imgsz: int | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (xyxy, frame pixels), confidences and class ids of one BGR frame (at
        another image size if given: the export has dynamic shapes)."""
        import cv2

        h, w = img.shape[:2]
        r = (imgsz or self.imgsz) / max(h, w)
        nh, nw = round(h * r), round(w * r)
        # As ultralytics' LetterBox(auto=True): pad each side to a multiple of 32, centred.
        ph, pw = (32 - nh % 32) % 32, (32 - nw % 32) % 32
        top, left = round(ph / 2 - 0.1), round(pw / 2 - 0.1)
        im = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nh, nw) != (h, w) else img
        im = cv2.copyMakeBorder(im, top, ph - top, left, pw - left, cv2.BORDER_CONSTANT,
                                value=(114, 114, 114))
        # Letterbox, NMS and tracking run in each camera's thread; the model call is shared.
        out = self.model.run(cv2.dnn.blobFromImage(im, 1 / 255.0, swapRB=True))
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
        idx = nms(xyxy, conf, cls, self.iou)[:300]
        xyxy = np.clip(xyxy[idx], 0, [w, h, w, h]).astype(np.float32)
        return xyxy, conf[idx].astype(np.float32), cls[idx].astype(np.float32)

    def track(self, img: np.ndarray, names: dict[int, str]) -> Tracks:
        return track_boxes(self.tracker, img, *self.detect(img), names)


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

    def __init__(self, model: str | Path = DEFAULT_SETTINGS.model,
                 conf: float = DEFAULT_SETTINGS.conf, iou: float = 0.7,
                 imgsz: int = DEFAULT_SETTINGS.imgsz, classes: Iterable[int | str] | None = None,
                 tracker: str = DEFAULT_SETTINGS.tracker, device: str | None = None,
                 runtime: str | None = None,
                 groups: dict[str, Sequence[str]] | None = None) -> None:
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
        self.groups = ClassGroups(groups, self.names) if groups else None
        self._tracker: Any = None   # the grouped path's own tracker on PyTorch
        if self.groups is not None and classes is not None:   # a group's name: its members
            classes = [m for c in classes
                       for m in self.groups.members.get(str(c), [c])]
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

    @property
    def can_probe(self) -> bool:
        """Whether `detect` may run between `track` calls: not when ultralytics' predictor
        tracks (its tracking callbacks would take the extra frame as the next one)."""
        return self.direct is not None or self.groups is not None

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
        """Detect and track one BGR frame."""
        if self.groups is not None:   # boxes grouped before the tracker sees them
            if self.direct is not None:
                tracker = self.direct.tracker
            else:
                if self._tracker is None:
                    self._tracker = make_tracker(self.args["tracker"])
                tracker = self._tracker
            xyxy, conf, cls = self.groups.apply(*self.detect(frame), self.args["iou"])
            return track_boxes(tracker, frame, xyxy, conf, cls, self.groups.names)
        if self.direct is not None:
            return self.direct.track(frame, self.names)
        results = self.model.track(frame, persist=True, **self.args)
        return Tracks.from_ultralytics(results[0])

    def reset(self) -> None:
        """Forget track ids (for a new source): the next frame starts new tracks."""
        if self.direct is not None:
            self.direct.tracker.reset()
        if self._tracker is not None:
            self._tracker.reset()
        predictor = getattr(self.model, "predictor", None)
        for tr in getattr(predictor, "trackers", None) or []:
            tr.reset()
