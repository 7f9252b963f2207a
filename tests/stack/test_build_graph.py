"""End-to-end: the build graph is explicit, so every way of building works on a clean machine.

Compose builds through Bake on a current engine (all services at once) and with its classic
builder when COMPOSE_BAKE=false. The service images start FROM the base service's image, given
to them as the named build context ``fractal-base: service:base``; without it Bake tried to
pull ``docker.io/fractal-notebooks/base`` and `docker compose build streamlit` failed on a
machine that had never built the base.
"""
from __future__ import annotations

import shutil
import uuid

import pytest

from utils.commands import run
from utils.paths import ROOT

pytestmark = pytest.mark.e2e


def _stamp(p) -> str:
    """Write a marker unique to this build into the project's fractalkit (a file the base copies)."""
    marker = f"BUILD_GRAPH_PROBE = {uuid.uuid4().hex!r}"
    init = p.dir / "src" / "fractalkit" / "__init__.py"
    init.write_text(init.read_text() + f"\n{marker}\n")
    return marker


def _assert_built_on_base(p, services, marker):
    """The base image and every service image hold this build's marker: the services were built
    on the base of this very build, not on a stale or pulled one.

    (Not by layer identity: when BuildKit's cache holds several records for one step, e.g.
    after a `--no-cache` build, the base target and a service's copy of it can pick different
    records of the same content, so equal images may differ in layer digests.)"""
    for image in ("base", *services):
        out = run(["docker", "run", "--rm", "--entrypoint", "cat", f"{p.env['IMAGE_REPO']}/{image}:{p.env['IMAGE_TAG']}",
                   "/app/src/fractalkit/__init__.py"]).stdout
        assert marker in out, f"{image} was not built on this build's base"


@pytest.mark.parametrize("service", ["streamlit", "jupyter", "docs"])
def test_one_service_builds_alone_with_no_base_image(new_project, service):
    p = new_project(f"alone-{service}")
    assert run(["docker", "image", "inspect", f"{p.env['IMAGE_REPO']}/base:{p.env['IMAGE_TAG']}"],
               check=False).returncode != 0
    marker = _stamp(p)
    p.compose("build", service, timeout=2400)
    _assert_built_on_base(p, [service], marker)


def test_a_base_change_reaches_every_service_in_the_same_build(new_project):
    p = new_project("basechange")
    first = _stamp(p)
    p.compose("build", timeout=2400)
    _assert_built_on_base(p, ["streamlit", "jupyter", "docs"], first)
    changed = _stamp(p)  # a change of the base's sources, then a build of everything
    p.compose("build", timeout=2400)
    _assert_built_on_base(p, ["streamlit", "jupyter", "docs"], changed)


def test_a_windows_checkout_builds_with_the_classic_builder_from_an_empty_cache_and_comes_up(new_project):
    """Two ways a user's machine differs from ours, in one build (a full one from nothing is the
    costly part):

    - Git for Windows' core.autocrlf=true would give the container scripts CRLF line ends
      (`#!/bin/sh\\r`, `env: 'python3\\r'`); .gitattributes keeps them LF. The clone is of the
      committed tree (HEAD), as a user's clone would be.
    - COMPOSE_BAKE=false and --no-cache: Compose's classic builder, with nothing reused.
    """
    p = new_project("classic-crlf", COMPOSE_BAKE="false")
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
    # Its own cache keys from the first layer on (certs/ is the base's first COPY): a --no-cache
    # build stores new records under the keys it computes, and a second record for a key other
    # builds use would let their base and service targets pick different layers for the same
    # content (the images would stop sharing the base's layers).
    (p.dir / "certs" / f"cache-namespace-{uuid.uuid4().hex}.txt").write_text("classic-builder test\n")
    marker = _stamp(p)
    p.compose("build", "--no-cache", timeout=2400)
    _assert_built_on_base(p, ["streamlit", "jupyter", "docs"], marker)
    p.compose("up", "--wait", "--detach", timeout=600)
