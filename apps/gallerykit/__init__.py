"""Helpers of the Streamlit gallery's pages (``apps/``): navigation, page setup, figures, shared results.

Not a page: Streamlit puts the entry file's folder (``apps/``) on ``sys.path``, so pages
``import gallerykit``; the tests and benchmarks do the same in one place, tests/utils/gallery.py.
"""
from .figures import COLORMAPS, fig_png, local_slopes_figure, loglog_figure, plotly_colorscale
from .navigation import APPS_DIR, DEFAULT_HOME, PAGES, GalleryPage, UnknownPageError, home_page, navigation_pages
from .page import guarded, page_config
from .results import SharedResults, shared_results

__all__ = ["APPS_DIR", "COLORMAPS", "DEFAULT_HOME", "PAGES", "GalleryPage", "SharedResults", "UnknownPageError",
           "fig_png", "guarded", "home_page", "local_slopes_figure", "loglog_figure", "navigation_pages", "page_config",
           "plotly_colorscale", "shared_results"]
