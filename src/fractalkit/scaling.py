"""Power laws fitted over a scaling range, with their uncertainty.

Every estimator in fractalkit (box counting, DFA, variograms, spectra, correlation sums, ...)
measures a quantity ``y`` at scales ``x`` and reads an exponent off the slope of
``log y`` against ``log x``. This module does that last step once, for all of them:

- :func:`fit_power_law` fits the line, over a scaling range that is chosen automatically
  (:func:`choose_scaling_range`) unless the caller gives one;
- the result, :class:`Fit`, carries the estimate with a confidence interval, the range used
  and the local slopes to judge it, and prints as ``D = 1.585 ± 0.010 (s = 2…256 px)``.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numba as nb
import numpy as np
from scipy import stats

__all__ = ["Fit", "fit_power_law", "choose_scaling_range", "loglog_fit"]


@dataclass(frozen=True, eq=False)
class Fit:
    """An exponent read off a straight line in log-log space, with its uncertainty.

    The estimate is an affine function of the fitted slope, ``value = gain * slope + offset``
    (for box counting ``D = -slope``; for DFA ``H = slope``; for a variogram ``H = slope / 2``).

    Attributes
    ----------
    value : float
        The estimate (a dimension, a Hurst exponent, ...).
    slope, intercept : float
        Of ``log(y) = slope * log(x) + intercept`` over the fitted range (natural logarithms).
    x, y : numpy.ndarray
        Float64 ``(n,)``: every measured scale and the quantity measured there.
    used : numpy.ndarray
        Bool ``(n,)``: the points inside the fitted scaling range.
    r2 : float
        Coefficient of determination of the fit. It stays near 1 even when the estimate is
        several percent off; judge a fit by ``ci`` and :attr:`local_slopes` instead.
    stderr : float
        Standard error of ``value``.
    ci : (float, float)
        Confidence interval of ``value`` at level ``confidence``.
    confidence : float
        Level of ``ci`` (0.95 by default).
    uncertainty : str
        How ``stderr`` was obtained, e.g. ``"regression"``, ``"grid offsets"``,
        ``"parametric bootstrap (200 exact fGn)"``.
    symbol, scale_symbol, unit : str
        For printing: ``"D"``, ``"s"`` and ``"px"`` give ``D = ... (s = 2…256 px)``.
    gain, offset : float
        ``value = gain * slope + offset``; also maps :attr:`local_slopes`.
    method : str
        The estimator, e.g. ``"box counting"``, ``"DFA-1"``.
    notes : tuple of str
        Anything the user should know about this estimate (a fallback taken, a range clipped).
    """

    value: float
    slope: float
    intercept: float
    x: np.ndarray
    y: np.ndarray
    used: np.ndarray
    r2: float
    stderr: float = math.nan
    ci: tuple[float, float] = (math.nan, math.nan)
    confidence: float = 0.95
    uncertainty: str = "regression"
    symbol: str = "D"
    scale_symbol: str = "s"
    unit: str = "px"
    gain: float = 1.0
    offset: float = 0.0
    method: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def fit_range(self) -> tuple[float, float]:
        """Smallest and largest scale ``x`` inside the fit."""
        xs = self.x[self.used]
        return float(xs.min()), float(xs.max())

    @property
    def half_width(self) -> float:
        """Half the width of ``ci`` (the ``±`` in ``str(fit)``)."""
        return 0.5 * (self.ci[1] - self.ci[0])

    @property
    def local_slopes(self) -> tuple[np.ndarray, np.ndarray]:
        """The estimate between each pair of neighbouring scales.

        Returns
        -------
        scales, values : numpy.ndarray
            Float64 ``(n - 1,)``: geometric midpoints of neighbouring scales, and
            ``gain * d log y / d log x + offset`` there. A plateau over the fitted range is a
            power law; a trend means the range holds no single exponent.
        """
        lx, ly = np.log(self.x), np.log(self.y)
        d = np.diff(ly) / np.diff(lx)
        return np.exp(0.5 * (lx[1:] + lx[:-1])), self.gain * d + self.offset

    def with_stderr(self, stderr: float, uncertainty: str, *, dist: str = "normal") -> Fit:
        """A copy whose uncertainty is ``stderr`` (from a bootstrap, grid offsets, ...).

        ``dist`` is ``"normal"``; the interval is ``value ± z * stderr``.
        """
        z = stats.norm.ppf(0.5 + self.confidence / 2)
        return dataclasses.replace(self, stderr=float(stderr), ci=(self.value - z * stderr, self.value + z * stderr),
                                   uncertainty=uncertainty)

    def __str__(self) -> str:
        lo, hi = self.fit_range
        return (f"{self.symbol} = {self.value:.3f} ± {self.half_width:.3f} "
                f"({self.scale_symbol} = {lo:.4g}…{hi:.4g} {self.unit})").replace(" )", ")")

    def to_dict(self) -> dict:
        """A JSON-ready summary: estimate, interval, range, method and local slopes."""
        sx, sv = self.local_slopes
        return {
            "method": self.method, "symbol": self.symbol, "value": self.value, "stderr": self.stderr,
            "ci_low": self.ci[0], "ci_high": self.ci[1], "confidence": self.confidence,
            "uncertainty": self.uncertainty, "range_low": self.fit_range[0], "range_high": self.fit_range[1],
            "unit": self.unit, "r2": self.r2, "notes": list(self.notes),
            "scales": self.x.tolist(), "measured": self.y.tolist(), "used": self.used.tolist(),
            "local_slope_scales": sx.tolist(), "local_slopes": sv.tolist(),
        }


def loglog_fit(x: np.ndarray, y: np.ndarray, used: np.ndarray) -> tuple[float, float, float]:
    """Least-squares straight line through ``(log x, log y)`` over the points in ``used``.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positive float64 arrays of shape ``(n,)``.
    used : numpy.ndarray
        Boolean ``(n,)``: the points inside the fitted range (at least two distinct ``x``).

    Returns
    -------
    slope, intercept, r2 : float
        Of ``log(y) = slope * log(x) + intercept``, and the coefficient of determination.

    Raises
    ------
    ValueError
        If fewer than two distinct ``x`` are selected, or a selected value is not positive.
    """
    slope, intercept, r2, _ = _ols(np.log(x[used]), np.log(y[used]))
    return slope, intercept, r2


def _ols(lx: np.ndarray, ly: np.ndarray) -> tuple[float, float, float, float]:
    """Slope, intercept, r² and the slope's standard error (nan for two points)."""
    if not (np.isfinite(lx).all() and np.isfinite(ly).all()):
        raise ValueError("a power law needs positive, finite scales and values")
    k = lx.size
    mx, my = lx.mean(), ly.mean()
    sxx = float(np.sum((lx - mx) ** 2))
    if k < 2 or sxx == 0:
        raise ValueError("a power law needs at least two distinct scales")
    slope = float(np.sum((lx - mx) * (ly - my)) / sxx)
    intercept = float(my - slope * mx)
    ssr = float(np.sum((ly - (slope * lx + intercept)) ** 2))
    sst = float(np.sum((ly - my) ** 2))
    r2 = 1.0 - ssr / sst if sst > 0 else 1.0
    se = math.sqrt(ssr / (k - 2) / sxx) if k > 2 else math.nan
    return slope, intercept, r2, se


def choose_scaling_range(x: np.ndarray, y: np.ndarray, allowed: np.ndarray | None = None,
                         min_points: int = 4, min_span: float = 0.5) -> np.ndarray:
    """The scaling range: the contiguous run of scales best described by one power law.

    Among all contiguous windows of the allowed points that hold at least ``min_points`` points
    and span at least ``min_span`` of the allowed range in ``log x``, the one whose slope has the
    smallest standard error wins: a longer window lowers it, curvature at either end (the
    pixel scale, the size of the sample) raises it.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positive float64 ``(n,)``, ``x`` increasing.
    allowed : numpy.ndarray, optional
        Bool ``(n,)``: the scales the estimator allows at all (default: every finite, positive
        point).
    min_points : int
        Fewest points in a window (at least 3).
    min_span : float
        Fewest decades of the allowed range a window must span, as a fraction of it.

    Returns
    -------
    numpy.ndarray
        Bool ``(n,)``: the chosen window.

    Raises
    ------
    ValueError
        If fewer than ``min_points`` scales are allowed.

    References
    ----------
    - The criterion is the one used for correlation sums by J. Theiler, "Estimating fractal
      dimension", J. Opt. Soc. Am. A 7, 1055-1073 (1990), section 4: prefer the widest range
      on which the local slope is flat, judged here by the slope's standard error.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if allowed is not None:
        ok &= np.asarray(allowed, dtype=bool)
    idx = np.flatnonzero(ok)
    min_points = max(3, int(min_points))
    if idx.size < min_points:
        raise ValueError(f"only {idx.size} usable scales; a power-law fit needs at least {min_points}")
    lx, ly = np.log(x[idx]), np.log(y[idx])
    total = lx[-1] - lx[0]
    best = _best_window(lx, ly, min_points, min_span * total - 1e-12)
    used = np.zeros(x.shape, dtype=bool)
    used[idx[best[0]:best[1] + 1]] = True
    return used


@nb.njit(cache=True, nogil=True)
def _npsum(a):  # pragma: no cover - numba
    """``numpy.sum`` of a contiguous float64 array, in numpy's own (pairwise) order, bit for bit."""
    n = a.size
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    if n <= 128:
        r = a[:8].copy()
        m = n - n % 8
        for i in range(8, m, 8):
            for j in range(8):
                r[j] += a[i + j]
        res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for i in range(m, n):
            res += a[i]
        return res
    n2 = n // 2
    n2 -= n2 % 8
    return _npsum(a[:n2]) + _npsum(a[n2:])


@nb.njit(cache=True, nogil=True)
def _best_window(lx, ly, min_points, min_width):  # pragma: no cover - numba
    """First window ``(i, j)`` (in loop order) whose slope has the smallest standard error.

    The windows of :func:`choose_scaling_range`: at least ``min_points`` points, spanning at
    least ``min_width`` in ``log x``; the arithmetic of :func:`_ols` in the same order (same
    result to the last bit), compiled: it runs for every bootstrap replicate of every estimator.
    """
    m = lx.size
    bi, bj = 0, m - 1
    best = np.inf
    for i in range(m):
        for j in range(i + min_points - 1, m):
            if lx[j] - lx[i] < min_width:
                continue
            k = j - i + 1
            x = lx[i:j + 1]
            y = ly[i:j + 1]
            mx = _npsum(x) / k
            my = _npsum(y) / k
            dx = x - mx
            sxx = _npsum(dx ** 2)
            if sxx == 0.0:
                raise ValueError("a power law needs at least two distinct scales")
            slope = _npsum(dx * (y - my)) / sxx
            intercept = my - slope * mx
            ssr = _npsum((y - (slope * x + intercept)) ** 2)
            se = math.sqrt(ssr / (k - 2) / sxx)
            if se < best - 1e-15:
                bi, bj, best = i, j, se
    return bi, bj


def fit_power_law(x: np.ndarray, y: np.ndarray, *, scale_range: tuple[float, float] | None = None,
                  allowed: np.ndarray | None = None, gain: float = 1.0, offset: float = 0.0,
                  min_points: int = 4, confidence: float = 0.95, symbol: str = "D",
                  scale_symbol: str = "s", unit: str = "px", method: str = "") -> Fit:
    """Fit ``y ~ x**slope`` over a scaling range and report ``gain * slope + offset``.

    Parameters
    ----------
    x, y : numpy.ndarray
        Scales and measured values, float64 ``(n,)``, ``x`` increasing; non-positive values
        are never fitted.
    scale_range : (float, float), optional
        Fit exactly the scales ``lo <= x <= hi``. Default: chosen by
        :func:`choose_scaling_range` among the ``allowed`` scales.
    allowed : numpy.ndarray, optional
        Bool ``(n,)``: scales the estimator's theory allows for the automatic choice.
    gain, offset : float
        ``value = gain * slope + offset``.
    min_points : int
        Fewest points in an automatically chosen range.
    confidence : float
        Level of the confidence interval.
    symbol, scale_symbol, unit, method : str
        Labels carried by the :class:`Fit`.

    Returns
    -------
    Fit
        With a regression interval: ``t(k - 2)`` quantile times the slope's ordinary
        least-squares standard error. Neighbouring scales are correlated, so estimators that
        can do better replace it (:meth:`Fit.with_stderr`).

    Raises
    ------
    ValueError
        If fewer than three usable scales fall in the range, the range is not ``0 < low < high``
        or ``confidence`` is not in (0, 1).
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("scales and values must be 1-D arrays of one length")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be a level between 0 and 1 (e.g. 0.95), got {confidence!r}")
    if scale_range is None:
        used = choose_scaling_range(x, y, allowed, min_points)
    else:
        lo, hi = scale_range
        if not 0 < lo < hi:
            raise ValueError(f"the scaling range must have 0 < low < high, got {scale_range}")
        used = (x >= lo) & (x <= hi) & (y > 0) & np.isfinite(y)
        if used.sum() < 3:
            raise ValueError(f"only {int(used.sum())} scales with data in {lo:g}…{hi:g} {unit}; "
                             "a fit needs at least 3: widen the range")
    slope, intercept, r2, se = _ols(np.log(x[used]), np.log(y[used]))
    value = gain * slope + offset
    k = int(used.sum())
    half = stats.t.ppf(0.5 + confidence / 2, k - 2) * abs(gain) * se if k > 2 else math.nan
    return Fit(value, slope, intercept, x, y, used, r2, abs(gain) * se, (value - half, value + half), confidence,
               "regression", symbol, scale_symbol, unit, gain, offset, method)
