"""End-to-end: JupyterLab's default folder is the user's own workspace; the docs never see it.

Through Jupyter's REST API and kernel websocket, as JupyterLab does it, on the dev stack: what a
researcher does with scratch notebooks (new untitled, a cell that raises, rename, delete to the
trash) and what editors leave in the docs' folder change neither the live docs nor their build.
A notebook naming a kernel the image lacks runs on its Python kernel and says so.
"""
from __future__ import annotations

import re
import shutil
import time
import uuid

import pytest
import requests

from utils.commands import wait_for
from utils.jupyter_ws import execute
from utils.notebooks import FOREIGN_KERNEL, KERNEL_NOTICE, notebook
from utils.project import jupyter_session

pytestmark = pytest.mark.e2e


def test_jupyterlab_opens_in_the_workspace_beside_the_docs(dev_stack):
    s = jupyter_session(dev_stack)
    top = s.get(dev_stack.url("jupyter", "/api/contents"), timeout=30).json()
    assert {c["name"]: c["type"] for c in top["content"]} == {"notebooks": "directory", "docs": "directory"}
    config = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>',
                       s.get(dev_stack.url("jupyter", "/lab"), timeout=30).text, re.S).group(1)
    assert '"preferredPath": "notebooks"' in config.replace("\n", "")
    # The curated notebooks are one folder up, editable.
    listing = s.get(dev_stack.url("jupyter", "/api/contents/docs/notebooks"), timeout=30).json()
    assert "01-escape-time.ipynb" in {c["name"] for c in listing["content"]}
    assert all(c["writable"] for c in listing["content"])
    # Nothing can be saved where no mount would keep it (it would vanish with the container).
    r = s.post(dev_stack.url("jupyter", "/api/contents"), json={"type": "notebook"}, timeout=30)
    assert r.status_code == 403 and "Permission denied" in r.text, r.text


def _docs_rebuilds(project, since: str) -> list[str]:
    """The file lists sphinx-autobuild logged as "Detected changes (...)" since ``since``."""
    logs = project.compose("logs", "--no-log-prefix", "--since", since, "docs").stdout
    return re.findall(r"Detected changes \(([^)]*)\)", logs)


def _published(project) -> set[str]:
    """The notebook pages the docs' home page links to."""
    return set(re.findall(r'href="(notebooks/[^"#]+\.html)"', requests.get(project.url("docs", "/"), timeout=30).text))


def test_scratch_work_in_the_workspace_and_editor_droppings_never_touch_the_docs(dev_stack):
    s = jupyter_session(dev_stack)
    api = dev_stack.url("jupyter", "/api/contents")
    marker = uuid.uuid4().hex[:10]
    published = _published(dev_stack)
    assert len(published) >= 6, published
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    quickstart = dev_stack.dir / "docs" / "quickstart.md"
    original = quickstart.read_text()
    try:
        # A new notebook, as JupyterLab's launcher makes it: untitled, in the default folder.
        untitled = s.post(f"{api}/notebooks", json={"type": "notebook"}, timeout=30).json()["path"]
        assert re.fullmatch(r"notebooks/Untitled\d*\.ipynb", untitled), untitled
        assert (dev_stack.dir / untitled).exists()
        # A notebook whose cell raises, run on a kernel and saved with its error.
        name = f"scratch-{marker}.ipynb"
        bad = notebook("Scratch", f"raise ValueError('{marker}')")
        assert s.put(f"{api}/notebooks/{name}", json={"type": "notebook", "content": bad},
                     timeout=30).status_code == 201
        session = s.post(dev_stack.url("jupyter", "/api/sessions"), timeout=60, json={
            "path": f"notebooks/{name}", "name": name, "type": "notebook", "kernel": {"name": "python3"}}).json()
        try:
            with pytest.raises(RuntimeError, match=marker):
                execute(dev_stack.url("jupyter", ""), dev_stack.token, session["kernel"]["id"],
                        f"raise ValueError('{marker}')")
        finally:
            s.delete(dev_stack.url("jupyter", f"/api/sessions/{session['id']}"), timeout=60)
        bad["cells"][1]["outputs"] = [{"output_type": "error", "ename": "ValueError", "evalue": marker,
                                       "traceback": []}]
        assert s.put(f"{api}/notebooks/{name}", json={"type": "notebook", "content": bad},
                     timeout=30).status_code == 200
        # Renamed, then deleted: JupyterLab's delete moves it to the trash, beside it.
        renamed = f"notebooks/renamed-{marker}.ipynb"
        assert s.patch(f"{api}/notebooks/{name}", json={"path": renamed}, timeout=30).status_code == 200
        assert s.delete(f"{api}/{renamed}", timeout=30).status_code == 204
        assert list(dev_stack.dir.glob(f"notebooks/.Trash-*/files/renamed-{marker}.ipynb"))

        # The same droppings in the docs' own folder: an untitled notebook with a raising cell,
        # a checkpoint, then the untitled one deleted to the docs folder's trash.
        stray = s.post(f"{api}/docs/notebooks", json={"type": "notebook"}, timeout=30).json()["path"]
        assert s.put(f"{api}/{stray}", json={"type": "notebook", "content": bad}, timeout=30).status_code == 200
        assert s.post(f"{api}/docs/notebooks/01-escape-time.ipynb/checkpoints", timeout=30).status_code == 201
        assert s.delete(f"{api}/{stray}", timeout=30).status_code == 204
        assert list(dev_stack.dir.glob("docs/.Trash-*/files/Untitled*.ipynb"))

        # Positive control: an edit of a real page is seen and rebuilt, so the watcher was live.
        quickstart.write_text(original + f"\n\nWatcher probe {marker}.\n")
        wait_for(lambda: marker in requests.get(dev_stack.url("docs", "/quickstart.html"), timeout=10).text,
                 timeout=240, interval=2, what="the docs to rebuild the edited page")
        rebuilds = _docs_rebuilds(dev_stack, since)
        assert rebuilds and all(files.strip() == "docs/quickstart.md" for files in rebuilds), rebuilds
        report = requests.get(dev_stack.url("docs", "/_build-report.json"), timeout=10).json()
        assert report["ok"], report
        assert _published(dev_stack) == published
        assert requests.get(dev_stack.url("docs", "/notebooks/Untitled.html"), timeout=10).status_code == 404
        assert dev_stack.health("docs") == "healthy"
    finally:
        quickstart.write_text(original)
        for leftover in [*dev_stack.dir.glob("notebooks/Untitled*.ipynb"), *dev_stack.dir.glob("*/.Trash-*"),
                         *dev_stack.dir.glob("docs/notebooks/.ipynb_checkpoints")]:
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        wait_for(lambda: "Watcher probe" not in requests.get(dev_stack.url("docs", "/quickstart.html"),
                                                             timeout=10).text,
                 timeout=240, interval=2, what="the docs to rebuild the restored page")


def test_a_notebook_naming_a_missing_kernel_runs_on_python3_with_a_notice(dev_stack):
    s = jupyter_session(dev_stack)
    marker = uuid.uuid4().hex[:10]
    foreign = notebook("From another project", "print(6 * 7)", kernel=FOREIGN_KERNEL)
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    # A client that starts the kernel the notebook names (the REST API, Notebook 7, VS Code), and
    # JupyterLab, which itself picks Python 3 by the notebook's language: both run, both say why.
    for n, kernel in ((1, FOREIGN_KERNEL), (2, "python3")):
        name = f"foreign-{marker}-{n}.ipynb"
        path = f"notebooks/{name}"
        assert s.put(dev_stack.url("jupyter", f"/api/contents/{path}"), timeout=30,
                     json={"type": "notebook", "content": foreign}).status_code == 201
        r = s.post(dev_stack.url("jupyter", "/api/sessions"), timeout=60, json={
            "path": path, "name": name, "type": "notebook", "kernel": {"name": kernel}})
        assert r.status_code == 201, r.text
        session = r.json()
        assert session["kernel"]["name"] == "python3"  # what JupyterLab shows, and records on a save
        try:
            out = execute(dev_stack.url("jupyter", ""), dev_stack.token, session["kernel"]["id"], "print(6 * 7)")
            assert "42" in out and KERNEL_NOTICE in out, (kernel, out)
            again = execute(dev_stack.url("jupyter", ""), dev_stack.token, session["kernel"]["id"], "print(1)")
            assert again.strip() == "1", again  # once per kernel, not under every cell
        finally:
            s.delete(dev_stack.url("jupyter", f"/api/sessions/{session['id']}"), timeout=60)
            s.delete(dev_stack.url("jupyter", f"/api/contents/{path}"), timeout=30)
    assert KERNEL_NOTICE in dev_stack.compose("logs", "--since", since, "jupyter").stdout
    for trash in dev_stack.dir.glob("notebooks/.Trash-*"):
        shutil.rmtree(trash)
