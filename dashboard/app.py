"""The operator dashboard: pick a source, draw zones, watch heat and counts live.

    streamlit run dashboard/web.py     (the page plus its video endpoint)

The page holds no pipeline state of its own: it reads the shared `Pipeline` of the chosen
source (one per source, for every open tab) and edits its zones.
"""
from __future__ import annotations

import datetime
import io
import json
import logging
import os
import time
from pathlib import Path

import cv2
import numpy as np
import streamlit as st

from dashboard.canvas import CanvasScale, zone_from_canvas
from dashboard.demo import DEMO_DIR, DEMO_MODEL
from dashboard.engine import HeatmapConfig, zone_from_dict
from dashboard.errors import DashboardError
from dashboard.settings import data_dir
from dashboard.sources import SecretFilter, mask_secrets, open_source
from dashboard.store import source_key
from dashboard.worker import Pipeline, PipelineSettings, Registry, shared_registry

log = logging.getLogger("dashboard.app")

COLORMAPS = {"Jet": cv2.COLORMAP_JET, "Inferno": cv2.COLORMAP_INFERNO,
             "Turbo": cv2.COLORMAP_TURBO, "Hot": cv2.COLORMAP_HOT,
             "Viridis": cv2.COLORMAP_VIRIDIS, "Plasma": cv2.COLORMAP_PLASMA}
SOURCE_KINDS = ["Demo clip", "Upload a video", "Video file path", "Webcam", "Camera URL"]
MODEL_KINDS = ["Bundled demo model", "yolo26n.pt (downloads when online)", "Local model path",
               "Upload a model"]
METRICS_REFRESH = 1.0
METRICS_HEIGHT = 520
CANVAS_MAX_W = 600   # fits beside the sidebar on a laptop screen


def get_registry() -> Registry:
    """The server's registry (every tab shares its pipelines), with masked logging set up."""
    logger = logging.getLogger("dashboard")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(SecretFilter())
        logger.addHandler(handler)
        logger.setLevel(os.environ.get("HEATMAP_DASHBOARD_LOG", "INFO").upper())
        logger.propagate = False
    return shared_registry()


@st.cache_data(show_spinner="Reading the model's classes...")
def model_names(spec: str, mtime: float) -> dict[int, str]:
    from dashboard.detector import load_model

    return dict(load_model(spec).names)


@st.cache_data
def tracker_names() -> list[str]:
    from dashboard.detector import builtin_trackers

    return builtin_trackers()


def save_upload(upload, folder: str) -> Path:
    """Keep an uploaded file in the data directory; same name and size is reused."""
    path = data_dir() / folder / Path(upload.name).name
    if not path.exists() or path.stat().st_size != upload.size:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(upload.getbuffer())
    return path


# -- sidebar -----------------------------------------------------------------------------
def source_picker() -> str | None:
    kind = st.sidebar.radio("Source", SOURCE_KINDS, key="source_kind")
    if kind == "Demo clip":
        return "demo"
    if kind == "Upload a video":
        up = st.sidebar.file_uploader("Video file", type=["mp4", "avi", "mkv", "mov", "webm"])
        return str(save_upload(up, "uploads")) if up else None
    if kind == "Video file path":
        return st.sidebar.text_input("Path on the server", key="source_path").strip() or None
    if kind == "Webcam":
        return str(st.sidebar.number_input("Webcam index", 0, 16, 0, key="webcam"))
    url = st.sidebar.text_input("rtsp:// or http(s):// URL", type="password", key="source_url",
                                help="Hidden while you type; credentials are never shown or "
                                     "logged.")
    return url.strip() or None


def model_picker() -> str | None:
    kind = st.sidebar.selectbox("Model", MODEL_KINDS, key="model_kind")
    if kind == MODEL_KINDS[0]:
        return "demo"
    if kind == MODEL_KINDS[1]:
        return "yolo26n.pt"
    if kind == MODEL_KINDS[2]:
        return st.sidebar.text_input(".pt or .onnx path", key="model_path").strip() or None
    up = st.sidebar.file_uploader("Model file", type=["pt", "onnx"], key="model_upload")
    return str(save_upload(up, "models")) if up else None


def settings_panel(source: str | None, model: str | None) -> PipelineSettings | None:
    classes = None
    if model:
        try:
            path = DEMO_MODEL if model == "demo" else Path(model)
            names = model_names(model, path.stat().st_mtime if path.exists() else 0.0)
            chosen = st.sidebar.multiselect("Classes to track", list(names.values()),
                                            default=list(names.values())[:8], key="classes")
            classes = tuple(chosen) if chosen and len(chosen) < len(names) else None
        except DashboardError as e:
            st.sidebar.error(str(e))
            model = None
    conf = st.sidebar.slider("Confidence", 0.05, 0.95, 0.25, 0.05, key="conf")
    imgsz = st.sidebar.select_slider("Image size", [320, 480, 640, 960, 1280], 640, key="imgsz")
    trackers = tracker_names()
    tracker = st.sidebar.selectbox("Tracker", trackers, trackers.index("bytetrack.yaml"),
                                   key="tracker")
    runtime = st.sidebar.selectbox(
        "Inference runtime", ["auto", "onnx", "torch"], key="runtime",
        help="auto: ONNX Runtime on a CPU (about 3x faster; exported once and cached), "
             "PyTorch on a GPU")
    with st.sidebar.expander("Heatmap"):
        cmap = st.selectbox("Colours", list(COLORMAPS), key="cmap")
        opacity = st.slider("Opacity", 0.1, 1.0, 0.5, 0.05, key="opacity")
        decaying = st.toggle("Fade old heat", key="decaying")
        half_life = st.number_input("Half-life (seconds)", 1.0, 86400.0, 60.0, key="half_life",
                                    disabled=not decaying)
        anchor = st.selectbox("Heat at", ["center", "bottom_center"], key="anchor",
                              format_func={"center": "box centre",
                                           "bottom_center": "feet (floor plans)"}.get)
    if not source or not model:
        return None
    heat = HeatmapConfig(half_life_s=half_life if decaying else None, anchor=anchor,
                         colormap=COLORMAPS[cmap], opacity=opacity)
    return PipelineSettings(source, model, classes, conf, imgsz, tracker, heat, runtime)


def controls(p: Pipeline | None, settings: PipelineSettings | None,
             registry: Registry) -> None:
    c1, c2, c3 = st.sidebar.columns(3)
    if c1.button("Start", type="primary", disabled=settings is None, key="start"):
        p.start(settings)
    if c2.button("Stop", disabled=p is None or not p.running, key="stop"):
        p.stop()
    if c3.button("Reset", disabled=p is None, key="reset",
                 help="Counts, events and heat of this source back to zero (the old ones are "
                      "archived in the database, not deleted)"):
        p.reset()
        st.sidebar.info("Counts and heat reset.")
    others = [q for q in registry.running() if q is not p]
    if others:
        st.sidebar.caption("Also running (every tab shares these):")
        for q in others:
            a, b = st.sidebar.columns([3, 1])
            a.write(f"{q.name} · {q.snapshot().status}")
            if b.button("Stop", key=f"stop-{source_key(q.spec)}"):
                q.stop()
                st.rerun()
    if settings is None:
        st.sidebar.caption("Choose a source and a model to start.")
    elif p is not None:
        st.sidebar.caption("Counts and heat are stored and carry on after a restart; "
                           "Reset starts fresh (the old ones are archived).")


# -- zones -------------------------------------------------------------------------------
@st.cache_data(show_spinner="Grabbing a still of the source...", ttl=300)
def grab_still(spec: str) -> np.ndarray:
    with open_source(spec, live=False, open_timeout_s=10) as src:
        frame = src.read()
    if frame is None:
        raise DashboardError(f"{mask_secrets(spec)} gave no frame to draw on.")
    return frame.image


def zone_editor(p: Pipeline, registry: Registry) -> None:
    from streamlit_drawable_canvas import st_canvas

    from dashboard.engine.overlay import draw_zones

    still = p.snapshot().still
    if still is None:
        try:
            still = grab_still(p.spec)
        except DashboardError as e:
            st.warning(f"No still to draw on yet: {e} Start the source, then draw.")
            return
    h, w = still.shape[:2]
    scale = CanvasScale.fit(w, h, max_w=CANVAS_MAX_W)
    shown = still.copy()
    draw_zones(shown, p.zones(), p.snapshot().counts)
    bg = cv2.resize(cv2.cvtColor(shown, cv2.COLOR_BGR2RGB), (scale.canvas_w, scale.canvas_h),
                    interpolation=cv2.INTER_AREA)
    if st.session_state.pop("zone_added", False):
        st.session_state["zone_name"] = ""      # ready for the next zone
    # The canvas gets a full-width row: in a narrower column it would be clipped.
    c1, c2, c3, c4 = st.columns([2, 3, 2, 2])
    mode = c1.radio("Draw", ["Line", "Polygon"], horizontal=True, key="draw_mode",
                    help="Line: drag from one end to the other; the arrow points to the IN "
                         "side. Polygon: click each corner, then click the first corner again "
                         "to close it.")
    name = c2.text_input("Zone name", key="zone_name", placeholder="e.g. door")
    anchor = c3.selectbox("Counts by", ["center", "bottom_center"], key="zone_anchor",
                          format_func={"center": "box centre", "bottom_center": "feet"}.get)
    confirm = c4.number_input("Confirm frames", 1, 30, 2, key="zone_confirm")
    canvas_key = f"canvas-{p.name}-{st.session_state.get('canvas_gen', 0)}"
    from PIL import Image

    result = st_canvas(background_image=Image.fromarray(bg), height=scale.canvas_h,
                       width=scale.canvas_w, drawing_mode=mode.lower(), stroke_width=3,
                       stroke_color="#00ffff", fill_color="rgba(0, 255, 255, 0.15)",
                       key=canvas_key, update_streamlit=True)
    objects = (result.json_data or {}).get("objects", []) if result else []
    if st.button("Add zone", type="primary", disabled=not objects, key="add_zone"):
        try:
            log.debug("canvas object: %s", objects[-1])
            d = zone_from_canvas(objects[-1], scale, name or f"zone {len(p.zones()) + 1}",
                                 anchor=anchor, confirm_frames=int(confirm))
            p.add_zone(zone_from_dict(d))
            registry.save_zones(p)
            st.session_state["canvas_gen"] = st.session_state.get("canvas_gen", 0) + 1
            st.session_state["zone_added"] = True
            st.rerun()
        except DashboardError as e:
            st.error(str(e))
            log.warning("zone not added: %s", e)
    if not objects:
        st.caption("Draw a line or a polygon on the frame, name it, then Add zone.")
    for z in p.zones():
        c1, c2, c3 = st.columns([3, 1, 1])
        c1.write(f"**{z.name}** · {z.kind} · {len(z.points)} points")
        if z.kind == "line" and c2.button("Flip", key=f"flip-{z.name}",
                                          help="Swap which way is IN"):
            p.flip_zone(z.name)
            registry.save_zones(p)
            st.rerun()
        if c3.button("Delete", key=f"del-{z.name}"):
            p.remove_zone(z.name)
            registry.save_zones(p)
            st.rerun()


# -- live view ---------------------------------------------------------------------------
def live_view(p: Pipeline) -> None:
    video, metrics = st.columns([3, 2])
    with video:
        # The browser plays the worker's MJPEG stream (dashboard/web.py): no rerun per frame.
        st.markdown(f'<img src="/video/{source_key(p.spec)}.mjpg" alt="live view of {p.name}" '
                    'style="width:100%; border-radius:0.5rem; min-height:120px; '
                    'background:#222">', unsafe_allow_html=True)
    # Fixed height: the zone editor below must not move while someone draws on it.
    with metrics.container(height=METRICS_HEIGHT, border=False):
        @st.fragment(run_every=METRICS_REFRESH)
        def metrics_view() -> None:
            snap = p.snapshot()
            if snap.error:
                st.error(snap.error)
            st.caption(f"**{p.name}** · {snap.status} · source {snap.source_fps:.1f} fps · "
                       f"processed {snap.processed_fps:.1f} fps · frame age "
                       f"{snap.frame_age_s * 1000:.0f} ms · dropped {snap.frames_dropped} · "
                       f"{snap.total_tracks} tracked")
            if not snap.counts:
                st.info("No zones yet: draw one below.")
            for name, c in snap.counts.items():
                cols = st.columns(3)
                cols[0].metric(f"{name} in", c.in_count)
                cols[1].metric(f"{name} out", c.out_count)
                if c.occupancy is not None:
                    cols[2].metric(f"{name} now", c.occupancy)
                if c.per_class:
                    st.dataframe({"class": list(c.per_class),
                                  "in": [v["in"] for v in c.per_class.values()],
                                  "out": [v["out"] for v in c.per_class.values()]},
                                 hide_index=True, width="stretch")
            minutes = p.per_minute()
            if minutes:
                zones = sorted({z for m in minutes.values() for z in m})
                st.caption("Crossings per minute")
                data = {"minute": [time.strftime("%H:%M", time.localtime(m * 60)) for m in minutes],
                        **{z: [m.get(z, 0) for m in minutes.values()] for z in zones}}
                st.bar_chart(data, x="minute", y=zones, height=220)
            events = p.events(10)
            if events:
                st.caption("Latest crossings")
                st.dataframe({"time": [time.strftime("%H:%M:%S", time.localtime(e.t))
                                       if e.t > 1e9 else f"{e.t:.1f} s" for e in events],
                              "zone": [e.zone for e in events],
                              "track": [e.track_id for e in events],
                              "class": [e.cls_name for e in events],
                              "dir": [e.direction for e in events]},
                             hide_index=True, width="stretch")

        metrics_view()


def downloads(p: Pipeline) -> None:
    with st.expander("Export"):
        c1, c2 = st.columns(2)
        today = datetime.date.today()
        days = c1.date_input("Days", (today, today), key="export_days",
                             help="Events and counts from the first day to the last")
        interval = c2.selectbox("Counts per", ["minute", "hour"], key="export_interval")
        d0, d1 = (days if isinstance(days, tuple) and len(days) == 2 else (today, today))
        t0 = time.mktime(d0.timetuple())
        t1 = time.mktime((d1 + datetime.timedelta(days=1)).timetuple())
        b = st.columns(5)
        # Callables: the files are made when clicked, from what is stored at that moment.
        b[0].download_button("Events CSV", lambda: p.store.events_csv(p.spec, t0, t1),
                             "events.csv", "text/csv", key="dl_events")
        b[1].download_button(f"Counts per {interval} CSV",
                             lambda: p.store.counts_csv(p.spec, interval, t0, t1),
                             f"counts_per_{interval}.csv", "text/csv", key="dl_counts")
        b[2].download_button("Counts JSON", lambda: counts_json(p), "counts.json",
                             "application/json", key="dl_json")
        b[3].download_button("Heatmap PNG", lambda: heat_file(p, "png"), "heatmap.png",
                             "image/png", key="dl_png")
        b[4].download_button("Heatmap NPZ", lambda: heat_file(p, "npz"), "heatmap.npz",
                             "application/octet-stream", key="dl_npz")


def counts_json(p: Pipeline) -> str:
    counts = {name: c.to_dict() for name, c in p.engine.counts.items()}
    return json.dumps({"source": p.name, "zones": counts}, indent=2)


def heat_file(p: Pipeline, kind: str) -> bytes:
    """The current heat as PNG or npz bytes (empty before the first frame)."""
    heat = p.engine.heatmap
    if heat.shape is None:
        return b""
    if kind == "png":
        ok, png = cv2.imencode(".png", heat.colorized())
        return png.tobytes() if ok else b""
    buf = io.BytesIO()
    heat.save(buf)
    return buf.getvalue()


def main() -> None:
    st.set_page_config(page_title="Heatmap dashboard", layout="wide")
    registry = get_registry()
    st.sidebar.title("Heatmap dashboard")
    source = source_picker()
    model = model_picker()
    settings = settings_panel(source, model)
    p = registry.get(source) if source else None
    if p is not None and p.spec == "demo" and not p.zones() and not st.session_state.get("seen"):
        p.load_zone_dicts(json.loads((DEMO_DIR / "demo_zones.json").read_text())["zones"])
    controls(p, settings, registry)
    if p is None:
        st.info("Choose a source in the sidebar.")
        return
    # First visit: the demo starts by itself, so there is something to see at once.
    if not st.session_state.get("seen"):
        st.session_state["seen"] = True
        if p.spec == "demo" and settings is not None and not p.running \
                and p.snapshot().status == "stopped":
            p.start(settings)
    live_view(p)
    with st.expander("Zones", expanded=not p.zones()):
        zone_editor(p, registry)
    downloads(p)


if __name__ == "__main__":
    main()
