"""The README's figures are the benchmarks' recorded output (benchmarks/figures.py): a block
edited by hand, or a result the README does not quote yet, fails here."""
from __future__ import annotations

import json
import sys

from support.server import ROOT

sys.path.insert(0, str(ROOT))

from benchmarks.figures import BLOCK, README, RESULTS, blocks, rendered  # noqa: E402


def test_each_result_is_quoted_in_the_readme_as_recorded():
    text = README.read_text()
    results = sorted(p.stem for p in RESULTS.glob("*.json"))
    assert results, "no benchmark has recorded a result"
    assert sorted(blocks(text)) == results          # each result quoted once, none missing
    assert rendered(text) == text, "run: python benchmarks/figures.py"


def test_a_figures_block_is_found_and_rewritten_from_its_result():
    text = "before\n<!-- figures: first_visit -->\nhand-typed 1 s\n<!-- /figures -->\nafter\n"
    assert blocks(text) == {"first_visit": "hand-typed 1 s"}
    new = rendered(text)
    recorded = json.loads((RESULTS / "first_visit.json").read_text())["markdown"]
    assert blocks(new) == {"first_visit": recorded}
    assert new.startswith("before\n") and new.endswith("after\n") and BLOCK.search(new)
