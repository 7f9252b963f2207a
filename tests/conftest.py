"""Shared fixtures (the helpers they use are in tests/utils/).

Fast tests (kernels, apps, compose config, Dockerfile lint) need no engine. Tests marked
``e2e``/``browser`` build the real images and start the real stack; they skip when no
Docker engine answers, unless FRACTAL_REQUIRE_E2E=1 (set by .ci/run), where they fail.
"""
from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from utils.browser import CHROMIUM_FLAGS
from utils.commands import free_port, run
from utils.engine import (DEFAULT_PYTHON_IMAGE, LOCAL_PYTHON_IMAGE, LOCAL_PYTHON_IMAGE_ARM64, arm64_unavailable,
                          docker_available, require_e2e)
from utils.git import GIT_ENV, commit_all
from utils.notebooks import editor_droppings, notebook, write_notebook
from utils.paths import ARTIFACTS, ROOT
from utils.project import PROD_CONNECTIONS_PER_CLIENT, Release, make_project
from utils.registry import Registry
from utils.tls import self_signed


def pytest_runtest_setup(item):
    """Tests marked ``root`` skip for other users (fail under FRACTAL_REQUIRE_E2E=1), before any
    fixture starts: a contributor without root runs everything else with the default `pytest`."""
    if item.get_closest_marker("root") and os.geteuid() != 0:
        reason = f"{item.name} needs root on the test host (pytest.mark.root)"
        if require_e2e():
            pytest.fail(f"end-to-end tests are required (FRACTAL_REQUIRE_E2E=1) but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_engine():
    reason = docker_available()
    if reason:
        if require_e2e():
            pytest.fail(f"end-to-end tests are required (FRACTAL_REQUIRE_E2E=1) but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def python_image(docker_engine) -> str:
    """PYTHON_IMAGE for the builds: $PYTHON_IMAGE, else python:3.11-slim if it can be pulled,
    else the image from scripts/build-python-image.sh (built here if missing)."""
    if os.environ.get("PYTHON_IMAGE"):
        return os.environ["PYTHON_IMAGE"]
    if run(["docker", "image", "inspect", DEFAULT_PYTHON_IMAGE], check=False).returncode == 0:
        return DEFAULT_PYTHON_IMAGE
    if run(["docker", "pull", DEFAULT_PYTHON_IMAGE], check=False, timeout=180).returncode == 0:
        return DEFAULT_PYTHON_IMAGE
    if run(["docker", "image", "inspect", LOCAL_PYTHON_IMAGE], check=False).returncode != 0:
        run(["bash", str(ROOT / "scripts" / "build-python-image.sh"), LOCAL_PYTHON_IMAGE], timeout=1500)
    return LOCAL_PYTHON_IMAGE


@pytest.fixture(scope="session")
def arm64_python_image(docker_engine, python_image) -> str:
    """PYTHON_IMAGE for linux/arm64 builds: $PYTHON_IMAGE_ARM64; python:3.11-slim where the registry
    answers (a multi-platform image); else scripts/build-python-image.sh --arch arm64 (built here)."""
    reason = arm64_unavailable()
    if reason:
        if require_e2e():
            pytest.fail(f"end-to-end tests are required (FRACTAL_REQUIRE_E2E=1) but {reason}")
        pytest.skip(reason)
    if os.environ.get("PYTHON_IMAGE_ARM64"):
        return os.environ["PYTHON_IMAGE_ARM64"]
    if python_image == DEFAULT_PYTHON_IMAGE:
        return DEFAULT_PYTHON_IMAGE
    if run(["docker", "image", "inspect", LOCAL_PYTHON_IMAGE_ARM64], check=False).returncode != 0:
        # --if-missing: a build already running (.ci/run starts one early) is waited for and reused.
        run(["bash", str(ROOT / "scripts" / "build-python-image.sh"), "--arch", "arm64", "--if-missing",
             LOCAL_PYTHON_IMAGE_ARM64], timeout=2400)
    return LOCAL_PYTHON_IMAGE_ARM64


@pytest.fixture(scope="session")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("projects")


@pytest.fixture(scope="session")
def dev_stack(docker_engine, python_image, scratch):
    """The dev stack, built and started once with `up --build --wait`; always torn down."""
    p = make_project(scratch, python_image, "dev")
    try:
        t0 = time.monotonic()
        p.compose("up", "--build", "--wait", "--detach", timeout=2400)
        p.up_seconds = time.monotonic() - t0
        yield p
    finally:
        if os.environ.get("FRACTAL_KEEP_STACK") != "1":
            p.cleanup()


@pytest.fixture(scope="session")
def prod(docker_engine, python_image, scratch):
    """The production stack with the TLS proxy (compose.yaml + compose.prod.yaml, profile proxy),
    built and started once for tests/stack/test_prod_stack.py and test_prod_hostile.py, from a
    checkout with editor droppings in docs/ and a failing notebook in the workspace."""
    p = make_project(scratch, python_image, "prod", JUPYTER_TOKEN="e2e-" + uuid.uuid4().hex, APP_VERSION="9.9.9",
                     GIT_SHA=uuid.uuid4().hex[:7], DEPLOY_ENV="e2e", PROXY_HTTPS_PORT=str(free_port()),
                     STREAMLIT_MEMORY="2g", ALLOWED_HOSTS="notebooks.test",
                     PROXY_CONNECTIONS_PER_CLIENT=str(PROD_CONNECTIONS_PER_CLIENT))
    p.files = ["compose.yaml", "compose.prod.yaml"]
    p.ca = self_signed(p.dir / "certs" / "proxy")  # clients verify the proxy against it
    # Built from a checkout a researcher has worked in: editor droppings beside the docs and a
    # failing scratch notebook in the workspace; the docs build must not see them.
    editor_droppings(p.dir / "docs", "dropping in production")
    write_notebook(p.dir / "notebooks" / "scratch.ipynb", notebook("Scratch", "raise ValueError('scratch')"))
    try:
        p.compose("--profile", "proxy", "up", "--build", "--wait", "--detach", timeout=2400)
        yield p
    finally:
        p.compose("--profile", "proxy", "down", "--volumes", "--remove-orphans", "--timeout", "5",
                  check=False, timeout=300)
        p.cleanup()


@pytest.fixture(scope="session")
def swarm_release(docker_engine, python_image, scratch):
    """A release (tests/utils/project.py) as scripts/publish.sh makes it, from a git checkout, in
    a registry on loopback (tests/utils/registry.py), for the Swarm tests to deploy with
    scripts/deploy-swarm.sh."""
    p = Release(**vars(make_project(scratch, python_image, "swarm", JUPYTER_TOKEN="e2e-" + uuid.uuid4().hex,
                                    PROXY_HTTPS_PORT=str(free_port()), STREAMLIT_REPLICAS="3", DOCS_REPLICAS="2")))
    p.files = ["compose.yaml", "compose.prod.yaml"]
    p.env["STACK_NAME"] = p.name
    local = []
    try:
        sha = commit_all(p.dir)
        p.env.update(APP_VERSION="0.1.0", GIT_SHA=sha, DEPLOY_ENV="prod")  # what the scripts work out
        p.ca = self_signed(p.dir / "certs" / "proxy")  # after the commit: a release does not carry its key
        p.https = f"https://127.0.0.1:{p.env['PROXY_HTTPS_PORT']}"
        with Registry() as reg:
            p.registry, p.registry_storage = f"{reg.host}/fractal-{p.name}", reg.storage
            local += [f"{p.registry}/{s}:0.1.0-{sha}-prod{suffix}" for s in ("base", "streamlit", "jupyter", "docs",
                                                                             "proxy") for suffix in ("", "-amd64")]
            env = {**os.environ, **GIT_ENV, **p.env, "REGISTRY": p.registry}
            for derived in ("APP_VERSION", "GIT_SHA", "DEPLOY_ENV"):
                env.pop(derived)
            # The base image from .env, as docs/troubleshooting.md puts it (no registry here).
            (p.dir / ".env").write_text(f"PYTHON_IMAGE={env.pop('PYTHON_IMAGE')}\n")
            p.deploy_env = env
            t0 = time.monotonic()
            run(["bash", "scripts/publish.sh"], cwd=p.dir, env=env, timeout=2400)
            print(f"\npublish.sh {time.monotonic() - t0:.0f} s")
            yield p
    finally:
        run(["docker", "image", "rm", "-f", *local], check=False)
        p.cleanup()


@pytest.fixture(scope="session")
def browser(docker_engine):
    """Headless Chromium from the system (Debian's package), driven by Playwright."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        if require_e2e():
            pytest.fail("headless Chromium is required but not installed (apt-get install chromium)")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    try:
        yield pg
    finally:
        ctx.close()
