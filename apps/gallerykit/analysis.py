"""What the analyse page measures and reports, apart from the page: the kinds of input, the
estimators it runs on each, and the reports (summary, JSON, CSV). No Streamlit here: the page
(``apps/analyse.py``) caches, shows and downloads these; defined once per process, not on
every run of the page.
"""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

import fractalkit
from fractalkit.measure import differential_box_counting, lacunarity
from fractalkit.multifractal import correlation_dimension, multifractal_spectrum
from fractalkit.scaling import Fit
from fractalkit.selfaffine import dfa, spectral_hurst, variogram

__all__ = ["EXAMPLES", "KINDS", "MAX_CORRELATION_POINTS", "MAX_EMBEDDING_COORDINATES", "MEASURES", "Q_ORDERS",
           "Input", "Measure", "Result", "derived_caveat", "derived_dimension", "detect_kind", "example_data",
           "fmt_range", "guess_series_kind", "otsu_threshold", "report_csv", "report_json", "report_rows",
           "sierpinski_carpet", "summary_table"]

KINDS = ["Binary set", "Grey-level surface", "1-D series"]
EXAMPLES = ["Sierpinski carpet (exact, 729²)", "fBm surface, H = 0.7 (exact, 512²)",
            "fBm series, H = 0.7 (exact, 2¹⁴ samples)"]


# --- the input -------------------------------------------------------------------------------------

class Input(NamedTuple):
    """What is analysed: its content key, the array, what it is, and a description for the report."""

    key: str                # content hash (or example name): the cache key of every result
    data: np.ndarray        # 2-D image (any dtype) or 1-D float64 series
    kinds: list[str]        # kinds it can be analysed as
    guess: str              # the kind detected from the content
    description: dict       # for the report


def sierpinski_carpet(k: int) -> np.ndarray:
    """The Sierpinski carpet of level ``k``, exactly: no pixel where both indices have the base-3 digit 1.

    Parameters
    ----------
    k : int
        Level, >= 0.

    Returns
    -------
    numpy.ndarray
        bool, shape (3**k, 3**k): True on the set; box-counting dimension log 8 / log 3.
    """
    i = np.arange(3 ** k)
    hole = np.zeros((i.size, i.size), dtype=bool)
    a = i.copy()
    for _ in range(k):
        d = a % 3 == 1
        hole |= d[:, None] & d[None, :]
        a //= 3
    return ~hole


def example_data(name: str) -> np.ndarray:
    """The array of one of :data:`EXAMPLES`: an exact Sierpinski carpet (bool, 729²), an exact fBm
    surface (float64, 512², H = 0.7, Stein 2002) or an exact fBm series (float64, 2**14 samples,
    H = 0.7, Davies-Harte), each for seed 1.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`EXAMPLES`.
    """
    from fractalkit.surfaces import fbm, fbm_surface_exact

    if name == EXAMPLES[0]:
        return sierpinski_carpet(6)
    if name == EXAMPLES[1]:
        return fbm_surface_exact(512, 0.7, seed=1)
    if name == EXAMPLES[2]:
        return fbm(2 ** 14, 0.7, seed=1)
    raise ValueError(f"no example called {name!r}")


def detect_kind(a: np.ndarray) -> str:
    """The kind an image is analysed as unless the user says otherwise.

    Parameters
    ----------
    a : numpy.ndarray
        2-D image, any dtype; NaN and infinite pixels are ignored. Images above 10⁶ pixels are
        judged from a regular subsample.

    Returns
    -------
    str
        "Binary set" for a two-level image (or nearly: at least 90 % of the pixels within 5 % of
        the range from either extreme, as a thresholded photograph or a JPEG of a set), else
        "Grey-level surface".
    """
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


def otsu_threshold(a: np.ndarray) -> float:
    """Otsu's threshold of the finite values: the level that best splits them into two classes.

    The level maximizing the between-class variance w₀ w₁ (μ₀ − μ₁)² of a 256-bin histogram
    between the extremes (N. Otsu, "A threshold selection method from gray-level histograms",
    IEEE Trans. Syst. Man Cybern. 9, 62-66, 1979, eq. 18).

    Parameters
    ----------
    a : numpy.ndarray
        Any shape and real dtype; NaN and infinite values are ignored.

    Returns
    -------
    float
        A bin edge, in the units of ``a``: values above it are one class. The value itself if
        every finite value is equal.

    Raises
    ------
    ValueError
        If ``a`` holds no finite value.
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


# --- the measures ----------------------------------------------------------------------------------

#: Largest number of set pixels whose correlation sum is computed: a random subset beyond it.
MAX_CORRELATION_POINTS = 100_000
#: Largest delay embedding (samples x dimensions) whose correlation sum is computed: the first samples beyond it.
MAX_EMBEDDING_COORDINATES = 2**21
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


def guess_series_kind(x: np.ndarray) -> str:
    """"fbm" (a path) if DFA-1's fluctuation exponent of the series as given exceeds 1 (fBm: α = H + 1),
    else "fgn" (a noise); "fbm" when DFA cannot run (too short)."""
    try:
        return "fbm" if dfa(x, 1, n_boot=0).value > 1 else "fgn"
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


class Result(NamedTuple):
    """One measure's outcome on the page: its id, title, fits (one, or D_0, D_1, D_2), derived rule, details,
    and the fitted range set by hand (None: chosen automatically)."""

    mid: str
    title: str
    fits: tuple[Fit, ...]
    derived: str
    detail: dict | None
    scale_range: tuple[float, float] | None = None


def derived_dimension(fit: Fit, rule: str) -> tuple[float, tuple[float, float]]:
    """``D = E - H`` and its interval from a Hurst-exponent fit (``rule`` "3-H" or "2-H")."""
    e = float(rule.split("-")[0])
    return e - fit.value, (e - fit.ci[1], e - fit.ci[0])


def derived_caveat(fit: Fit, rule: str) -> str:
    """Why ``D = E - H`` is not a fractal dimension of these data, or "" when it is one.

    fBm has 0 < H < 1, and its graph's dimension E − H then lies between E − 1 and E
    (Mandelbrot & Van Ness 1968; Falconer, *Fractal Geometry*, 3rd ed., 2014, §16.2). An
    estimate outside that range means the data do not scale like fBm over the fitted range.

    Parameters
    ----------
    fit : fractalkit.Fit
        A Hurst-exponent fit.
    rule : str
        "3-H" (a surface) or "2-H" (the graph of a path).

    Returns
    -------
    str
        One sentence, or "".
    """
    if not math.isfinite(fit.value):
        return f"H could not be estimated, so D = {rule.split('-')[0]} − H is undefined."
    if 0 < fit.value < 1:
        return ""
    e = rule.split("-")[0]
    why = ("a stationary noise, whose roughness does not grow with scale" if fit.value <= 0
           else "smooth or trending data")
    return (f"H = {fit.value:.3f} lies outside 0 < H < 1, the range of fractional Brownian motion: over the fitted "
            f"range these data scale like {why}, so D = {e} − H is not a fractal dimension of them.")


def fmt_range(fit: Fit) -> str:
    lo, hi = fit.fit_range
    return f"{fit.scale_symbol} = {lo:.4g}…{hi:.4g} {fit.unit}".rstrip()


# --- the report ------------------------------------------------------------------------------------

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
            caveat = derived_caveat(fit, r.derived)
            rows.append({**base, "measure": f"{title} → D = {r.derived[0]} − H", "symbol": "D", "value": d,
                         "ci_low": clo, "ci_high": chi, "notes": " · ".join(filter(None, (base["notes"], caveat))),
                         "shown": f"D = {d:.3f} ± {0.5 * (chi - clo):.3f} ({fmt_range(fit)})"})
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


def report_csv(results: list[Result], source: str = "") -> str:
    """One row per measure: input, measure, method, symbol, value, stderr, ci_low, ci_high, range, unit, notes.

    ``source`` (the uploaded file's name or the example's) fills the first column.
    """
    cols = ["input", "measure", "method", "symbol", "value", "stderr", "ci_low", "ci_high", "confidence", "range",
            "range_low", "range_high", "unit", "uncertainty", "notes"]
    if source[:1] in ("=", "+", "-", "@"):  # a file name a spreadsheet would run as a formula
        source = "'" + source
    return pd.DataFrame([{"input": source, **row} for row in report_rows(results)], columns=cols).to_csv(index=False)


def summary_table(results: list[Result]) -> str:
    """The summary as a Markdown table: each measure (and derived dimension) and its estimate as shown."""
    lines = ["| Measure | Estimate |", "|---|---|"]
    lines += [f"| {row['measure']} | `{row['shown']}` |" for row in report_rows(results)]
    return "\n".join(lines)
