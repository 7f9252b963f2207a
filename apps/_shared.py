"""Helpers shared by the gallery apps (not a page: the leading underscore keeps it out)."""
from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from pathlib import Path

import streamlit as st

from fractalkit.limits import WorkLimitError

APPS_DIR = Path(__file__).resolve().parent

#: Gallery pages (file, title, icon), in navigation order; the tree is the home page.
#: Emoji icons, not ``:material/…:``: Streamlit sets a Material icon as the favicon by
#: fetching it from fonts.gstatic.com, a third-party request on every visit.
PAGES = [
    ("mandelbrot.py", "Mandelbrot explorer", "🌀"),
    ("julia.py", "Julia sets", "✨"),
    ("pythagoras.py", "Pythagoras tree", "🌲"),
    ("ifs.py", "IFS: fern & Sierpinski", "🌿"),
    ("lsystems.py", "L-systems", "〰️"),
    ("dla.py", "DLA growth", "❄️"),
    ("fbm.py", "fBm surfaces", "🏔️"),
    ("box_counting.py", "Box-counting analysis", "🔲"),
]


def page_config(title: str) -> None:
    """``st.set_page_config`` for a gallery page (Streamlit allows it again under ``st.navigation``).

    Also drops every ``st.cache_data`` result when the fractalkit source changed since the
    last run (dev loop): the caches key on the apps' code only, not on the kernels they call.
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
    """Turn a capped or invalid request into a clear message instead of a crash."""
    try:
        yield
    except WorkLimitError as exc:
        st.error(f"That request is too large: {exc}.")
        st.stop()
    except ValueError as exc:
        st.error(f"Invalid input: {exc}")
        st.stop()


def fig_png(fig, dpi: int = 110) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it."""
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buf.getvalue()


def loglog_figure(fit, xlabel: str, ylabel: str, title: str):
    """A Plotly log-log plot of a :class:`fractalkit.Fit`: all points, the fitted range, the line."""
    import numpy as np
    import plotly.graph_objects as go

    x, y, used = np.asarray(fit.x, float), np.asarray(fit.y, float), fit.used
    fig = go.Figure()
    fig.add_scatter(x=x[~used], y=y[~used], mode="markers", name="outside the fit",
                    marker=dict(color="lightgray", size=8))
    fig.add_scatter(x=x[used], y=y[used], mode="markers", name="fitted", marker=dict(size=9))
    xs = np.array(fit.fit_range)
    fig.add_scatter(x=xs, y=np.exp(fit.intercept) * xs ** fit.slope, mode="lines",
                    name=f"slope {fit.slope:.3f}")
    fig.update_layout(title=title, height=380, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(type="log", title=xlabel), yaxis=dict(type="log", title=ylabel))
    return fig


COLORMAPS = ["magma", "inferno", "viridis", "twilight_shifted", "cubehelix", "plasma", "turbo", "gray"]


class SharedResults:
    """Results shared by every session of the server, least recently used dropped first.

    For results that must be computed outside ``st.cache_data`` (which replays the Streamlit
    elements a cached function drew, so a progress bar cannot update inside one) and are too
    large to keep per session: a class of 20 students each growing a few capped DLA clusters
    would otherwise hold ~20 x 6 x 29 MB in their session states. Thread-safe; numpy arrays
    of stored values are made read-only, since every session gets the same object.

    Parameters
    ----------
    max_bytes : int
        Budget for the stored values' ``nbytes`` together; the newest entry is always kept.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict = OrderedDict()  # key -> (value, nbytes)
        self._nbytes = 0
        self._lock = threading.Lock()

    def get(self, key):
        """The stored value for ``key`` (now the most recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key, value, nbytes: int) -> None:
        """Store ``value`` (``nbytes`` bytes), dropping least recently used values beyond the budget."""
        for part in value if isinstance(value, tuple) else (value,):
            if hasattr(part, "flags"):
                part.flags.writeable = False
        with self._lock:
            if key in self._items:
                self._nbytes -= self._items.pop(key)[1]
            self._items[key] = (value, int(nbytes))
            self._nbytes += int(nbytes)
            while len(self._items) > 1 and self._nbytes > self.max_bytes:
                self._nbytes -= self._items.popitem(last=False)[1][1]

    @property
    def nbytes(self) -> int:
        """Bytes held now (the sum of the stored values' sizes)."""
        return self._nbytes

    def __len__(self) -> int:
        return len(self._items)


@st.cache_resource(show_spinner=False)
def shared_results(name: str, _max_mb: int) -> SharedResults:
    """The server-wide :class:`SharedResults` called ``name`` (one per page and kind of result).

    ``_max_mb`` (MiB) sizes it when first created; the leading underscore keeps it out of the key.
    """
    return SharedResults(_max_mb * 2**20)
