"""``st.cache_data`` and ``st.cache_resource`` for the functions a page script defines, decorated once
per process instead of on every run.

A page script runs from the top on every run of every session, so each ``@st.cache_data``
in it builds a new cached-function object each time, and Streamlit keys that object's cache
by reading the function's source again (``inspect.getsource``, which tokenizes the script):
0.3-1 ms of the interpreter lock per function per run, 1-3 ms per run of a page with several.
Streamlit compiles each script once and reuses its code objects on every run
(``ScriptCache``), so a function's code object names it exactly: the cached function made for
the first run is reused for the same code object ever after, and each run's call of it runs
that run's own function (its globals are that run's: nothing of an earlier run is kept). An
edited script is compiled anew, so its functions are decorated anew.
"""
from __future__ import annotations

import functools
import inspect
import threading
from types import CodeType
from typing import Any, Callable

import streamlit as st

__all__ = ["cache_data", "cache_resource", "decorate_once"]

_decorated: dict[tuple[str, int], tuple[CodeType, Any]] = {}  # (kind, id of code) -> (code, decorated)
_lock = threading.Lock()


def decorate_once(kind: str, decorator: Callable[[Callable], Any], func: Callable) -> Callable:
    """``decorator(func)``, made once per code object of ``func`` and process, called with each run's ``func``.

    Parameters
    ----------
    kind : str
        Names the decorator ("cache_data", "cache_resource"...): one entry per kind and code.
    decorator : callable
        A decorator such as ``st.cache_data(max_entries=16)``, the same one every time for this
        ``func``'s code (as it is when both come from one compiled script). It must pass a
        keyword argument whose name starts with "_" to the function unhashed, as Streamlit's
        caches do. Kept while the process lives (scripts edited in the dev loop leave their
        old entries behind: a few kB each).
    func : function
        The function a script defines (in a file, so that its source can be read).

    Returns
    -------
    callable
        Calls the decorated function with ``func`` to run on a cache miss; has the decorated
        function's ``clear``.
    """
    key = (kind, id(func.__code__))
    with _lock:
        entry = _decorated.get(key)
        if entry is None:  # the stored code object keeps its id from being reused while the entry exists
            run = _runs_the_given(func)
            entry = _decorated[key] = (func.__code__, decorator(run))  # Streamlit reads the source here,
            del run.__wrapped__  # through __wrapped__: then nothing keeps this first run's function
    decorated = entry[1]

    @functools.wraps(func)
    def this_run(*args, **kwargs):
        return decorated(*args, _run=func, **kwargs)

    this_run.clear = decorated.clear
    return this_run


def _runs_the_given(func: Callable) -> Callable:
    """A function that calls the function it is given as ``_run``, and that Streamlit's caches see
    as ``func``: same name, source (read once, while decorating) and signature."""

    def run(*args, _run: Callable, **kwargs):
        return _run(*args, **kwargs)

    functools.update_wrapper(run, func)
    run.__signature__ = inspect.signature(func)  # its argument names, for the cache key, after __wrapped__ goes
    return run


def cache_data(**options) -> Callable[[Callable], Any]:
    """``@st.cache_data(**options)`` for a function defined in a page script, decorated once.

    Parameters
    ----------
    **options
        Keyword arguments of ``st.cache_data`` (``max_entries``, ``show_spinner``...).

    Returns
    -------
    callable
        A decorator: see :func:`decorate_once`.
    """
    return lambda func: decorate_once("cache_data", st.cache_data(**options), func)


def cache_resource(**options) -> Callable[[Callable], Any]:
    """``@st.cache_resource(**options)`` for a function defined in a page script, decorated once.

    Parameters
    ----------
    **options
        Keyword arguments of ``st.cache_resource`` (``max_entries``, ``show_spinner``...).

    Returns
    -------
    callable
        A decorator: see :func:`decorate_once`.
    """
    return lambda func: decorate_once("cache_resource", st.cache_resource(**options), func)
