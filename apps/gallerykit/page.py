"""What every gallery page does first (``page_config``) and around its work (``guarded``)."""
from __future__ import annotations

import contextlib
import gc
import importlib
import threading
import time
from pathlib import Path

import streamlit as st

from fractalkit.limits import WorkLimitError

__all__ = ["SHARED_LIBRARIES", "COLLECT_INTERVAL", "collect_garbage", "freeze_startup_heap", "guarded", "page_config"]


def page_config(title: str) -> None:
    """``st.set_page_config`` for the page that runs: called once, by the entry file (``apps/gallery.py``).

    In the dev loop (Streamlit watching the sources), also drops every cached result and
    figure when a source of the gallery (``apps/``) or of fractalkit changed since the last
    run: Streamlit keys a cached function on its own source and arguments only, not on the
    kernels it calls or the module-level values it reads (a page's ``PREVIEW_SIDE = 512``
    edited to 200 left the old pictures). A computation already running when the source
    changed still stores its result, made by the old code. Production watches nothing and
    skips the check.

    Parameters
    ----------
    title : str
        The page's title in ``gallerykit.PAGES``, shown in the browser tab as "<title> · fractal-notebooks".
    """
    _forget_results_of_old_code()
    st.set_page_config(page_title=f"{title} · fractal-notebooks", page_icon="🌿", layout="wide")


#: The libraries the pages import, loaded before :func:`freeze_startup_heap` freezes the heap.
SHARED_LIBRARIES = ("numpy", "pandas", "matplotlib.pyplot", "plotly.graph_objects", "PIL.Image", "fractalkit")
_freeze_lock = threading.Lock()
_frozen = False


def _first_numba_compilation() -> None:
    """Build numba's typing and target contexts, as a process's first compilation (or cache
    load) of any kernel does: some 50 000 objects that every kernel call uses from then on."""
    import numba

    numba.njit(lambda x: x + 1)(1)


def freeze_startup_heap() -> bool:
    """Exempt what every run shares from the garbage collection after each run; once per process.

    A full collection, ``gc.collect(2)``, follows page runs (Streamlit's ``runner.postScriptGC``
    after every run; here :func:`collect_garbage`, at most once a second). It walks every
    object the process tracks: with the gallery's libraries loaded and numba's compiler
    contexts built, about 270 000, ~0.1 s per run of any page, holding the interpreter lock, so
    a class of 50 opening a page queued ~5 s for it alone. This imports
    :data:`SHARED_LIBRARIES`, builds numba's contexts (a trivial compilation), and moves every
    object alive then into the collector's permanent generation (:func:`gc.freeze`, meant for
    long-lived start-up state): the collection after each run then walks ~10 000 objects, in
    1-3 ms. Frozen objects are still freed when nothing refers to them; only a reference cycle
    among them would stay, and a library's import-time state is not garbage.

    Returns
    -------
    bool
        True for the call that froze the heap, False for every later one (and for calls made
        while another session's call is freezing it).
    """
    global _frozen
    if _frozen or not _freeze_lock.acquire(blocking=False):
        return False
    try:
        if _frozen:
            return False
        for name in SHARED_LIBRARIES:
            importlib.import_module(name)
        _first_numba_compilation()
        gc.collect()
        gc.freeze()
        _frozen = True
        return True
    finally:
        _freeze_lock.release()


#: Least seconds between two full collections after page runs (:func:`collect_garbage`).
COLLECT_INTERVAL = 1.0
_collect_lock = threading.Lock()
_last_collect = float("-inf")


def collect_garbage(interval: float | None = None) -> bool:
    """A full collection after a page run, at most once every ``interval`` seconds per process.

    Streamlit's own collection after every run (``runner.postScriptGC``, off in
    ``.streamlit/config.toml``) costs 2-7 ms of the interpreter lock per run even with the
    start-up heap frozen (:func:`freeze_startup_heap`): it walks every session's state and every
    cached figure, and a class's 50 runs queue for 50 of them. The entry file calls this after
    each run instead: under load one collection serves every run of the last second; a lone
    session still gets one after each run a second apart. Reference cycles left by a run (a
    closed matplotlib figure, a finished script's frames) wait at most ``interval`` seconds
    longer, or until Python's own generational collection.

    Parameters
    ----------
    interval : float, optional
        Seconds, >= 0; default :data:`COLLECT_INTERVAL`.

    Returns
    -------
    bool
        True if this call collected, False if another did within ``interval`` seconds (or is
        collecting now).
    """
    global _last_collect
    if not _collect_lock.acquire(blocking=False):
        return False
    try:
        now = time.monotonic()
        if now - _last_collect < (COLLECT_INTERVAL if interval is None else interval):
            return False
        gc.collect(2)
        _last_collect = time.monotonic()
        return True
    finally:
        _collect_lock.release()


def _source_stamp() -> tuple:
    """Name, modification time and size of every source of fractalkit and of the gallery."""
    import fractalkit

    stamp = []
    for path in (*Path(fractalkit.__file__).parent.glob("*.py"), *Path(__file__).parents[1].rglob("*.py")):
        try:
            info = path.stat()
        except OSError:  # gone since the listing, or an editor's lock file (a dangling symlink)
            continue
        stamp.append((str(path), info.st_mtime_ns, info.st_size))
    return tuple(sorted(stamp))


@st.cache_resource
def _seen_source() -> dict:
    """Holds the last run's source stamp. A cache resource, not a module variable: on a source
    change Streamlit's watcher drops every module it watches, this one too, for a fresh import."""
    return {}


_stamp_lock = threading.Lock()


def _forget_results_of_old_code() -> None:
    if st.get_option("server.fileWatcherType") == "none":
        return  # production: the sources never change (and no run pays the stat calls)
    stamp = _source_stamp()
    with _stamp_lock:  # cleared before the new stamp is published: no session sees one without the other
        if _seen_source().get("stamp") not in (None, stamp):
            st.cache_data.clear()
            st.cache_resource.clear()  # _seen_source's holder as well: a new one keeps the stamp
        _seen_source()["stamp"] = stamp


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
