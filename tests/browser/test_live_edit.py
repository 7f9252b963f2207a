"""End-to-end in a real browser: an app edited on the host re-renders without a rebuild."""
from __future__ import annotations

import re

import pytest

from utils.browser import wait_until_streamlit_is_idle
from utils.paths import ARTIFACTS

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_editing_an_app_on_the_host_is_picked_up(dev_stack, page):
    images_before = set(dev_stack.images())
    page.goto(dev_stack.url("streamlit"), wait_until="domcontentloaded")
    page.get_by_role("heading", name=re.compile("Branching tree")).wait_for(timeout=60_000)
    wait_until_streamlit_is_idle(page, page.get_by_text(re.compile(r"^Depth \d+, \d+ branches")))
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
