"""What every gallery page does first (``page_config``) and around its work (``guarded``)."""
from __future__ import annotations

import contextlib
from pathlib import Path

import streamlit as st

from fractalkit.limits import WorkLimitError

__all__ = ["guarded", "page_config"]


def page_config(title: str) -> None:
    """``st.set_page_config`` for the page that runs: called once, by the entry file (``apps/gallery.py``).

    Also drops every ``st.cache_data`` result when the fractalkit source changed since the
    last run (dev loop): the caches key on the apps' code only, not on the kernels they call.

    Parameters
    ----------
    title : str
        The page's title in ``gallerykit.PAGES``, shown in the browser tab as "<title> · fractal-notebooks".
    """
    _forget_results_of_old_kernels()
    st.set_page_config(page_title=f"{title} · fractal-notebooks", page_icon="🌿", layout="wide")


def _kernel_source_stamp() -> tuple:
    import fractalkit

    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size)
                        for p in Path(fractalkit.__file__).parent.glob("*.py")))


@st.cache_resource
def _seen_kernel_source() -> dict:
    return {}


def _forget_results_of_old_kernels() -> None:
    seen, stamp = _seen_kernel_source(), _kernel_source_stamp()
    if seen.get("stamp") not in (None, stamp):
        st.cache_data.clear()
    seen["stamp"] = stamp


@contextlib.contextmanager
def guarded():
    """Turn a capped or invalid request into a clear message instead of a crash.

    A context manager: a :class:`fractalkit.limits.WorkLimitError` ("too large") or a
    ``ValueError`` ("invalid input") raised inside it is shown with ``st.error`` and the page's
    run stops there (``st.stop``); any other exception propagates.
    """
    try:
        yield
    except WorkLimitError as exc:
        st.error(f"That request is too large: {exc}.")
        st.stop()
    except ValueError as exc:
        st.error(f"Invalid input: {exc}")
        st.stop()
