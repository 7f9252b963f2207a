"""Shared fixtures (the helpers they use are in tests/utils/).

Fast tests (kernels, apps, compose config, Dockerfile lint) need no engine. Tests marked
``e2e``/``browser`` build the real images and start the real stack; they skip when no
Docker engine answers, unless FRACTAL_REQUIRE_E2E=1 (set by .ci/run), where they fail.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import time
import uuid
from pathlib import Path

import pytest

from utils.browser import CHROMIUM_FLAGS, chromium_env
from utils.commands import free_port, run
from utils.engine import (DEFAULT_PYTHON_IMAGE, LOCAL_PYTHON_IMAGE, LOCAL_PYTHON_IMAGE_ARM64, arm64_unavailable,
                          docker_available, require_e2e)
from utils.notebooks import editor_droppings, notebook, write_notebook
from utils.paths import ARTIFACTS, ROOT
from utils.project import PROD_CONNECTIONS_PER_CLIENT, project
from utils.tls import self_signed


#: Session fixtures that build and start a stack: every module using one runs on the same
#: pytest-xdist worker, so each stack is built once per run.
SHARED_STACKS = ("dev_stack", "prod", "swarm_release")
#: Groups that take longest (minutes each: an arm64 release under emulation, a swarm, the dev
#: stack's browser and docs tests), started first so that the two workers finish together.
#: The swarm group starts beside the arm64 release, before any other stack: leaving the one-node
#: swarm that tests/swarm/test_swarm.py makes of the test engine breaks Docker's DNS on every
#: user-defined network that exists at that moment (Engine 28.5; moby#45144): a stack running
#: on the other worker then loses its service names (nginx: "jupyter could not be resolved").
#: The arm64 release builds and runs containers on the default bridge only, which has no DNS.
LONGEST_FIRST = ("test_arm64.py", "swarm_release", "dev_stack", "test_build_graph.py", "test_ownership.py", "prod")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Group the tests for the README's `pytest -n 2` (pytest-xdist; pyproject's addopts give
    `--dist loadgroup --no-loadscope-reorder`): one group per module (its module fixtures are
    built once), every module that uses a stack of :data:`SHARED_STACKS` in that stack's group;
    end-to-end groups first, the longest leading. Without xdist nothing changes."""
    stack_of = {}  # module -> the first shared stack any of its tests uses (else the module)
    for item in items:
        module = item.nodeid.split("::")[0]
        stacks = [f for f in SHARED_STACKS if f in item.fixturenames]
        if stacks and module not in stack_of:
            stack_of[module] = stacks[0]
    group = {item: stack_of.get(item.nodeid.split("::")[0], item.nodeid.split("::")[0]) for item in items}
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}

    def order(item):
        name = group[item]
        e2e = item.get_closest_marker("e2e") is not None
        return (not e2e, rank.get(name, rank.get(Path(name).name, len(rank))) if e2e else 0)

    if os.environ.get("PYTEST_XDIST_WORKER") and getattr(config.option, "loadgroup", False):
        items.sort(key=order)  # stable: collection order within a group
        for item in items:
            item.add_marker(pytest.mark.xdist_group(group[item]))


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: without it, never called
def pytest_xdist_make_scheduler(config, log):
    """pytest-xdist's group scheduling, but a worker gets its next group only when the last test
    of its current one runs (an xdist worker starts a test once it knows the one after, so it
    must be told then): xdist's own hands a worker more once two of its tests are left, so a
    worker busy with a long group (a release under emulation) queued the next groups too while
    the other one ran out of work."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class OneGroupAtATime(LoadGroupScheduling):
        def _reschedule(self, node):
            if node.shutting_down:
                return
            if not self.workqueue:
                node.shutdown()
            elif self._pending_of(self.assigned_work[node]) <= 1:
                self._assign_work_unit(node)

    return OneGroupAtATime(config, log)


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
        # --if-missing: the other pytest-xdist worker may be building it (a lock): wait and reuse it.
        run(["bash", str(ROOT / "scripts" / "build-python-image.sh"), "--if-missing", LOCAL_PYTHON_IMAGE], timeout=1500)
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
    """The dev stack, built and started once with `up --build --wait`, then every gallery page
    run once, as a server's first visitors do (in a fresh checkout numba compiles the kernels
    then, which the browser tests need not wait for); always torn down (but
    FRACTAL_KEEP_STACK=1 leaves it)."""
    # Here, not at the top: the arm64 test runs pytest with this file inside the streamlit image,
    # which has neither the protocol client's websocket-client nor needs the gallery's pages.
    from utils.gallery import URL_PATHS
    from utils.streamlit_ws import StreamlitSession

    with project(scratch, python_image, "dev", keep=os.environ.get("FRACTAL_KEEP_STACK") == "1") as p:
        t0 = time.monotonic()
        p.compose("up", "--build", "--wait", "--detach", timeout=2400)
        p.up_seconds = time.monotonic() - t0
        with StreamlitSession(p.url("streamlit"), timeout=900) as first_visitor:
            for page in URL_PATHS:
                run_ = first_visitor.run_page(page)
                assert run_.ok, (page, run_.errors)
        yield p


@pytest.fixture(scope="session")
def prod(docker_engine, python_image, scratch):
    """The production stack with the TLS proxy (compose.yaml + compose.prod.yaml, profile proxy),
    built and started once for tests/stack/test_prod_stack.py and test_prod_hostile.py, from a
    checkout with editor droppings in docs/ and a failing notebook in the workspace, owned by and
    built for a Mac's first user, 501:20 (GID 20 is Debian's dialout: the build must not care)."""
    with project(scratch, python_image, "prod", owner=(501, 20), HOST_UID="501", HOST_GID="20",
                 JUPYTER_TOKEN="e2e-" + uuid.uuid4().hex, APP_VERSION="9.9.9",
                 GIT_SHA=uuid.uuid4().hex[:7], DEPLOY_ENV="e2e", PROXY_HTTPS_PORT=str(free_port()),
                 STREAMLIT_MEMORY="2g", ALLOWED_HOSTS="notebooks.test",
                 PROXY_CONNECTIONS_PER_CLIENT=str(PROD_CONNECTIONS_PER_CLIENT)) as p:
        p.files = ["compose.yaml", "compose.prod.yaml"]
        p.ca = self_signed(p.dir / "certs" / "proxy")  # clients verify the proxy against it
        # Built from a checkout a researcher has worked in: editor droppings beside the docs and a
        # failing scratch notebook in the workspace; the docs build must not see them.
        editor_droppings(p.dir / "docs", "dropping in production")
        write_notebook(p.dir / "notebooks" / "scratch.ipynb", notebook("Scratch", "raise ValueError('scratch')"))
        try:
            p.compose("--profile", "proxy", "up", "--build", "--wait", "--detach", timeout=2400)
            yield p
        finally:  # the proxy profile's container too, then project()'s cleanup
            p.compose("--profile", "proxy", "down", "--volumes", "--remove-orphans", "--timeout", "5",
                      check=False, timeout=300)


@pytest.fixture()
def new_project(python_image, scratch):
    """A factory of scratch projects for one test (utils.project.project):
    ``p = new_project("label", cls=Edge, owner=None, keep_images=False, **env)`` copies the
    checkout under ``scratch`` for ``python_image`` (``tmp_root=``/``python_image=`` to choose
    others). Every project the test made is cleaned up at its teardown, newest first, however the
    test ended; ``keep_images=True`` leaves the service images another project shares."""
    with contextlib.ExitStack() as made:
        def new(label: str, *, tmp_root: Path = scratch, python_image: str = python_image, **kw):
            return made.enter_context(project(tmp_root, python_image, label, **kw))

        yield new


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
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, env=chromium_env())
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


def pytest_sessionstart(session):
    """Apply :func:`fractalkit.configure_runtime` to the test process, as the images' start-up hook
    does to theirs (importing fractalkit sets nothing): tests call parallel kernels from several
    threads, which needs a thread-safe numba threading layer. The environment is then put back as
    it was, so that the processes the tests start (Compose, a fresh Python) begin as a user's do."""
    import fractalkit

    saved = dict(os.environ)
    fractalkit.configure_runtime()
    for name in set(os.environ) - set(saved):
        del os.environ[name]
    os.environ.update(saved)
