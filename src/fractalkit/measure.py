"""Measuring fractals: box-counting dimension, mass-radius dimension, Hurst exponent."""
from __future__ import annotations

from typing import NamedTuple

import numba as nb
import numpy as np

from .limits import MAX_PIXELS, check

__all__ = ["Fit", "loglog_fit", "box_counts", "box_counting_dimension", "mass_radius_dimension",
           "hurst_exponent"]


class Fit(NamedTuple):
    """A straight-line fit in log-log space.

    Attributes
    ----------
    value : float
        The measured quantity (dimension or Hurst exponent).
    slope, intercept : float
        Of ``log(y) = slope * log(x) + intercept``.
    x, y : numpy.ndarray
        All measured points (box sizes and counts, frequencies and powers, ...).
    used : numpy.ndarray
        Boolean mask of the points inside the fitted range.
    r2 : float
        Coefficient of determination of the fit.
    """

    value: float
    slope: float
    intercept: float
    x: np.ndarray
    y: np.ndarray
    used: np.ndarray
    r2: float

    @property
    def fit_range(self) -> tuple[float, float]:
        """Smallest and largest ``x`` inside the fit."""
        xs = self.x[self.used]
        return float(xs.min()), float(xs.max())


def loglog_fit(x: np.ndarray, y: np.ndarray, used: np.ndarray) -> tuple[float, float, float]:
    """Least-squares straight line through ``(log x, log y)`` over the points in ``used``.

    The fit behind every measurement here: a power law ``y ~ x**slope`` is a line in log-log
    space.

    Parameters
    ----------
    x, y : numpy.ndarray
        Positive float64 arrays of shape ``(n,)``.
    used : numpy.ndarray
        Boolean ``(n,)``: the points inside the fitted range (at least two).

    Returns
    -------
    slope, intercept, r2 : float
        Of ``log(y) = slope * log(x) + intercept``, and the coefficient of determination.

    Raises
    ------
    TypeError
        If ``used`` selects no point.
    numpy.linalg.LinAlgError
        If the selected points cannot be fitted (a single point at ``x = 1``). Other degenerate
        sets (one point, one distinct ``x``) give numpy's ``RankWarning`` and a meaningless
        line: callers keep at least two distinct ``x``.
    """
    lx, ly = np.log(x[used]), np.log(y[used])
    slope, intercept = np.polyfit(lx, ly, 1)
    resid = ly - (slope * lx + intercept)
    ss = np.sum((ly - ly.mean()) ** 2)
    r2 = 1.0 - np.sum(resid ** 2) / ss if ss > 0 else 1.0
    return float(slope), float(intercept), float(r2)


@nb.njit(parallel=True, cache=True, nogil=True)
def _or_reduce(a):
    n = a.shape[0] // 2
    out = np.empty((n, n), dtype=np.uint8)
    rows = np.zeros(n, dtype=np.int64)
    for i in nb.prange(n):
        c = 0
        for j in range(n):
            v = a[2 * i, 2 * j] | a[2 * i, 2 * j + 1] | a[2 * i + 1, 2 * j] | a[2 * i + 1, 2 * j + 1]
            out[i, j] = v
            c += v
        rows[i] = c
    return out, rows.sum()


@nb.njit(parallel=True, cache=True, nogil=True)
def _count(a):
    n = a.shape[0]
    rows = np.zeros(n, dtype=np.int64)
    for i in nb.prange(n):
        c = 0
        for j in range(a.shape[1]):
            c += a[i, j] != 0
        rows[i] = c
    return rows.sum()


def box_counts(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Occupied-box counts at every power-of-two box size (OR pyramid).

    The image is padded with empty pixels to a power-of-two square, then halved repeatedly,
    each box being occupied if any of its four children is.

    Returns
    -------
    sizes : numpy.ndarray
        Int64 box sizes in pixels ``1, 2, 4, ..., side``.
    counts : numpy.ndarray
        Int64 number of occupied boxes at each size.
    """
    img = np.asarray(image)
    if img.ndim != 2 or img.size == 0:
        raise ValueError("box counting needs a non-empty 2D image")
    check("pixels", img.size, MAX_PIXELS, "downscale the image")
    side = 1 << int(np.ceil(np.log2(max(img.shape))))
    a = img != 0 if img.dtype != np.bool_ else img
    if a.shape != (side, side):
        pad = np.zeros((side, side), dtype=np.bool_)
        pad[: a.shape[0], : a.shape[1]] = a
        a = pad
    a = np.ascontiguousarray(a).view(np.uint8)
    sizes, counts = [1], [_count(a)]
    while a.shape[0] > 1:
        a, c = _or_reduce(a)
        sizes.append(sizes[-1] * 2)
        counts.append(c)
    return np.array(sizes, dtype=np.int64), np.array(counts, dtype=np.int64)


def box_counting_dimension(image: np.ndarray, min_box: int = 2, max_box: int | None = None) -> Fit:
    """Box-counting (Minkowski) dimension of a binary image.

    Fits ``log N(s) = -D log s + c`` over box sizes ``min_box <= s <= max_box``
    (default: up to 1/16 of the padded side, so at least a 16 x 16 grid of boxes).

    Parameters
    ----------
    image : numpy.ndarray
        2D array; non-zero pixels belong to the set.
    min_box, max_box : int
        Fitted range of box sizes in pixels.

    Returns
    -------
    Fit
        ``value`` is the dimension ``D``; ``x`` are box sizes, ``y`` counts.

    References
    ----------
    - K. Falconer, *Fractal Geometry: Mathematical Foundations and Applications*, 2nd ed.,
      Wiley (2003), section 3.1: box-counting dimension.

    Examples
    --------
    >>> import numpy as np
    >>> from fractalkit import box_counting_dimension
    >>> line = np.zeros((256, 256), dtype=bool)
    >>> line[128, :] = True
    >>> round(box_counting_dimension(line).value, 2)
    1.0
    """
    sizes, counts = box_counts(image)
    if counts[0] == 0:
        raise ValueError("the image is empty: no pixel is set")
    if max_box is None:
        max_box = max(int(sizes[-1]) // 16, min_box * 4)
    used = (sizes >= min_box) & (sizes <= max_box) & (counts > 0)
    if used.sum() < 3:
        raise ValueError("fewer than three box sizes in the fitted range: use a larger image")
    slope, intercept, r2 = loglog_fit(sizes.astype(float), counts.astype(float), used)
    return Fit(-slope, slope, intercept, sizes, counts, used, r2)


def mass_radius_dimension(image: np.ndarray, center=None, r_min: float = 4.0,
                          r_max: float | None = None) -> Fit:
    """Mass-radius dimension: fit ``M(r) ~ r**D`` for the set pixels within radius ``r``.

    The standard estimator for DLA clusters (``D ~ 1.71`` in 2D). ``center`` defaults to the
    image centre; ``r_max`` to half the distance to the farthest set pixel.
    """
    img = np.asarray(image) != 0
    ys, xs = np.nonzero(img)
    if ys.size < 10:
        raise ValueError("too few set pixels to measure a mass-radius dimension")
    cy, cx = ((img.shape[0] - 1) / 2, (img.shape[1] - 1) / 2) if center is None else center
    r = np.sqrt((ys - cy) ** 2 + (xs - cx) ** 2)
    if r_max is None:
        r_max = r.max() / 2
    radii = np.geomspace(r_min, max(r_max, r_min * 2), 16)
    mass = np.searchsorted(np.sort(r), radii, side="right").astype(float)
    used = mass > 0
    slope, intercept, r2 = loglog_fit(radii, mass, used)
    return Fit(slope, slope, intercept, radii, mass, used, r2)


def _radial_spectrum(surface: np.ndarray, nbins: int = 40):
    a = np.asarray(surface, dtype=np.float64)
    a = a - a.mean()
    p = np.abs(np.fft.rfft2(a)) ** 2
    ky = np.fft.fftfreq(a.shape[0])[:, None]
    kx = np.fft.rfftfreq(a.shape[1])[None, :]
    k = np.sqrt(ky ** 2 + kx ** 2).ravel()
    p = p.ravel()
    edges = np.geomspace(1.0 / max(a.shape), 0.5, nbins + 1)
    idx = np.digitize(k, edges) - 1
    ok = (idx >= 0) & (idx < nbins)
    cnt = np.bincount(idx[ok], minlength=nbins)
    ks = np.bincount(idx[ok], weights=np.log(k[ok]), minlength=nbins)
    ps = np.bincount(idx[ok], weights=np.log(p[ok] + 1e-300), minlength=nbins)
    good = cnt > 0
    # Geometric means per bin; the log-periodogram's constant bias cancels in the slope.
    return np.exp(ks[good] / cnt[good]), np.exp(ps[good] / cnt[good])


def hurst_exponent(signal: np.ndarray, fmin: float | None = None, fmax: float = 0.25) -> Fit:
    """Hurst exponent from the power spectrum of a 1D signal or 2D surface.

    For fBm, ``P(f) ~ f**-beta`` with ``beta = 2 H + 1`` (1D) or ``beta = 2 H + 2`` (2D,
    radially averaged). The spectrum is averaged in logarithmic frequency bins and fitted
    over ``fmin <= f <= fmax`` (cycles per sample; default from 4 cycles per length).

    Returns
    -------
    Fit
        ``value`` is ``H``; ``x`` frequencies, ``y`` powers.

    References
    ----------
    - B. B. Mandelbrot and J. W. Van Ness, "Fractional Brownian motions, fractional noises
      and applications", SIAM Review 10, 422-437 (1968): the power spectrum of fBm falls as
      ``f**-(2H + 1)``.

    Examples
    --------
    >>> from fractalkit import fbm_1d, hurst_exponent
    >>> round(hurst_exponent(fbm_1d(2**14, hurst=0.3, seed=0)).value, 1)
    0.3
    """
    a = np.asarray(signal, dtype=np.float64)
    if a.ndim not in (1, 2) or min(a.shape) < 16:
        raise ValueError("need a 1D signal or 2D surface at least 16 samples on a side")
    if not np.isfinite(a).all():
        raise ValueError("the signal contains NaN or infinite values")
    if a.ndim == 1:
        p = np.abs(np.fft.rfft(a - a.mean())) ** 2
        f = np.fft.rfftfreq(a.size)
        edges = np.geomspace(1.0 / a.size, 0.5, 41)
        idx = np.digitize(f, edges) - 1
        ok = (idx >= 0) & (idx < 40) & (f > 0)
        cnt = np.bincount(idx[ok], minlength=40)
        good = cnt > 0
        fs = np.exp(np.bincount(idx[ok], np.log(f[ok]), 40)[good] / cnt[good])
        ps = np.exp(np.bincount(idx[ok], np.log(p[ok] + 1e-300), 40)[good] / cnt[good])
        offset = 1.0
    else:
        fs, ps = _radial_spectrum(a)
        offset = 2.0
    if fmin is None:
        fmin = 4.0 / max(a.shape)
    used = (fs >= fmin) & (fs <= fmax)
    if used.sum() < 3:
        raise ValueError("too few frequencies in the fitted range")
    slope, intercept, r2 = loglog_fit(fs, ps, used)
    beta = -slope
    return Fit((beta - offset) / 2.0, slope, intercept, fs, ps, used, r2)
