"""The gallery's pages, in one place: the entry file routes to them, the tests import them."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

__all__ = ["APPS_DIR", "DEFAULT_HOME", "PAGES", "GalleryPage", "UnknownPageError", "home_page", "navigation_pages"]

#: The folder of the entry file and the pages (``/app/apps`` in the images).
APPS_DIR = Path(__file__).resolve().parent.parent


class GalleryPage(NamedTuple):
    """One page of the gallery: its file under ``apps/``, sidebar title and icon."""

    file: str
    title: str
    icon: str


#: Every page, in navigation order. Emoji icons, not ``:material/…:``: Streamlit sets a Material
#: icon as the favicon by fetching it from fonts.gstatic.com, a third-party request on every visit.
PAGES = [
    GalleryPage("branching_tree.py", "Branching tree", "🌳"),
    GalleryPage("mandelbrot.py", "Mandelbrot explorer", "🌀"),
    GalleryPage("julia.py", "Julia sets", "✨"),
    GalleryPage("pythagoras.py", "Pythagoras tree", "🌲"),
    GalleryPage("ifs.py", "IFS: fern & Sierpinski", "🌿"),
    GalleryPage("lsystems.py", "L-systems", "〰️"),
    GalleryPage("dla.py", "DLA growth", "❄️"),
    GalleryPage("fbm.py", "fBm surfaces", "🏔️"),
    GalleryPage("box_counting.py", "Box-counting analysis", "🔲"),
    GalleryPage("analyse.py", "Analyse your data", "🔬"),
]

#: The page served at ``/`` unless ``STREAMLIT_APP`` names another.
DEFAULT_HOME = "branching_tree.py"


class UnknownPageError(ValueError):
    """``STREAMLIT_APP`` names no page file under ``apps/``."""


def home_page(name: str | None, apps_dir: Path = APPS_DIR) -> str:
    """The file of the page to serve at ``/``.

    Parameters
    ----------
    name : str or None
        ``STREAMLIT_APP``: a file under ``apps_dir`` (a gallery page or one of the user's own),
        or None/empty for :data:`DEFAULT_HOME`.
    apps_dir : pathlib.Path
        The folder that holds the pages.

    Returns
    -------
    str
        A file name relative to ``apps_dir``.

    Raises
    ------
    UnknownPageError
        If ``name`` is not the name of a ``.py`` file in ``apps_dir`` (the message lists the pages).
    """
    if not name or name == "gallery.py":
        return DEFAULT_HOME
    if Path(name).name != name or not name.endswith(".py") or not (apps_dir / name).is_file():
        raise UnknownPageError(f"STREAMLIT_APP={name!r} is not a page under {apps_dir}; "
                               f"the gallery's pages are {', '.join(p.file for p in PAGES)}")
    return name


def navigation_pages(home: str) -> list[GalleryPage]:
    """The pages of the sidebar, ``home`` first.

    Parameters
    ----------
    home : str
        The home page's file (from :func:`home_page`).

    Returns
    -------
    list of GalleryPage
        :data:`PAGES` with ``home`` moved first; a ``home`` that is not one of them (a page of
        the user's own beside them) is added first, titled after its file name.
    """
    pages = [p for p in PAGES if p.file == home] + [p for p in PAGES if p.file != home]
    if pages[0].file != home:  # the user's own page, e.g. a mounted apps/knobs.py
        pages.insert(0, GalleryPage(home, Path(home).stem.replace("_", " ").capitalize(), "📄"))
    return pages
