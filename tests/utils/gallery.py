"""The gallery's pages, from their one home (apps/gallerykit/navigation.py), for tests and benchmarks."""
from __future__ import annotations

import sys
from pathlib import Path

from .paths import ROOT

__all__ = ["APPS_DIR", "ENTRY", "HOME", "PAGE_FILES", "PAGES", "TITLES", "URL_PATHS"]

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
