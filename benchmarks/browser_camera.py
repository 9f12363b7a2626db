"""A browser's camera end to end: headless Chromium's fake camera (the tests' generated
clip, 640x360 at 10 fps) over WebRTC to a real dashboard server on loopback, which counts it
and sends the overlay back.

Printed every 10 s: what the browser sends (its encoder's target bitrate and frame rate, from
the page's RTCPeerConnection statistics), what the server counts (frames per second
processed, frames dropped from the 3 s backlog, the newest frame's age), and the ratio of
frames counted to frames the browser sent. Then the same clip as a file camera played live
(`pacing: live`), the server's own fastest path, for the ratio side by side.

    python benchmarks/browser_camera.py [--seconds 60]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.camera_clip import CameraClip  # noqa: E402
from support.server import CHROMIUM, CHROMIUM_ARGS, DashboardServer, log_in  # noqa: E402

# Keeps the page's peer connections where the benchmark can ask them for statistics.
KEEP_CONNECTIONS = """(() => { const P = window.RTCPeerConnection; if (!P) return;
  window.__pcs = []; window.RTCPeerConnection = function (...a) {
    const pc = new P(...a); window.__pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = P.prototype; })();"""
SENT = """async () => { if (!window.__pcs || !window.__pcs.length) return null;
  let out = null; (await window.__pcs[0].getStats()).forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'video') out = {
      kbps: Math.round((s.targetBitrate || 0) / 1000), fps: s.framesPerSecond || 0,
      frames: s.framesEncoded, width: s.frameWidth }; });
  return out; }"""


def status(srv: DashboardServer, cid: str) -> dict:
    return srv.get(f"/api/cameras/{cid}")[1]["status"]


def browser_run(srv: DashboardServer, clip: CameraClip, seconds: float
                ) -> tuple[float, float, list[str]]:
    """(frames counted / frames sent, mean processed fps, the table's rows) of a browser
    camera."""
    from playwright.sync_api import sync_playwright

    cam = srv.post("/api/cameras", {"name": "laptop", "source": "browser",
                                    "settings": {"imgsz": 320}})[1]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=[
            *CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={clip.y4m}"])
        context = browser.new_context(permissions=["camera"])
        context.add_init_script(KEEP_CONNECTIONS)
        page = context.new_page()
        log_in(page, srv.url)
        page.goto(f"{srv.url}/camera?camera={cam['id']}")
        view = page.frame_locator('iframe[src*="streamlit_webrtc"]')
        view.get_by_role("button", name="Start my camera").click(timeout=120_000)
        frame = next(f for f in page.frames if "streamlit_webrtc" in f.url)
        print(f"{'s':>4} {'sent kbit/s':>11} {'sent fps':>8} {'size':>5} {'counted fps':>11} "
              f"{'dropped':>7} {'age ms':>6} {'counted/sent':>12}")
        start, fps, rows = time.monotonic(), [], []
        first = None
        while time.monotonic() - start < seconds:
            time.sleep(10)
            sent, st = frame.evaluate(SENT), status(srv, cam["id"])
            if sent is None:
                continue
            if first is None:
                first = (sent["frames"], st["frames_read"] - st["frames_dropped"])
            fps.append(st["processed_fps"])
            print(f"{time.monotonic() - start:4.0f} {sent['kbps']:11d} {sent['fps']:8.1f} "
                  f"{sent['width']:5d} {st['processed_fps']:11.1f} {st['frames_dropped']:7d} "
                  f"{st['frame_age_s'] * 1000:6.0f} "
                  f"{(st['frames_read'] - st['frames_dropped']) / max(1, sent['frames']):12.2f}")
            rows.append(f"| {time.monotonic() - start:.0f} | {sent['kbps']:,} | "
                        f"{sent['fps']:.1f} | {st['processed_fps']:.1f} | "
                        f"{st['frames_dropped']} | {st['frame_age_s'] * 1000:.0f} |")
        counted = st["frames_read"] - st["frames_dropped"] - first[1]
        ratio = counted / max(1, sent["frames"] - first[0])
        browser.close()
    srv.post(f"/api/cameras/{cam['id']}/stop")
    return ratio, sum(fps) / max(1, len(fps)), rows


def file_run(srv: DashboardServer, clip: CameraClip, seconds: float) -> float:
    """Mean processed fps of the same clip as a file camera played live."""
    (srv.data / "media" / "camera.avi").write_bytes(clip.video.read_bytes())
    cam = srv.post("/api/cameras", {"name": "file", "source": "camera.avi", "settings": {
        "imgsz": 320, "pacing": "live", "loop": True}})[1]
    fps, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(5)
        fps.append(status(srv, cam["id"])["processed_fps"])
    srv.post(f"/api/cameras/{cam['id']}/stop")
    return sum(fps[1:]) / max(1, len(fps) - 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        clip = CameraClip.make(Path(tmp), seconds=25)
        srv = DashboardServer(Path(tmp) / "data", demo=False).start()
        try:
            ratio, browser_fps, rows = browser_run(srv, clip, args.seconds)
            live_fps = file_run(srv, clip, 30)
        finally:
            srv.stop()
    summary = (f"Browser camera: {ratio:.1%} of the frames sent were counted, at "
               f"{browser_fps:.1f} fps; the same clip as a file played live: {live_fps:.1f} "
               f"fps (browser / file: {browser_fps / max(live_fps, 0.01):.2f}).")
    print("\n" + summary)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from benchmarks.figures import record

    record("browser_camera", "\n".join([
        "| s | browser sends, kbit/s | browser sends, fps | server counts, fps | dropped | "
        "newest frame's age, ms |", "|---:|---:|---:|---:|---:|---:|", *rows, "", summary]),
        {"counted_of_sent": ratio, "browser_fps": browser_fps, "file_live_fps": live_fps})


if __name__ == "__main__":
    main()
