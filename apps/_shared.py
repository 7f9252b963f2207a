"""Helpers shared by the gallery apps (not a page: the leading underscore keeps it out)."""
from __future__ import annotations

import contextlib
from pathlib import Path

import streamlit as st

from fractalkit.limits import WorkLimitError

APPS_DIR = Path(__file__).resolve().parent

#: Gallery pages (file, title, icon), in navigation order; the tree is the home page.
PAGES = [
    ("mandelbrot.py", "Mandelbrot explorer", ":material/blur_on:"),
    ("julia.py", "Julia sets", ":material/auto_awesome:"),
    ("pythagoras.py", "Pythagoras tree", ":material/account_tree:"),
    ("ifs.py", "IFS: fern & Sierpinski", ":material/eco:"),
    ("lsystems.py", "L-systems", ":material/gesture:"),
    ("dla.py", "DLA growth", ":material/ac_unit:"),
    ("fbm.py", "fBm surfaces", ":material/landscape:"),
    ("box_counting.py", "Box-counting analysis", ":material/grid_on:"),
]


def page_config(title: str) -> None:
    """``st.set_page_config`` that tolerates being called again under ``st.navigation``."""
    with contextlib.suppress(Exception):
        st.set_page_config(page_title=f"{title} · fractal-notebooks", page_icon="🌿", layout="wide")


@contextlib.contextmanager
def guarded():
    """Turn a capped or invalid request into a clear message instead of a crash."""
    try:
        yield
    except WorkLimitError as exc:
        st.error(f"That request is too large: {exc}.")
        st.stop()
    except ValueError as exc:
        st.error(f"Invalid input: {exc}")
        st.stop()
