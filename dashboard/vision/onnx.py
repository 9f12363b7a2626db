"""An exported model on the CPU without ultralytics in the frame loop: one session per model
file and runtime (ONNX Runtime or OpenVINO, `vision/runtimes.py`) shared by every camera,
letterboxing, decoding and tracking of our own."""
from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np

from dashboard.vision.tracking import make_tracker, nms

log = logging.getLogger(__name__)


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

    def __init__(self, path: Path, runtime: str = "onnx") -> None:
        from dashboard.vision.runtimes import open_session

        self.infer = open_session(path, runtime)   # a batch in, the first output out
        self.runtime = runtime
        self._cond = threading.Condition()
        self._queue: list[dict[str, Any]] = []
        self._busy = False
        self.calls = self.frames = 0   # how much batching happened (for the curious)

    @classmethod
    def of(cls, onnx: Path, runtime: str = "onnx") -> "SharedModel":
        """The shared model for this file on this runtime (a file replaced in place is a new
        model)."""
        path = Path(onnx).resolve()
        st = path.stat()
        key = f"{path}:{st.st_mtime_ns}:{st.st_size}:{runtime}"
        with cls._models_lock:
            if key not in cls._models:
                cls._models[key] = cls(path, runtime)
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
                    out: Any = self.infer(np.concatenate([q["blob"] for q in batch]))
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


def letterbox(img: np.ndarray, imgsz: int) -> tuple[np.ndarray, float, int, int]:
    """One BGR frame as the model's input (1x3xHxW, RGB, 0-1), as ultralytics' LetterBox(
    auto=True) makes it: scaled to fit `imgsz`, each side padded to a multiple of 32,
    centred; with the scale and the left and top padding to map boxes back.

    Example:
        >>> blob, r, left, top = letterbox(np.zeros((360, 640, 3), np.uint8), 320)
        >>> blob.shape, r, left, top
        ((1, 3, 192, 320), 0.5, 0, 6)
    """
    import cv2

    h, w = img.shape[:2]
    r = imgsz / max(h, w)
    nh, nw = round(h * r), round(w * r)
    ph, pw = (32 - nh % 32) % 32, (32 - nw % 32) % 32
    top, left = round(ph / 2 - 0.1), round(pw / 2 - 0.1)
    im = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR) if (nh, nw) != (h, w) else img
    im = cv2.copyMakeBorder(im, top, ph - top, left, pw - left, cv2.BORDER_CONSTANT,
                            value=(114, 114, 114))
    return cv2.dnn.blobFromImage(im, 1 / 255.0, swapRB=True), r, left, top


def decode(out: np.ndarray, size: tuple[int, int], r: float, left: int, top: int, conf: float,
           iou: float, classes: list[int] | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes (xyxy in the frame's pixels), confidences and class ids from one image's output
    (4 + classes rows, a column per anchor): over `conf`, of `classes`, after class-aware NMS
    (at most 300). `size` is the frame's (width, height).

    Example:
        >>> out = np.zeros((6, 2), np.float32); out[:4, 0] = [50, 50, 20, 20]; out[5, 0] = 0.9
        >>> xyxy, c, k = decode(out, (100, 100), 1.0, 0, 0, 0.25, 0.7)
        >>> xyxy.tolist(), k.tolist()
        ([[40.0, 40.0, 60.0, 60.0]], [1.0])
    """
    if out.ndim != 2 or out.shape[0] < 5:
        raise ValueError(f"unexpected model output shape {out.shape}")
    w, h = size
    scores = out[4:]
    cls = scores.argmax(axis=0)
    confs = scores[cls, np.arange(scores.shape[1])]
    keep = confs > conf
    if classes is not None:
        keep &= np.isin(cls, classes)
    (cx, cy, bw, bh), confs, cls = out[:4, keep], confs[keep], cls[keep]
    xyxy = np.stack([cx - bw / 2 - left, cy - bh / 2 - top, cx + bw / 2 - left,
                     cy + bh / 2 - top], axis=1) / r
    idx = nms(xyxy, confs, cls, iou)[:300]
    xyxy = np.clip(xyxy[idx], 0, [w, h, w, h]).astype(np.float32)
    return xyxy, confs[idx].astype(np.float32), cls[idx].astype(np.float32)


class DirectOnnx:
    """An exported model without ultralytics' predictor: letterbox, run (ONNX Runtime or
    OpenVINO, float or INT8: `runtime`), class-aware NMS (its defaults); `tracker` is
    ultralytics' own ByteTrack or BoT-SORT, which the `Detector` feeds these boxes to. About
    4 ms a frame less than `model.track` on 2 CPU cores, the same boxes and tracks.

    Example:
        >>> d = DirectOnnx(cached_onnx(DEMO_MODEL, 640), 640, 0.25, 0.7, None, "bytetrack.yaml")  # doctest: +SKIP
        >>> xyxy, conf, cls = d.detect(frame)  # doctest: +SKIP
    """

    def __init__(self, onnx: Path, imgsz: int, conf: float, iou: float,
                 classes: list[int] | None, tracker: str, runtime: str = "onnx") -> None:
        self.model = SharedModel.of(onnx, runtime)
        self.imgsz, self.conf, self.iou, self.classes = imgsz, conf, iou, classes
        self.tracker = make_tracker(tracker)

    def detect(self, img: np.ndarray, imgsz: int | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes (xyxy, frame pixels), confidences and class ids of one BGR frame (at
        another image size if given: the export has dynamic shapes)."""
        blob, r, left, top = letterbox(img, imgsz or self.imgsz)
        # Letterbox, NMS and tracking run in each camera's thread; the model call is shared.
        out = self.model.run(blob)
        return decode(out, (img.shape[1], img.shape[0]), r, left, top, self.conf, self.iou,
                      self.classes)
