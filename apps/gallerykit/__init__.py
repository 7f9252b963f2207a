"""Helpers of the Streamlit gallery's pages (``apps/``): navigation, page setup, figures, shared results.

Not a page: Streamlit puts the entry file's folder (``apps/``) on ``sys.path``, so pages
``import gallerykit``; the tests and benchmarks do the same in one place, tests/utils/gallery.py.

Every session imports this package before its page runs (the entry file does), and Python makes
a second session wait until the first one's import of it is complete. So the libraries that
another library looks up in ``sys.modules`` without importing them are imported here, whole:
plotly's ``is_homogeneous_array`` takes ``sys.modules["pandas"]`` as it finds it, and while one
session's page was still importing pandas, another's plotly figure failed with "partially
initialized module 'pandas' has no attribute 'Series'" (20 sessions on a freshly started server).
"""
import pandas  # noqa: F401  (whole before any page runs: see above)

from .caching import cache_data, cache_resource
from .figures import (COLORMAPS, MAX_DISPLAY_WIDTH, display_png, fig_png, local_slopes_figure, loglog_figure,
                      plotly_colorscale, shared_figure, show_png)
from .navigation import APPS_DIR, DEFAULT_HOME, PAGES, GalleryPage, UnknownPageError, home_page, navigation_pages
from .page import collect_garbage, freeze_startup_heap, guarded, page_config
from .results import SharedResults, shared_results

__all__ = ["APPS_DIR", "COLORMAPS", "DEFAULT_HOME", "MAX_DISPLAY_WIDTH", "PAGES", "GalleryPage", "SharedResults",
           "UnknownPageError", "cache_data", "cache_resource", "collect_garbage", "display_png", "fig_png",
           "freeze_startup_heap", "guarded", "home_page", "local_slopes_figure", "loglog_figure", "navigation_pages",
           "page_config", "plotly_colorscale", "shared_figure", "shared_results", "show_png"]
