"""Headless processing of a video file: the same engine as the dashboard, in batch.

    python -m dashboard.cli process VIDEO --model demo --zones zones.json --out DIR

writes DIR/annotated.mp4, heatmap.png, heatmap.npz, events.csv and summary.json.
VIDEO may be "demo" for the bundled synthetic clip.
"""
from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
import time
from pathlib import Path
import cv2

from .errors import DashboardError
from .sources import SecretFilter, open_source

log = logging.getLogger("dashboard.cli")


class Progress:
    """A one-line progress bar on stderr (a line every 10% when stderr is not a terminal)."""

    def __init__(self, total: int) -> None:
        self.total, self.t0, self.last_decile = total, time.perf_counter(), -1
        self.tty = sys.stderr.isatty()

    def update(self, done: int) -> None:
        rate = done / max(1e-9, time.perf_counter() - self.t0)
        if self.total:
            frac = min(1.0, done / self.total)
            eta = (self.total - done) / rate if rate else 0
            bar = "#" * int(frac * 30)
            text = f"[{bar:<30}] {done}/{self.total} frames  {rate:.1f} fps  ETA {eta:.0f} s"
        else:
            frac, text = 0.0, f"{done} frames  {rate:.1f} fps"
        if self.tty:
            print("\r" + text, end="", file=sys.stderr, flush=True)
        elif int(frac * 10) > self.last_decile or (not self.total and done % 100 == 0):
            self.last_decile = int(frac * 10)
            print(text, file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.tty:
            print(file=sys.stderr)


def process(video: str, out: str | Path, model: str = "demo", zones: str | None = None,
            conf: float = 0.25, imgsz: int = 640, tracker: str = "bytetrack.yaml",
            classes: list[str] | None = None, half_life_s: float | None = None,
            anchor: str = "center", write_video: bool = True, progress: bool = True,
            runtime: str = "auto") -> dict:
    """Run detector, tracker and engine over a video file; write the outputs; return the summary.

    Example:
        >>> s = process("demo", "out/demo", zones="zones.json")  # doctest: +SKIP
        >>> s["zones"]["door"]["in"]                             # doctest: +SKIP
        12
    """
    from .detector import Detector
    from .engine import Engine, HeatmapConfig, load_zones

    zone_list = load_zones(zones) if zones else []          # cheap checks first
    heat = HeatmapConfig(half_life_s=half_life_s, anchor=anchor)
    source = open_source(video, live=False)
    try:
        detector = Detector(model, conf=conf, imgsz=imgsz, classes=classes, tracker=tracker,
                            runtime=runtime)
    except BaseException:
        source.close()   # its decoding thread would otherwise wait for a reader forever
        raise
    fps = source.native_fps or 30.0
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    engine = Engine(zones=zone_list, heatmap=heat)
    writer = None
    bar = Progress(source.frame_count) if progress else None
    n, t0 = 0, time.perf_counter()
    with source, open(out / "events.csv", "w", newline="") as f:
        events = csv.writer(f)
        events.writerow(["frame", "t", "zone", "track_id", "class", "direction"])
        while (frame := source.read()) is not None:
            img, n = frame.image, n + 1
            r = engine.update(img, detector.track(img), frame.t)
            for e in r.events:
                events.writerow([n - 1, f"{e.t:.3f}", e.zone, e.track_id, e.cls_name,
                                 e.direction])
            if write_video:
                if writer is None:
                    h, w = img.shape[:2]
                    writer = cv2.VideoWriter(str(out / "annotated.mp4"),
                                             cv2.VideoWriter_fourcc(*"mp4v"), fps, (w, h))
                writer.write(r.plot)
            if bar:
                bar.update(n)
    if writer is not None:
        writer.release()
    if bar:
        bar.close()
    elapsed = time.perf_counter() - t0
    if n:
        engine.heatmap.to_png(out / "heatmap.png")
        engine.heatmap.save(out / "heatmap.npz")
    summary = {
        "video": source.name, "model": str(model), "runtime": detector.runtime, "frames": n, "fps": fps,
        "duration_s": round(n / fps, 3), "processing_fps": round(n / elapsed, 2) if n else 0.0,
        "zones": {z.name: {"type": z.kind, **z.counts.to_dict()} for z in engine.zones},
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def export(source: str, events: str | None = None, counts: str | None = None,
           interval: str = "minute", since: str | None = None, until: str | None = None,
           heatmap: str | None = None) -> list[Path]:
    """Write what the dashboard stored for a source: events and counts CSV, heatmap PNG/npz.

    Example:
        >>> export("demo", events="events.csv", counts="hourly.csv", interval="hour")  # doctest: +SKIP
    """
    import io

    from .engine import HeatmapAccumulator
    from .settings import data_dir
    from .store import SQLiteStore

    def when(text: str | None) -> float | None:
        if not text:
            return None
        try:
            return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M" if "T" in text
                                             else "%Y-%m-%d"))
        except ValueError:
            raise DashboardError(f"Time {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM.") from None

    store = SQLiteStore(data_dir() / "dashboard.db")
    written = []
    try:
        if events:
            Path(events).write_text(store.events_csv(source, when(since), when(until)))
            written.append(Path(events))
        if counts:
            Path(counts).write_text(store.counts_csv(source, interval, when(since), when(until)))
            written.append(Path(counts))
        if heatmap:
            blob = store.load_heat(source)
            if blob is None:
                raise DashboardError(f"No heatmap is stored for {source!r} yet.")
            if heatmap.endswith(".npz"):
                Path(heatmap).write_bytes(blob)
            else:
                HeatmapAccumulator.load(io.BytesIO(blob)).to_png(heatmap)
            written.append(Path(heatmap))
    finally:
        store.close()
    return written


def main(argv: list[str] | None = None) -> int:
    """Entry point of `heatmap-dashboard` / `python -m dashboard.cli`."""
    ap = argparse.ArgumentParser(prog="heatmap-dashboard", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("process", help="process a video file headless")
    p.add_argument("video", help='video file path, or "demo" for the bundled clip')
    p.add_argument("--model", default="demo", help='"demo", yolo26n.pt, or a .pt/.onnx path')
    p.add_argument("--zones", default=None, help="zones JSON file (as the dashboard saves)")
    p.add_argument("--out", default="out", help="output folder")
    p.add_argument("--conf", type=float, default=0.25)
    p.add_argument("--imgsz", type=int, default=640)
    p.add_argument("--tracker", default="bytetrack.yaml")
    p.add_argument("--classes", nargs="*", default=None, help="class names or ids to keep")
    p.add_argument("--half-life", type=float, default=None, help="heat half-life in seconds")
    p.add_argument("--anchor", default="center", choices=["center", "bottom_center"])
    p.add_argument("--no-video", action="store_true", help="skip the annotated video")
    p.add_argument("--runtime", choices=["auto", "onnx", "torch"], default="auto",
                   help="auto: ONNX Runtime on a CPU, PyTorch on a GPU")
    e = sub.add_parser("export", help="export what the dashboard stored for a source")
    e.add_argument("source", help='the source as typed in the dashboard, e.g. "demo"')
    e.add_argument("--events", help="write crossing events to this CSV")
    e.add_argument("--counts", help="write counts per interval to this CSV")
    e.add_argument("--interval", choices=["minute", "hour"], default="minute")
    e.add_argument("--from", dest="since", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM")
    e.add_argument("--to", dest="until", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM (excluded)")
    e.add_argument("--heatmap", help="write the last heatmap snapshot (.png or .npz)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(SecretFilter())
    if args.command == "export":
        try:
            for path in export(args.source, args.events, args.counts, args.interval,
                               args.since, args.until, args.heatmap):
                log.info("wrote %s", path)
        except DashboardError as err:
            log.error("%s", err)
            return 2
        return 0
    try:
        s = process(args.video, args.out, args.model, args.zones, args.conf, args.imgsz,
                    args.tracker, args.classes, args.half_life, args.anchor,
                    write_video=not args.no_video, runtime=args.runtime)
    except DashboardError as e:
        log.error("%s", e)
        return 2
    log.info("%d frames at %.1f fps -> %s", s["frames"], s["processing_fps"], args.out)
    for name, c in s["zones"].items():
        log.info("zone %s: in %d, out %d", name, c["in"], c["out"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
