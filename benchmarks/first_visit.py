"""How soon an operator sees the demo: `bash .ci/start` on a fresh data directory (the first
visit) and again on the same one (a restart), each until the server answers and until the
demo's first picture shows in Chromium (logging in included), on a quiet machine and on one
made busy on purpose (two processes spinning beside it, as many as this machine's cores
up to 2). Needs `.ci/setup` done (it is what `.ci/start` skips after the first install).
Run: python benchmarks/first_visit.py"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.figures import ROOT, record  # noqa: E402

PASSWORD = "first-visit-pass-1"
CHROMIUM = "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spin() -> None:
    while True:
        pass


def answering(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def visit(data: Path, limit_s: float) -> tuple[float, float]:
    """(s until the server answers, s until the demo's first picture shows), from launch."""
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HEATMAP_DASHBOARD_DATA": str(data),
           "HEATMAP_DASHBOARD_ADMIN_PASSWORD": PASSWORD}
    t0 = time.perf_counter()
    server = subprocess.Popen(["bash", ".ci/start", "--server.port", str(port),
                               "--server.headless", "true"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        while not answering(url):
            if time.perf_counter() - t0 > limit_s or server.poll() is not None:
                raise SystemExit(f"the server did not answer within {limit_s:.0f} s")
            time.sleep(0.05)
        t_answer = time.perf_counter() - t0
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM,
                                         args=["--headless", "--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(url + "/login")
            page.fill("#username", "admin")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_function(
                "() => [...document.querySelectorAll('[data-testid=stImage] img')]"
                ".some(i => i.naturalWidth > 0)", timeout=limit_s * 1000, polling=50)
            t_picture = time.perf_counter() - t0
            browser.close()
        return t_answer, t_picture
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--limit", type=float, default=300.0, help="seconds before giving up")
    args = ap.parse_args()
    rows, figures = [], {}
    for load in ("quiet", "busy"):
        burners = []
        if load == "busy":
            burners = [multiprocessing.Process(target=spin, daemon=True)
                       for _ in range(min(2, os.cpu_count() or 1))]
            for b in burners:
                b.start()
        data = Path(tempfile.mkdtemp(prefix="hd-first-visit-"))
        try:
            for visit_kind in ("first visit", "restart"):
                answer, picture = visit(data, args.limit)
                figures[f"{load} {visit_kind}"] = {"answer_s": round(answer, 1),
                                                   "picture_s": round(picture, 1)}
                rows.append(f"| {visit_kind} | {load} | {answer:.1f} s | {picture:.1f} s |")
                print(rows[-1], flush=True)
        finally:
            for b in burners:
                b.terminate()
            shutil.rmtree(data, ignore_errors=True)
    table = "\n".join(["| `bash .ci/start` | machine | server answers | demo's first picture "
                       "(logged in) |", "|---|---|---:|---:|", *rows])
    print(table)
    record("first_visit", table, figures)


if __name__ == "__main__":
    main()
