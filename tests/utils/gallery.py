"""The gallery's pages, from their one home (apps/_shared.py, PAGES), for tests and benchmarks."""
from __future__ import annotations

import sys
from pathlib import Path

from .paths import ROOT

__all__ = ["APPS_DIR", "HOME", "PAGES", "TITLES", "URL_PATHS"]

APPS_DIR = ROOT / "apps"
if str(APPS_DIR) not in sys.path:  # as Streamlit runs them: the apps' folder on the path
    sys.path.insert(0, str(APPS_DIR))

from _shared import PAGES  # noqa: E402

#: The home page, served at "/" (it also routes to the others).
HOME = "branching_tree.py"
#: Sidebar titles of the pages besides the home page, in navigation order.
TITLES = [title for _, title, _ in PAGES]
#: URL path of every page; "" is the home page.
URL_PATHS = ["", *sorted(Path(file).stem for file, _, _ in PAGES)]
