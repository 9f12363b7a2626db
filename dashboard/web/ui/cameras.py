"""The Manage cameras page: add, edit and remove cameras."""
from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.config.camera import Camera, CameraSettings
from dashboard.config.fields import groups_text, time_text
from dashboard.config.kinds import Anchor, IMAGE_SIZES, Pacing, Runtime
from dashboard.errors import DashboardError
from dashboard.config.kinds import BROWSER
from dashboard.service.access import UserService
from dashboard.service.auth import Role
from dashboard.web.ui.common import can, guarded, open_camera, plain, service, state_line

SOURCE_KINDS = ["Demo clip", "Video file on the server", "Upload a video", "Webcam",
                "Camera URL", "This browser's camera"]
VIDEO_TYPES = ["mp4", "avi", "mkv", "mov", "webm"]
MODEL_KINDS = {"Bundled demo model": "demo", "yolo26n.pt": "yolo26n.pt",
               "Model file on the server": None, "Upload a model": None}


@st.cache_data
def tracker_names() -> list[str]:
    from dashboard.vision.tracking import builtin_trackers

    return builtin_trackers()


def source_widgets(svc: UserService, prefix: str) -> str | None:
    """What the operator chose as a source; None until it is complete."""
    kind = st.radio("Source", SOURCE_KINDS, horizontal=True, key=f"{prefix}-source-kind")
    if kind == "Demo clip":
        return "demo"
    if kind == "Video file on the server":
        return st.text_input("File name in the media folder", key=f"{prefix}-path",
                             help="Videos are read only from the server's media folder "
                                  "(HEATMAP_DASHBOARD_MEDIA, by default media/ in the data "
                                  "directory)").strip() or None
    if kind == "Upload a video":
        up = st.file_uploader("Video file", type=VIDEO_TYPES, key=f"{prefix}-upload")
        if up is None:
            return None
        marker = f"{prefix}-uploaded-{up.file_id}"
        if marker not in st.session_state:   # one copy per upload, however many reruns
            try:
                st.session_state[marker] = svc.save_upload(up.name, bytes(up.getbuffer()))
            except DashboardError as e:
                st.error(plain(e))
                return None
        return st.session_state[marker]
    if kind == "Webcam":
        return str(st.number_input("Webcam index (a camera on the server)", 0, 16, 0,
                                   key=f"{prefix}-webcam"))
    if kind == "This browser's camera":
        st.caption("The camera of the browser that opens this camera's page (a laptop's, a "
                   "phone's), sent while the page is open and its camera started. Needs the "
                   "dashboard over HTTPS, or `http://localhost` on the server itself.")
        return BROWSER
    return st.text_input("rtsp:// or http(s):// address", type="password", key=f"{prefix}-url",
                         help="Hidden while you type; stored sealed, never shown or logged. "
                              "${VAR} takes a value from the server's environment.").strip() \
        or None


def model_widget(svc: UserService, col: Any, prefix: str, s: CameraSettings) -> str | None:
    """The model: the demo, an upload (kept under its content's hash) or a path; None while
    an upload is missing or refused."""
    kinds = list(MODEL_KINDS)
    current = next((k for k, v in MODEL_KINDS.items() if v == s.model),
                   "Model file on the server")
    kind = col.selectbox("Model", kinds, kinds.index(current), key=f"{prefix}-model-kind")
    if kind != "Upload a model":
        return MODEL_KINDS[kind] or col.text_input(
            ".pt or .onnx path", s.model if current == "Model file on the server" else "",
            key=f"{prefix}-model")
    up = col.file_uploader(".pt or .onnx model", type=["pt", "onnx"], key=f"{prefix}-mup")
    if up is None:
        return None
    try:   # kept under its content's hash in the data directory's models/
        return svc.save_model(up.name, bytes(up.getbuffer()))
    except DashboardError as e:
        col.error(plain(e))
        return None


def settings_widgets(svc: UserService, prefix: str, s: CameraSettings) -> dict[str, Any]:
    """Widgets for every camera setting, starting from `s`; returns the chosen values."""
    c1, c2, c3 = st.columns(3)
    model = model_widget(svc, c1, prefix, s)
    imgsz = c2.select_slider("Image size", IMAGE_SIZES, s.imgsz, key=f"{prefix}-imgsz",
                             help="Larger finds smaller objects and costs more")
    conf = c3.slider("Confidence", 0.05, 0.95, float(s.conf), 0.05, key=f"{prefix}-conf")
    classes = c1.text_input("Classes to count (comma-separated; empty: all)",
                            ", ".join(s.classes or ()), key=f"{prefix}-classes")
    groups = c2.text_input("Class groups", groups_text(s.groups), key=f"{prefix}-groups",
                           placeholder="person = Normal + Fall",
                           help="Several model classes counted as one: one box and one "
                                "track per object whatever class the model gives it")
    one_box = c1.toggle("One box per object", s.one_box, key=f"{prefix}-one-box",
                        help="A second box the model puts on one object (car and truck, a "
                             "bicycle whole and in part) is dropped before tracking, so it "
                             "is not counted twice")
    riders = c1.toggle("Riders as one", s.riders, key=f"{prefix}-riders",
                       help="A person on a bicycle or motorcycle counts as one cyclist or "
                            "motorcyclist; off: as a person and a vehicle")
    trackers = tracker_names()
    tracker = c2.selectbox("Tracker", trackers,
                           trackers.index(s.tracker) if s.tracker in trackers else 0,
                           key=f"{prefix}-tracker")
    runtime = c3.selectbox("Inference runtime", list(Runtime), list(Runtime).index(s.runtime),
                           format_func=lambda r: r.value, key=f"{prefix}-runtime",
                           help="auto: ONNX Runtime on a CPU (about 3x faster), PyTorch on "
                                "a GPU")
    fade = c1.toggle("Fade old heat", s.half_life_s is not None, key=f"{prefix}-fade")
    half_life = c1.number_input("Half-life (seconds)", 1.0, 86400.0,
                                float(s.half_life_s or 600.0), key=f"{prefix}-half-life",
                                disabled=not fade)
    anchor = c2.selectbox("Heat at", list(Anchor), list(Anchor).index(s.heat_anchor),
                          format_func=lambda a: a.label, key=f"{prefix}-anchor")
    moving = c2.toggle("Heat from moving objects only", s.heat_moving_only,
                       key=f"{prefix}-moving",
                       help="What never moves (a parked car, a false detection) paints "
                            "no heat")
    pacing = c3.selectbox("Video files", list(Pacing), list(Pacing).index(s.pacing),
                          format_func={Pacing.NATIVE: "at their own speed",
                                       Pacing.FAST: "as fast as possible",
                                       Pacing.LIVE: "as a live camera (skip frames)"}.get,
                          key=f"{prefix}-pacing",
                          help="Every frame is counted either way")
    loop = c3.toggle("Loop video files", s.loop, key=f"{prefix}-loop")
    start = c3.text_input("Video file started at", time_text(s.video_start) or "",
                          key=f"{prefix}-video-start", placeholder="when counting starts",
                          help="When the file's first frame was filmed, with its UTC offset "
                               "(2026-12-05T08:00:00+01:00): events, stays and charts are "
                               "dated from it. Empty: when counting the file begins. Set it "
                               "before counting, or Reset to count the file again with it.")
    return {"model": (model or "").strip() or "demo",
            "classes": [c.strip() for c in classes.split(",") if c.strip()] or None,
            "class_groups": groups.strip() or None,
            "conf": conf, "imgsz": imgsz, "tracker": tracker, "runtime": runtime.value,
            "half_life_s": half_life if fade else None, "heat_anchor": anchor.value,
            "heat_moving_only": moving, "one_box": one_box,
            "riders": riders,
            "pacing": pacing.value, "loop": loop, "video_start": start.strip() or None}


@guarded
def page() -> None:
    svc = service()
    st.subheader("Manage cameras", anchor=False)
    if not can(svc, Role.ADMIN):
        st.info("Only admins manage cameras.")
        return
    adding = st.session_state.get("adding_camera", False) or not svc.cameras()
    with st.expander("Add a camera", expanded=adding):
        add_form(svc)
    for cam in svc.cameras():
        with st.expander(plain(cam.name)):
            edit_form(svc, cam)


def add_form(svc: UserService) -> None:
    name = st.text_input("Name", key="add-name", max_chars=80, placeholder="e.g. Shop door")
    source = source_widgets(svc, "add")
    settings = settings_widgets(svc, "add", CameraSettings())
    if st.button("Add camera", type="primary", key="add-camera", disabled=not source):
        try:
            cam = svc.add_camera(name, source, settings)
        except DashboardError as e:
            st.error(plain(e))
            return
        st.session_state["adding_camera"] = False
        open_camera(cam.id)


def edit_form(svc: UserService, cam: Camera) -> None:
    st.caption(state_line(svc.status(cam.id)))
    st.caption("Source: " + plain(cam.source))
    prefix = f"edit-{cam.id}"
    name = st.text_input("Name", cam.name, key=f"{prefix}-name", max_chars=80)
    new_source = None
    if st.toggle("Change the source", key=f"{prefix}-change-source"):
        new_source = source_widgets(svc, prefix)
    settings = settings_widgets(svc, prefix, cam.settings)
    c1, c2, c3 = st.columns(3)
    if c1.button("Save", type="primary", key=f"{prefix}-save",
                 help="Zones, counts and heat stay; a running camera restarts if needed"):
        try:
            svc.update_camera(cam.id, name=name, source=new_source, settings=settings)
            st.toast("Saved.")
            st.rerun()
        except DashboardError as e:
            st.error(plain(e))
    if c2.button("Open", key=f"{prefix}-open"):
        open_camera(cam.id)
    sure = c3.checkbox("Yes, remove it", key=f"{prefix}-sure")
    if c3.button("Remove camera", key=f"{prefix}-remove", disabled=not sure,
                 help="Stops it; its counts and events stay archived in the database"):
        svc.remove_camera(cam.id)
        st.rerun()
