"""One run of a camera: open its source, load its detector, and feed every frame through the
camera's `FrameStep` until Stop, the end of a file, or a failure, which it says in words.

Video files are read frame by frame (none dropped, so counts do not depend on how fast the
machine is), paced to their own frame rate or as fast as possible; live streams offer the
newest frame. A file resumed mid-way is read from `RESUME_WARMUP_FRAMES` earlier, counting
nothing there.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboard.config.kinds import CameraState, Pacing, Runtime
from dashboard.demo.scene import demo_clip_path
from dashboard.errors import DashboardError
from dashboard.pipeline.clock import VideoClock
from dashboard.pipeline.pace import Behind, PaceCheck
from dashboard.pipeline.snapshot import Rate, Snapshot
from dashboard.vision.address import SourceKind, parse_spec, resolve_address
from dashboard.vision.browser import BrowserSource
from dashboard.vision.capture import FrameSource
from dashboard.vision.frames import Frame
from dashboard.vision.secrets import mask_secrets
from dashboard.vision.sources import open_source

if TYPE_CHECKING:
    from dashboard.pipeline.runner import CameraRunner

log = logging.getLogger(__name__)

# The tracker and the zones learn where everyone is over these frames, so a crossing under
# way at the resume point is counted once, as an uninterrupted run counts it.
RESUME_WARMUP_FRAMES = 30
LIVE_STATES = {"reconnecting": CameraState.RECONNECTING, "waiting": CameraState.WAITING}


def first_load(s: Any) -> str | None:
    """What a model's first load does that takes time, in words, or None."""
    from dashboard.config.env import runtime_default
    from dashboard.vision.models import onnx_path, resolve_model
    from dashboard.vision.runtimes import INT8, cached_choice, int8_path

    runtime = s.runtime.value if s.runtime is not Runtime.AUTO else runtime_default()
    try:
        path = Path(resolve_model(s.model))
        if path.suffix != ".pt" or not path.is_file() or runtime == Runtime.TORCH.value:
            return None
        if runtime == Runtime.AUTO.value and cached_choice(path, s.imgsz) is None:
            return ("measuring which runtime runs this model fastest here (ONNX Runtime and "
                    "OpenVINO, float and INT8): about a minute, once")
        if runtime in {r.value for r in INT8} and not int8_path(path, s.imgsz,
                                                                Runtime(runtime)).exists():
            return "quantising the model to INT8 for this image size: about 30 s, once"
        fresh = not onnx_path(path, s.imgsz).exists()
    except (DashboardError, OSError):
        return None
    return ("exporting the model to ONNX for this image size: about 20 s, once" if fresh
            else None)


class FrameLoop:
    """A run of `runner`, until `stop` is set (each run has its own event: a run that
    outlives its stop, in a slow model load, leaves the next run alone)."""

    def __init__(self, runner: CameraRunner, stop: threading.Event) -> None:
        self.runner, self.stop = runner, stop
        self.step, self.keeper = runner.step, runner.keeper
        self.settings = runner.camera.settings
        self.is_file = False
        self.done = 0        # frames counted (a resumed file: from its start)
        self.warm = 0        # frames to read again before counting resumes
        self.clock: VideoClock | None = None   # a file's time; None: the wall clock
        self.model_ms = 0.0  # detector and tracker, a frame (smoothed)
        self.position = -1   # the newest frame's position in the file

    def run(self) -> None:
        r, s = self.runner, self.settings
        try:
            if r.source == "demo" and not demo_clip_path().exists():
                r.set_status(CameraState.CONNECTING, "preparing the demo clip: about a minute "
                                                     "on first start")
            source = resolve_address(r.source)
            # A file paced LIVE is read as a camera would send it: newest frame, none kept.
            self.is_file = parse_spec(source).kind is SourceKind.FILE and s.pacing is not Pacing.LIVE
            self.done = 0 if s.loop or not self.is_file else self.keeper.progress()
            if self.is_file:   # a file counted to its end needs no model: say so at once
                r.set_status(CameraState.CONNECTING)
                if self._open(source, self.done) is None:
                    return
                self.clock = self._clock(r._src)
            r.set_status(CameraState.LOADING, first_load(s))
            detector = r.make_detector(s)
            r.set_status(CameraState.LOADING, runtime=detector.runtime,
                         runtime_why=getattr(detector, "runtime_why", None))
            self.step.forget_tracks()   # the new detector's tracker numbers anew
            if self.stop.is_set():
                return
            r.set_status(CameraState.CONNECTING)
            src = self._open(source, self.done) if not self.is_file else r._src
            try:
                self._frames(detector, src)
            finally:
                if self.is_file and not s.loop:
                    self.keeper.set_progress(self.done)
        except DashboardError as e:
            log.error("camera %s: %s", r.name, e)
            r.set_status(CameraState.FAILED, str(e))
        except Exception as e:  # keep the server up and the counts kept; say what broke
            log.exception("camera %s stopped", r.name)
            r.set_status(CameraState.FAILED, f"The camera stopped: {type(e).__name__}: "
                                             f"{mask_secrets(str(e))}")
        finally:
            if self.stop is r._stop and r._src is not None:
                r._src.close()
                r._src = None
            self._keep_all()   # whatever ended the run, keep what it counted

    def _keep_all(self) -> None:
        """Stays, trips and alerts of the run end; what it counted and its heat are kept."""
        self.runner.end_stays()
        self.keeper.flush(force=True)
        self.runner.save_heat()

    def _clock(self, src: Any) -> VideoClock:
        """The file's clock: frame 0 happened when the operator says it did (the camera's
        `video_start`), or else when counting the file from its start began (kept over
        restarts, so a resumed file's times go on from where they were; Reset counts the
        file again, from a new start, so its times never meet the archived ones)."""
        fps = src.native_fps or 30.0
        if self.settings.video_start is not None:
            return VideoClock(self.settings.video_start, fps)
        start = self.keeper.video_start() if self.done else None
        if start is None:
            start = time.time() - self.done / fps
            if not self.settings.loop:
                self.keeper.set_video_start(start)
        return VideoClock(start, fps)

    def _time(self, src: Any, frame: Frame) -> float:
        """When `frame` happened: the video's time for a file, the wall clock's otherwise."""
        if self.clock is None:
            return time.time()
        self.position = src.start_frame + frame.index
        return self.clock.at(self.position)

    def _open(self, source: str, start: int) -> FrameSource | BrowserSource | None:
        """Open the source as the runner's; None (and ENDED) for a file already counted."""
        r = self.runner
        self.warm = min(start, RESUME_WARMUP_FRAMES) if self.is_file else 0
        src = r._src = open_source(source, live=not self.is_file,
                                   start_frame=start - self.warm,
                                   loop=not self.is_file and self.settings.loop)
        if self.is_file and src.frame_count and start >= src.frame_count:
            src.close()
            r._src = None
            r.set_status(CameraState.ENDED, f"Counted to the end ({src.frame_count} frames); "
                                            "Reset to count the file again.")
            return None
        return src

    def _frames(self, detector: Any, src: Any) -> None:
        from dashboard.vision.sizes import SizeCheck

        rate, sizes = Rate(), SizeCheck(self.settings.imgsz)
        self.pace, self.behind_s = PaceCheck(self.settings), 0.0
        self.advice: str | None = None
        self.paced = (time.monotonic(), 0)
        gap = False         # the source went quiet (a browser's camera between visits)
        calls = 0           # the detector's calls in this run
        while not self.stop.is_set():
            frame = src.read(timeout_s=1.0)
            if frame is None:
                src, go_on, quiet = self._no_frame(src)
                if not go_on:
                    return
                gap = gap or quiet
                continue
            if gap:   # a browser back after a gap: who is where now is not known
                gap = False
                detector.reset()
                self.runner.end_stays()
                self.step.forget_tracks()
            if not self._paced(src):
                return
            img = frame.image
            h, w = img.shape[:2]
            note = self.step.fit(w, h)
            if note:
                detector.reset()   # its tracks are in the old size's pixels
                self.runner.note(note)
            began = time.perf_counter()
            tracks = detector.track(img)
            spent = (time.perf_counter() - began) * 1000
            calls += 1
            if calls > 3:   # the first calls compile and allocate: not what a frame costs
                self.model_ms = spent if not self.model_ms else 0.9 * self.model_ms + 0.1 * spent
            t = self._time(src, frame)
            if self.warm:
                self.warm -= 1
                self.step.warm(img, tracks, t)
                continue
            sizes.observe(detector, img, tracks, self.done)
            if self.done % 100 == 0 and (advice := sizes.advice()) != self.advice:
                self.advice = advice
                if advice:
                    log.warning("camera %s: %s", self.runner.name, advice)
            self._counted(detector, src, frame, img, tracks, rate, t)

    def _no_frame(self, src: Any) -> tuple[Any, bool, bool]:
        """No frame this time: (the source, whether to go on, whether it went quiet)."""
        r, st = self.runner, src.status
        if self.stop.is_set():
            return src, False, False
        if self.is_file and self.settings.loop and st.state == "ended":
            if self.clock is not None:
                self.clock.next_pass(self.position + 1)
            src.close()
            src = self._open(resolve_address(r.source), 0)
            self.paced = (time.monotonic(), 0)
            return src, True, False
        if st.state in ("ended", "failed"):
            state = CameraState.ENDED if st.state == "ended" else CameraState.FAILED
            detail = st.last_error
            if self.is_file and st.state == "ended":
                detail = f"Played to the end: {self.done} frames counted."
                if src.truncated:
                    detail = f"The file ended early: {src.truncated}. {self.done} frames counted."
            self._keep_all()   # "ended" says all of it is kept: an export now has it all
            r.set_status(state, detail)
            return src, False, False
        state = LIVE_STATES.get(st.state, CameraState.CONNECTING)
        r.set_status(state, st.last_error)
        return src, True, state is CameraState.WAITING

    def _paced(self, src: Any) -> bool:
        """A file paced NATIVE waits for its frame's time; False if stopped meanwhile."""
        if self.is_file and self.settings.pacing is Pacing.NATIVE and src.native_fps \
                and not self.warm:
            since, n = self.paced[0], self.paced[1] + 1
            self.paced = (since, n)
            wait = since + n / src.native_fps - time.monotonic()
            self.behind_s = max(0.0, -wait)   # how late this frame is, by the video's clock
            if wait > 0 and self.stop.wait(wait):
                return False
        return True

    def _behind(self, wall: float, stats: Any, age: float, fps: float, runtime: str | None
                ) -> Behind | None:
        """Whether the camera keeps up: a live source's dropped frames and picture age, a
        file's lag behind its own rate (a file read as fast as it can has nothing to keep
        up with)."""
        if not self.is_file:
            return self.pace.live(wall, stats.frames_read, stats.frames_dropped, age, fps,
                                  stats.fps, runtime)
        if self.settings.pacing is Pacing.NATIVE:
            return self.pace.file(self.behind_s, runtime)
        return None

    def _counted(self, detector: Any, src: Any, frame: Frame, img: Any, tracks: Any,
                 rate: Rate, now: float) -> None:
        """Count a frame that happened at `now`, keep what it counted, publish its snapshot."""
        c = self.step.count(img, tracks, now)
        self.done += 1
        if self.is_file and not self.settings.loop and (c.result.events or self.done % 50 == 0):
            # The position is committed with what it counted: a restart resumes from it
            # and never counts a frame twice.
            self.keeper.set_progress(self.done, force=False)
        if self.keeper.heat_due():
            self.runner.save_heat()
        stats, h, w = src.stats, img.shape[0], img.shape[1]
        before = self.runner.snapshot()
        wall, fps = time.time(), rate.tick(time.time())
        age = self.behind_s if self.is_file else max(0.0, wall - frame.t)
        behind = self._behind(wall, stats, age, fps, detector.runtime)
        self.runner.publish(Snapshot(
            state=CameraState.LIVE, frame=img, tracks=c.result.tracks, frame_index=frame.index,
            frame_size=(w, h), total_tracks=c.result.total_tracks,
            processed_fps=fps, model_ms=round(self.model_ms, 2),
            source_fps=src.native_fps if self.is_file else stats.fps,
            frame_age_s=age,
            frames_read=stats.frames_read, frames_dropped=stats.frames_dropped,
            frames_done=self.done, runtime=detector.runtime, notice=before.notice,
            runtime_why=before.runtime_why,
            advice=self.advice, behind=behind, t=now, inside=c.inside,
            alerts=self.step.alerts.active))
