"""End-to-end in a real browser: what is edited on the host shows without a rebuild of the images:
an app re-renders, and the live docs say when a published notebook fails and when it is fixed."""
from __future__ import annotations

import re
import time
import uuid

import pytest
import requests

from utils.browser import RENDER_TIMEOUT_MS, wait_until_streamlit_is_idle
from utils.commands import wait_for
from utils.offline import wait_shown
from utils.notebooks import FOREIGN_KERNEL, KERNEL_NOTICE, notebook, write_notebook
from utils.paths import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_editing_an_app_on_the_host_is_picked_up(dev_stack, page):
    images_before = set(dev_stack.images())
    page.goto(dev_stack.url("streamlit"), wait_until="domcontentloaded")
    wait_shown(page, "h1:has-text('Branching tree')", RENDER_TIMEOUT_MS, reload_after_ms=120_000)
    wait_until_streamlit_is_idle(page, page.get_by_text(re.compile(r"^Depth \d+, \d+ branches")), RENDER_TIMEOUT_MS)
    app = dev_stack.dir / "apps" / "branching_tree.py"
    src = app.read_text()
    assert 'st.title("Branching tree")' in src
    try:
        app.write_text(src.replace('st.title("Branching tree")', 'st.title("Edited on the host")'))
        # runOnSave: the open session re-runs by itself, no reload, no rebuild
        page.get_by_role("heading", name=re.compile("Edited on the host")).wait_for(timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "streamlit-live-edit.png"))
    finally:
        app.write_text(src)
    assert set(dev_stack.images()) == images_before


def test_a_failing_published_notebook_is_named_on_every_page_until_fixed(dev_stack, page):
    """A published notebook (docs/notebooks/, from another project: a kernel name the image lacks)
    breaks on the host. The open page reloads with a banner naming the notebook, the cell and the
    error, every other page shows it too, and it goes away by itself once the file is fixed."""
    marker = uuid.uuid4().hex[:10]
    path = dev_stack.dir / "docs" / "notebooks" / "99-probe.ipynb"
    url = dev_stack.url("docs", "/notebooks/99-probe.html")
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - 1))

    def report():
        return requests.get(dev_stack.url("docs", "/_build-report.json"), timeout=10).json()

    def publish(*code):
        write_notebook(path, notebook("Probe", "x = 6 * 7", *code, kernel=FOREIGN_KERNEL), owner=path.parent)

    banner = page.locator("#build-report")
    try:
        publish(f"print('ok {marker}', x)")
        wait_for(lambda: f"ok {marker} 42" in requests.get(url, timeout=10).text, timeout=300, interval=2,
                 what="the new notebook's page")
        assert KERNEL_NOTICE in dev_stack.compose("logs", "--since", since, "docs").stdout
        page.goto(url, wait_until="networkidle")
        assert banner.count() == 0

        publish(f"raise ValueError('broken {marker}')")
        banner.wait_for(timeout=300_000)  # the open page reloads itself after the rebuild
        text = banner.inner_text()
        assert "notebooks/99-probe.ipynb" in text and "cell 3" in text and f"ValueError: broken {marker}" in text, text
        page.screenshot(path=str(ARTIFACTS / "docs-build-failed.png"))
        page.goto(dev_stack.url("docs", "/quickstart.html"), wait_until="load")
        banner.wait_for(timeout=30_000)

        publish(f"print('fixed {marker}', x)")
        banner.wait_for(state="detached", timeout=300_000)  # the open page reloads: no banner
        assert report()["ok"]
        page.goto(url, wait_until="networkidle")
        assert f"fixed {marker} 42" in page.content() and banner.count() == 0

        path.unlink()  # unpublished: its page goes too, not only its link
        wait_for(lambda: requests.get(url, timeout=10).status_code == 404, timeout=300, interval=2,
                 what="the deleted notebook's page to go")
    finally:
        path.unlink(missing_ok=True)
        wait_for(lambda: report()["ok"] and "99-probe" not in requests.get(dev_stack.url("docs", "/"), timeout=10).text,
                 timeout=300, interval=2, what="the docs without the probe notebook")
