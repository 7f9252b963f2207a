"""The gallery's pages, from their one home (apps/gallerykit/navigation.py), for tests and benchmarks."""
from __future__ import annotations

import sys
from pathlib import Path

from .paths import ROOT

__all__ = ["APPS", "APPS_DIR", "ENTRY", "HOME", "PAGE_FILES", "PAGES", "TIMEOUT", "TITLES", "URL_PATHS",
           "assert_ok", "coerce", "controls", "start"]

APPS_DIR = ROOT / "apps"
if str(APPS_DIR) not in sys.path:  # as Streamlit runs the entry file: its folder on the path,
    # but last, so that a page's name (apps/fbm.py) never hides a package of the same name (fbm).
    sys.path.append(str(APPS_DIR))

from gallerykit import DEFAULT_HOME, PAGES  # noqa: E402

#: The entry file, which only routes.
ENTRY = "gallery.py"
#: The home page, served at "/" by default.
HOME = DEFAULT_HOME
#: Every page's file, in navigation order (the home page first).
PAGE_FILES = [p.file for p in PAGES]
#: Sidebar titles of the pages besides the home page, in navigation order.
TITLES = [p.title for p in PAGES if p.file != HOME]
#: URL path of every page; "" is the home page.
URL_PATHS = ["", *sorted(Path(p.file).stem for p in PAGES if p.file != HOME)]
#: Every page's file, sorted (the entry file, which only routes, is not a page).
APPS = sorted(PAGE_FILES)
#: Seconds one AppTest script run may take (numba compiles on a page's first run).
TIMEOUT = 180


def start(app: str):
    """An AppTest of ``app`` (a file under apps/, or a path) after its first run, which raised nothing."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(APPS_DIR / app), default_timeout=TIMEOUT)
    at.run()
    assert_ok(at)
    return at


def assert_ok(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def controls(at):
    """(widget, min value, max value) for every bounded control on the page a visitor can change
    now (a disabled one, such as the explorer's iterations while they follow the depth, is not)."""
    out = []
    for s in at.slider:
        out.append((s, s.min, s.max) if not isinstance(s.value, (tuple, list)) else (s, (s.min, s.min), (s.max, s.max)))
    for n in at.number_input:
        if n.min is not None and n.max is not None:
            out.append((n, n.min, n.max))
    for s in at.select_slider:
        opts = s.options
        if isinstance(s.value, (tuple, list)):
            out.append((s, (opts[0], opts[2]), (opts[-3], opts[-1])))
        else:
            out.append((s, opts[0], opts[-1]))
    for s in [*at.selectbox, *at.radio]:
        out.append((s, s.options[0], s.options[-1]))
    for c in [*at.checkbox, *at.toggle]:
        out.append((c, False, True))
    return [(w, lo, hi) for w, lo, hi in out if not w.disabled]


def coerce(w, label):
    """A selectbox/radio option as the widget's type (AppTest hands options back as strings)."""
    try:
        return type(w.value)(label) if w.value is not None else label
    except (TypeError, ValueError):
        return label
