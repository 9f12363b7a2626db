"""Models: which file a model name means, loading it safely (ultralytics' restricted
unpickler, clear errors), class names to ids, and the ONNX export kept in a cache."""
from __future__ import annotations

import functools
import hashlib
import importlib
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterable


from dashboard.demo import DEMO_MODEL
from dashboard.errors import DashboardError
from dashboard.config.env import cache_dir, downloads_allowed
from dashboard.config.kinds import Runtime

log = logging.getLogger(__name__)

RUNTIMES = tuple(r.value for r in Runtime)
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

    quiet_ultralytics()
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
    except ModuleNotFoundError as e:   # a model format whose runtime is not installed
        raise DashboardError(
            f"Model {spec!r} needs the Python package {e.name!r}, which is not installed here "
            f"(a run never installs packages): install it into the dashboard's environment "
            f"(.venv/bin/pip install {e.name}), or use a .pt or .onnx model.") from e
    except Exception as e:  # torch/onnx raise many types for a damaged file
        raise DashboardError(f"Could not load model {spec!r} ({type(e).__name__}: {e}). Is it a "
                             "complete YOLO .pt or .onnx file?") from e
    if getattr(yolo, "task", "detect") != "detect":
        raise DashboardError(f"Model {spec!r} is a {yolo.task} model; a detection model is needed.")
    return yolo


def fixed_input(model: str | Path) -> int | None:
    """The image size an ONNX model is fixed to (its input's height and width are numbers,
    as ultralytics exports without dynamic=True), or None: a .pt, a dynamic ONNX, or a file
    that is not here (loading it says why).

    Example:
        >>> fixed_input("demo") is None          # a .pt takes any size
        True
    """
    spec = resolve_model(model)
    if spec.rstrip("/").endswith("_openvino_model"):
        return _openvino_input(Path(spec))
    if not spec.endswith(".onnx") or not Path(spec).is_file():
        return None
    import onnx

    try:
        dims = onnx.load(spec, load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    except Exception:  # noqa: BLE001 - a damaged file: loading it says what is wrong
        return None
    sizes = [d.dim_value for d in list(dims)[2:4] if d.HasField("dim_value")]
    return max(sizes) if len(sizes) == 2 else None


def _openvino_input(folder: Path) -> int | None:
    """The size an OpenVINO IR's first input is fixed to (`<data shape="1,3,640,640">`),
    or None: dynamic (-1 or ?), or no .xml to read."""
    import re

    for xml in sorted(folder.glob("*.xml"))[:1]:
        m = re.search(r'type="Parameter"[^>]*>\s*<data shape="([^"]+)"', xml.read_text(
            errors="replace")[:20_000])
        dims = m.group(1).split(",") if m else []
        if len(dims) == 4 and dims[2] == dims[3] and dims[2].isdigit():
            return int(dims[2])
    return None


def check_image_size(model: str | Path, imgsz: int) -> int | None:
    """Refuse an image size a fixed-size ONNX model cannot take, saying what to do; returns
    the model's fixed size (None: any size goes).

    Example:
        >>> check_image_size("demo", 1280) is None
        True
    """
    fixed = fixed_input(model)
    if fixed is not None and int(imgsz) != fixed:
        raise DashboardError(
            f"Image size {imgsz} does not fit this model: its input is fixed at {fixed} px "
            f"(exported without dynamic shapes). Use image size {fixed}, or export the model "
            "again with dynamic=True to choose any size.")
    return fixed


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


def onnx_cache_dir() -> Path:
    """Where exported ONNX models are kept ($HEATMAP_DASHBOARD_CACHE/onnx by default)."""
    path = cache_dir() / "onnx"
    path.mkdir(parents=True, exist_ok=True)
    return path


def onnx_path(weights: Path, imgsz: int) -> Path:
    """Where the ONNX export of these weights at this image size is kept (by their content's
    hash: new weights under an old name are exported anew).

    Example:
        >>> from dashboard.demo import DEMO_MODEL
        >>> onnx_path(DEMO_MODEL, 320).name.startswith("demo_model-")
        True
    """
    st = Path(weights).stat()
    digest = _digest(str(Path(weights).resolve()), st.st_mtime_ns, st.st_size)
    return onnx_cache_dir() / f"{Path(weights).stem}-{digest}-{imgsz}.onnx"


@functools.lru_cache(maxsize=64)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    """The weights' content hash, read once per file version (a camera's start asks for it
    several times: its first-load words, the runtime choice's key, each export's name)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def cached_onnx(weights: Path, imgsz: int) -> Path:
    """The ONNX export of `weights` (ultralytics' own exporter, dynamic shapes), made once and
    kept under a name from the weights' content hash and the image size.

    Example:
        >>> cached_onnx(DEMO_MODEL, 640).suffix  # doctest: +SKIP
        '.onnx'
    """
    target = onnx_path(weights, imgsz)
    if target.exists():
        return target
    from ultralytics import YOLO

    quiet_ultralytics()
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        copy = Path(tmp) / "model.pt"
        shutil.copy(weights, copy)
        out = YOLO(str(copy), task="detect").export(format="onnx", imgsz=imgsz, dynamic=True,
                                                   simplify=True, verbose=False)
        os.replace(out, target)  # atomic: a half-written export is never picked up
    log.info("exported %s to ONNX for imgsz %d: %s", weights.name, imgsz, target.name)
    return target


class _ToOurLog(logging.Handler):
    """Ultralytics' lines into our log: its chatter ("ProTip", "Visualize: netron.app",
    `yolo predict ...`) at DEBUG, its warnings and errors as what they are."""

    def emit(self, record: logging.LogRecord) -> None:
        level = record.levelno if record.levelno >= logging.WARNING else logging.DEBUG
        log.log(level, "ultralytics: %s", record.getMessage().strip())


def quiet_ultralytics() -> None:
    """Send ultralytics' own output to our log instead of standard output (where the CLI
    writes its results and the server's log would drown). Idempotent.

    Example:
        >>> quiet_ultralytics(); quiet_ultralytics()
        >>> [type(h).__name__ for h in logging.getLogger("ultralytics").handlers]
        ['_ToOurLog']
    """
    importlib.import_module("ultralytics.utils")   # it sets its logger up on import: after

    ultra = logging.getLogger("ultralytics")
    for h in list(ultra.handlers):
        if not isinstance(h, _ToOurLog):
            ultra.removeHandler(h)
    if not ultra.handlers:
        ultra.addHandler(_ToOurLog())
    ultra.setLevel(logging.DEBUG)
    ultra.propagate = False
