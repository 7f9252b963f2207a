"""Analyse your data: every applicable fractal measure of an uploaded image or series, with uncertainties.

A binary set (box counting, lacunarity, generalized dimensions, correlation dimension,
mass-radius), a grey-level surface (differential box counting, variogram and spectral Hurst
exponents, generalized dimensions of the heights as a measure) or a 1-D series (DFA,
variogram, spectral Hurst exponent, correlation dimension of the delay embedding). Every
estimate is shown as ``D = 1.585 ± 0.010 (s = 2…256 px)`` with its log-log plot and local
slopes, and the whole analysis downloads as a JSON or CSV report.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import threading
from pathlib import PurePath
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

import fractalkit
from gallerykit import guarded, local_slopes_figure, loglog_figure, shared_figure, shared_results, show_png
from gallerykit.data import (IMAGE_TYPES, MAX_SERIES, SERIES_TYPES, csv_columns, downscale, image_format,
                             read_image, read_series, read_upload)
from fractalkit import colorize, image_bytes
from fractalkit.measure import Lacunarity, differential_box_counting, lacunarity
from fractalkit.multifractal import MultifractalSpectrum, correlation_dimension, multifractal_spectrum
from fractalkit.scaling import Fit
from fractalkit.selfaffine import dfa, spectral_hurst, variogram

KINDS = ["Binary set", "Grey-level surface", "1-D series"]
EXAMPLES = ["Sierpinski carpet (exact, 729²)", "fBm surface, H = 0.7 (exact, 512²)",
            "fBm series, H = 0.7 (exact, 2¹⁴ samples)"]
PREVIEW_SIDE = 512      # largest side of the picture of the input
INPUT_CACHE_MB = 384    # decoded uploads kept for every session together


# --- the input ------------------------------------------------------------------------------------

class Input(NamedTuple):
    """What is analysed: its content key, the array, what it is, and a description for the report."""

    key: str                # content hash (or example name): the cache key of every result
    data: np.ndarray        # 2-D image (any dtype) or 1-D float64 series
    kinds: list[str]        # kinds it can be analysed as
    guess: str              # the kind detected from the content
    description: dict       # for the report


def _carpet(k: int) -> np.ndarray:
    """The Sierpinski carpet, exactly: no position where both indices have the base-3 digit 1."""
    i = np.arange(3 ** k)
    hole = np.zeros((i.size, i.size), dtype=bool)
    a = i.copy()
    for _ in range(k):
        d = a % 3 == 1
        hole |= d[:, None] & d[None, :]
        a //= 3
    return ~hole


@st.cache_data(max_entries=4, show_spinner=False)
def example(name: str) -> np.ndarray:
    from fractalkit.surfaces import fbm, fbm_surface_exact

    if name == EXAMPLES[0]:
        return _carpet(6)
    if name == EXAMPLES[1]:
        return fbm_surface_exact(512, 0.7, seed=1)
    return fbm(2 ** 14, 0.7, seed=1)


def detect_kind(a: np.ndarray) -> str:
    """"Binary set" for a two-level image (or nearly: most pixels within 5 % of either extreme), else a surface."""
    if a.dtype == np.bool_:
        return KINDS[0]
    step = max(1, int(math.sqrt(a.size / 1e6)))
    v = np.asarray(a[::step, ::step], dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return KINDS[1]
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        return KINDS[0]
    tol = 0.05 * (hi - lo)
    extreme = np.mean((v <= lo + tol) | (v >= hi - tol))
    return KINDS[0] if extreme >= 0.9 else KINDS[1]


def image_input(key: str, data: bytes, name: str) -> Input:
    """Decode (once for every session: a server-wide cache within INPUT_CACHE_MB) and describe an image."""
    store = shared_results("analyse-images", INPUT_CACHE_MB)
    hit = store.get(key)
    if hit is None:
        full = read_image(data)
        image, scaled = downscale(full)
        desc = {"file": name, "bytes": len(data), "format": image_format(data) or "?",
                "shape": list(full.shape), "dtype": str(full.dtype)}
        if scaled:
            desc["downscaled_to"] = list(image.shape)
        del full
        hit = (image, desc)
        store.put(key, hit, image.nbytes)
    image, desc = hit
    return Input(key, image, KINDS[:2], detect_kind(image), dict(desc))


def series_input(key: str, data: bytes, name: str) -> Input:
    """Parse a CSV column (the header and column controls are in the sidebar), once for every session."""
    columns, detected = cached_csv_columns(key, None, data)
    with st.sidebar:
        header = st.checkbox("First row is a header", detected, key=f"a_header_{key[:12]}")
        if header != detected:
            columns, _ = cached_csv_columns(key, header, data)
        column = columns[-1]
        if len(columns) > 1:
            column = st.selectbox("Column", columns, index=len(columns) - 1, key=f"a_column_{key[:12]}_{header}")
        drop = st.checkbox("Drop missing values", False, key="a_drop",
                           help="Rows with a blank or NaN value are removed and the rest joined up; "
                                "without this, such a file is refused.")
    store = shared_results("analyse-series", INPUT_CACHE_MB // 4)
    skey = (key, column, header, drop)
    hit = store.get(skey)
    if hit is None:
        s = read_series(data, column, header, drop)
        hit = (s.values, s.dropped)
        store.put(skey, hit, s.values.nbytes)
    values, dropped = hit
    desc = {"file": name, "bytes": len(data), "column": column, "header": header, "samples": int(values.size),
            "dropped_rows": dropped}
    return Input(f"{key}:{column}:{header}:{drop}", values, KINDS[2:], KINDS[2], desc)


@st.cache_data(max_entries=32, show_spinner=False)
def cached_csv_columns(key: str, header: bool | None, _data: bytes) -> tuple[list[str], bool]:
    return csv_columns(_data, header)


def upload_input(up) -> Input:
    data = read_upload(up)
    key = hashlib.sha256(data).hexdigest()
    ext = PurePath(up.name).suffix.lower().lstrip(".")
    if ext in SERIES_TYPES:
        return series_input(key, data, up.name)
    return image_input(key, data, up.name)


def example_input(name: str) -> Input:
    a = example(name)
    desc = {"example": name, "shape": list(a.shape), "dtype": str(a.dtype)}
    if a.ndim == 1:
        return Input(f"example:{name}", a, KINDS[2:], KINDS[2], desc)
    return Input(f"example:{name}", a, KINDS[:2], detect_kind(a), desc)


# --- thresholds -----------------------------------------------------------------------------------

def otsu_threshold(a: np.ndarray) -> float:
    """Otsu's threshold of the finite values: the level that best splits them into two classes.

    N. Otsu, "A threshold selection method from gray-level histograms", IEEE Trans. Syst. Man
    Cybern. 9, 62-66 (1979). A 256-bin histogram between the extremes; pixels above the
    returned level are one class.
    """
    v = a[np.isfinite(a)] if a.dtype.kind == "f" else a.ravel()
    if v.size == 0:
        raise ValueError("the image holds no finite value")
    lo, hi = float(v.min()), float(v.max())
    if hi == lo:
        return lo
    hist, edges = np.histogram(v, bins=256, range=(lo, hi))
    w0 = np.cumsum(hist)[:-1].astype(np.float64)
    w1 = v.size - w0
    centers = 0.5 * (edges[1:] + edges[:-1])
    m = np.cumsum(hist * centers)[:-1]
    mu0 = m / np.maximum(w0, 1)
    mu1 = (m[-1] + hist[-1] * centers[-1] - m) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    return float(edges[1:-1][int(np.argmax(between))])


def short_hash(*parts) -> str:
    """A short, stable widget-key suffix for an input (and parameters)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


@st.cache_data(max_entries=32, show_spinner=False)
def grey_levels(key: str, _a: np.ndarray) -> tuple[float, float, float, float]:
    """Smallest and largest finite value, Otsu's threshold and the mean of an image (cached per input)."""
    v = _a[np.isfinite(_a)] if _a.dtype.kind == "f" else _a
    if v.size == 0:
        raise ValueError("the image holds no finite value")
    return float(v.min()), float(v.max()), otsu_threshold(v), float(np.mean(v, dtype=np.float64))


# --- the measures ---------------------------------------------------------------------------------

#: Largest number of set pixels whose correlation sum is computed: a random subset beyond it.
MAX_CORRELATION_POINTS = 100_000
#: Largest delay embedding (samples x dimensions) whose correlation sum is computed: the first samples beyond it.
MAX_EMBEDDING_COORDINATES = 2**21
#: Inputs above this many samples are measured one at a time, server-wide (the 2 GB container: the
#: spectrum of a 4096² surface alone takes about 500 MB).
BIG_INPUT = 2**22
#: Moment orders of the generalized dimensions.
Q_ORDERS = np.linspace(-5.0, 5.0, 21)


@dataclasses.dataclass(frozen=True)
class Measure:
    """One estimator as the page runs it: ``run(data, params, scale_range)`` -> Fit or MultifractalSpectrum."""

    title: str
    run: Callable
    xlabel: str
    ylabel: str
    uses: tuple[str, ...] = ()  # the parameters it depends on (its cache key)
    derived: str = ""           # "3-H", "2-H": also report the dimension of the graph
    about: str = ""             # one line under the title


def _box_counting(binary, p, rng):
    return fractalkit.box_counting_dimension(binary, scale_range=rng)


def _lacunarity(binary, p, rng):
    return lacunarity(binary)


def _mass_radius(binary, p, rng):
    return fractalkit.mass_radius_dimension(binary, scale_range=rng)


def _set_spectrum(binary, p, rng):
    return multifractal_spectrum(binary, Q_ORDERS, scale_range=rng)


def _surface_spectrum(z, p, rng):
    # the heights above their minimum, in float64 (an int16 raster's range can exceed int16)
    masses = z if z.dtype == np.bool_ else z.astype(np.float64) - float(z.min())
    return multifractal_spectrum(masses, Q_ORDERS, scale_range=rng)


def _set_correlation(binary, p, rng):
    n = int(np.count_nonzero(binary))
    if n > MAX_CORRELATION_POINTS:  # a random subset of the points keeps C(r)'s shape; the notes say so
        pick = np.random.default_rng(0).choice(np.flatnonzero(binary), MAX_CORRELATION_POINTS, replace=False)
        binary = np.zeros(binary.shape, dtype=bool)
        binary.flat[pick] = True
    fit = correlation_dimension(binary, scale_range=rng)
    if n > MAX_CORRELATION_POINTS:
        fit = dataclasses.replace(fit, notes=(*fit.notes, f"{MAX_CORRELATION_POINTS:,} of the {n:,} set pixels, "
                                              "drawn at random (seed 0)"))
    return fit


def _series_correlation(x, p, rng):
    m, tau = p["m"], p["tau"]
    n = min(x.size, MAX_EMBEDDING_COORDINATES // m + (m - 1) * tau)
    fit = correlation_dimension(x[:n], m=m, tau=tau, scale_range=rng)
    if n < x.size:
        fit = dataclasses.replace(fit, notes=(*fit.notes, f"the first {n:,} of {x.size:,} samples"))
    return fit


def _dbc(z, p, rng):
    return differential_box_counting(z, scale_range=rng)


def _variogram(x, p, rng):
    return variogram(x, kind=p.get("series_kind", "fbm"), scale_range=rng)


def _spectral(x, p, rng):
    return spectral_hurst(x, kind=p.get("series_kind", "fbm"), scale_range=rng)


def _dfa(x, p, rng):
    return dfa(x, order=p["dfa_order"], kind=p["series_kind"], scale_range=rng)


@st.cache_data(max_entries=32, show_spinner=False)
def guess_series_kind(key: str, _x: np.ndarray) -> str:
    """A path if DFA-1's fluctuation exponent of the series as given exceeds 1 (fBm: α = H + 1), else a noise."""
    try:
        return "fbm" if dfa(_x, 1, n_boot=0).value > 1 else "fgn"
    except ValueError:
        return "fbm"


SET_MEASURES = {
    "box": Measure("Box-counting dimension", _box_counting, "box size s (px)", "occupied boxes N(s)",
                   about="Boxes of side s that hold a set pixel: N(s) ∝ s^−D, averaged over shifted grids."),
    "lacunarity": Measure("Gliding-box lacunarity Λ(r)", _lacunarity, "box size r (px)", "lacunarity Λ(r)"),
    "dq": Measure("Generalized dimensions D_q and f(α)", _set_spectrum, "box size s (px)", "partition sum",
                  about="The uniform measure on the set pixels: Σ μᵢ(s)^q ∝ s^((q−1) D_q), q from −5 to 5; "
                        "a monofractal has one D_q for every q."),
    "corr": Measure("Correlation dimension", _set_correlation, "radius r (px)", "correlation sum C(r)",
                    about="Pairs of set pixels closer than r: C(r) ∝ r^D₂ (Grassberger-Procaccia)."),
    "mass": Measure("Mass-radius dimension", _mass_radius, "radius r (px)", "mass M(r)"),
}
SURFACE_MEASURES = {
    "dbc": Measure("Differential box counting", _dbc, "box size s (px)", "boxes N(s)",
                   about="Columns of boxes s pixels wide over the surface, the heights scaled so the relief spans "
                         "the image's side: N(s) ∝ s^−D, 2 ≤ D ≤ 3."),
    "variogram": Measure("Hurst exponent: variogram", _variogram, "lag h (px)", "semivariogram γ(h)", derived="3-H"),
    "spectral": Measure("Hurst exponent: power spectrum", _spectral, "frequency f (cycles/px)", "power P(f)",
                        derived="3-H"),
    "dq": Measure("Generalized dimensions D_q and f(α) of the heights", _surface_spectrum, "box size s (px)",
                  "partition sum", about="The heights above their minimum, taken as masses."),
}
SERIES_MEASURES = {
    "dfa": Measure("Hurst exponent: detrended fluctuation analysis", _dfa, "window s (samples)", "fluctuation F(s)",
                   ("dfa_order", "series_kind"), derived="2-H"),
    "variogram": Measure("Hurst exponent: variogram", _variogram, "lag h (samples)", "semivariogram γ(h)",
                         ("series_kind",), derived="2-H"),
    "spectral": Measure("Hurst exponent: power spectrum", _spectral, "frequency f (cycles/sample)", "power P(f)",
                        ("series_kind",), derived="2-H"),
    "corr": Measure("Correlation dimension of the delay embedding", _series_correlation, "radius r",
                    "correlation sum C(r)", ("m", "tau")),
}
MEASURES = {KINDS[0]: SET_MEASURES, KINDS[1]: SURFACE_MEASURES, KINDS[2]: SERIES_MEASURES}


@st.cache_data(max_entries=128, show_spinner=False)
def run_measure(kind: str, mid: str, key: str, params: dict, scale_range, _data):
    """One measure of one input: a Fit or a MultifractalSpectrum, or the error message if it fails.

    Cached on the input's key (its content hash and threshold), the measure's own parameters
    and the range, never on the array: a widget of another measure does not re-run this one.
    """
    big = _data.size > BIG_INPUT
    try:
        if big:  # one large analysis at a time for the whole server: each can take several hundred MB
            heavy_lock().acquire()
        return MEASURES[kind][mid].run(_data, params, scale_range)
    except ValueError as exc:  # WorkLimitError too: shown for this measure, the others still run
        return str(exc)
    finally:
        if big:
            heavy_lock().release()


@st.cache_resource(show_spinner=False)
def heavy_lock() -> threading.Lock:
    """The server-wide lock around the measures of large inputs (above BIG_INPUT samples)."""
    return threading.Lock()


class Result(NamedTuple):
    """One measure's outcome on the page: its id, title, fits (one, or D_0, D_1, D_2), derived rule, details."""

    mid: str
    title: str
    fits: tuple[Fit, ...]
    derived: str
    detail: dict | None


def derived_dimension(fit: Fit, rule: str) -> tuple[float, tuple[float, float]]:
    """``D = E - H`` and its interval from a Hurst-exponent fit (``rule`` "3-H" or "2-H")."""
    e = float(rule.split("-")[0])
    return e - fit.value, (e - fit.ci[1], e - fit.ci[0])


def _fmt_range(fit: Fit) -> str:
    lo, hi = fit.fit_range
    return f"{fit.scale_symbol} = {lo:.4g}…{hi:.4g} {fit.unit}".rstrip()


@shared_figure
def spectrum_figures(spec: MultifractalSpectrum):
    """``D_q`` against ``q`` and ``f(α)``, each with its confidence intervals."""
    ci = spec.D_q_ci
    dq = go.Figure()
    dq.add_scatter(x=spec.q, y=ci[:, 1], mode="lines", line=dict(width=0), showlegend=False)
    dq.add_scatter(x=spec.q, y=ci[:, 0], mode="lines", line=dict(width=0), fill="tonexty",
                   fillcolor="rgba(255,165,0,0.3)", name=f"{spec.confidence:.0%} interval")
    dq.add_scatter(x=spec.q, y=spec.D_q, mode="lines+markers", name="D_q")
    dq.update_layout(title="generalized dimensions", height=380, margin=dict(l=10, r=10, t=40, b=10),
                     xaxis=dict(title="q"), yaxis=dict(title="D_q"), showlegend=False)
    fa = go.Figure(go.Scatter(x=spec.alpha, y=spec.f, mode="lines+markers", text=[f"q = {q:g}" for q in spec.q],
                              error_x=dict(array=1.96 * spec.alpha_stderr, thickness=1),
                              error_y=dict(array=1.96 * spec.f_stderr, thickness=1)))
    fa.update_layout(title="multifractal spectrum", height=380, margin=dict(l=10, r=10, t=40, b=10),
                     xaxis=dict(title="α"), yaxis=dict(title="f(α)"))
    return dq, fa


@shared_figure
def lacunarity_figure(lac: Lacunarity, xlabel: str, ylabel: str):
    """Λ(r) against r on log-log axes."""
    ok = np.isfinite(lac.values)
    fig = go.Figure(go.Scatter(x=lac.sizes[ok], y=lac.values[ok], mode="lines+markers", name="Λ(r)"))
    fig.update_layout(title="gliding-box lacunarity", height=380, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(type="log", title=xlabel), yaxis=dict(type="log", title=ylabel))
    return fig


def show_lacunarity(mid: str, measure: Measure, lac: Lacunarity) -> Result:
    """Λ(r) on log-log axes: a curve, not a power law, so no fit and no interval."""
    st.caption("Λ(r) = E[M²] / E[M]² of the mass M of a box of side r gliding over the image: 1 for a uniform "
               "set, larger for a gappier one at that scale. A curve to compare sets by, not one number.")
    st.plotly_chart(lacunarity_figure(lac, measure.xlabel, measure.ylabel), width="stretch", key=f"a_curve_{mid}")
    detail = {"method": "gliding-box lacunarity", "sizes": lac.sizes.tolist(), "lacunarity": lac.values.tolist(),
              "mean_mass": lac.mean.tolist(), "variance_mass": lac.variance.tolist(), "boxes": lac.boxes.tolist(),
              "unit": "px"}
    return Result(mid, measure.title, (), "", detail)


def show_measure(kind: str, mid: str, key: str, params: dict, data) -> Result | None:
    """One measure's section: the estimate(s), the plots, the scaling-range override."""
    measure = MEASURES[kind][mid]
    used = {k: params[k] for k in measure.uses}
    st.subheader(measure.title)
    if measure.about:
        st.caption(measure.about)
    result = run_measure(kind, mid, key, used, None, data)
    if isinstance(result, str):
        st.error(f"{measure.title}: {result}")
        return None
    if isinstance(result, Lacunarity):
        return show_lacunarity(mid, measure, result)
    if st.checkbox("Set the fitted range by hand", False, key=f"a_manual_{mid}",
                   help="By default the range is chosen automatically: the widest run of scales on which "
                        "one power law holds."):
        spectrum = isinstance(result, MultifractalSpectrum)
        scales = result.scales if spectrum else result.x
        inside = np.flatnonzero(result.used)
        pick = st.select_slider(f"Fitted range ({result.unit or 'scale'})", list(range(scales.size)),
                                (int(inside[0]), int(inside[-1])), format_func=lambda i: f"{scales[i]:.4g}",
                                key=f"a_range_{mid}_{short_hash(key, used, scales.size)}")
        rng = (float(scales[min(pick)]) * (1 - 1e-9), float(scales[max(pick)]) * (1 + 1e-9))
        result = run_measure(kind, mid, key, used, rng, data)
        if isinstance(result, str):
            st.error(f"{measure.title}: {result}")
            return None
    if isinstance(result, MultifractalSpectrum):
        fits = tuple(result.fit(q) for q in (0.0, 1.0, 2.0))
        main, detail = fits[2], result.to_dict()
        for fit in fits:
            st.markdown(f"`{fit}`")
    else:
        fits, main, detail = (result,), result, None
        st.markdown(f"`{result}`")
    if measure.derived:
        d, (lo, hi) = derived_dimension(main, measure.derived)
        st.markdown(f"`D = {d:.3f} ± {0.5 * (hi - lo):.3f} ({_fmt_range(main)})` = {measure.derived[0]} − H, "
                    f"the dimension of the {'surface' if measure.derived[0] == '3' else 'graph of the path'}")
    for note in main.notes:
        st.caption(note)
    if mid == "corr" and "m" in used and main.value > used["m"] - 0.5:
        st.caption(f"D₂ is close to or above the embedding dimension m = {used['m']}: the delay vectors fill "
                   "the space, as a stochastic series' do (or m is too small for the attractor).")
    if detail is not None:
        f1, f2 = spectrum_figures(result)
        c1, c2 = st.columns(2)
        c1.plotly_chart(f1, width="stretch", key=f"a_dq_{mid}")
        c2.plotly_chart(f2, width="stretch", key=f"a_falpha_{mid}")
    c1, c2 = st.columns(2)
    c1.plotly_chart(loglog_figure(main, measure.xlabel, measure.ylabel, f"{main.symbol}: log-log, fitted range"),
                    width="stretch", key=f"a_loglog_{mid}")
    c2.plotly_chart(local_slopes_figure(main, measure.xlabel, f"{main.symbol}: local slopes"), width="stretch",
                    key=f"a_slopes_{mid}")
    return Result(mid, measure.title, fits, measure.derived, detail)


@st.cache_data(max_entries=16, show_spinner=False)
def preview_png(key: str, _data: np.ndarray) -> bytes:
    """The picture of the input (``key``: its content and threshold), at most PREVIEW_SIDE wide."""
    step = max(1, -(-max(_data.shape) // PREVIEW_SIDE))
    small = _data[::step, ::step]
    return image_bytes(small.astype(np.uint8) * 255 if small.dtype == np.bool_ else colorize(small, "terrain"))


@shared_figure
def series_figure(key: str, _x: np.ndarray):
    """The series (``key``: its content), at most ~4000 points drawn."""
    step = max(1, _x.size // 4000)
    fig = go.Figure(go.Scatter(x=np.arange(0, _x.size, step), y=_x[::step], mode="lines"))
    fig.update_layout(height=250, margin=dict(l=10, r=10, t=30, b=10), title=f"{_x.size:,} samples")
    return fig


# --- the report -----------------------------------------------------------------------------------

def report_rows(results: list[Result]) -> list[dict]:
    """One row per measure (and per derived dimension): method, value, stderr, interval, range, unit."""
    rows = []
    for r, fit in ((r, fit) for r in results for fit in r.fits):
        title = r.title if len(r.fits) == 1 else f"{r.title}: {fit.symbol}"
        lo, hi = fit.fit_range
        base = {"measure": title, "method": fit.method or r.title, "symbol": fit.symbol, "value": fit.value,
                "stderr": fit.stderr, "ci_low": fit.ci[0], "ci_high": fit.ci[1], "confidence": fit.confidence,
                "range": f"{lo:.6g}…{hi:.6g}", "range_low": lo, "range_high": hi, "unit": fit.unit,
                "uncertainty": fit.uncertainty, "notes": " · ".join(fit.notes), "shown": str(fit)}
        rows.append(base)
        if r.derived:
            d, (clo, chi) = derived_dimension(fit, r.derived)
            rows.append({**base, "measure": f"{title} → D = {r.derived[0]} − H", "symbol": "D", "value": d,
                         "ci_low": clo, "ci_high": chi,
                         "shown": f"D = {d:.3f} ± {0.5 * (chi - clo):.3f} ({_fmt_range(fit)})"})
    return rows


def _finite(o):
    """``o`` with every NaN or infinity replaced by None (JSON has neither)."""
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, (np.integer, np.floating, np.bool_)):
        o = o.item()
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


def report_json(inp: Input, kind: str, params: dict, results: list[Result]) -> str:
    """The whole analysis: fractalkit's version, the input, the parameters, every fit's ``to_dict()``."""
    with np.errstate(divide="ignore", invalid="ignore"):  # local slopes next to an empty scale (y = 0): null
        fits = {r.title: _fits_json(r) for r in results}
    doc = {"fractalkit_version": fractalkit.__version__, "input": {**inp.description, "analysed_as": kind},
           "parameters": params, "summary": report_rows(results),
           "fits": fits}
    return json.dumps(_finite(doc), indent=1, allow_nan=False)


def _fits_json(r: Result) -> dict:
    """A measure in the JSON report: its fit's ``to_dict()``; a spectrum's with its D_0, D_1, D_2 fits; a curve."""
    if len(r.fits) == 1 and r.detail is None:
        return r.fits[0].to_dict()
    return {**(r.detail or {}), "fits": {f.symbol: f.to_dict() for f in r.fits}} if r.fits else dict(r.detail)


def report_csv(results: list[Result]) -> str:
    """One row per measure: measure, method, symbol, value, stderr, ci_low, ci_high, range, unit, notes."""
    cols = ["measure", "method", "symbol", "value", "stderr", "ci_low", "ci_high", "confidence", "range",
            "range_low", "range_high", "unit", "uncertainty", "notes"]
    return pd.DataFrame(report_rows(results), columns=cols).to_csv(index=False)


# --- the page -------------------------------------------------------------------------------------

st.title("Analyse your data")
st.caption("Upload an image (a binary set or a grey-level surface) or a series, and get every applicable "
           "fractal measure with its confidence interval, its log-log plot and its local slopes. "
           "Download the whole analysis as a report.")
with st.sidebar:
    source = st.radio("Data", ["Example", "Upload"], key="a_source")
    if source == "Example":
        example_name = st.selectbox("Example", EXAMPLES, key="a_example")

with guarded():
    if source == "Upload":
        up = st.file_uploader("An image (PNG, JPEG, GIF, BMP, TIFF incl. 16-bit and float) or a series (CSV)",
                              type=IMAGE_TYPES + SERIES_TYPES, key="a_upload",
                              help="Images above 4096 × 4096 pixels are downscaled; a CSV holds one sample per row, "
                                   f"at most {MAX_SERIES:,}.")
        if up is None:
            st.info("Upload a file to analyse, or pick an example in the sidebar.")
            st.stop()
        inp = upload_input(up)
    else:
        inp = example_input(example_name)

    wid = short_hash(inp.key)  # widgets whose choices depend on the input get a key of their own per input
    with st.sidebar:
        kind = inp.guess
        if len(inp.kinds) > 1:
            kind = st.selectbox("Analyse as", inp.kinds, index=inp.kinds.index(inp.guess), key=f"a_kind_{wid}",
                                help=f"Detected from the content: {inp.guess.lower()}.")
        params: dict = {}
        if kind == KINDS[0] and inp.data.dtype != np.bool_:
            method = st.radio("Threshold", ["Otsu", "Mean", "Manual"], key="a_thr_method",
                              help="Pixels above the threshold are the set (below it, with the box ticked); "
                                   "NaN pixels never are.")
            lo, hi, otsu, mean = grey_levels(inp.key, inp.data)
            if method == "Otsu":
                t = otsu
            elif method == "Mean":
                t = mean
            else:
                t = st.slider("Threshold level", lo, max(hi, lo + 1e-9), 0.5 * (lo + hi), key=f"a_thr_{wid}")
            invert = st.checkbox("Dark pixels are the set", False, key="a_invert")
            params.update(threshold=float(t), threshold_method=method, invert=bool(invert))
        if kind == KINDS[0]:
            params["mass_radius"] = st.checkbox("Mass-radius dimension", False, key="a_mass",
                                                help="Set pixels within radius r of the image centre: meaningful "
                                                     "for one cluster grown from a seed there (e.g. DLA).")
        if kind == KINDS[2]:
            guess = guess_series_kind(inp.key, inp.data)
            params["series_kind"] = st.radio(
                "The series is", ["fbm", "fgn"], index=["fbm", "fgn"].index(guess), key=f"a_series_kind_{wid}",
                format_func={"fbm": "a path (fBm-like: a walk, a profile)",
                             "fgn": "a noise (fGn-like: increments, returns)"}.get,
                help="Detected from DFA-1 of the series as given (α > 1: a path). Every estimate is the Hurst "
                     "exponent H of the underlying fBm; a noise is integrated first.")
            params["dfa_order"] = int(st.number_input("DFA detrending order", 1, 4, 1, key="a_dfa_order",
                                                      help="Degree of the polynomial removed in each window."))
            params["m"] = int(st.slider("Embedding dimension m", 1, 10, 3, key="a_m",
                                        help="Delay vectors (x_t, x_t+τ, …, x_t+(m−1)τ) of the correlation "
                                             "dimension."))
            params["tau"] = int(st.number_input("Embedding delay τ (samples)", 1, 100, 1, key="a_tau"))

    if kind == KINDS[0]:
        if "threshold" in params:
            a = inp.data
            data = (a < params["threshold"]) if params["invert"] else (a > params["threshold"])
            if a.dtype.kind == "f":
                data &= np.isfinite(a)
        else:
            data = inp.data.astype(bool, copy=False)
        params["set_pixels"] = int(np.count_nonzero(data))
        if not params["set_pixels"]:
            raise ValueError("no pixel is in the set at this threshold: move the threshold or invert")
        key = f"{inp.key}:{params.get('threshold')}:{params.get('invert')}"
    elif kind == KINDS[1]:
        data = inp.data
        if data.dtype.kind == "f" and not np.isfinite(data).all():
            bad = int((~np.isfinite(data)).sum())
            raise ValueError(f"the surface has {bad:,} NaN or infinite heights: fill them, or analyse the image "
                             "as a binary set (where they never count as set)")
        key = inp.key
    else:
        data = inp.data
        key = inp.key

    c1, c2 = st.columns([1, 2])
    if data.ndim == 2:
        show_png(preview_png(key, data), f"{data.shape[1]} × {data.shape[0]} {kind.lower()}", c1, width="stretch")
    else:
        c1.plotly_chart(series_figure(key, data), width="stretch", key="a_series_plot")
    c2.json({**inp.description, "analysed_as": kind}, expanded=False)
    if "downscaled_to" in inp.description:
        h0, w0 = inp.description["shape"]
        c2.info(f"The image is {w0} × {h0} pixels: it was downscaled to {data.shape[1]} × {data.shape[0]} "
                "(the limit is 4096 × 4096) for the analysis.")

    mids = [m for m in MEASURES[kind] if m != "mass" or params.get("mass_radius")]
    summary, downloads = st.container(), st.container()
    results = []
    with st.spinner("Measuring…"):
        for mid in mids:
            shown = show_measure(kind, mid, key, params, data)
            if shown:
                results.append(shown)
    with summary:
        st.subheader("Summary")
        if results:
            rows = report_rows(results)
            st.dataframe(pd.DataFrame(rows)[["measure", "shown"]], hide_index=True, width="stretch")
    with downloads:
        if results:
            d1, d2 = st.columns(2)
            d1.download_button("Download report (JSON)", report_json(inp, kind, params, results).encode(),
                               file_name="fractal-report.json", mime="application/json", on_click="ignore",
                               key="a_json")
            d2.download_button("Download report (CSV)", report_csv(results).encode(), file_name="fractal-report.csv",
                               mime="text/csv", on_click="ignore", key="a_csv")
