"""End-to-end: one set of images serves a checkout of any owner, with no .env.

Checkouts owned by 1000:1000, 1001:1001, 501:20 (macOS: GID 20 is Debian's dialout) and 0:0
come up with plain `docker compose up --wait` on the SAME image IDs. What the servers write into
the bind mounts belongs to the checkout's owner; no server runs with a capability; named
volumes stay usable after the owner changes. Production built and run as 501:20 is tested on
the shared ``prod`` stack (tests/conftest.py, tests/stack/test_prod_stack.py).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests

from utils.commands import run, wait_for
from utils.processes import credentials
from utils.project import jupyter_session, project

pytestmark = [pytest.mark.e2e, pytest.mark.root]

OWNERS = [(1000, 1000), (1001, 1001), (501, 20), (0, 0)]
SERVICES = ("streamlit", "jupyter", "docs")
NOTEBOOK = {"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}


def _image_ids(images: list[str]) -> dict[str, str]:
    return {i: run(["docker", "image", "inspect", i, "--format", "{{.Id}}"]).stdout.strip() for i in images}


@pytest.fixture(scope="module")
def shared_images(docker_engine, python_image, scratch):
    """The dev images, built once; every owner's checkout runs on exactly these."""
    with project(scratch, python_image, "imgs", owner=(1000, 1000)) as p:
        p.compose("build", timeout=2400)
        yield p.env["IMAGE_REPO"], p.env["IMAGE_TAG"], _image_ids(p.images())


def _up_as(new_project, owner, shared_images, **env):
    """Start a checkout owned by ``owner`` on the shared images (which its cleanup at the test's
    teardown leaves: keep_images). The docs render the stored notebook outputs
    (NB_EXECUTION_MODE=off): executing them is tested elsewhere, and here it would only repeat a
    minute of work per owner."""
    env.setdefault("NB_EXECUTION_MODE", "off")
    repo, tag, _ = shared_images
    p = new_project(f"own{owner[0]}", owner=owner, keep_images=True, IMAGE_REPO=repo, IMAGE_TAG=tag, **env)
    p.compose("up", "--wait", "--detach", "--pull", "never", timeout=600)
    return p


@pytest.mark.parametrize("owner", OWNERS, ids=[f"{u}:{g}" for u, g in OWNERS])
def test_checkout_owner_is_the_user_with_the_same_images(owner, shared_images, new_project):
    uid, gid = owner
    p = _up_as(new_project, owner, shared_images)
    # The same images, whoever owns the checkout: nothing was rebuilt.
    expected = shared_images[2]
    for svc in SERVICES:
        image_id = run(["docker", "inspect", p.container(svc), "--format", "{{.Image}}"]).stdout.strip()
        assert image_id == expected[f"{p.env['IMAGE_REPO']}/{svc}:{p.env['IMAGE_TAG']}"], svc

    # A notebook saved through Jupyter's API in the workspace belongs to the checkout's owner.
    s = jupyter_session(p)
    r = s.put(p.url("jupyter", "/api/contents/notebooks/owned.ipynb"), json=NOTEBOOK, timeout=30)
    assert r.status_code in (200, 201), r.text
    st = (p.dir / "notebooks" / "owned.ipynb").stat()
    assert (st.st_uid, st.st_gid) == owner

    # Streamlit and the docs work.
    assert requests.get(p.url("streamlit", "/_stcore/health"), timeout=10).text == "ok"
    assert requests.get(p.url("docs", "/"), timeout=30).status_code == 200

    # Every process but the init runs as the owner, and none holds a capability.
    for svc in SERVICES:
        procs = credentials(p.container(svc))
        # (not the init, nor the transient processes of a healthcheck being started)
        servers = [x for x in procs if not any(t in x["cmd"] for t in ("docker-init", "runc init",
                                                                      "fractal-healthcheck"))]
        assert servers, (svc, procs)
        for proc in servers:
            assert (proc["uid"], proc["gid"]) == (str(uid), str(gid)), (svc, proc)
            assert int(proc["capeff"], 16) == 0, (svc, proc)
    logs = p.compose("logs", "jupyter").stdout
    assert f"running as UID {uid}" in logs
    assert "not writable" not in logs
    assert s.get(p.url("jupyter", "/lab/api/update"), timeout=30).json()["notification"] is None


def test_named_volumes_follow_an_owner_change(shared_images, new_project):
    """The same project (same named volumes) started by one owner, then another."""
    p = _up_as(new_project, (1000, 1000), shared_images)
    p.compose("exec", "-T", "streamlit", "python", "-c",
              "import fractalkit as f; f.mandelbrot(f.Viewport(0, 0, 3, 8, 8), 10)")
    p.compose("down", "--timeout", "5")  # keep the volumes
    for path in [p.dir, *p.dir.rglob("*")]:
        shutil.chown(path, 1001, 1001)
    p.compose("up", "--wait", "--detach", "--pull", "never", timeout=600)
    owners = p.compose("exec", "-T", "-u", "app", "docs", "sh", "-c",
                       "find /var/cache/numba /var/cache/docs ! -user 1001 | wc -l; "
                       "touch /var/cache/numba/probe /var/cache/docs/probe && echo WROTE").stdout
    assert owners.split() == ["0", "WROTE"], owners


@pytest.mark.browser
def test_unwritable_checkout_is_reported_and_jupyterlab_cannot_save(shared_images, page, new_project):
    """The negative control: HOST_UID names a user who cannot write the checkout. The log and
    JupyterLab say so at start, and saving in JupyterLab fails (what a wrong owner looked like
    before: the same save succeeds for the real owner in the test below)."""
    p = _up_as(new_project, (501, 20), shared_images, HOST_UID="4242", HOST_GID="4242")
    # The checkout itself is never chowned.
    st = (p.dir / "notebooks").stat()
    assert (st.st_uid, st.st_gid) == (501, 20)
    logs = p.compose("logs", "jupyter").stdout
    # ... with its owner, and advice that fits: HOST_UID chose the user, so setting it is not the fix.
    fix = "HOST_UID/HOST_GID in .env chose 4242:4242: give the folder to 4242:4242 on the host"
    assert "/srv/work/notebooks is not writable by UID 4242" in logs and "It belongs to 501:20." in logs, logs[-3000:]
    assert fix in logs and "or set HOST_UID" not in logs, logs[-3000:]
    # JupyterLab's own notification says so ...
    note = jupyter_session(p).get(p.url("jupyter", "/lab/api/update"), timeout=30).json()["notification"]
    assert note and "/srv/work/notebooks is not writable by UID 4242" in note["message"], note
    assert "It belongs to 501:20." in note["message"] and fix in note["message"], note
    # ... and a save from the browser does not reach the disk.
    assert _saved_in_jupyterlab(p, page) is None


@pytest.mark.browser
def test_jupyterlab_saves_notebooks_for_a_mac_owner(shared_images, page, new_project):
    p = _up_as(new_project, (501, 20), shared_images)
    saved = _saved_in_jupyterlab(p, page)
    assert saved is not None, "Ctrl+S in JupyterLab wrote no checkpoint"
    assert (saved.st_uid, saved.st_gid) == (501, 20)


def _saved_in_jupyterlab(p, page):
    """Copy a teaching notebook into the workspace as the checkout's owner, open it in JupyterLab
    and press Ctrl+S. The stat of the checkpoint the save writes next to it, or None if none
    appeared within 20 s."""
    mine = p.dir / "notebooks" / "mine.ipynb"
    shutil.copy2(p.dir / "docs" / "notebooks" / "01-escape-time.ipynb", mine)
    st = (p.dir / "notebooks").stat()
    os.chown(mine, st.st_uid, st.st_gid)
    page.goto(p.url("jupyter", f"/lab/tree/notebooks/mine.ipynb?token={p.token}"),
              wait_until="domcontentloaded")
    cell = page.locator(".jp-Notebook .jp-CodeCell").first
    cell.wait_for(timeout=120_000)
    page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").first.wait_for(timeout=120_000)
    cell.click()
    page.keyboard.press("Control+s")
    checkpoint = p.dir / "notebooks" / ".ipynb_checkpoints" / "mine-checkpoint.ipynb"
    try:
        wait_for(checkpoint.exists, timeout=20, what="the checkpoint of a save")
    except AssertionError:
        return None
    return checkpoint.stat()


def test_docs_polling_switch_reaches_the_watcher_and_rebuilds(shared_images, new_project):
    """DOCS_FILE_WATCHER=poll (Docker Desktop on Windows/macOS: no inotify events from host
    folders) makes sphinx-autobuild's watcher (watchfiles) poll; an edit is still rebuilt."""
    p = _up_as(new_project, (1000, 1000), shared_images, DOCS_FILE_WATCHER="poll")
    top = run(["docker", "top", p.container("docs"), "-o", "pid,args"]).stdout
    # (the python process itself: the init's command line quotes the whole `sh -c` string too)
    pid = next(line.split()[0] for line in top.splitlines()
               if line.split()[1:2] == ["/opt/venv/bin/python"] and "sphinx-autobuild" in line)
    environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    assert b"WATCHFILES_FORCE_POLLING=true" in environ
    page = p.dir / "docs" / "quickstart.md"
    page.write_text(page.read_text() + "\n\nPolling probe 7f3a.\n")
    wait_for(lambda: "Polling probe 7f3a" in requests.get(p.url("docs", "/quickstart.html"), timeout=10).text,
             timeout=180, what="the docs server to rebuild the edited page")
