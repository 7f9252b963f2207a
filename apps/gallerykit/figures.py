"""Figures the gallery pages share: PNG bytes of a matplotlib figure, a log-log fit plot, colour maps.

The Plotly figures are built once per distinct input for the whole server (``st.cache_resource``):
building one costs milliseconds of the interpreter lock (plotly validates every property),
which a class of 50 opening the same page paid 50 times. Every session gets the same figure
object: callers pass it to ``st.plotly_chart`` and never modify it (:class:`SharedFigure`).
"""
from __future__ import annotations

import functools

import plotly.graph_objects as go
import streamlit as st

from fractalkit import Fit, Lacunarity, MultifractalSpectrum

from .caching import decorate_once

__all__ = ["COLORMAPS", "MAX_DISPLAY_WIDTH", "display_png", "fig_png", "local_slopes_figure", "loglog_figure",
           "plotly_colorscale", "result_digest", "SharedFigure", "shared_figure", "show_png"]

#: Widest image ``st.image`` sends as it is (Streamlit's ``MAXIMUM_CONTENT_WIDTH``, 2 x 730 px):
#: a wider one it decodes, resizes and re-encodes on every run of the page.
MAX_DISPLAY_WIDTH = 2 * 730


def result_digest(result) -> bytes:
    """The cache key of a fractalkit result passed to a figure: a digest of its fields.

    Streamlit hashes a dataclass argument through ``dataclasses.asdict`` (a deep copy) and then
    every field on its own: ~1-2 ms of the interpreter lock per ``Fit`` on every run, ~20 ms
    per run of the analyse page. This feeds each field (arrays as dtype, shape and bytes;
    nested results, tuples and scalars as their ``repr``) to one BLAKE2 digest: equal exactly
    when the results are equal, in tens of microseconds. (Not a pickle: pickle's memo makes
    equal objects pickle differently, so every session would miss.)

    Parameters
    ----------
    result : fractalkit.Fit, fractalkit.MultifractalSpectrum or fractalkit.Lacunarity
        A result: a dataclass or named tuple of arrays, scalars, strings and such results.

    Returns
    -------
    bytes
        A 16-byte BLAKE2b digest.
    """
    import dataclasses
    import hashlib

    import numpy as np

    h = hashlib.blake2b(digest_size=16)

    def feed(obj) -> None:
        if isinstance(obj, np.ndarray):
            h.update(f"{obj.dtype.str}{obj.shape}".encode())
            h.update(np.ascontiguousarray(obj).tobytes())
        elif dataclasses.is_dataclass(obj):
            h.update(type(obj).__qualname__.encode())
            for f in dataclasses.fields(obj):
                feed(getattr(obj, f.name))
        elif isinstance(obj, (tuple, list)):
            h.update(f"{type(obj).__qualname__}[{len(obj)}]".encode())
            for item in obj:
                feed(item)
        else:
            h.update(repr(obj).encode())
        h.update(b"\x00")

    feed(result)
    return h.digest()


class SharedFigure(go.Figure):
    """A Plotly figure that every session shows and none modifies: its dict is made once.

    ``st.plotly_chart`` turns its figure into a dict on every run (``Figure.to_dict``, a deep
    copy: 1-4 ms of the interpreter lock per figure, per run, per session); this one returns the
    same dict each time, so only Streamlit's JSON encoding remains. Neither the figure nor the
    dict may be modified after the first call.
    """

    def to_dict(self) -> dict:
        made = self.__dict__.get("_shared_dict")  # (BaseFigure.__setattr__ refuses new attributes)
        if made is None:
            made = self.__dict__["_shared_dict"] = super().to_dict()
        return made


_figure_cache = st.cache_resource(max_entries=256, show_spinner=False,
                                  hash_funcs={t: result_digest for t in (Fit, MultifractalSpectrum, Lacunarity)})


def shared_figure(func):
    """Decorator: ``st.cache_resource`` for a function that builds a Plotly figure.

    One figure per distinct input, for every session (results of fractalkit passed as inputs are
    keyed by :func:`result_digest`); the cached figure becomes a :class:`SharedFigure`, so
    ``st.plotly_chart`` does not copy it again on every run.

    Parameters
    ----------
    func : callable
        Builds and returns a ``plotly.graph_objects.Figure`` or a tuple of them; arguments as
        ``st.cache_resource`` takes them (a leading underscore leaves an argument out of the key).

    Returns
    -------
    callable
        ``func`` cached; ``.clear()`` empties its cache. Made once per process for a function a
        page script defines (:func:`gallerykit.caching.decorate_once`).
    """
    return decorate_once("shared_figure", _shared_figure, func)


def _shared_figure(func):
    cached = _figure_cache(func)

    @functools.wraps(func)
    def figure(*args, **kwargs):
        made = cached(*args, **kwargs)
        for fig in made if isinstance(made, tuple) else (made,):
            if type(fig) is go.Figure:
                fig.__class__ = SharedFigure  # the cached object itself, once: same layout, one method more
        return made

    figure.clear = cached.clear
    return figure


def show_png(png: bytes, caption: str = "", where=None, **kwargs) -> None:
    """``st.image`` for a PNG, sent to the browser as it is.

    Streamlit re-encodes, on every run, a PNG without an alpha channel as JPEG (its
    ``output_format="auto"``) and any image wider than :data:`MAX_DISPLAY_WIDTH`: both cost the
    interpreter lock each time a session runs the page. Here the PNG is declared PNG (lossless,
    as a picture of a set should be) and scaled once if too wide (:func:`display_png`).

    Parameters
    ----------
    png : bytes
        A PNG file.
    caption : str
        Shown under the image.
    where : streamlit container, optional
        Where to show it (a column, ``st.sidebar``...); the main area by default.
    **kwargs
        More arguments of ``st.image`` (``width``...).
    """
    (where or st).image(display_png(png), caption=caption, output_format="PNG", **kwargs)


def display_png(png: bytes) -> bytes:
    """The PNG to show with ``st.image``: ``png`` itself, or once per image a copy scaled to
    :data:`MAX_DISPLAY_WIDTH` if it is wider (what Streamlit would otherwise redo every run).

    Parameters
    ----------
    png : bytes
        A PNG file (its width is read from the IHDR chunk, bytes 16-20).

    Returns
    -------
    bytes
        A PNG at most :data:`MAX_DISPLAY_WIDTH` pixels wide, the aspect ratio kept (bilinear,
        as Streamlit resizes).
    """
    return png if int.from_bytes(png[16:20], "big") <= MAX_DISPLAY_WIDTH else _scaled_png(png)


@st.cache_data(max_entries=16, show_spinner=False)
def _scaled_png(png: bytes) -> bytes:
    import io

    from PIL import Image

    img = Image.open(io.BytesIO(png))
    if img.mode == "P":  # an indexed-colour picture (fractalkit.colorize_png): Pillow resizes those by nearest pixel
        img = img.convert("RGB")
    img = img.resize((MAX_DISPLAY_WIDTH, max(1, round(img.height * MAX_DISPLAY_WIDTH / img.width))),
                     Image.Resampling.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=3)
    return buf.getvalue()

#: Matplotlib colour maps offered by the pages' "Colours" choices.
COLORMAPS = ["magma", "inferno", "viridis", "twilight_shifted", "cubehelix", "plasma", "turbo", "gray"]


def plotly_colorscale(cmap: str, n: int = 32) -> list[list]:
    """A matplotlib colour map as a plotly colour scale, so 3-D views use the colours chosen for 2-D.

    Parameters
    ----------
    cmap : str
        A matplotlib colour map name (any, not only plotly's few built-in ones).
    n : int
        Number of evenly spaced stops (plotly interpolates linearly between them).

    Returns
    -------
    list of [float, str]
        ``[[0.0, "rgb(r,g,b)"], ..., [1.0, "rgb(r,g,b)"]]``, the colours of ``fractalkit.palette``.

    Raises
    ------
    ValueError
        If ``cmap`` is not a matplotlib colour map.
    """
    import numpy as np

    from fractalkit import palette

    return [[float(t), "rgb({},{},{})".format(*rgb)] for t, rgb in zip(np.linspace(0.0, 1.0, n), palette(cmap, n))]


def fig_png(fig, dpi: int = 110) -> bytes:
    """Render a matplotlib figure to PNG bytes and close it.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; closed afterwards (pyplot keeps every open figure otherwise).
    dpi : int
        Dots per inch of the PNG.

    Returns
    -------
    bytes
        The PNG file, tight bounding box, white background.
    """
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buf.getvalue()


@shared_figure
def loglog_figure(fit, xlabel: str, ylabel: str, title: str):
    """A Plotly log-log plot of a fit: every point, the points fitted, the fitted line.

    Parameters
    ----------
    fit : fractalkit.Fit
        A log-log fit (``x``, ``y``, ``used`` mask, ``fit_range``, ``slope``, ``intercept``).
    xlabel, ylabel, title : str
        Axis labels and title.

    Returns
    -------
    plotly.graph_objects.Figure
        Three traces on log axes: the points outside the fit, the fitted points, and the line
        ``exp(intercept) * x**slope`` over ``fit_range``. Shared by every caller with an equal
        fit and labels: not to be modified.
    """
    import numpy as np
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


@shared_figure
def local_slopes_figure(fit, xlabel: str, title: str):
    """A Plotly plot of a fit's local slopes: the estimate between neighbouring scales.

    A plateau over the fitted range means one power law holds there; a trend means it does not.

    Parameters
    ----------
    fit : fractalkit.scaling.Fit
        A fit with ``local_slopes``, ``fit_range``, ``value``, ``ci`` and ``symbol``.
    xlabel, title : str
        Axis label of the scales, and the title.

    Returns
    -------
    plotly.graph_objects.Figure
        The local estimates against scale (log axis), the fitted range shaded and the
        estimate with its confidence interval as a line and a band across it. Shared by every
        caller with an equal fit and labels: not to be modified.
    """
    import math

    import numpy as np
    with np.errstate(divide="ignore", invalid="ignore"):  # an empty scale (y = 0) has no local slope
        sx, sv = fit.local_slopes
    ok = np.isfinite(sx) & np.isfinite(sv)
    lo, hi = fit.fit_range
    fig = go.Figure()
    fig.add_vrect(x0=lo, x1=hi, fillcolor="lightblue", opacity=0.25, line_width=0)
    if all(math.isfinite(c) for c in fit.ci):
        fig.add_hrect(y0=fit.ci[0], y1=fit.ci[1], fillcolor="orange", opacity=0.25, line_width=0)
    fig.add_hline(y=fit.value, line_dash="dash", line_color="orange")
    fig.add_scatter(x=sx[ok], y=sv[ok], mode="lines+markers", name=f"local {fit.symbol}")
    fig.update_layout(title=title, height=380, margin=dict(l=10, r=10, t=40, b=10), showlegend=False,
                      xaxis=dict(type="log", title=xlabel), yaxis=dict(title=f"local {fit.symbol}"))
    return fig
