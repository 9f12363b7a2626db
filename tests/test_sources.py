"""Frame sources against real files and a real RTSP server on loopback."""
from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path

import pytest

from dashboard.demo.scene import write_clip
from dashboard.errors import DashboardError
from dashboard.vision.secrets import SecretFilter, mask_secrets
from dashboard.vision.sources import open_source
from support.helpers import wait_until
from support.rtsp_server import RtspServer, free_port

pytestmark = pytest.mark.slow   # the fast default leaves these out (README)

FPS = 15.0


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return write_clip(tmp_path_factory.mktemp("src") / "clip.avi", seconds=40, seed=5, fps=FPS)


@pytest.fixture
def server(clip):
    srv = RtspServer(clip).start()
    yield srv
    srv.stop()




def test_rtsp_stream_is_read_live_at_its_rate(server):
    with open_source(server.url(), open_timeout_s=5) as src:
        # ~4 s: past the burst of buffered frames a stream delivers when it starts.
        frames = [src.read(2.0) for _ in range(60)]
        assert all(f is not None and f.image.shape == (360, 640, 3) for f in frames)
        assert src.status.state == "live" and src.stats.fps > 0
        indices = [f.index for f in frames]
        assert indices == sorted(set(indices))         # each read a newer frame, in order


def test_reconnects_by_itself_after_the_server_restarts(server):
    with open_source(server.url(), open_timeout_s=3, backoff_s=(0.2, 1.0)) as src:
        before = [src.read(2.0) for _ in range(5)]
        assert all(before)
        server.stop()
        assert wait_until(lambda: src.status.state == "reconnecting", 10)
        assert src.status.attempt >= 1 and src.status.last_error
        server.start()
        restarted = time.time()
        after = src.read(15.0)
        while after is not None and after.t <= restarted:   # frames decoded before the stop
            after = src.read(15.0)
        assert after is not None, f"no frames after restart: {src.status}"
        assert after.index > before[-1].index
        assert src.status.state == "live" and src.stats.reconnects >= 1
        assert [src.read(2.0) is not None for _ in range(5)] == [True] * 5


def test_slow_consumer_always_gets_the_newest_frame(server):
    with open_source(server.url(), open_timeout_s=5) as src:
        assert src.read(5.0) is not None
        indices, newest = [], []
        for _ in range(8):
            time.sleep(0.25)                      # a consumer at 4 fps on a 15 fps stream
            newest.append(src.stats.frames_read - 1)   # the newest the reader has now
            f = src.read(5.0)
            indices.append(f.index)
        gaps = [b - a for a, b in zip(indices, indices[1:])]
        assert min(gaps) >= 1 and max(gaps) >= 2  # it skipped frames rather than queueing
        # Handed the newest frame, never an older one waiting in a queue.
        assert all(i >= n for i, n in zip(indices, newest)), (indices, newest)
        assert src.stats.frames_dropped >= sum(g - 1 for g in gaps)


def test_credentials_never_appear_in_names_errors_or_logs(clip, caplog, capfd):
    srv = RtspServer(clip, "operator", "s3cretPW").start()
    try:
        with caplog.at_level(logging.DEBUG):
            with open_source(srv.url("operator:s3cretPW@"), open_timeout_s=5) as src:
                assert src.read(3.0) is not None
                assert src.name == srv.url("***@") and "s3cret" not in repr(src)
            with pytest.raises(DashboardError) as err:
                open_source(srv.url("operator:wrongPW99@"), open_timeout_s=3)
        assert "***@" in str(err.value)
        out = capfd.readouterr()
        for text in (str(err.value), caplog.text, out.out, out.err):
            assert "s3cretPW" not in text and "wrongPW99" not in text
    finally:
        srv.stop()


def test_file_plays_at_native_rate_live_and_every_frame_in_batch(clip):
    with open_source(clip, live=True) as src:
        t0, n = time.monotonic(), 0
        while time.monotonic() - t0 < 1.0:
            n += src.read(1.0) is not None
        assert 1 <= n <= 18          # paced: never faster than the file's 15 fps
    with open_source(clip, live=False) as src:
        frames = []
        while (f := src.read()) is not None:
            frames.append(f)
        assert len(frames) == src.frame_count == 600
        assert [f.index for f in frames] == list(range(600))
        assert frames[30].t == pytest.approx(30 / FPS)
        assert src.status.state == "ended" and src.stats.frames_dropped == 0


def test_batch_source_decodes_ahead_and_stops_cleanly(clip):
    from dashboard.vision.capture import PREFETCH

    with open_source(clip, live=False) as src:
        # Frames are decoded before they are asked for, and no further than PREFETCH ahead.
        assert wait_until(lambda: src.stats.frames_read >= PREFETCH, 5)
        time.sleep(0.2)
        assert src.stats.frames_read <= PREFETCH + 1
        assert src.read().index == 0 and src.read().index == 1
    assert src.read() is None and src.read() is None   # closed: nothing more, never blocks
    short = write_clip(clip.parent / "three.mp4", seconds=0.2, seed=1, fps=FPS)
    with open_source(short, live=False) as src:
        assert [src.read().index for _ in range(3)] == [0, 1, 2]
        assert src.read() is None and src.read() is None and src.status.state == "ended"


def test_the_decoder_pipe_holds_a_whole_frame_and_frames_come_whole(clip):
    import fcntl

    import cv2
    import numpy as np

    from dashboard.vision.isolated import ChildCapture

    limit = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    cap = ChildCapture(str(clip), webcam=False, timeout_ms=5000)
    direct = cv2.VideoCapture(str(clip))
    try:
        size = fcntl.fcntl(cap._proc.stdout.fileno(), fcntl.F_GETPIPE_SZ)
        # One read a frame where the system allows it (640x360x3 = 675 KiB), never narrower
        # than the system's default of 64 KiB.
        assert size >= min(limit, 640 * 360 * 3) and size >= 64 * 1024
        for _ in range(5):   # the pixels of a wide pipe are the decoder's, byte for byte
            (ok, img), (ok2, ref) = cap.read(), direct.read()
            assert ok and ok2 and np.array_equal(img, ref)
    finally:
        cap.release()
        direct.release()


def test_live_file_ends_and_demo_loops(tmp_path):
    short = write_clip(tmp_path / "short.mp4", seconds=1, seed=1, fps=FPS)
    with open_source(short, live=True) as src:
        assert wait_until(lambda: src.status.state == "ended", 5)
        assert src.stats.frames_read == 15
    with open_source("demo", live=True) as src:
        assert src.loop and src.read(2.0) is not None


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    conns = []
    stop = threading.Event()

    def accept():
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(sock.accept()[0])
            except OSError:
                pass

    th = threading.Thread(target=accept, daemon=True)
    th.start()
    yield sock.getsockname()[1]
    stop.set()
    th.join()
    for c in conns:
        c.close()
    sock.close()


@pytest.mark.parametrize("spec, words", [
    ("no/such/video.mp4", "not found"),
    ("rtsp://", "no host"),
    ("rtsp://cam:99999/x", "Malformed URL"),
    ("ftp://cam/x", "Unsupported URL scheme"),
    ("", "No source"),
    ("9", "webcam 9"),
])
def test_bad_specs_fail_at_once_with_a_clear_message(spec, words):
    with pytest.raises(DashboardError, match=words):
        open_source(spec, open_timeout_s=3)


def test_a_file_that_is_not_a_video_is_refused(tmp_path):
    junk = tmp_path / "notes.mp4"
    junk.write_text("hello" * 1000)
    with pytest.raises(DashboardError, match="Cannot"):
        open_source(junk)


def test_a_video_larger_than_the_bound_is_refused_before_a_frame_is_decoded(tmp_path,
                                                                            monkeypatch):
    import cv2
    import numpy as np

    huge = tmp_path / "huge.avi"              # 8192x8192: it once crashed the server
    writer = cv2.VideoWriter(str(huge), cv2.VideoWriter_fourcc(*"MJPG"), 5, (8192, 8192))
    writer.write(np.zeros((8192, 8192, 3), np.uint8))
    writer.release()
    for live in (True, False):
        with pytest.raises(DashboardError, match="8192x8192 .* more than this server takes"):
            open_source(huge, live=live)
    small = write_clip(tmp_path / "small.avi", seconds=1, seed=1, fps=FPS)
    monkeypatch.setenv("HEATMAP_DASHBOARD_MAX_FRAME_PIXELS", str(640 * 360 - 1))
    with pytest.raises(DashboardError, match="HEATMAP_DASHBOARD_MAX_FRAME_PIXELS"):
        open_source(small, live=False)
    monkeypatch.setenv("HEATMAP_DASHBOARD_MAX_FRAME_PIXELS", str(640 * 360))
    with open_source(small, live=False) as src:
        assert src.read(timeout_s=5) is not None


def test_urls_nothing_answers_fail_within_the_open_timeout(silent_server):
    for url in (f"rtsp://127.0.0.1:{free_port()}/live",          # refused
                f"rtsp://127.0.0.1:{silent_server}/live",         # accepts, never answers
                f"http://127.0.0.1:{silent_server}/video.mjpg"):
        t0 = time.monotonic()
        with pytest.raises(DashboardError, match="Cannot open"):
            open_source(url, open_timeout_s=2)
        assert time.monotonic() - t0 < 2.0 + 30.0, url   # it gives up; it never hangs


def test_close_leaves_no_reader_thread_behind(clip):
    src = open_source(clip, live=True)
    assert src.read(2.0) is not None
    src.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("source ")]
    assert src.read(0.1) is None and src.status.state == "ended"


def test_mask_secrets_and_log_filter(caplog):
    assert mask_secrets("rtsp://a:b@h/x and http://u@h2/y?password=p&x=1") == \
        "rtsp://***@h/x and http://***@h2/y?password=***&x=***"
    logger = logging.getLogger("test.mask")
    handler = logging.StreamHandler()
    handler.addFilter(SecretFilter())
    record = logger.makeRecord("t", logging.INFO, "f", 1, "opening %s", ("rtsp://u:pw@h/",), None)
    handler.filter(record)
    assert record.getMessage() == "opening rtsp://***@h/"


@pytest.fixture
def mjpeg_server(clip):
    """An HTTP MJPEG camera (multipart/x-mixed-replace), as many IP cameras serve."""
    import http.server

    import cv2

    cap = cv2.VideoCapture(str(clip))
    jpegs = [cv2.imencode(".jpg", cap.read()[1])[1].tobytes() for _ in range(45)]
    cap.release()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            try:
                for jpg in jpegs * 4:
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                     + f"Content-Length: {len(jpg)}\r\n\r\n".encode() + jpg
                                     + b"\r\n")
                    time.sleep(1 / FPS)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/video.mjpg"
    httpd.shutdown()
    httpd.server_close()


def test_http_mjpeg_camera_is_read_live(mjpeg_server):
    with open_source(mjpeg_server, open_timeout_s=5) as src:
        frames = [src.read(2.0) for _ in range(20)]
        assert all(f is not None and f.image.shape == (360, 640, 3) for f in frames)
        assert [f.index for f in frames] == sorted({f.index for f in frames})
        assert src.status.state == "live"
