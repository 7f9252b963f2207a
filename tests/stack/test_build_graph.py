"""End-to-end: the build graph is explicit, so every way of building works on a clean machine.

Compose builds through Bake on a current engine (all services at once) and with its classic
builder when COMPOSE_BAKE=false. The service images start FROM the base service's image, given
to them as the named build context ``fractal-base: service:base``; without it Bake tried to
pull ``docker.io/fractal-notebooks/base`` and `docker compose build streamlit` failed on a
machine that had never built the base.
"""
from __future__ import annotations

import json
import shutil

import pytest

from conftest import ROOT, make_project, run

pytestmark = pytest.mark.e2e


def _layers(image: str) -> list[str]:
    return json.loads(run(["docker", "image", "inspect", image]).stdout)[0]["RootFS"]["Layers"]


def _assert_built_on_base(p, services):
    base = f"{p.env['IMAGE_REPO']}/base:{p.env['IMAGE_TAG']}"
    base_layers = _layers(base)
    for svc in services:
        layers = _layers(f"{p.env['IMAGE_REPO']}/{svc}:{p.env['IMAGE_TAG']}")
        assert layers[: len(base_layers)] == base_layers, f"{svc} is not built on this build's base"


@pytest.mark.parametrize("service", ["streamlit", "jupyter", "docs"])
def test_one_service_builds_alone_with_no_base_image(docker_engine, base_image, scratch, service):
    p = make_project(scratch, base_image, f"alone-{service}")
    try:
        assert run(["docker", "image", "inspect", f"{p.env['IMAGE_REPO']}/base:{p.env['IMAGE_TAG']}"],
                   check=False).returncode != 0
        p.compose("build", service, timeout=2400)
        _assert_built_on_base(p, [service])
    finally:
        p.cleanup()


def test_a_base_change_reaches_every_service_in_the_same_build(docker_engine, base_image, scratch):
    p = make_project(scratch, base_image, "basechange")
    try:
        p.compose("build", timeout=2400)
        marker = "BUILD_GRAPH_PROBE = 'changed'"
        init = p.dir / "src" / "fractalkit" / "__init__.py"
        init.write_text(init.read_text() + f"\n{marker}\n")
        p.compose("build", timeout=2400)
        _assert_built_on_base(p, ["streamlit", "jupyter", "docs"])
        for svc in ("streamlit", "jupyter", "docs"):
            out = run(["docker", "run", "--rm", "--entrypoint", "cat", f"{p.env['IMAGE_REPO']}/{svc}:{p.env['IMAGE_TAG']}",
                       "/opt/fractal/src/fractalkit/__init__.py"]).stdout
            assert marker in out, f"{svc} was built on a stale base"
    finally:
        p.cleanup()


def test_classic_builder_from_an_empty_cache(docker_engine, base_image, scratch):
    """COMPOSE_BAKE=false and --no-cache: the classic builder, with nothing reused."""
    p = make_project(scratch, base_image, "classic", COMPOSE_BAKE="false")
    try:
        p.compose("build", "--no-cache", timeout=2400)
        _assert_built_on_base(p, ["streamlit", "jupyter", "docs"])
        p.compose("up", "--wait", "--detach", timeout=600)
    finally:
        p.cleanup()


def test_windows_checkout_with_autocrlf_comes_up(docker_engine, base_image, scratch):
    """Git for Windows' core.autocrlf=true would give the container scripts CRLF line ends
    (`#!/bin/sh\\r`, `env: 'python3\\r'`); .gitattributes keeps them LF. The clone is of the
    committed tree (HEAD), as a user's clone would be."""
    p = make_project(scratch, base_image, "crlf")
    try:
        for item in p.dir.iterdir():
            if item.name != "certs":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
        clone = p.dir.with_name(p.dir.name + "-clone")
        run(["git", "clone", "-q", "-c", "core.autocrlf=true", str(ROOT), str(clone)])
        for item in clone.iterdir():
            if item.name not in (".git", "certs"):
                shutil.move(str(item), p.dir / item.name)
        shutil.rmtree(clone)
        assert (p.dir / "README.md").exists()
        crlf = [str(f.relative_to(p.dir)) for f in p.dir.rglob("*")
                if f.is_file() and f.suffix in {".sh", ".py", ".conf", ".yaml", ".json", ""} and b"\r\n" in f.read_bytes()]
        assert crlf == [], f"CRLF in files that run in a container: {crlf}"
        p.compose("up", "--build", "--wait", "--detach", timeout=2400)
    finally:
        p.cleanup()
