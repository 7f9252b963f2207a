"""End-to-end: notebooks execute in the jupyter image; the docs build (as production builds it) and the docs
service render and live-rebuild them, and a failing build says where and why."""
from __future__ import annotations

import json
import re
import shutil
import time
import uuid
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest
import requests

from utils.commands import run, wait_for
from utils.notebooks import FOREIGN_KERNEL, KERNEL_NOTICE, editor_droppings, notebook, write_notebook
from utils.paths import ROOT

pytestmark = pytest.mark.e2e

NOTEBOOKS = sorted((ROOT / "docs" / "notebooks").glob("*.ipynb"))
BUDGET_S = 180  # per notebook, on a fresh kernel


def test_every_notebook_executes_on_a_fresh_kernel(dev_stack, tmp_path):
    """Every docs notebook, and one from another project that names a kernel the image lacks: it
    runs on the image's Python kernel with a notice, in nbclient and in `jupyter nbconvert`."""
    foreign = write_notebook(tmp_path / "foreign.ipynb", notebook("Foreign", "print(6 * 7)", kernel=FOREIGN_KERNEL))
    foreign.chmod(0o644)
    jupyter_image = dev_stack.images()[2]
    out = run(["docker", "run", "--rm", "--network", "none",
               "-v", f"{dev_stack.dir / 'docs'}:/srv/work/docs:ro", "-v", f"{foreign}:/tmp/in/foreign.ipynb:ro",
               "-v", f"{ROOT / 'tests' / 'data' / 'nbrun.py'}:/tmp/nbrun.py:ro",
               "-e", "NUMBA_CACHE_DIR=/tmp/numba", "-w", "/tmp", jupyter_image,
               "python", "/tmp/nbrun.py", str(BUDGET_S), "/tmp/in/foreign.ipynb",
               *[f"/srv/work/docs/notebooks/{p.name}" for p in NOTEBOOKS]], check=False, timeout=BUDGET_S * 8)
    results = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    print("\n" + "\n".join(f"{r['notebook']:32} {r['seconds']:7.1f} s  {'ok' if r['ok'] else 'FAILED'}" for r in results))
    assert len(results) == len(NOTEBOOKS) + 1, out.stderr[-3000:]
    failed = {r["notebook"]: r["error"] for r in results if not r["ok"]}
    assert not failed, failed
    assert KERNEL_NOTICE in results[0]["stderr"], results[0]
    converted = run(["docker", "run", "--rm", "--network", "none", "-v", f"{foreign}:/tmp/in/foreign.ipynb:ro",
                     "-w", "/tmp", jupyter_image, "jupyter", "nbconvert", "--to", "notebook", "--execute",
                     "--stdout", "/tmp/in/foreign.ipynb"], timeout=300)
    outputs = json.loads(converted.stdout)["cells"][1]["outputs"]
    text = {o["name"]: "".join(o["text"]) for o in outputs if o["output_type"] == "stream"}
    assert text["stdout"] == "42\n" and KERNEL_NOTICE in text["stderr"], outputs


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if a.get(key) and tag in ("a", "img", "link", "script"):
                self.links.append(a[key])


@pytest.fixture(scope="module")
def site(dev_stack, tmp_path_factory):
    """The repository's docs (not the running stack's: tests write there) built as the production
    image builds them (fractal-docs-build), in the dev docs image; the notebooks' execution cache
    and the doctrees are kept for a second build."""
    tmp = tmp_path_factory.mktemp("site")
    src = tmp / "docs"
    shutil.copytree(ROOT / "docs", src, ignore=shutil.ignore_patterns("_build", "jupyter_execute", ".ipynb_checkpoints"))
    mount = tmp / "build"
    mount.mkdir()
    mount.chmod(0o777)

    def build():
        return run(["docker", "run", "--rm", "--network", "none", "-v", f"{src}:/app/docs:ro", "-v", f"{mount}:/out",
                    "-e", "DOCS_OUT=/out", "-e", "DOCS_DOCTREES=/out/doctrees", "-e", "NUMBA_CACHE_DIR=/tmp/numba",
                    dev_stack.images()[3], "fractal-docs-build", "/app/docs", "/out/html"], check=False, timeout=1200)

    return src, mount / "html", build, build()


def test_docs_build_with_warnings_as_errors_and_no_broken_internal_links(site):
    _, out_dir, _, res = site
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    assert not (out_dir / "_build-report.json").exists()  # the live server's, not the site's
    # the theme ships a Jinja template as a static .html file: not a page
    pages = {p: _parse(p) for p in out_dir.rglob("*.html") if "_static" not in p.relative_to(out_dir).parts}
    broken = []
    for page, parser in pages.items():
        for link in parser.links:
            if urlsplit(link).scheme or link.startswith(("//", "mailto:", "javascript:")):
                continue
            target, frag = urldefrag(link)
            target = urlsplit(target).path  # drop ?digest=... cache busters
            path = (page.parent / target).resolve() if target else page
            if not path.exists():
                broken.append(f"{page.relative_to(out_dir)} -> {link}")
            elif frag and path.suffix == ".html" and frag not in (pages.get(path) or _parse(path)).ids:
                broken.append(f"{page.relative_to(out_dir)} -> {link} (no such anchor)")
    assert not broken, broken[:20]


def test_a_failing_build_names_the_file_cell_and_error_in_its_last_lines(site):
    """Beside a published notebook that raises (from another project: a foreign kernel name), what
    editors leave in the docs folder: none of it may reach Sphinx. The build fails, and its last
    lines say where and why; fixed, the notebook builds on the image's Python kernel."""
    src, out_dir, build, first = site
    assert first.returncode == 0
    marker = uuid.uuid4().hex[:10]
    droppings = editor_droppings(src, f"dropping {marker}")
    broken = src / "notebooks" / "98-from-elsewhere.ipynb"
    try:
        write_notebook(broken, notebook("From elsewhere", "x = 6 * 7", f"raise ValueError('broken {marker}')",
                                        kernel=FOREIGN_KERNEL))
        res = build()
        assert res.returncode != 0
        last = (res.stdout + res.stderr).strip().splitlines()[-3:]
        assert any("notebooks/98-from-elsewhere.ipynb, cell 3: ValueError: broken" in line for line in last), last
        log = res.stdout + res.stderr
        assert f"dropping {marker}" not in log and "Untitled" not in log and ".Trash" not in log
        assert KERNEL_NOTICE in log

        write_notebook(broken, notebook("From elsewhere", "x = 6 * 7", f"print('fixed {marker}', x)",
                                        kernel=FOREIGN_KERNEL))
        res = build()
        assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
        assert f"fixed {marker} 42" in (out_dir / "notebooks" / "98-from-elsewhere.html").read_text()
        assert not list(out_dir.rglob("Untitled*.html")) and not list(out_dir.rglob("*checkpoint*.html"))
    finally:
        broken.unlink(missing_ok=True)
        for path in droppings:
            path.unlink()
def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text(errors="replace"))
    return p


@pytest.mark.parametrize("nb", NOTEBOOKS, ids=lambda p: p.stem)
def test_docs_service_renders_each_notebook_with_its_figure(dev_stack, nb):
    url = dev_stack.url("docs", f"/notebooks/{nb.stem}.html")
    r = requests.get(url, timeout=20)
    assert r.status_code == 200
    title = json.loads(nb.read_text())["cells"][0]["source"][0].lstrip("# ").strip()
    assert title.split(":")[0] in r.text
    imgs = re.findall(r'<img[^>]+src="([^"]+\.png)"', r.text)
    assert imgs, "no rendered figure on the page"
    img = requests.get(urljoin(url, imgs[0]), timeout=20)
    assert img.status_code == 200 and img.headers["content-type"] == "image/png" and len(img.content) > 5000


def test_saving_a_notebook_in_jupyter_rebuilds_only_that_page(dev_stack):
    s = requests.Session()
    s.headers["Authorization"] = f"token {dev_stack.token}"
    api = dev_stack.url("jupyter", "/api/contents/docs/notebooks/04-box-counting.ipynb")
    model = s.get(api, params={"content": 1}, timeout=20).json()
    marker = f"Marker {uuid.uuid4().hex[:12]} saved from JupyterLab."
    model["content"]["cells"][0]["source"] += "\n\n" + marker
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))
    r = s.put(api, json={"type": "notebook", "format": "json", "content": model["content"]}, timeout=20)
    assert r.status_code == 200, r.text
    page = dev_stack.url("docs", "/notebooks/04-box-counting.html")
    wait_for(lambda: marker in requests.get(page, timeout=10).text, timeout=240, interval=2,
             what="the docs page to show the edit")
    logs = dev_stack.compose("logs", "--no-log-prefix", "--since", since, "docs").stdout
    executed = set(re.findall(r"Executing: .*?(\d\d-[\w-]+)", logs))
    assert executed <= {"04-box-counting"}, f"unchanged notebooks were re-executed: {executed}"
