"""End-to-end: the production Jupyter service under a class: idle kernels are culled, a kernel
that exceeds the memory limit dies alone while the server stays healthy, and the memory of the
service with 1 and 5 kernels that imported fractalkit is measured (printed for .env.example).

Only the production ``jupyter`` service is started, with a 1 GB limit (so the OOM case is
quick) and a short culling timeout.
"""
from __future__ import annotations

import contextlib
import json
import threading
import uuid
from dataclasses import dataclass

import pytest
import requests

from utils.commands import run, wait_for
from utils.project import Project, jupyter_session, project
from utils.jupyter_ws import execute

pytestmark = pytest.mark.e2e

CULL_S = 60  # long enough to load five kernels before the first is culled
LOAD = ("import fractalkit as f, numpy as np\n"
        "f.mandelbrot(f.Viewport(-0.5, 0, 3, 800, 600), 256); f.box_counts(np.ones((512, 512), bool))\n"
        "print('loaded')\n")


@dataclass
class ProdJupyter(Project):
    """The production jupyter service alone: ``api``, its URL under /jupyter; ``http``, a session with the token."""

    api: str = ""
    http: requests.Session | None = None


@pytest.fixture(scope="module")
def prod_jupyter(docker_engine, python_image, scratch):
    with project(scratch, python_image, "jprod", cls=ProdJupyter, JUPYTER_TOKEN="e2e-" + uuid.uuid4().hex,
                 APP_VERSION="9.9.9", GIT_SHA=uuid.uuid4().hex[:7],
                 DEPLOY_ENV="e2e", JUPYTER_MEMORY="1g", JUPYTER_CULL_IDLE_TIMEOUT=str(CULL_S),
                 JUPYTER_CULL_INTERVAL="5") as p:
        p.files = ["compose.yaml", "compose.prod.yaml"]
        p.compose("up", "--build", "--wait", "--detach", "jupyter", timeout=2400)
        p.api = p.url("jupyter", "/jupyter")
        p.http = jupyter_session(p)
        yield p


def _inspect(p) -> dict:
    return json.loads(run(["docker", "inspect", p.container("jupyter")]).stdout)[0]


def _memory_mb(p) -> float:
    out = run(["docker", "stats", "--no-stream", "--format", "{{json .}}", p.container("jupyter")]).stdout
    usage = json.loads(out)["MemUsage"].split("/")[0].strip()
    num, unit = float(usage[:-3]), usage[-3:]
    return num * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]


def _start_kernel(p) -> str:
    return p.http.post(f"{p.api}/api/kernels", json={"name": "python3"}, timeout=60).json()["id"]


def _kernels(p) -> set[str]:
    return {k["id"] for k in p.http.get(f"{p.api}/api/kernels", timeout=30).json()}


def test_memory_with_1_and_5_fractalkit_kernels(prod_jupyter):
    p = prod_jupyter
    idle = _memory_mb(p)
    ids = []
    try:
        for n in range(5):
            ids.append(_start_kernel(p))
            assert "loaded" in execute(p.api, p.env["JUPYTER_TOKEN"], ids[-1], LOAD, timeout=300)
            if n == 0:
                one = _memory_mb(p)
        five = _memory_mb(p)
        print(f"\njupyter service memory: idle {idle:.0f} MiB, 1 kernel {one:.0f} MiB, 5 kernels {five:.0f} MiB "
              f"(~{(five - one) / 4:.0f} MiB per extra kernel)")
        assert idle < one < five
    finally:
        for k in ids:
            p.http.delete(f"{p.api}/api/kernels/{k}", timeout=60)


def test_idle_kernel_is_culled(prod_jupyter):
    p = prod_jupyter
    kid = _start_kernel(p)
    assert kid in _kernels(p)
    wait_for(lambda: kid not in _kernels(p), timeout=CULL_S + 60, interval=2, what="the idle kernel to be culled")


def test_kernel_over_the_memory_limit_dies_alone(prod_jupyter):
    p = prod_jupyter
    before = _inspect(p)["RestartCount"]
    kid = _start_kernel(p)
    since = _inspect(p)["State"]["StartedAt"]

    def hog():  # allocates until the kernel is killed; the reply never comes
        with contextlib.suppress(Exception):
            execute(p.api, p.env["JUPYTER_TOKEN"], kid,
                    "blocks = []\nwhile True:\n    blocks.append(bytearray(64 * 1024 ** 2))\n", timeout=300)

    def killed_and_restarted() -> bool:
        logs = run(["docker", "logs", "--since", since, p.container("jupyter")])
        return f"kernel {kid} restarted" in logs.stdout + logs.stderr

    try:
        threading.Thread(target=hog, daemon=True).start()
        wait_for(killed_and_restarted, timeout=300, interval=2, what="the memory hog's kernel to be killed")
    finally:
        p.http.delete(f"{p.api}/api/kernels/{kid}", timeout=60)
    state = _inspect(p)
    assert state["RestartCount"] == before and state["State"]["Status"] == "running"
    assert p.http.get(f"{p.api}/api/status", timeout=30).status_code == 200
    wait_for(lambda: _inspect(p)["State"].get("Health", {}).get("Status") == "healthy", timeout=60,
             what="jupyter healthy")
    # A fresh kernel still works.
    kid = _start_kernel(p)
    try:
        assert execute(p.api, p.env["JUPYTER_TOKEN"], kid, "print(6 * 7)", timeout=120).strip() == "42"
    finally:
        p.http.delete(f"{p.api}/api/kernels/{kid}", timeout=60)


def test_pip_install_in_production_goes_to_the_user_packages_volume(prod_jupyter):
    """Read-only root, HOME on a tmpfs: `%pip install` still works and lands in the volume."""
    p = prod_jupyter
    kid = _start_kernel(p)
    try:
        out = execute(p.api, p.env["JUPYTER_TOKEN"], kid,
                      "%pip install --no-cache-dir tinydb==4.8.0\n"
                      "import tinydb, os, site, sysconfig; print('AT', os.path.relpath(tinydb.__file__, site.getusersitepackages()), site.USER_BASE)\n"
                      "print('VENV_WRITABLE', os.access(sysconfig.get_path('purelib'), os.W_OK))",
                      timeout=300)
    finally:
        p.http.delete(f"{p.api}/api/kernels/{kid}", timeout=30)
    assert "Successfully installed tinydb-4.8.0" in out, out
    assert "AT tinydb/__init__.py /home/app/.local" in out, out  # in the user site
    assert "VENV_WRITABLE False" in out, out
    mounts = {m["Destination"]: m for m in _inspect(p)["Mounts"]}
    assert mounts["/home/app/.local"]["Type"] == "volume", mounts.keys()
