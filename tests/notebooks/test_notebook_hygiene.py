"""Fast checks of the teaching notebooks as stored in git (no kernel needed)."""
from __future__ import annotations

import json
import re

import pytest

from utils.paths import ROOT

NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))


def test_at_least_six_notebooks():
    assert len(NOTEBOOKS) >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_without_outputs(path):
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, \
                f"{path.name}: clear the outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_tells_a_story_and_asserts_a_measured_result(path):
    nb = json.loads(path.read_text())
    md = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert md and md[0].startswith("# "), "the first cell must be a '# Title'"
    assert any("$" in m for m in md), "explain the maths"
    assert any("import fractalkit" in c for c in code)
    assert any(re.search(r"^\s*assert ", c, re.M) for c in code), "assert the measured result"
    assert any("plt." in c for c in code), "show a figure"

