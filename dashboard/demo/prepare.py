"""Prepare what the demo camera needs before the first visit: its clip (generated, about a
minute on 2 cores), its model's ONNX export at the demo's image size (about 20 s) and the
runtime it runs fastest on here (its INT8 model quantised, every runtime measured: about
30 s). Run once by `.ci/setup`, so a fresh data directory shows the demo within seconds:

    python -m dashboard.demo.prepare
"""
from __future__ import annotations

import sys
import time

DEMO_IMGSZ = 320   # the demo camera's image size (`Service._create_demo`)


def ready() -> bool:
    """Whether the demo's clip and ONNX model are in the cache already.

    Example:
        >>> isinstance(ready(), bool)
        True
    """
    from dashboard.demo import DEMO_MODEL
    from dashboard.demo.scene import demo_clip_path
    from dashboard.vision.models import onnx_path

    from dashboard.config.env import runtime_default
    from dashboard.vision.runtimes import cached_choice

    return demo_clip_path().exists() and onnx_path(DEMO_MODEL, DEMO_IMGSZ).exists() \
        and (runtime_default() != "auto" or cached_choice(DEMO_MODEL, DEMO_IMGSZ) is not None)


def main() -> int:
    from dashboard.demo import DEMO_MODEL
    from dashboard.demo.scene import demo_clip
    from dashboard.config.env import runtime_default
    from dashboard.vision.models import cached_onnx
    from dashboard.vision.runtimes import choose

    t0 = time.perf_counter()
    print("   the demo clip ...", file=sys.stderr, flush=True)
    demo_clip()
    print(f"   the demo model's ONNX export ({time.perf_counter() - t0:.0f} s so far) ...",
          file=sys.stderr, flush=True)
    cached_onnx(DEMO_MODEL, DEMO_IMGSZ)
    if runtime_default() == "auto":   # what "auto" means here, measured once
        print(f"   choosing its runtime ({time.perf_counter() - t0:.0f} s so far) ...",
              file=sys.stderr, flush=True)
        print(f"   {choose(DEMO_MODEL, DEMO_IMGSZ).words()}", file=sys.stderr, flush=True)
    print(f"   ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
