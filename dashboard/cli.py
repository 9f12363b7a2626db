"""Headless processing of a video file: the same engine as the dashboard, in batch.

    python -m dashboard.cli process VIDEO --model demo --zones zones.json --out DIR

writes DIR/annotated.mp4, heatmap.png, heatmap.npz, events.csv, visits.csv (time spent in
each polygon zone) and summary.json.
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
from typing import TYPE_CHECKING, Any

import cv2

from dashboard.config.camera import DEFAULT_SETTINGS
from dashboard.config.fields import groups_from_text, time_field
from dashboard.config.kinds import Anchor, Runtime
from dashboard.errors import DashboardError
from dashboard.vision.secrets import SecretFilter
from dashboard.vision.sources import open_source

if TYPE_CHECKING:
    from dashboard.service.core import Service

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


def process(video: str, out: str | Path, model: str = DEFAULT_SETTINGS.model,
            zones: str | None = None, conf: float = DEFAULT_SETTINGS.conf,
            imgsz: int = DEFAULT_SETTINGS.imgsz, tracker: str = DEFAULT_SETTINGS.tracker,
            classes: list[str] | None = None, half_life_s: float | None = None,
            anchor: str = DEFAULT_SETTINGS.heat_anchor.value, write_video: bool = True,
            progress: bool = True, runtime: str = DEFAULT_SETTINGS.runtime.value,
            groups: dict[str, list[str]] | None = None,
            moving_heat: bool = DEFAULT_SETTINGS.heat_moving_only, start: float = 0.0,
            one_box: bool = DEFAULT_SETTINGS.one_box,
            riders: bool = DEFAULT_SETTINGS.riders) -> dict:
    """Run detector, tracker and engine over a video file; write the outputs; return the summary.
    Times are the video's: seconds from its first frame, or from `start` (Unix seconds: when
    the first frame was filmed), as a dashboard camera with that `video_start` dates them.

    Example:
        >>> s = process("demo", "out/demo", zones="zones.json")  # doctest: +SKIP
        >>> s["zones"]["door"]["in"]                             # doctest: +SKIP
        12
    """
    from dashboard.vision.detector import Detector
    from dashboard.vision.sizes import SizeCheck
    from dashboard.engine import Engine, HeatmapConfig, dwell_summary, load_zones
    from dashboard.engine.zones import load_masks

    zone_list = load_zones(zones) if zones else []          # cheap checks first
    heat = HeatmapConfig(half_life_s=half_life_s, anchor=anchor, moving_only=moving_heat)
    source = open_source(video, live=False)
    try:
        detector = Detector(model, conf=conf, imgsz=imgsz, classes=classes, tracker=tracker,
                            runtime=runtime, groups=groups, one_box=one_box,
                            riders=riders)
    except BaseException:
        source.close()   # its decoding thread would otherwise wait for a reader forever
        raise
    fps = source.native_fps or 30.0
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    engine = Engine(zones=zone_list, heatmap=heat)
    engine.masks = load_masks(zones) if zones else []
    sizes = SizeCheck(imgsz)
    bar = Progress(source.frame_count) if progress else None
    t0 = time.perf_counter()
    with source:
        n, visits, trips = _count_frames(source, detector, engine, sizes, out, start,
                                         write_video, bar)
    if bar:
        bar.close()
    # Stays still going at the end of the file end at their last sighting, paths as trips.
    visits += [v for z in engine.zones for v in z.end_stays()]
    trips += _write_visits_and_trips(out, engine, visits, trips)
    elapsed = time.perf_counter() - t0
    if n:
        engine.heatmap.to_png(out / "heatmap.png")
        engine.heatmap.save(out / "heatmap.npz")
    summary = {
        "video": source.name, "model": str(model), "runtime": detector.runtime, "frames": n, "fps": fps,
        "duration_s": round(n / fps, 3), "processing_fps": round(n / elapsed, 2) if n else 0.0,
        "zones": {z.name: {"type": z.kind, **z.counts.to_dict(),
                           **({"dwell": dwell_summary(v for v in visits if v.zone == z.name)}
                              if z.dwell is not None else {})}
                  for z in engine.zones},
        "flows": _flows(trips),
        "truncated": source.truncated,   # why the file looks cut short, or null
        "small_objects": sizes.advice(),  # objects too small for imgsz: what to do, or null
    }
    if summary["small_objects"]:
        log.warning("%s", summary["small_objects"])
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def _write_visits(path: Path, visits: list) -> None:
    """visits.csv: each stay in a polygon zone."""
    with open(path, "w", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(["zone", "track_id", "class", "entered", "left", "seconds"])
        rows.writerows([v.zone, v.track_id, v.cls_name, f"{v.entered:.3f}", f"{v.left:.3f}",
                        f"{v.seconds:.3f}"] for v in visits)


def _write_visits_and_trips(out: Path, engine: Any, visits: list, trips: list) -> list:
    """visits.csv and trips.csv (with the paths still open at the end); returns those."""
    _write_visits(out / "visits.csv", visits)
    last = engine.flows.close()
    _write_trips(out / "trips.csv", trips + last)
    return last


def _write_trips(path: Path, trips: list) -> None:
    """trips.csv: each object's way through the zones (destination empty: unknown)."""
    with open(path, "w", newline="") as f:
        rows = csv.writer(f)
        rows.writerow(["track_id", "class", "origin", "origin_direction", "started",
                       "destination", "destination_direction", "ended", "seconds", "joined"])
        rows.writerows([t.track_id, t.cls_name, t.origin, t.origin_dir, f"{t.started:.3f}",
                        t.destination or "", t.destination_dir or "", f"{t.ended:.3f}",
                        "" if t.seconds is None else f"{t.seconds:.3f}", t.joined]
                       for t in trips)


def _flows(trips: list) -> list[dict]:
    """The summary's origin-destination counts, busiest first."""
    from collections import Counter

    counts = Counter((t.origin, t.origin_dir, t.destination or "unknown",
                      t.destination_dir or "", t.cls_name) for t in trips)
    return [{"origin": o, "origin_dir": od, "destination": d, "destination_dir": dd or None,
             "class": c, "count": k}
            for (o, od, d, dd, c), k in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _count_frames(source: Any, detector: Any, engine: Any, sizes: Any, out: Path,
                  start: float, write_video: bool, bar: "Progress | None"
                  ) -> tuple[int, list, list]:
    """Every frame of the file through detector and engine: crossings to events.csv, the
    overlay to annotated.mp4 (drawn only to be written). Returns (frames, finished visits,
    trips of objects gone)."""
    writer, n, visits, trips = None, 0, [], []
    with open(out / "events.csv", "w", newline="") as f:
        events = csv.writer(f)
        events.writerow(["frame", "t", "zone", "track_id", "class", "direction"])
        while (frame := source.read()) is not None:
            img, n = frame.image, n + 1
            tracks = detector.track(img)
            sizes.observe(detector, img, tracks, n)
            r = engine.update(img, tracks, start + frame.t, draw=write_video)
            visits += r.visits
            trips += r.trips
            for e in r.events:
                events.writerow([n - 1, f"{e.t:.3f}", e.zone, e.track_id, e.cls_name,
                                 e.direction])
            if write_video:
                if writer is None:
                    h, w = img.shape[:2]
                    writer = cv2.VideoWriter(str(out / "annotated.mp4"),
                                             cv2.VideoWriter_fourcc(*"mp4v"),
                                             source.native_fps or 30.0, (w, h))
                writer.write(r.plot)
            if bar:
                bar.update(n)
    if writer is not None:
        writer.release()
    return n, visits, trips


def offline_service() -> "Service":
    """The service over the data directory, with no camera started: what the CLI reads."""
    from dashboard.service.core import Service
    from dashboard.config.env import data_dir
    from dashboard.store.factory import open_store

    folder = data_dir()
    return Service(open_store(folder), folder, demo=False, autostart=False)


def find_camera(svc: "Service", ref: str) -> str:
    """A camera's id from its id or its name (case-insensitive).

    Example:
        >>> find_camera(offline_service(), "Demo street")  # doctest: +SKIP
        'cam_3f9a2b1c4d5e'
    """
    for cam in svc.cameras():
        if ref == cam.id or cam.name.lower() == ref.strip().lower():
            return cam.id
    known = ", ".join(f"{c.name} ({c.id})" for c in svc.cameras()) or "none"
    raise DashboardError(f"No camera {ref!r}; cameras: {known}.")


def export(camera: str, events: str | None = None, counts: str | None = None,
           interval: str = "minute", since: str | None = None, until: str | None = None,
           heatmap: str | None = None, visits: str | None = None) -> list[Path]:
    """Write what the dashboard stored for a camera (id or name): events, counts and
    visits CSV, heatmap PNG/npz.

    Example:
        >>> export("Demo street", events="events.csv", counts="hourly.csv", interval="hour")  # doctest: +SKIP
    """
    def when(text: str | None) -> float | None:
        if not text:
            return None
        try:
            return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M" if "T" in text
                                             else "%Y-%m-%d"))
        except ValueError:
            raise DashboardError(f"Time {text!r}: use YYYY-MM-DD or YYYY-MM-DDTHH:MM.") from None

    t0, t1 = when(since), when(until)
    svc = offline_service()
    written = []
    try:
        cid = find_camera(svc, camera)
        if events:
            Path(events).write_text(svc.events_csv(cid, t0, t1))
            written.append(Path(events))
        if counts:
            Path(counts).write_text(svc.counts_csv(cid, interval, t0, t1))
            written.append(Path(counts))
        if visits:
            Path(visits).write_text(svc.visits_csv(cid, t0, t1))
            written.append(Path(visits))
        if heatmap:
            blob = svc.heat_npz(cid) if heatmap.endswith(".npz") else svc.heat_png(cid)
            if blob is None:
                raise DashboardError(f"No heatmap is stored for {camera!r} yet.")
            Path(heatmap).write_bytes(blob)
            written.append(Path(heatmap))
    finally:
        svc.store.close()
    return written


def say_written(path: Path, since: str | None, until: str | None) -> None:
    """"wrote events.csv: 120 rows", and a warning when a CSV holds none (a period with no
    crossings, or a typo in the dates), so an empty file is never a silent surprise."""
    if path.suffix != ".csv":
        log.info("wrote %s", path)
        return
    rows = max(0, path.read_text().count("\n") - 1)
    period = f" from {since or 'the start'} to {until or 'now'}" if since or until else ""
    log.info("wrote %s: %d rows%s", path, rows, period)
    if not rows:
        log.warning("%s has no rows: nothing was stored for that camera%s", path.name,
                    period or " yet")


def list_cameras() -> list[dict]:
    """Every saved camera with its zones and counts (what `heatmap-dashboard cameras` prints).

    Example:
        >>> list_cameras()[0]["name"]  # doctest: +SKIP
        'Demo street'
    """
    svc = offline_service()
    try:
        return [{**c.to_dict(), "zones": [f.to_dict() for f in svc.counts(c.id)]}
                for c in svc.cameras()]
    finally:
        svc.store.close()


def parser() -> argparse.ArgumentParser:
    """The command line, its defaults the camera settings' own (`DEFAULT_SETTINGS`).

    Example:
        >>> parser().parse_args(["process", "demo"]).imgsz == DEFAULT_SETTINGS.imgsz
        True
    """
    d = DEFAULT_SETTINGS
    ap = argparse.ArgumentParser(prog="heatmap-dashboard", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("process", help="process a video file headless")
    p.add_argument("video", help='video file path, or "demo" for the bundled clip')
    p.add_argument("--model", default=d.model, help='"demo", yolo26n.pt, or a .pt/.onnx path')
    p.add_argument("--zones", default=None, help="zones JSON file (as the dashboard saves)")
    p.add_argument("--out", default="out", help="output folder")
    p.add_argument("--conf", type=float, default=d.conf)
    p.add_argument("--imgsz", type=int, default=d.imgsz)
    p.add_argument("--tracker", default=d.tracker)
    p.add_argument("--classes", nargs="*", default=None, help="class names or ids to keep")
    p.add_argument("--groups", default=None,
                   help='several model classes counted as one: "person = Normal + Fall; ..."')
    p.add_argument("--half-life", type=float, default=None, help="heat half-life in seconds")
    p.add_argument("--anchor", default=d.heat_anchor.value, choices=[a.value for a in Anchor])
    p.add_argument("--no-video", action="store_true", help="skip the annotated video")
    p.add_argument("--start", type=start_time, default=0.0,
                   help="when the first frame was filmed (2026-12-05T08:00:00+01:00 or Unix "
                        "seconds): times are then real times, as a camera with that start "
                        "gives them; default: seconds from the first frame")
    p.add_argument("--keep-overlaps", action="store_true",
                   help="track every box the model gives, also a second box on one object "
                        "(car and truck, a whole and a part); default: one box per object")
    p.add_argument("--riders-apart", action="store_true",
                   help="count a person on a bicycle or motorcycle as a person and a vehicle; "
                        "default: one cyclist or motorcyclist")
    p.add_argument("--heat-all-tracks", action="store_true",
                   help="heat from every track, also those that never move")
    p.add_argument("--runtime", choices=[r.value for r in Runtime], default=d.runtime.value,
                   help="auto: ONNX Runtime on a CPU, PyTorch on a GPU")
    sub.add_parser("cameras", help="list the saved cameras with their zones and counts (JSON)")
    e = sub.add_parser("export", help="export what the dashboard stored for a camera")
    e.add_argument("camera", help='the camera\'s id or name, e.g. "Demo street"')
    e.add_argument("--events", help="write crossing events to this CSV")
    e.add_argument("--counts", help="write counts per interval to this CSV")
    e.add_argument("--interval", choices=["minute", "hour", "day"], default="minute")
    e.add_argument("--from", dest="since", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM")
    e.add_argument("--to", dest="until", help="YYYY-MM-DD or YYYY-MM-DDTHH:MM (excluded)")
    e.add_argument("--visits", help="write visits (time spent in each area) to this CSV")
    e.add_argument("--heatmap", help="write the last heatmap snapshot (.png or .npz)")
    return ap


def start_time(text: str) -> float:
    """`--start` as Unix seconds; argparse says what is wrong with it."""
    try:
        return time_field(float(text) if text.replace(".", "", 1).isdigit() else text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def main(argv: list[str] | None = None) -> int:
    """Entry point of `heatmap-dashboard` / `python -m dashboard.cli`."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(SecretFilter())
    if args.command == "cameras":
        try:
            print(json.dumps(list_cameras(), indent=2))
        except DashboardError as err:
            log.error("%s", err)
            return 2
        return 0
    if args.command == "export":
        try:
            for path in export(args.camera, args.events, args.counts, args.interval,
                               args.since, args.until, args.heatmap, args.visits):
                say_written(path, args.since, args.until)
        except DashboardError as err:
            log.error("%s", err)
            return 2
        return 0
    try:
        s = process(args.video, args.out, args.model, args.zones, args.conf, args.imgsz,
                    args.tracker, args.classes, args.half_life, args.anchor,
                    write_video=not args.no_video, runtime=args.runtime,
                    groups=groups_from_text(args.groups) if args.groups else None,
                    moving_heat=not args.heat_all_tracks, start=args.start,
                    one_box=not args.keep_overlaps, riders=not args.riders_apart)
    except DashboardError as e:
        log.error("%s", e)
        return 2
    log.info("%d frames at %.1f fps -> %s", s["frames"], s["processing_fps"], args.out)
    for name, c in s["zones"].items():
        dwell = c.get("dwell") or {}
        log.info("zone %s: in %d, out %d%s", name, c["in"], c["out"],
                 f", {dwell['visits']} visits, average {dwell['average_s']:.1f} s"
                 if dwell.get("visits") else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
