"""Real receivers for the integration tests: a Mosquitto broker on loopback (Debian's
`mosquitto`), an MQTT subscriber that records what it hears, and an HTTP receiver that
records JSON POSTs (and can refuse the first few, to test retries).

    with Mosquitto(tmp_path) as broker, Listener(broker.port, "prefix/#") as heard: ...
"""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from support.rtsp_server import free_port

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Mosquitto:
    """A broker process on 127.0.0.1 with a config of its own (anonymous, no persistence)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.conf = Path(folder) / "mosquitto.conf"
        self.conf.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
                             "persistence false\n")
        self.log = Path(folder) / "mosquitto.log"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Mosquitto":
        out = open(self.log, "w")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=out,
                                     stderr=subprocess.STDOUT)
        out.close()
        import socket

        end = time.monotonic() + 30
        while time.monotonic() < end:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("mosquitto did not start: " + self.log.read_text())

    def __exit__(self, *exc: Any) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


class Listener:
    """An MQTT subscriber (paho) keeping every message: `messages` [(topic, payload)],
    `last(topic)` the newest payload of a topic."""

    def __init__(self, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt

        self.messages: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self.client.on_message = self._got
        self.port = port

    def _got(self, client: Any, userdata: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload.decode()))

    def __enter__(self) -> "Listener":
        self.client.connect("127.0.0.1", self.port)
        self.client.loop_start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.client.loop_stop()
        self.client.disconnect()

    def last(self, topic: str) -> str | None:
        with self._lock:
            return next((p for t, p in reversed(self.messages) if t == topic), None)

    def on(self, suffix: str) -> list[tuple[str, str]]:
        with self._lock:
            return [(t, p) for t, p in self.messages if t.endswith(suffix)]


class Receiver:
    """An HTTP server on loopback keeping the JSON of every POST it accepts; the first
    `refuse` POSTs get a 500 (counted in `refused`). Each accepted POST is also kept in
    `taken` as (Idempotency-Key, JSON, time), in a list a caller may share between
    receivers (one that goes down and another on the same `port` later); `delay_s`: how
    long it takes to answer one (past a sender's timeout, the sender never hears it was
    taken)."""

    def __init__(self, refuse: int = 0, port: int = 0, delay_s: float = 0.0,
                 taken: list[tuple[str | None, Any, float]] | None = None) -> None:
        self.posts: list[dict[str, Any]] = []
        self.taken = [] if taken is None else taken
        self.refused = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:   # noqa: N802 - the http.server name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if outer.refused < refuse:
                    outer.refused += 1
                    self.send_response(500)
                else:
                    outer.posts.append(json.loads(body))
                    outer.taken.append((self.headers.get("Idempotency-Key"),
                                        outer.posts[-1], time.time()))
                    time.sleep(delay_s)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "Receiver":
        self._thread.start()
        return self

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "Receiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()
