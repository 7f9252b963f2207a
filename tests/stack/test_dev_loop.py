"""End-to-end dev loop: editing src/fractalkit on the host, with the dev stack running, re-runs the
open Streamlit page with the new code and re-executes the docs notebooks that import it.

Like tests/stack/test_live_edit.py (which edits apps/), with no restart and no rebuild; the
Streamlit side listens on an open protocol-level session (tests/utils/streamlit_ws.py).
"""
from __future__ import annotations

import tomllib

import pytest
import requests

from utils.commands import wait_for
from utils.paths import ROOT
from utils.streamlit_ws import StreamlitSession

pytestmark = pytest.mark.e2e

# Halves every branch of tree_2d: the home page's tree image changes.
TREE_EDIT = '''

_e2e_original_tree_2d = tree_2d


def tree_2d(*args, **kwargs):  # e2e edit (tests/stack/test_dev_loop.py)
    s = _e2e_original_tree_2d(*args, **kwargs)
    return Segments(s.start, s.start + 0.5 * (s.end - s.start), s.level, s.width)
'''


def test_editing_fractalkit_reruns_the_open_page_with_the_new_code(dev_stack):
    trees = dev_stack.dir / "src" / "fractalkit" / "trees.py"
    original = trees.read_text()
    with StreamlitSession(dev_stack.url("streamlit", "").rstrip("/"), timeout=180) as s:
        before = s.run_page("")
        assert before.ok and before.media, before.errors
        try:
            trees.write_text(original + TREE_EDIT)
            edited = s.next_run("")  # the server re-runs the open page by itself
            assert edited.ok, edited.errors
            assert edited.signature != before.signature, "the page re-ran with the old kernel code"
        finally:
            trees.write_text(original)
        restored = s.next_run("")
        assert restored.ok and restored.signature == before.signature


def test_editing_a_value_a_cached_function_reads_reruns_the_page_with_it(dev_stack):
    """A page's module-level value read inside one of its cached functions: Streamlit keys the
    cache on the function's own source and arguments, so the edited value showed the old picture
    (a new-user trial) until the gallery dropped its caches on every source change."""
    app = dev_stack.dir / "apps" / "branching_tree.py"
    original = app.read_text()
    assert "figsize=(7, 7)" in original and "MAX_DEPTH_3D = 10\n" in original
    with StreamlitSession(dev_stack.url("streamlit", "").rstrip("/"), timeout=180) as s:
        assert s.run_page("").ok
        try:
            app.write_text(original.replace("figsize=(7, 7)", "figsize=(INCHES, INCHES)")
                           .replace("MAX_DEPTH_3D = 10\n", "MAX_DEPTH_3D = 10\nINCHES = 7\n"))
            before = s.next_run("")
            assert before.ok and before.media, before.errors
            app.write_text(app.read_text().replace("INCHES = 7\n", "INCHES = 3\n"))  # the function's source as it was
            after = s.next_run("")
            assert after.ok, after.errors
            assert after.signature != before.signature, "the page showed the picture made with the old value"
        finally:
            app.write_text(original)
        assert s.next_run("").ok


def test_editing_fractalkit_re_executes_the_docs_notebooks(dev_stack):
    init = dev_stack.dir / "src" / "fractalkit" / "__init__.py"
    original = init.read_text()
    page = dev_stack.url("docs", "/notebooks/01-escape-time.html")
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert f"fractalkit {version} ·" in requests.get(page, timeout=30).text
    try:
        edited = original.replace('__version__ = _version("fractalkit")', '__version__ = _version("fractalkit") + "+edited"')
        assert edited != original
        init.write_text(edited)
        # The notebook prints fractalkit.__version__: its new output proves it was re-executed.
        wait_for(lambda: f"fractalkit {version}+edited ·" in requests.get(page, timeout=30).text, timeout=900,
                 interval=5, what="the docs notebook to show the edited fractalkit")
    finally:
        init.write_text(original)
    wait_for(lambda: f"fractalkit {version} ·" in requests.get(page, timeout=30).text, timeout=900, interval=5,
             what="the docs notebook to show the restored fractalkit")
