"""The runtimes an exported model runs on, on a CPU: ONNX Runtime and OpenVINO, each in float
or in INT8 (static QDQ quantisation, calibrated on frames of the demo scene), and the
automatic choice between them, by measuring them on the machine at hand once per model and
image size (kept in the cache, so later starts only read it).

Why INT8 is static: a dynamically quantised model (ConvInteger) ran slower than float here;
QDQ lets either runtime fuse the integer convolutions. Why the head stays float: the model's
last module turns its features into box coordinates (hundreds of pixels) and class scores
(0-1) in one tensor; one INT8 scale for both would wipe the scores out.
"""
from __future__ import annotations

import json
import logging
import os
import platform
import re
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from dashboard.config.env import cache_dir
from dashboard.config.kinds import Runtime
from dashboard.errors import DashboardError
from dashboard.vision.objects import box_f1

log = logging.getLogger(__name__)

EXPORTED = (Runtime.ONNX, Runtime.ONNX_INT8, Runtime.OPENVINO, Runtime.OPENVINO_INT8)
INT8 = (Runtime.ONNX_INT8, Runtime.OPENVINO_INT8)
# An INT8 runtime is chosen only while it finds what the float model finds: at least this
# F1 of its boxes against float's (same class, IoU >= 0.5) on the calibration frames.
AGREEMENT = 0.9
AGREEMENT_CONF = 0.25      # boxes compared from this confidence up (ultralytics' default)
CALIBRATION_FRAMES = 48
_choosing = threading.Lock()
# Cores a model call may use (None: all); each camera worker process takes its share.
_threads: int | None = None


def share_cores(threads: int) -> None:
    """Let the models this process opens from now use `threads` cores each (at least 1).

    Example:
        >>> share_cores(1)        # doctest: +SKIP
    """
    global _threads
    _threads = max(1, int(threads))

Infer = Callable[[np.ndarray], np.ndarray]   # a batch (Nx3xHxW float32) -> the first output


def package_of(runtime: Runtime) -> str:
    """The Python package a runtime needs.

    Example:
        >>> package_of(Runtime.OPENVINO_INT8)
        'openvino'
    """
    return "openvino" if runtime in (Runtime.OPENVINO, Runtime.OPENVINO_INT8) else "onnxruntime"


def available() -> list[Runtime]:
    """The exported runtimes whose package is installed here (ONNX Runtime always is).

    Example:
        >>> Runtime.ONNX in available()
        True
    """
    import importlib.util

    return [r for r in EXPORTED if importlib.util.find_spec(package_of(r)) is not None]


def open_session(path: Path, runtime: str | Runtime) -> Infer:
    """A function running the model file on this runtime (the INT8 ones are given their
    INT8 file: the runtime executes its quantised operators as integers).

    Example:
        >>> infer = open_session(cached_onnx(DEMO_MODEL, 320), "openvino")    # doctest: +SKIP
        >>> infer(np.zeros((1, 3, 192, 320), np.float32)).shape               # doctest: +SKIP
        (1, 6, 1260)
    """
    runtime = Runtime(runtime)
    if package_of(runtime) == "openvino":
        return OpenVinoModel(path)
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = _threads or 0   # 0: ONNX Runtime's own choice
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda blob: session.run(None, {name: blob})[0]


class OpenVinoModel:
    """OpenVINO on the CPU, compiled for each input shape it is given (up to `SHAPES`, then
    one compilation for any shape). Why: on these CPUs a model compiled for its exact shape
    ran 2.9 ms a frame at imgsz 320 against 3.5 ms compiled for any batch (and 4.1 ms for
    any shape); compiling takes 0.2 s, once per shape. Float runs in OpenVINO's own precision
    for the CPU (bfloat16 where the CPU has AMX), which the automatic choice checks against
    float ONNX Runtime like any other. Its threads are not pinned to cores: pinned, they
    waited on a core that the cameras' own threads and processes kept busy (12 cameras in 2
    worker processes kept 90-92% of their frames pinned, 99% not; in one process 79% -> 90%)."""

    SHAPES = 8

    def __init__(self, path: Path) -> None:
        try:
            import openvino as ov
        except ModuleNotFoundError:
            raise DashboardError(
                "This runtime needs the Python package 'openvino', which is not installed "
                "here (a run never installs packages): .venv/bin/pip install openvino, or "
                "choose the onnx runtime.") from None
        self.core, self.path = ov.Core(), str(path)
        self.requests: dict[tuple, object] = {}
        self.any_shape = None

    def _request(self, shape: tuple):
        model = self.core.read_model(self.path)
        if shape:
            model.reshape(list(shape))
        # Called under SharedModel's lock, one batch at a time: one request per shape.
        config = {"PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False}
        return self.core.compile_model(model, "CPU", config | (
            {"INFERENCE_NUM_THREADS": _threads} if _threads else {})).create_infer_request()

    def __call__(self, blob: np.ndarray) -> np.ndarray:
        request = self.requests.get(blob.shape)
        if request is None:
            if len(self.requests) < self.SHAPES:
                request = self.requests[blob.shape] = self._request(blob.shape)
            else:
                self.any_shape = self.any_shape or self._request(())
                request = self.any_shape
        return np.array(request.infer({0: blob})[0])


def calibration_frames(n: int = CALIBRATION_FRAMES) -> list[np.ndarray]:
    """Frames of the generated street (seeds the demo model never trained on, nor the demo
    clip's), at both sizes it is drawn in: what INT8 scales are calibrated on and runtimes
    are compared on.

    Example:
        >>> [f.shape for f in calibration_frames(2)]
        [(360, 640, 3), (720, 1280, 3)]
    """
    from dashboard.demo.scene import Scene

    def every_tenth(seed: int, size: tuple[int, int], want: int) -> list[np.ndarray]:
        scene = Scene(seed=seed, width=size[0], height=size[1], fps=15.0)
        return [img for i, (img, _) in enumerate(scene.frames(want * 10 / 15.0)) if i % 10 == 0]

    small = every_tenth(11, (640, 360), (n + 1) // 2)
    large = every_tenth(13, (1280, 720), n // 2)
    # In turns, so any first few frames have both sizes.
    mixed = [f for pair in zip(small, large) for f in pair] + small[len(large):] + large[len(small):]
    return mixed[:n]


def _head_nodes(model) -> list[str]:
    """Nodes of the model's last module other than its feature convolutions: kept float."""
    index = [int(m.group(1)) for n in model.graph.node if (m := re.match(r"/model\.(\d+)/", n.name))]
    if not index:
        return []
    head = f"/model.{max(index)}/"
    return [n.name for n in model.graph.node if n.name.startswith(head)
            and (n.op_type != "Conv" or "/dfl/" in n.name)]


def int8_path(weights: Path, imgsz: int, runtime: Runtime = Runtime.ONNX_INT8) -> Path:
    """Where the INT8 model of these weights at this size for this runtime is kept, beside
    the float export.

    Example:
        >>> from dashboard.demo import DEMO_MODEL
        >>> int8_path(DEMO_MODEL, 320).name.endswith("-320-int8.onnx")
        True
    """
    from dashboard.vision.models import onnx_path

    flavour = "int8" if runtime is Runtime.ONNX_INT8 else "int8s"
    export = onnx_path(weights, imgsz)
    return export.with_name(f"{export.stem}-{flavour}.onnx")


def _int8_kind(runtime: Runtime) -> dict:
    """How each runtime's INT8 is made. ONNX Runtime on x86: unsigned activations (its
    fast u8 x s8 kernels), per-channel weights. OpenVINO: symmetric signed activations, as
    its own quantiser makes them (3.4 ms a frame at imgsz 320 here against 4.4 ms unsigned,
    while ONNX Runtime ran symmetric ones at 12 ms)."""
    from onnxruntime.quantization import QuantType

    if runtime is Runtime.ONNX_INT8:
        return {"activation_type": QuantType.QUInt8, "weight_type": QuantType.QInt8}
    return {"activation_type": QuantType.QInt8, "weight_type": QuantType.QInt8,
            "extra_options": {"ActivationSymmetric": True, "WeightSymmetric": True}}


def int8_onnx(weights: Path, imgsz: int, frames: list[np.ndarray] | None = None,
              runtime: Runtime = Runtime.ONNX_INT8) -> Path:
    """The INT8 (QDQ, per-channel weights) model of `weights` for `runtime`, quantised
    from its float ONNX export with activation ranges calibrated on `frames` (default: the
    generated street), made once and kept.

    Example:
        >>> int8_onnx(DEMO_MODEL, 320).exists()    # doctest: +SKIP
        True
    """
    target = int8_path(weights, imgsz, runtime)
    if target.exists():
        return target
    import onnx
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                          quantize_static)
    from dashboard.vision.models import cached_onnx
    from dashboard.vision.onnx import letterbox

    source = cached_onnx(weights, imgsz)
    blobs = [letterbox(f, imgsz)[0] for f in (frames or calibration_frames())]
    name = onnx.load(str(source), load_external_data=False).graph.input[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter(blobs)

        def get_next(self):
            blob = next(self.it, None)
            return None if blob is None else {name: blob}

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / "int8.onnx"
        quantize_static(str(source), str(out), Reader(), quant_format=QuantFormat.QDQ,
                        per_channel=True, calibrate_method=CalibrationMethod.MinMax,
                        nodes_to_exclude=_head_nodes(onnx.load(str(source))),
                        **_int8_kind(runtime))
        os.replace(out, target)   # atomic: a half-written model is never picked up
    log.info("quantised %s to INT8 for %s at imgsz %d on %d frames in %.0f s", weights.name,
             runtime.value, imgsz, len(blobs), time.perf_counter() - t0)
    return target


def model_file(weights: Path, imgsz: int, runtime: Runtime) -> Path:
    """The file a runtime runs: the float export, or its INT8 one."""
    from dashboard.vision.models import cached_onnx

    return int8_onnx(weights, imgsz, runtime=runtime) if runtime in INT8 \
        else cached_onnx(weights, imgsz)


@dataclass(frozen=True)
class Choice:
    """What the automatic choice measured and took: each runtime's milliseconds a frame
    (batch 1, the model alone) and its agreement with float ONNX Runtime (F1 of boxes)."""

    runtime: Runtime
    ms: dict[str, float] = field(default_factory=dict)
    agreement: dict[str, float] = field(default_factory=dict)

    def words(self) -> str:
        """Example:
            >>> Choice(Runtime.OPENVINO_INT8, {"onnx": 7.9, "openvino-int8": 4.1}).words()
            'runtime openvino-int8 chosen: 4.1 ms a frame (onnx 7.9 ms), measured here'
        """
        others = ", ".join(f"{k} {v:.1f} ms" for k, v in self.ms.items()
                           if k != self.runtime.value)
        return (f"runtime {self.runtime.value} chosen: {self.ms.get(self.runtime.value, 0):.1f}"
                f" ms a frame ({others}), measured here")


def _key(weights: Path, imgsz: int) -> str:
    import importlib.metadata as md

    from dashboard.vision.models import onnx_path

    versions = []
    for pkg in ("onnxruntime", "openvino"):
        try:
            versions.append(f"{pkg}={md.version(pkg)}")
        except md.PackageNotFoundError:
            versions.append(f"{pkg}=none")
    return f"{onnx_path(weights, imgsz).stem}|{_cpu()}|{os.cpu_count()}|{','.join(versions)}"


def _cpu() -> str:
    """The CPU's model name (a cache shared by two machines must not share their choice)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _choices_file() -> Path:
    return cache_dir() / "runtimes.json"


def cached_choice(weights: Path, imgsz: int) -> Choice | None:
    """The choice measured before for this model, size and machine, if any (None also when
    the runtime it took is no longer installed).

    Example:
        >>> cached_choice(DEMO_MODEL, 320)       # doctest: +SKIP
        Choice(runtime=<Runtime.OPENVINO: 'openvino'>, ...)
    """
    try:
        doc = json.loads(_choices_file().read_text()).get(_key(weights, imgsz))
    except (OSError, ValueError):
        return None
    if not doc or Runtime(doc["runtime"]) not in available():
        return None
    return Choice(Runtime(doc["runtime"]), doc.get("ms", {}), doc.get("agreement", {}))


def choose(weights: Path, imgsz: int) -> Choice:
    """The fastest runtime here for this model and size whose boxes agree with float ONNX
    Runtime's (INT8 at least `AGREEMENT`), measured once and kept in the cache.

    Example:
        >>> choose(DEMO_MODEL, 320).runtime in available()    # doctest: +SKIP
        True
    """
    with _choosing:   # two cameras on one model measure it once
        known = cached_choice(weights, imgsz)
        if known is not None:
            return known
        choice = measure(weights, imgsz)
        path = _choices_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError):
            doc = {}
        doc[_key(weights, imgsz)] = {"runtime": choice.runtime.value, "ms": choice.ms,
                                            "agreement": choice.agreement,
                                            "when": time.strftime("%Y-%m-%d %H:%M:%S")}
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        os.replace(tmp, path)
        log.info("%s (%s, image size %d)", choice.words(), weights.name, imgsz)
        return choice


def candidates(weights: Path) -> list[Runtime]:
    """The runtimes "auto" measures for these weights. INT8 only for the bundled demo model:
    its scales are calibrated on the generated street, which is that model's world; for a
    model of real scenes they counted real people wrong (benchmarks/runtimes.py: a floor
    line 4 in / 2 out against the truth's 4 / 0, float right), so it is there to name, not
    to be chosen behind the operator's back.

    Example:
        >>> from dashboard.demo import DEMO_MODEL
        >>> Runtime.ONNX_INT8 in candidates(DEMO_MODEL), Runtime.ONNX_INT8 in candidates(Path("x.pt"))
        (True, False)
    """
    from dashboard.demo import DEMO_MODEL

    own = Path(weights).resolve() == Path(DEMO_MODEL).resolve()
    return [r for r in available() if own or r not in INT8]


def measure(weights: Path, imgsz: int, rounds: int = 5) -> Choice:
    """Time every available runtime on the calibration frames (batch 1, in turns, so a busy
    moment falls on all alike; the median) and compare its boxes with float ONNX Runtime's."""
    from dashboard.vision.onnx import decode, letterbox

    frames = calibration_frames(16)
    inputs = [letterbox(f, imgsz) for f in frames]
    sessions: dict[Runtime, Infer] = {}
    for r in candidates(weights):
        try:
            sessions[r] = open_session(model_file(weights, imgsz, r), r)
        except Exception as e:  # noqa: BLE001 - a runtime that fails here is not chosen
            if r is Runtime.ONNX:
                raise            # no export at all: the caller says so (nothing is kept)
            log.warning("runtime %s left out: %s: %s", r.value, type(e).__name__, e)

    def boxes(r: Runtime) -> list[tuple]:
        return [decode(sessions[r](b)[0], (f.shape[1], f.shape[0]), s, left, top,
                       AGREEMENT_CONF, 0.7)
                for f, (b, s, left, top) in zip(frames, inputs)]

    reference = boxes(Runtime.ONNX)
    agreement = {r.value: 1.0 if r is Runtime.ONNX else round(box_f1(boxes(r), reference), 3)
                 for r in sessions}
    times: dict[Runtime, list[float]] = {r: [] for r in sessions}
    for _ in range(rounds):
        for r, infer in sessions.items():
            # Each block starts with two calls untimed: the runtime before may still hold
            # the cores (ONNX Runtime's threads spin a while after a call), which a camera
            # running one runtime never meets.
            for b, *_ in inputs[:2]:
                infer(b)
            t0 = time.perf_counter()
            for b, *_ in inputs[2:10]:
                infer(b)
            times[r].append((time.perf_counter() - t0) * 1000 / len(inputs[2:10]))
    ms = {r.value: round(float(np.median(v)), 2) for r, v in times.items()}
    fit = [r for r in sessions if r not in INT8 or agreement[r.value] >= AGREEMENT]
    best = min(fit, key=lambda r: ms[r.value])
    return Choice(best, ms, agreement)
