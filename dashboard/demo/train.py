"""Train the bundled demo detector (person, car) on generated scenes, from a model yaml.

Nothing is downloaded: the model starts from `yolo26n.yaml` (random weights) and learns
from frames of `Scene` with their true boxes. Training seeds start at 1000; every seed
below that (the demo clip's 7, the tests' clips) is held out.

    python -m dashboard.demo.train --out runs/demo --images 3000 --epochs 40 --device cpu
    python -m dashboard.demo.train --evaluate dashboard/demo/demo_model.pt --heldout-seed 7
"""
from __future__ import annotations

import argparse
import logging
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2

from . import DEMO_MODEL
from .scene import NAMES, Scene

log = logging.getLogger(__name__)

TRAIN_SEED0 = 1000
MIN_VISIBLE = 0.35  # objects hidden more than this are not labelled


def _write_clip_samples(args: tuple) -> int:
    """Write every `every`-th frame of one seed's scene as a YOLO image + label pair."""
    folder, seed, n_images, every, size = args
    w, h = size
    scene = Scene(seed=seed, width=w, height=h, fps=15.0)
    written = 0
    for i, (img, boxes) in enumerate(scene.frames(n_images * every / 15.0)):
        if i % every:
            continue
        stem = f"s{seed}_{i:05d}"
        cv2.imwrite(str(folder / "images" / f"{stem}.jpg"), img, [cv2.IMWRITE_JPEG_QUALITY, 90])
        lines = []
        for b in boxes:
            if b.visible < MIN_VISIBLE:
                continue
            x0, y0, x1, y1 = b.xyxy
            lines.append(f"{b.cls} {(x0 + x1) / 2 / w:.6f} {(y0 + y1) / 2 / h:.6f} "
                         f"{(x1 - x0) / w:.6f} {(y1 - y0) / h:.6f}")
        (folder / "labels" / f"{stem}.txt").write_text("\n".join(lines))
        written += 1
    return written


def build_split(folder: Path, seeds: list[int], per_seed: int, every: int = 4,
                workers: int = 8) -> int:
    """Generate a YOLO split (images/ and labels/) from the given scene seeds.

    Every fourth seed is drawn at 1280x720 so the model also sees sharper, larger frames.

    Example:
        >>> build_split(Path("data/val"), [7], per_seed=50)  # doctest: +SKIP
        50
    """
    for sub in ("images", "labels"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    jobs = [(folder, s, per_seed, every, (1280, 720) if s % 4 == 3 else (640, 360))
            for s in seeds]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return sum(pool.map(_write_clip_samples, jobs))


def write_data_yaml(root: Path, train: str, val: str) -> Path:
    """An ultralytics dataset file for the splits under `root`."""
    names = "\n".join(f"  {k}: {v}" for k, v in NAMES.items())
    path = root / "data.yaml"
    path.write_text(f"path: {root.resolve()}\ntrain: {train}\nval: {val}\nnames:\n{names}\n")
    return path


def evaluate(model: str | Path, seed: int = 7, images: int = 150, imgsz: int = 640,
             root: Path = Path("runs/heldout"), device: str | None = None) -> dict[str, float]:
    """mAP of `model` on frames of a held-out seed, by ultralytics' own validation.

    Example:
        >>> evaluate("dashboard/demo/demo_model.pt", seed=7)["mAP50"]  # doctest: +SKIP
        0.97
    """
    from ultralytics import YOLO

    if seed >= TRAIN_SEED0:
        raise ValueError(f"seed {seed} is a training seed; held-out seeds are below {TRAIN_SEED0}")
    shutil.rmtree(root, ignore_errors=True)
    build_split(root / "test", [seed], images, every=3, workers=1)
    data = write_data_yaml(root, "test/images", "test/images")
    m = YOLO(str(model)).val(data=str(data), imgsz=imgsz, device=device, plots=False,
                             verbose=False, batch=16)
    return {"mAP50": float(m.box.map50), "mAP50-95": float(m.box.map)}


def train(out: Path, images: int = 3000, epochs: int = 40, imgsz: int = 640, batch: int = 32,
          device: str | None = None, workers: int = 8, hours: float | None = None,
          cache: bool = False) -> Path:
    """Generate data, train yolo26n from its yaml, return the best weights' path."""
    from ultralytics import YOLO

    t0 = time.perf_counter()
    shutil.rmtree(out / "data", ignore_errors=True)
    n_seeds = max(8, images // 150)
    per_seed = images // n_seeds
    seeds = list(range(TRAIN_SEED0, TRAIN_SEED0 + n_seeds))
    n_train = build_split(out / "data" / "train", seeds, per_seed, workers=workers)
    n_val = build_split(out / "data" / "val", [TRAIN_SEED0 + n_seeds], 150, workers=1)
    data = write_data_yaml(out / "data", "train/images", "val/images")
    log.info("generated %d training and %d validation images in %.0f s", n_train, n_val,
             time.perf_counter() - t0)
    t1 = time.perf_counter()
    model = YOLO("yolo26n.yaml")
    extra = {"time": hours} if hours else {}
    model.train(data=str(data), epochs=epochs, imgsz=imgsz, batch=batch, device=device,
                workers=workers, project=str(out.resolve()), name="train", exist_ok=True,
                pretrained=False, plots=False, fliplr=0.5, mosaic=1.0, close_mosaic=5,
                patience=100, verbose=False, cache=cache, **extra)
    log.info("trained in %.1f min", (time.perf_counter() - t1) / 60)
    return out / "train" / "weights" / "best.pt"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dashboard.demo.train", description=__doc__)
    ap.add_argument("--out", type=Path, default=Path("runs/demo"))
    ap.add_argument("--images", type=int, default=3000)
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--hours", type=float, default=None, help="stop training after this long")
    ap.add_argument("--device", default=None, help="cpu, 0 (first GPU), ...")
    ap.add_argument("--cache", action="store_true", help="hold the training images in memory")
    ap.add_argument("--install", type=Path, default=None,
                    help=f"copy the best weights here (the bundled model is {DEMO_MODEL})")
    ap.add_argument("--evaluate", type=Path, default=None, help="only evaluate these weights")
    ap.add_argument("--heldout-seed", type=int, default=7)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    weights = args.evaluate
    if weights is None:
        weights = train(args.out, args.images, args.epochs, args.imgsz, args.batch,
                        args.device, args.workers, args.hours, args.cache)
        if args.install:
            shutil.copy(weights, args.install)
            log.info("installed %s (%.1f MB)", args.install, args.install.stat().st_size / 1e6)
    for imgsz in (640, 320):
        m = evaluate(weights, args.heldout_seed, imgsz=imgsz, root=args.out / "heldout",
                     device=args.device)
        log.info("held-out seed %d, imgsz %d: mAP50 %.3f, mAP50-95 %.3f", args.heldout_seed,
                 imgsz, m["mAP50"], m["mAP50-95"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
