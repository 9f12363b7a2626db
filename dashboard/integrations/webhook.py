"""`Webhook`: each alert change as a JSON POST, from its own thread and outbox, retried with
backoff and sent with the alert's id as an Idempotency-Key."""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dashboard.errors import DashboardError
from dashboard.vision.secrets import mask_secrets
from dashboard.integrations.outbox import Outbox

log = logging.getLogger(__name__)

RETRY_MIN_S, RETRY_MAX_S = 0.5, 30.0   # between tries of one message, doubling


class Webhook:
    """POSTs JSON documents to one URL from a thread of its own, in order. Nothing is
    dropped while the receiver is down or slow: each message waits in a stored `Outbox`
    (a restart keeps it) and is tried again, 0.5 s doubling to `RETRY_MAX_S` apart, until
    the receiver takes it (any 2xx). Each carries an `Idempotency-Key` header, the same on
    every try, so a receiver that took a message whose answer was lost can tell.

    Example:
        >>> hook = Webhook("http://127.0.0.1:9/hook", Path("outbox.sqlite"))  # doctest: +SKIP
        >>> hook.post({"type": "alert"}); hook.close()                          # doctest: +SKIP
    """

    def __init__(self, url: str, outbox: Path, timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DashboardError(f"Webhook URL {mask_secrets(url)!r}: use http:// or https:// "
                                 "with a host.")
        self.url, self.timeout_s = url, timeout_s
        self.sent = 0
        self.last_error: str | None = None
        self._box = Outbox(outbox)
        self._wake = threading.Condition()
        self._closing = False
        if len(self._box):
            log.warning("webhook %s: %d messages from before the restart to deliver",
                        mask_secrets(url), len(self._box))
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    @property
    def waiting(self) -> int:
        """Messages not yet delivered."""
        return len(self._box)

    @property
    def dropped(self) -> int:
        """Messages given up because more than `OUTBOX_MAX` waited."""
        return self._box.dropped

    def post(self, doc: dict[str, Any]) -> None:
        """Keep one document for delivery (a local write: it never waits on the receiver)."""
        self._box.add(doc)
        with self._wake:
            self._wake.notify()

    def _run(self) -> None:
        delay = RETRY_MIN_S
        while True:
            with self._wake:
                while not self._closing and not len(self._box):
                    self._wake.wait()
                if self._closing:
                    return
            key, doc = self._box.oldest() or (None, None)
            if key is None:
                continue
            if self._deliver(key, doc):
                self._box.done(key)
                delay = RETRY_MIN_S
                continue
            with self._wake:       # wait before the next try, unless closing
                self._wake.wait_for(lambda: self._closing, timeout=delay)
            delay = min(RETRY_MAX_S, delay * 2)

    def _deliver(self, key: str, doc: dict[str, Any]) -> bool:
        try:
            req = urllib.request.Request(self.url, json.dumps(doc).encode(), method="POST",
                                         headers={"Content-Type": "application/json",
                                                  "Idempotency-Key": key,
                                                  "User-Agent": "heatmap-dashboard"})
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                r.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            if self.last_error is None:     # said once per outage, not once per try
                log.error("webhook %s: %s; alerts wait in the outbox and are tried again",
                          mask_secrets(self.url), mask_secrets(str(e)))
            self.last_error = mask_secrets(str(e))
            return False
        self.sent += 1
        if self.last_error is not None:
            log.warning("webhook %s: delivering again (%d waiting)", mask_secrets(self.url),
                        len(self._box) - 1)
        self.last_error = None
        return True

    def close(self, wait_s: float = 5.0) -> None:
        """Send what waits for up to `wait_s`, then stop; what is left stays in the outbox
        for the next start."""
        end = time.monotonic() + wait_s
        while len(self._box) and self.last_error is None and time.monotonic() < end:
            time.sleep(0.05)
        with self._wake:
            self._closing = True
            self._wake.notify_all()
        self._thread.join(timeout=max(0.5, self.timeout_s + 1))
        self._box.close()
