"""End-to-end: the dev stack on a real engine (`docker compose up --build --wait`)."""
from __future__ import annotations

import json
import time

import pytest
import requests

from utils.commands import run
from utils.project import HOST_UID, streamlit_options
from utils.jupyter_ws import execute

pytestmark = pytest.mark.e2e


def test_all_three_services_healthy(dev_stack):
    out = dev_stack.compose("ps", "--format", "json").stdout
    ps = [json.loads(line) for line in out.splitlines() if line.strip()]
    health = {c["Service"]: c.get("Health") for c in ps}
    assert health == {"streamlit": "healthy", "jupyter": "healthy", "docs": "healthy"}, health
    print(f"\nup --build --wait took {dev_stack.up_seconds:.1f} s")


def test_streamlit_health_and_default_app_renders(dev_stack):
    r = requests.get(dev_stack.url("streamlit", "/_stcore/health"), timeout=10)
    assert r.status_code == 200 and r.text == "ok"
    assert "<title>Streamlit</title>" in requests.get(dev_stack.url("streamlit"), timeout=10).text
    code = ("from streamlit.testing.v1 import AppTest\n"
            "at = AppTest.from_file('apps/gallery.py', default_timeout=120).run()\n"
            "assert not at.exception, at.exception\n"
            "print('TITLE', at.title[0].value)\n")
    out = dev_stack.compose("exec", "-T", "streamlit", "python", "-c", code).stdout
    assert "TITLE" in out and "Branching tree" in out


def test_streamlit_settings(dev_stack):
    """The settings in effect in the container: .streamlit/config.toml, the image's ENV, Compose's."""
    assert streamlit_options(dev_stack) == {
        "server.headless": True, "browser.gatherUsageStats": False, "server.enableXsrfProtection": True,
        "server.runOnSave": True, "client.toolbarMode": "viewer", "server.fileWatcherType": "auto",
        "server.baseUrlPath": ""}


def test_jupyter_requires_token(dev_stack):
    url = dev_stack.url("jupyter", "/api/contents")
    assert requests.get(url, timeout=10).status_code in (401, 403)
    assert requests.get(url, params={"token": "wrong"}, timeout=10).status_code in (401, 403)
    ok = requests.get(url, headers={"Authorization": f"token {dev_stack.token}"}, timeout=10)
    assert ok.status_code == 200


def test_notebook_created_through_api_is_owned_by_host_user(dev_stack):
    s = requests.Session()
    s.headers["Authorization"] = f"token {dev_stack.token}"
    base = dev_stack.url("jupyter", "/api/contents")
    assert s.put(f"{base}/notebooks/e2e-scratch", json={"type": "directory"}, timeout=10).status_code in (200, 201)
    nb = {"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}
    r = s.put(f"{base}/notebooks/e2e-scratch/created.ipynb", json=nb, timeout=10)
    assert r.status_code in (200, 201), r.text
    host_file = dev_stack.dir / "notebooks" / "e2e-scratch" / "created.ipynb"
    try:
        assert host_file.exists()
        assert host_file.stat().st_uid == HOST_UID
        assert json.loads(host_file.read_text())["nbformat"] == 4
    finally:
        s.delete(f"{base}/notebooks/e2e-scratch/created.ipynb", timeout=10)
        s.delete(f"{base}/notebooks/e2e-scratch", timeout=10)


def test_kernel_imports_fractalkit_and_numba(dev_stack):
    s = requests.Session()
    s.headers["Authorization"] = f"token {dev_stack.token}"
    r = s.post(dev_stack.url("jupyter", "/api/kernels"), json={"name": "python3"}, timeout=30)
    assert r.status_code == 201, r.text
    kid = r.json()["id"]
    try:
        out = execute(dev_stack.url("jupyter", ""), dev_stack.token, kid,
                      "import fractalkit, numba, ipywidgets\n"
                      "from fractalkit import mandelbrot, Viewport\n"
                      "m = mandelbrot(Viewport(-0.5, 0, 3, 32, 24), 50)\n"
                      "print('OK', fractalkit.__file__, numba.__version__, m.shape)")
        assert "OK /app/src/fractalkit/__init__.py" in out  # the editable, bind-mounted source
        assert "(24, 32)" in out
    finally:
        s.delete(dev_stack.url("jupyter", f"/api/kernels/{kid}"), timeout=30)


def test_package_is_live_edited(dev_stack):
    extra = dev_stack.dir / "src" / "fractalkit" / "_e2e_probe.py"
    extra.write_text("VALUE = 42\n")
    try:
        out = dev_stack.compose("exec", "-T", "jupyter", "python", "-c",
                                "import fractalkit._e2e_probe as p; print(p.VALUE)").stdout
        assert out.strip() == "42"
    finally:
        extra.unlink()


def test_docs_server_answers_html(dev_stack):
    r = requests.get(dev_stack.url("docs", "/"), timeout=10)
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    assert "fractal-notebooks" in r.text


def test_each_image_is_built_on_its_parents_layers(dev_stack):
    """The image family (docs/development.md): each image holds its parent's layers, the one copy
    the builder made, and adds its own; jupyter and docs share the notebook layer that way."""
    def layers(image):
        return json.loads(run(["docker", "image", "inspect", image]).stdout)[0]["RootFS"]["Layers"]

    base, streamlit, jupyter, docs = dev_stack.images()
    notebook = f"{dev_stack.name}-notebook"  # build-only: Compose names it after the project
    assert len(layers(base)) > 3
    for child, parent in {streamlit: base, notebook: base, jupyter: notebook, docs: notebook}.items():
        ours, theirs = layers(child), layers(parent)
        assert ours[:len(theirs)] == theirs and len(ours) > len(theirs), f"{child} is not built on {parent}"


def test_images_carry_no_installer_and_no_test_suites(dev_stack):
    """uv is mounted from a build stage for each `uv sync` (services/base/install-uv.sh), and the
    packages' own test suites are pruned after it (services/base/prune-tests.sh)."""
    check = ("if command -v uv || [ -e /opt/uv ]; then echo HAS-UV; fi; "
             "find /opt/venv/lib -path '*/site-packages/*' -type d -name tests | head -n 3")
    for image in dev_stack.images():
        out = run(["docker", "run", "--rm", "--entrypoint", "sh", image, "-c", check]).stdout
        assert out.strip() == "", f"{image}: {out}"


def test_numba_cache_in_named_volume(dev_stack):
    dev_stack.compose("exec", "-T", "streamlit", "python", "-c",
                      "import fractalkit as f; f.mandelbrot(f.Viewport(0, 0, 3, 8, 8), 10)")
    out = dev_stack.compose("exec", "-T", "jupyter", "sh", "-c", "ls -R $NUMBA_CACHE_DIR | grep -c nbi").stdout
    assert int(out.strip()) > 0
    mounts = run(["docker", "inspect", dev_stack.container("streamlit"), "--format",
                  "{{range .Mounts}}{{.Type}}:{{.Destination}} {{end}}"]).stdout
    assert "volume:/var/cache/numba" in mounts


def test_files_written_by_containers_are_not_root(dev_stack):
    """The servers run as HOST_UID (the entrypoint dropped root before starting them); only the
    init and a healthcheck being started are root. (`exec` defaults to root in development.)"""
    for svc in ("streamlit", "jupyter", "docs"):
        top = run(["docker", "top", dev_stack.container(svc), "-o", "pid,uid,args"]).stdout.splitlines()[1:]
        # A process caught while runc execs it shows its kernel name only, cut to 15 characters
        # ("[fractal-healthc]", "runc:[2:INIT]"): CI once saw a healthcheck so, as root.
        servers = [line for line in top if not any(t in line for t in ("docker-init", "runc", "fractal-healthc"))]
        assert servers, (svc, top)
        for line in servers:
            assert line.split()[1] == str(HOST_UID) != "0", (svc, line)


def test_stop_is_fast(dev_stack):
    # Stop while the docs server is at its busiest: an edit of src/ makes it rebuild and re-execute
    # the notebooks (conf.py keys the notebook cache on src/), so a sphinx child runs a Jupyter kernel.
    probe = dev_stack.dir / "src" / "fractalkit" / "_stop_probe.py"
    probe.write_text("VALUE = 1\n")
    deadline = time.monotonic() + 300
    while "ipykernel_launcher" not in run(["docker", "top", dev_stack.container("docs")]).stdout:
        assert time.monotonic() < deadline, "the docs server never re-executed a notebook after a src/ edit"
        time.sleep(0.5)
    t0 = time.monotonic()
    try:
        dev_stack.compose("stop")
        print(f"\ndocker compose stop took {time.monotonic() - t0:.1f} s")
        # Every server stopped on SIGTERM (init + exec forward it) within stop_grace_period:
        # a service that ignored it would have been SIGKILLed (exit code 137).
        for svc in ("streamlit", "jupyter", "docs"):
            cid = dev_stack.compose("ps", "-aq", svc).stdout.strip()
            code = run(["docker", "inspect", cid, "--format", "{{.State.ExitCode}}"]).stdout.strip()
            assert code != "137", f"{svc} was SIGKILLed instead of stopping on SIGTERM"
    finally:  # the stack is shared with the tests that follow
        probe.unlink()
        dev_stack.compose("start")
        dev_stack.compose("up", "--wait", "--detach")


def test_bad_settings_stop_up_in_its_terminal_and_touch_nothing_running(dev_stack):
    """Tried as a new user would: wrong values (here from the shell, which Compose reads over
    .env) while the stack runs. `up --wait` stops with every reason in its own output (the
    settings service's build step), before any image is replaced or any container recreated:
    the running stack keeps serving."""
    def containers():
        return {svc: run(["docker", "inspect", dev_stack.container(svc), "--format",
                          "{{.Id}} {{.State.StartedAt}} {{.State.Status}}"]).stdout.strip()
                for svc in ("streamlit", "jupyter", "docs")}
    before = containers()
    bad = {"HOST_UID": "me", "BIND_ADDRESS": "0.0.0.0", "ALLOWED_HOSTS": "", "STREAMLIT_APP": "julia",
           "MAX_UPLOAD_MB": "0", "NB_EXECUTION_MODE": "sometimes", "STREAMLIT_PORT": "eighty", "JUPYTER_PORT": "70000",
           "JUPYTER_TOKEN": "Zq3x"}  # a secret: checked too (a BuildKit secret), never shown
    out = dev_stack.compose("up", "--build", "--wait", "--detach", check=False, timeout=600, env=bad)
    said = out.stdout + out.stderr
    assert out.returncode != 0, said[-3000:]
    for message in ("HOST_UID=me must be a whole number", "BIND_ADDRESS=0.0.0.0 publishes the ports beyond this "
                    "machine: set ALLOWED_HOSTS", "STREAMLIT_APP=julia is not a page", "did you mean "
                    "STREAMLIT_APP=julia.py?", "MAX_UPLOAD_MB=0 must be a whole number of at least 1",
                    "NB_EXECUTION_MODE=sometimes must be cache, force or off", "nothing was started or changed",
                    "STREAMLIT_PORT=eighty must be a whole number from 1 to 65535",
                    "JUPYTER_PORT=70000 must be a whole number from 1 to 65535",
                    "JUPYTER_TOKEN is too short (4 characters"):
        assert message in said, (message, said[-3000:])
    assert "Zq3x" not in said
    assert containers() == before  # same containers, never restarted
    # `up` of one named service too (the settings check is a dependency of each)
    out = dev_stack.compose("up", "--wait", "--detach", "jupyter", check=False, timeout=600, env={"HOST_UID": "me"})
    assert out.returncode != 0 and "HOST_UID=me must be a whole number" in out.stdout + out.stderr, out.stderr[-3000:]
    assert containers() == before
    assert requests.get(dev_stack.url("streamlit", "/_stcore/health"), timeout=30).text == "ok"


def test_each_up_leaves_no_image_behind(dev_stack):
    """Every `up` builds the settings check afresh (its values and secrets can change): the
    image it tags is the same each time, so no untagged image piles up, even with new values."""
    def untagged():
        return run(["docker", "images", "-q", "--filter", "dangling=true",
                    "--filter", f"label=com.docker.compose.project={dev_stack.name}"]).stdout.split()
    before = untagged()
    for replicas in ("3", "4"):  # another value each time (read by Swarm only: nothing is recreated)
        dev_stack.compose("up", "--wait", "--detach", "streamlit", timeout=600, env={"DOCS_REPLICAS": replicas})
    assert untagged() == before


@pytest.mark.parametrize("variable, service", [("NOTEBOOKS_DIR", "jupyter"), ("DOCS_DIR", "docs")])
def test_a_folder_named_in_env_that_does_not_exist_is_named_and_never_created(dev_stack, variable, service):
    """Docker creates a missing bind source owned by root (a workspace the user cannot write):
    the stack refuses to start the service and names the folder instead."""
    out = dev_stack.compose("run", "--rm", "--no-deps", service, "true", check=False, timeout=120,
                            env={variable: "./no-such-folder"})
    assert out.returncode != 0
    assert "bind source path does not exist" in out.stderr and "no-such-folder" in out.stderr, out.stderr
    assert not (dev_stack.dir / "no-such-folder").exists()
