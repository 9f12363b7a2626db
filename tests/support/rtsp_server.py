"""A real RTSP server on loopback for source tests and benchmarks (GStreamer's, from Debian).

`RtspServer(clip).start()` runs this file with Debian's python3 (which has the `gi`
bindings); it serves CLIP (an MJPEG .avi) in real time at rtsp://127.0.0.1:PORT/live.

    /usr/bin/python3 tests/support/rtsp_server.py PORT CLIP.avi [USER PASSWORD]
"""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtspServer:
    """The server in a subprocess; `stop()` kills it, `start()` again serves on the same port.

    Example:
        >>> srv = RtspServer(Path("clip.avi")).start(); srv.url()  # doctest: +SKIP
        'rtsp://127.0.0.1:40123/live'
    """

    def __init__(self, clip: Path, user: str | None = None, password: str | None = None):
        self.clip, self.port = clip, free_port()
        self.auth = [user, password] if user else []
        self.proc: subprocess.Popen | None = None

    def url(self, creds: str = "") -> str:
        return f"rtsp://{creds}127.0.0.1:{self.port}/live"

    def start(self) -> "RtspServer":
        self.proc = subprocess.Popen(["/usr/bin/python3", __file__, str(self.port),
                                      str(self.clip), *self.auth],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            self.proc.kill()
            raise RuntimeError(f"RTSP server did not start: {line}{self.proc.stdout.read()}")
        return self

    def stop(self) -> None:
        if self.proc:
            self.proc.kill()
            self.proc.wait(5)
            self.proc = None


def serve(port: str, clip: str, user: str | None = None, password: str | None = None) -> None:
    import gi

    gi.require_version("Gst", "1.0")
    gi.require_version("GstRtspServer", "1.0")
    from gi.repository import GLib, Gst, GstRtspServer

    Gst.init(None)
    server = GstRtspServer.RTSPServer.new()
    server.set_address("127.0.0.1")
    server.set_service(port)
    factory = GstRtspServer.RTSPMediaFactory.new()
    # Re-encoded: RTP/JPEG (RFC 2435) carries only baseline JPEGs of the kind jpegenc writes.
    factory.set_launch(f"( filesrc location={clip} ! avidemux ! jpegdec ! videoconvert ! "
                       "jpegenc quality=85 ! rtpjpegpay name=pay0 pt=26 )")
    factory.set_shared(True)
    if user:
        auth = GstRtspServer.RTSPAuth.new()
        token = GstRtspServer.RTSPToken.new()
        token.set_string("media.factory.role", user)
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        perms = GstRtspServer.RTSPPermissions.new()
        perms.add_role_from_structure(Gst.Structure.new_from_string(
            f"{user}, media.factory.access=(boolean)true, media.factory.construct=(boolean)true"))
        factory.set_permissions(perms)
    server.get_mount_points().add_factory("/live", factory)
    server.attach(None)
    print("ready", flush=True)
    GLib.MainLoop().run()


if __name__ == "__main__":
    serve(*sys.argv[1:])
