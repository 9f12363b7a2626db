"""The README's figures are the benchmarks' latest output, never hand-copied.

A benchmark ends with `record(name, table, figures)`: it writes benchmarks/results/NAME.json
(when, on what machine, the figures, and the Markdown it printed). The README quotes it
between `<!-- figures: NAME -->` and `<!-- /figures -->`; `python benchmarks/figures.py`
writes each such block from its result, and tests/test_readme.py fails when a block is not
its result's Markdown (edited by hand, or a result newer than the README).
"""
from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- figures: (?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /figures -->)",
                   re.S)


def machine() -> str:
    """This machine in a few words, as the figures' footnote says it."""
    return f"{os.cpu_count()} CPU cores, {platform.machine()}, Python {platform.python_version()}"


def record(name: str, markdown: str, figures: dict[str, Any]) -> Path:
    """Keep a benchmark's result: its figures and the Markdown the README quotes."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    when = time.strftime("%Y-%m-%d", time.gmtime())
    text = f"{markdown.rstrip()}\n\n_{name}: {when}, {machine()}._"
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"name": name, "when": when, "machine": machine(),
                                "figures": figures, "markdown": text}, indent=2) + "\n")
    print(f"recorded {path.relative_to(ROOT)}; `python benchmarks/figures.py` puts it in the "
          "README")
    return path


def result_markdown(name: str) -> str | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text())["markdown"] if path.is_file() else None


def blocks(text: str) -> dict[str, str]:
    """The README's figures blocks: name -> what it says now."""
    return {m["name"]: m["body"].rstrip("\n") for m in BLOCK.finditer(text)}


def rendered(text: str) -> str:
    """The README with every figures block its result's Markdown (a block with no result
    is left as it is)."""
    def fill(m: re.Match) -> str:
        body = result_markdown(m["name"])
        return m.group(1) + (m["body"] if body is None else body + "\n") + m.group(4)
    return BLOCK.sub(fill, text)


def main() -> int:
    text = README.read_text()
    new = rendered(text)
    if new != text:
        README.write_text(new)
    missing = [n for n in blocks(text) if result_markdown(n) is None]
    print("README figures " + ("updated" if new != text else "already current")
          + (f"; no result yet for {', '.join(missing)}" if missing else ""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
