"""Would cameras gain from sharing one ONNX Runtime session and batching their frames?

The demo model at imgsz 320 on 640x360 frames (a 1x3x192x320 input), on the CPU, three ways
for N frames of N cameras: N calls of batch 1 on one session (one after another); one call
of batch N on that session; N sessions called at once from N threads (what N runners do
today). Figures are milliseconds per frame (median of --repeat rounds of --rounds calls) and
each way's ratio to the first.

    python benchmarks/onnx_batching.py [--cameras 1 2 4 8] [--rounds 30] [--repeat 3]
    (recorded for the README: benchmarks/figures.py)
"""
from __future__ import annotations

import argparse
import statistics
import threading
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cameras", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--rounds", type=int, default=30)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import onnxruntime as ort

    from dashboard.demo import DEMO_MODEL
    from dashboard.vision.models import cached_onnx

    path = str(cached_onnx(DEMO_MODEL, 320))
    rng = np.random.default_rng(0)

    def session(lean: bool = False) -> ort.InferenceSession:
        opts = ort.SessionOptions()
        if lean:
            opts.intra_op_num_threads = 1
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])

    shared = session()
    name = shared.get_inputs()[0].name
    rows = ["| cameras | batch 1, N times on one session | one call of batch N | N sessions at "
            "once | N lean sessions at once |", "|---:|---:|---:|---:|---:|"]
    found = {}
    for n in args.cameras:
        frames = rng.random((n, 3, 192, 320), dtype=np.float32)
        own = [session() for _ in range(n)]
        lean = [session(lean=True) for _ in range(n)]

        def one_by_one() -> None:
            for i in range(n):
                shared.run(None, {name: frames[i:i + 1]})

        def batched() -> None:
            shared.run(None, {name: frames})

        def at_once(sessions: list) -> None:
            threads = [threading.Thread(target=lambda s=s, i=i: s.run(None, {name: frames[i:i + 1]}))
                       for i, s in enumerate(sessions)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        def parallel() -> None:
            at_once(own)

        def parallel_lean() -> None:
            at_once(lean)

        ways = (one_by_one, batched, parallel, parallel_lean)
        for w in ways:   # warm each way once
            w()
        ms = {w: [] for w in ways}
        for _ in range(args.repeat):
            for w in ways:   # interleaved, so a busy moment hits every way alike
                t0 = time.perf_counter()
                for _ in range(args.rounds):
                    w()
                ms[w].append((time.perf_counter() - t0) / args.rounds / n * 1e3)
        base, *others = (statistics.median(ms[w]) for w in ways)
        rows.append(f"| {n} | {base:.1f} ms | " + " | ".join(
            f"{v:.1f} ms ({v / base:.2f}x)" for v in others) + " |")
        found[str(n)] = [round(base, 2), *(round(v, 2) for v in others)]
        print(rows[-1], flush=True)
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from figures import record

    record("onnx_batching", "\n".join(rows), found)


if __name__ == "__main__":
    main()
