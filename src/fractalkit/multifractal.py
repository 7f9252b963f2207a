"""Multifractal measures and the correlation dimension.

Two families of estimators, both reading exponents off power laws with
:func:`fractalkit.scaling.fit_power_law`, so every estimate carries its interval and its
scaling range:

- **Generalized dimensions** ``D_q`` and the **multifractal spectrum** ``f(α)`` of a measure:
  a grey-level image (pixel values are masses), a binary image (a uniform measure on its
  set pixels) or a set of points such as chaos-game output (each point carries mass
  ``1/N``). Both come from one box-counting pass (:func:`multifractal_spectrum`):
  ``D_q`` from the partition function ``Z(q, s) = Σ_i μ_i(s)^q ~ s^τ(q)``, and ``α(q)``,
  ``f(q)`` by the direct method of Chhabra and Jensen, each a regression slope.
- The **correlation dimension** ``D₂`` of a set of points, of the set pixels of a binary image
  or of a scalar time series after delay embedding (:func:`correlation_dimension`), from the
  correlation sum ``C(r) ~ r^D₂`` of Grassberger and Procaccia, with a Theiler window.

All kernels are numba-compiled with ``nogil=True`` and run serially, so they are deterministic
and thread-safe, and concurrent calls run on separate cores.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numba as nb
import numpy as np
from scipy import stats

from .limits import MAX_PIXELS, MAX_POINTS, check, check_positive_int
from .scaling import Fit, fit_power_law

__all__ = ["MultifractalSpectrum", "multifractal_spectrum", "generalized_dimensions", "correlation_sum",
           "correlation_dimension", "delay_embedding", "theiler_window", "MAX_Q_VALUES", "GRID_OFFSETS",
           "MAX_PAIR_WORK", "AUTO_PAIR_WORK", "AUTO_MIN_REFERENCE", "MAX_POINT_DIMENSIONS", "MAX_COORDINATES"]

#: Most moment orders ``q`` in one spectrum (the work is pixels x orders).
MAX_Q_VALUES = 201
#: Shifted box grids whose spread makes the grid term of a spectrum's intervals.
GRID_OFFSETS = 4
#: Most reference points x points examined by one correlation sum (every pair of 10⁵ points: about
#: a minute on one core; the default reference subset keeps a call to seconds).
MAX_PAIR_WORK = 10_000_000_000
#: Default reference subset of :func:`correlation_dimension`: reference points x points up to this.
AUTO_PAIR_WORK = 200_000_000
#: ... but never fewer reference points than this (or all points).
AUTO_MIN_REFERENCE = 100
#: Most coordinates per point in a correlation sum (more is taken for an image passed by mistake).
MAX_POINT_DIMENSIONS = 64
#: Largest number of coordinates (points x dimensions) in a correlation sum or embedding.
MAX_COORDINATES = 2 * MAX_POINTS

_Q_ONE = 1e-9  # |q - 1| below this is q = 1 (the information dimension)
_LANES = 8  # boxes summed side by side in the partition-function kernel


# --------------------------------------------------------------------------------------------
# Box masses: an image pyramid or Morton-sorted points
# --------------------------------------------------------------------------------------------

@nb.njit(cache=True, nogil=True)
def _scan(a):
    """(negative count, non-finite count, positive count, sum) of a 2-D array of any real dtype."""
    neg = 0
    bad = 0
    pos = 0
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            v = a[i, j]
            if v - v != 0:  # NaN or +-inf (always 0 for integers)
                bad += 1
            elif v < 0:
                neg += 1
            elif v > 0:
                pos += 1
    return neg, bad, pos


@nb.njit(cache=True, nogil=True)
def _halve(a, oy, ox):
    """Sums of 2 x 2 blocks as float64 (partial blocks at the far edges).

    With ``(oy, ox) != (0, 0)`` the image is first rolled by ``(-oy, -ox)`` on the torus: the
    box grid shifted by ``(oy, ox)`` pixels, boxes crossing an edge wrapping to the other side.
    """
    h, w = a.shape
    out = np.zeros(((h + 1) // 2, (w + 1) // 2))
    for i in range(h):
        r = i >> 1
        si = (i + oy) % h
        for j in range(w):
            out[r, j >> 1] += a[si, (j + ox) % w]
    return out


@nb.njit(cache=True, nogil=True)
def _value_histogram(a, top):
    """Multiplicity of each integer value ``0..top`` in a 2-D array of integer values."""
    hist = np.zeros(top + 1, dtype=np.int64)
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            hist[np.int64(a[i, j])] += 1
    return hist


@nb.njit(cache=True, nogil=True)
def _moments(values, mult, scale, qs, even):
    """Partition sums over the positive entries of ``values`` (each ``mult`` times if given).

    With ``μ = value * scale``: returns the number of boxes, ``log Σ μ^q`` and
    ``Σ μ^q log μ / Σ μ^q`` for every ``q`` of the ascending ``qs``. Each term is computed as
    ``exp(q (log μ - log μ_ref))``, with ``μ_ref`` the largest mass for ``q >= 0`` and the
    smallest for ``q < 0``, so no term exceeds 1. If ``even`` (``qs`` evenly spaced), the terms
    of successive ``q`` follow by one multiplication instead of one ``exp`` each.
    """
    weighted = mult.size == values.size
    vmin = np.inf
    vmax = 0.0
    n = 0
    for i in range(values.size):
        v = values[i]
        if v > 0:
            n += mult[i] if weighted else 1
            vmin = min(vmin, v)
            vmax = max(vmax, v)
    nq = qs.size
    logz = np.full(nq, np.nan)
    mean_log = np.full(nq, np.nan)
    if n == 0:
        return n, logz, mean_log
    lmin = math.log(vmin * scale)
    lmax = math.log(vmax * scale)
    first_pos = nq  # index of the first q >= 0
    for k in range(nq):
        if qs[k] >= 0:
            first_pos = k
            break
    step = qs[1] - qs[0] if nq > 1 else 0.0
    s0 = np.zeros(nq)
    s1 = np.zeros(nq)
    if even:
        # Boxes go through LANES at a time, each lane with its own partial sums: the inner loops
        # run across lanes (vectorised, no reassociation), and the order of every sum is fixed.
        cn = math.exp(-step * (lmax - lmin))
        # The first q >= 0 is often 0 or one step (and the last q < 0 minus one step): no exp then.
        p_start = 0 if first_pos < nq and qs[first_pos] == 0 else (
            1 if first_pos < nq and qs[first_pos] == step else 2)
        n_start = 1 if first_pos > 0 and qs[first_pos - 1] == -step else 2
        S0 = np.zeros((nq, _LANES))
        S1 = np.zeros((nq, _LANES))
        lvb = np.zeros(_LANES)
        wpb = np.zeros(_LANES)
        rpb = np.zeros(_LANES)
        wnb = np.zeros(_LANES)
        rnb = np.zeros(_LANES)
        e = 0
        for i in range(values.size + _LANES):
            if i < values.size:
                v = values[i]
                if not v > 0:
                    continue
                lv = math.log(v * scale)
                c = float(mult[i]) if weighted else 1.0
                up = lv - lmax  # <= 0
                un = lv - lmin  # >= 0
                lvb[e] = lv
                rp = math.exp(step * up)
                # exp(-step un) = exp(-step (lmax - lmin)) / exp(step up): one exp per box
                rn = cn / rp if rp > 1e-250 and cn > 1e-250 else math.exp(-step * un)
                rpb[e] = rp
                rnb[e] = rn
                if first_pos < nq:
                    wpb[e] = c if p_start == 0 else (c * rp if p_start == 1 else c * math.exp(qs[first_pos] * up))
                if first_pos > 0:
                    wnb[e] = c * rn if n_start == 1 else c * math.exp(qs[first_pos - 1] * un)
                e += 1
                if e < _LANES:
                    continue
            elif e == 0:
                break
            else:  # the last, partial block: empty lanes weigh nothing
                for t in range(e, _LANES):
                    lvb[t] = 0.0
                    wpb[t] = 0.0
                    wnb[t] = 0.0
            for k in range(first_pos, nq):
                for t in range(_LANES):
                    S0[k, t] += wpb[t]
                    S1[k, t] += wpb[t] * lvb[t]
                    wpb[t] *= rpb[t]
            for k in range(first_pos - 1, -1, -1):
                for t in range(_LANES):
                    S0[k, t] += wnb[t]
                    S1[k, t] += wnb[t] * lvb[t]
                    wnb[t] *= rnb[t]
            if i >= values.size:
                break
            e = 0
        for k in range(nq):
            for t in range(_LANES):
                s0[k] += S0[k, t]
                s1[k] += S1[k, t]
    else:
        for i in range(values.size):
            v = values[i]
            if v > 0:
                lv = math.log(v * scale)
                c = float(mult[i]) if weighted else 1.0
                up = lv - lmax  # <= 0
                un = lv - lmin  # >= 0
                for k in range(nq):
                    w = c * math.exp(qs[k] * (up if k >= first_pos else un))
                    s0[k] += w
                    s1[k] += w * lv
    for k in range(nq):
        logz[k] = qs[k] * (lmax if k >= first_pos else lmin) + math.log(s0[k])
        mean_log[k] = s1[k] / s0[k]
    return n, logz, mean_log


@nb.njit(cache=True, nogil=True)
def _morton_codes(pts, lo, inv_side, bits, shift):
    """Interleaved integer cell coordinates at ``2**bits`` cells per axis, one int64 per point.

    ``shift`` (fractions of the side, ``(d,)``) moves the grid on the torus: cell coordinates
    wrap around.
    """
    n, d = pts.shape
    cells = 1 << bits
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        code = np.int64(0)
        for a in range(d):
            u = (pts[i, a] - lo[a]) * inv_side + shift[a]
            u -= math.floor(u)
            c = np.int64(u * cells)
            c = min(max(c, 0), cells - 1)
            for b in range(bits):
                code |= ((c >> b) & 1) << (b * d + a)
        out[i] = code
    return out


@nb.njit(cache=True, nogil=True)
def _run_lengths(codes, shift):
    """Points per occupied box: run lengths of ``codes >> shift`` over sorted codes."""
    out = np.empty(codes.size, dtype=np.int64)
    m = 0
    run = 1
    for i in range(1, codes.size):
        if (codes[i] >> shift) == (codes[i - 1] >> shift):
            run += 1
        else:
            out[m] = run
            m += 1
            run = 1
    out[m] = run
    return out[:m + 1]


def _evenly_spaced(qs) -> bool:
    """Whether the ascending ``qs`` are evenly spaced (to 1e-9 relative)."""
    if qs.size < 3:
        return True
    d = np.diff(qs)
    return bool(np.all(np.abs(d - d[0]) <= 1e-9 * abs(d[0])))


def _as_measure(measure):
    """("image", 2-D array) or ("points", (N, d) float64) after validation."""
    a = np.asarray(measure)
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise ValueError(f"a measure must be a real array (image or points), got dtype {a.dtype}")
    if a.ndim == 2 and a.dtype != np.bool_ and 1 <= a.shape[1] <= 3 and a.shape[0] > a.shape[1]:
        pts = np.ascontiguousarray(a, dtype=np.float64)
        if not np.isfinite(pts).all():
            raise ValueError("the points contain NaN or infinite coordinates")
        check("points", pts.shape[0], MAX_POINTS, "sub-sample the points")
        return "points", pts
    if a.ndim == 1:
        a = a[None, :]
    elif a.ndim != 2:
        raise ValueError(f"a measure is a 1-D or 2-D array of masses or an (N, d<=3) array of points, "
                         f"got shape {np.shape(measure)}")
    if a.size == 0:
        raise ValueError("the measure is empty")
    check("pixels", a.size, MAX_PIXELS, "downscale the image")
    if max(a.shape) < 16:
        raise ValueError(f"a measure needs at least 16 pixels along its longer side, got shape {a.shape}")
    if a.dtype == np.bool_:
        a = a.view(np.uint8)
    neg, bad, pos = _scan(a)
    if bad:
        raise ValueError(f"the measure contains {bad} NaN or infinite values")
    if neg:
        raise ValueError(f"a measure cannot have negative mass: {neg} pixels are negative")
    if pos == 0:
        raise ValueError("the measure is empty: no pixel has positive mass")
    return "image", a


def _image_levels(a, qs, offset=(0, 0), only=None):
    """Box sizes (px), box counts, log Z and escort-mean log μ at every power-of-two size.

    ``offset``: the box grid shifted by ``(oy, ox)`` pixels on the torus (:func:`_halve`).
    ``only``: compute the sums at these sizes only (nan elsewhere).
    """
    integral = a.dtype.kind in "biu"
    even = _evenly_spaced(qs)
    sizes, counts, logz, mlog = [], [], [], []
    s = 1
    levels = [a]
    if max(a.shape) > 1:
        levels.append(_halve(a, int(offset[0]) if a.shape[0] > 1 else 0, int(offset[1])))
    while max(levels[-1].shape) > 1:
        levels.append(_halve(levels[-1], 0, 0))
    total = float(levels[-1][0, 0])
    empty = np.zeros(0, dtype=np.int64)
    nq = qs.size
    for level in levels:
        if only is not None and s not in only:
            sizes.append(s)
            counts.append(0)
            logz.append(np.full(nq, np.nan))
            mlog.append(np.full(nq, np.nan))
            s *= 2
            continue
        if integral and float(level.max()) <= 4 * level.size:
            hist = _value_histogram(level, int(level.max()))
            vals = np.flatnonzero(hist)
            n, lz, ml = _moments(vals.astype(np.float64), hist[vals], 1.0 / total, qs, even)
        else:
            n, lz, ml = _moments(level.ravel(), empty, 1.0 / total, qs, even)
        sizes.append(s)
        counts.append(n)
        logz.append(lz)
        mlog.append(ml)
        s *= 2
    return (np.array(sizes, dtype=np.float64), np.array(counts, dtype=np.int64),
            np.array(logz).T, np.array(mlog).T)


def _point_levels(pts, qs, min_count, offset=None, only=None):
    """As :func:`_image_levels` for points, on the cube bounding them, at mean occupancy >= min_count.

    ``offset``: fractions ``(d,)`` of the cube's side by which the grid is shifted on the torus
    (boxes crossing a face of the cube wrap around). ``only``: level indices to compute.
    """
    n, d = pts.shape
    lo = pts.min(axis=0)
    side = float((pts.max(axis=0) - lo).max())
    if not side > 0:
        raise ValueError("all points coincide: a measure needs points spread in space")
    side *= 1 + 1e-12  # the largest coordinate falls inside the last cell
    bits = min(62 // d, int(math.ceil(math.log2(n))) + 2)
    shift = np.zeros(d) if offset is None else np.asarray(offset, dtype=np.float64)
    even = _evenly_spaced(qs)
    codes = np.sort(_morton_codes(pts, lo, 1.0 / side, bits, shift))
    sizes, counts, logz, mlog = [], [], [], []
    nq = qs.size
    for level in range(bits + 1):  # level 0 = finest cells
        occ = _run_lengths(codes, d * level)
        sizes.append(side / 2 ** (bits - level))
        counts.append(occ.size)
        if occ.size * min_count > n or (only is not None and level not in only):  # too sparse: not computed
            logz.append(np.full(nq, np.nan))
            mlog.append(np.full(nq, np.nan))
            continue
        vals, mult = np.unique(occ, return_counts=True)
        _, lz, ml = _moments(vals.astype(np.float64), mult.astype(np.int64), 1.0 / n, qs, even)
        logz.append(lz)
        mlog.append(ml)
    return (np.array(sizes), np.array(counts, dtype=np.int64), np.array(logz).T, np.array(mlog).T, side)


def _halton(k: int, dims: int) -> np.ndarray:
    """Points ``1..k`` of the Halton sequence in ``[0, 1)^dims`` (bases 2, 3, 5), ``(k, dims)``."""
    out = np.zeros((k, dims))
    for i in range(k):
        for a, base in enumerate((2, 3, 5)[:dims]):
            f, r, m = 1.0, 0.0, i + 1
            while m > 0:
                f /= base
                r += f * (m % base)
                m //= base
            out[i, a] = r
    return out


def _slopes(lx: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Least-squares slope of each row of ``ys`` against ``lx``."""
    xm = lx - lx.mean()
    return (ys - ys.mean(axis=1, keepdims=True)) @ xm / float(xm @ xm)


def _subrange_half_spread(lx: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Per row: half the spread of the slopes over sub-ranges spanning at least half of ``lx``."""
    need = 0.5 * (lx[-1] - lx[0]) - 1e-12
    est = [_slopes(lx[i:j + 1], ys[:, i:j + 1]) for i in range(lx.size) for j in range(i + 2, lx.size)
           if lx[j] - lx[i] >= need]
    if not est:
        return np.zeros(ys.shape[0])
    est = np.array(est)
    return 0.5 * (est.max(axis=0) - est.min(axis=0))


# --------------------------------------------------------------------------------------------
# The spectrum
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class MultifractalSpectrum:
    """Generalized dimensions ``D_q``, mass exponents ``τ(q)`` and the spectrum ``f(α)``.

    All estimates are slopes over one common range of box sizes (:attr:`scale_range`), each
    with its regression standard error.

    Attributes
    ----------
    q : numpy.ndarray
        Float64 ``(k,)``: the moment orders, ascending.
    tau, tau_stderr : numpy.ndarray
        Float64 ``(k,)``: mass exponents ``τ(q) = (q - 1) D_q`` (``Z(q, s) ~ s^τ(q)``) and their
        standard errors (``τ(1) = 0`` exactly).
    D_q, D_q_stderr : numpy.ndarray
        Float64 ``(k,)``: generalized dimensions and their standard errors. ``D_0`` is the
        box-counting dimension of the support, ``D_1`` the information dimension and ``D_2``
        the correlation dimension.
    alpha, alpha_stderr, f, f_stderr : numpy.ndarray
        Float64 ``(k,)``: Hölder exponent ``α(q)`` and the dimension ``f(q)`` of the set where
        the measure scales with it (Chhabra-Jensen), with their standard errors.
    scales : numpy.ndarray
        Float64 ``(n,)``: every box size measured, in ``unit``.
    boxes : numpy.ndarray
        Int64 ``(n,)``: occupied boxes at each size.
    used : numpy.ndarray
        Bool ``(n,)``: the box sizes inside the fit (the same for every ``q``).
    log_partition : numpy.ndarray
        Float64 ``(k, n)``: ``log Z(q, s)``, natural logarithm (nan where not computed).
    D_fits, alpha_fits, f_fits : tuple of Fit
        One :class:`~fractalkit.scaling.Fit` per ``q`` (for plots: ``x``, ``y``, local slopes).
    unit : str
        Unit of ``scales``: ``"px"`` for an image, ``""`` (the points' units) for points.
    confidence : float
        Level of the ``*_ci`` intervals.
    method : str
        ``"box counting (image)"`` or ``"box counting (points)"``.
    notes : tuple of str
        What the user should know about this estimate.
    """

    q: np.ndarray
    tau: np.ndarray
    tau_stderr: np.ndarray
    D_q: np.ndarray
    D_q_stderr: np.ndarray
    alpha: np.ndarray
    alpha_stderr: np.ndarray
    f: np.ndarray
    f_stderr: np.ndarray
    scales: np.ndarray
    boxes: np.ndarray
    used: np.ndarray
    log_partition: np.ndarray
    D_fits: tuple[Fit, ...]
    alpha_fits: tuple[Fit, ...]
    f_fits: tuple[Fit, ...]
    unit: str = "px"
    confidence: float = 0.95
    method: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def scale_range(self) -> tuple[float, float]:
        """Smallest and largest box size inside the fit."""
        xs = self.scales[self.used]
        return float(xs.min()), float(xs.max())

    @staticmethod
    def _ci(fits) -> np.ndarray:
        return np.array([f.ci for f in fits], dtype=np.float64).reshape(len(fits), 2)

    @property
    def D_q_ci(self) -> np.ndarray:
        """Float64 ``(k, 2)``: confidence interval of each ``D_q``."""
        return self._ci(self.D_fits)

    @property
    def alpha_ci(self) -> np.ndarray:
        """Float64 ``(k, 2)``: confidence interval of each ``α(q)``."""
        return self._ci(self.alpha_fits)

    @property
    def f_ci(self) -> np.ndarray:
        """Float64 ``(k, 2)``: confidence interval of each ``f(q)``."""
        return self._ci(self.f_fits)

    def fit(self, q: float) -> Fit:
        """The :class:`~fractalkit.scaling.Fit` of ``D_q`` for one of the orders in ``q``."""
        i = np.flatnonzero(np.isclose(self.q, q, rtol=0, atol=1e-9))
        if i.size == 0:
            raise KeyError(f"q = {q} is not one of the orders computed")
        return self.D_fits[int(i[0])]

    def __str__(self) -> str:
        lo, hi = self.scale_range
        parts = []
        for qq in (0.0, 1.0, 2.0):
            i = np.flatnonzero(np.isclose(self.q, qq, atol=1e-9))
            if i.size:
                k = int(i[0])
                parts.append(f"D{int(qq)} = {self.D_q[k]:.3f} ± {self.D_fits[k].half_width:.3f}")
        if not parts:
            parts.append(f"D_q = {self.D_q.min():.3f}…{self.D_q.max():.3f}")
        return (", ".join(parts) + f" (s = {lo:.4g}…{hi:.4g} {self.unit})").replace(" )", ")")

    def to_dict(self) -> dict:
        """A JSON-ready summary: the spectra, their intervals, the range and notes."""
        def lst(a):
            return [None if not np.isfinite(v) else float(v) for v in np.ravel(a)]
        lo, hi = self.scale_range
        return {
            "method": self.method, "confidence": self.confidence, "unit": self.unit,
            "range_low": lo, "range_high": hi, "notes": list(self.notes),
            "q": lst(self.q), "tau": lst(self.tau), "tau_stderr": lst(self.tau_stderr),
            "D_q": lst(self.D_q), "D_q_stderr": lst(self.D_q_stderr),
            "D_q_ci_low": lst(self.D_q_ci[:, 0]), "D_q_ci_high": lst(self.D_q_ci[:, 1]),
            "alpha": lst(self.alpha), "alpha_stderr": lst(self.alpha_stderr),
            "f": lst(self.f), "f_stderr": lst(self.f_stderr),
            "scales": lst(self.scales), "boxes": [int(b) for b in self.boxes], "used": self.used.tolist(),
        }


def _window_se(lx, ys, i, j):
    """Slope standard error of each row of ``ys`` over columns ``i..j`` against ``lx``."""
    x = lx[i:j + 1]
    y = ys[:, i:j + 1]
    k = x.size
    xm = x - x.mean()
    sxx = float(np.sum(xm ** 2))
    slope = (y - y.mean(axis=1, keepdims=True)) @ xm / sxx
    resid = y - y.mean(axis=1, keepdims=True) - slope[:, None] * xm[None, :]
    return np.sqrt(np.sum(resid ** 2, axis=1) / (k - 2) / sxx)


def _common_range(x, dims, allowed, min_points=4, min_span=0.5):
    """Indices (i, j) of the window of allowed scales where the ``D_q`` lines fit best jointly.

    ``dims``: ``(k, n)`` quantities whose slope is ``D_q``. The criterion of
    :func:`fractalkit.scaling.choose_scaling_range`, with the root-mean-square standard error
    over all ``q`` in place of one slope's.
    """
    idx = np.flatnonzero(allowed & np.isfinite(dims).all(axis=0))
    if idx.size < min_points:
        raise ValueError(f"only {idx.size} box sizes are usable; the spectrum needs at least {min_points}: "
                         "use a larger image or more points")
    if np.any(np.diff(idx) != 1):  # keep the longest contiguous run of usable scales
        runs = np.split(idx, np.flatnonzero(np.diff(idx) != 1) + 1)
        idx = max(runs, key=len)
        if idx.size < min_points:
            raise ValueError("too few contiguous usable box sizes for a spectrum")
    lx = np.log(x[idx])
    ys = dims[:, idx]
    total = lx[-1] - lx[0]
    best, best_se = (0, idx.size - 1), math.inf
    for length in range(idx.size, min_points - 1, -1):  # longest first: ties keep the widest range
        for i in range(idx.size - length + 1):
            j = i + length - 1
            if lx[j] - lx[i] < min_span * total - 1e-12:
                continue
            se = float(np.sqrt(np.mean(_window_se(lx, ys, i, j) ** 2)))
            if se < best_se * (1 - 1e-6) - 1e-12:
                best, best_se = (i, j), se
    return int(idx[best[0]]), int(idx[best[1]])


def _loglog(x, logy, lo, hi, gain=1.0, **kw) -> tuple[Fit, bool]:
    """fit_power_law on ``y = exp(logy)`` over ``lo <= x <= hi``.

    If ``y`` would leave the floating-point range, the fit is made on
    ``y' = exp(c (logy - m))`` (``m`` the mid-range, ``0 < c <= 1``) with the gain divided by
    ``c``: the estimate and local slopes are unchanged, ``slope`` and ``intercept`` refer to
    ``y'``. Returns the fit and whether that happened.
    """
    sel = (x >= lo) & (x <= hi) & np.isfinite(logy)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        y = np.exp(logy)
        rescaled = not (np.isfinite(y[sel]).all() and (y[sel] > 0).all())
        if rescaled:
            top, bottom = float(np.max(logy[sel])), float(np.min(logy[sel]))
            c = min(1.0, 1000.0 / (top - bottom)) if top > bottom else 1.0
            y = np.exp(c * (logy - 0.5 * (top + bottom)))
            gain = gain / c
    ok = np.isfinite(logy)  # sizes not computed (too sparse) are not reported
    return fit_power_law(x[ok], y[ok], scale_range=(lo, hi), gain=gain, **kw), rescaled


def multifractal_spectrum(measure, q=None, *, scale_range: tuple[float, float] | None = None,
                          min_count: int = 10, offsets: int = GRID_OFFSETS,
                          confidence: float = 0.95) -> MultifractalSpectrum:
    """Generalized dimensions ``D_q`` and the multifractal spectrum ``f(α)`` of a measure.

    The measure is covered with boxes of side ``s`` (powers of two pixels for an image; the
    bounding cube halved repeatedly for points), ``μ_i(s)`` being the mass in box ``i``
    (total mass normalised to 1). From the partition function
    ``Z(q, s) = Σ_i μ_i(s)^q ~ s^τ(q)``:

    - ``D_q = τ(q) / (q - 1)``, with ``D_1`` from the information ``Σ_i μ_i log μ_i ~ D_1 log s``;
    - by the direct method of Chhabra and Jensen, with the escort measure
      ``μ_i(q, s) = μ_i^q / Z(q, s)``, ``α(q)`` is the slope of ``Σ_i μ_i(q, s) log μ_i(s)`` and
      ``f(q)`` the slope of ``Σ_i μ_i(q, s) log μ_i(q, s)`` against ``log s``; ``f(α)`` is then
      the Legendre transform of ``τ(q)`` without differentiating it.

    Every quantity is a least-squares slope over one common range of box sizes, chosen
    automatically (the contiguous range, spanning at least half of the usable sizes, on which
    the ``D_q`` lines have the smallest root-mean-square standard error) unless
    ``scale_range`` is given.

    Parameters
    ----------
    measure : array_like
        One of

        - a 2-D image ``(H, W)`` (or a 1-D array ``(W,)``) of non-negative masses, any real or
          boolean dtype, at least 16 pixels along its longer side: a grey-level image is the
          measure with each pixel's value as its mass, a binary image the uniform measure on
          its set pixels. Images whose sides are not powers of two are covered with partial
          boxes along the far edges.
        - points ``(N, d)`` with ``d`` in 1..3 and ``N > d`` (e.g. chaos-game output): each
          point has mass ``1/N``.
    q : array_like of float, optional
        Moment orders, at most :data:`MAX_Q_VALUES`; the result lists them sorted, without
        repeats. Default ``np.linspace(-5, 5, 41)``.
        Negative ``q`` weigh the least-visited boxes and are the least reliable.
    scale_range : (float, float), optional
        Fit exactly the box sizes ``lo <= s <= hi`` (pixels for an image, the points' units for
        points).
    min_count : int
        Points only: box sizes at which the boxes hold on average fewer than ``min_count``
        points are not used (nor computed): the measure of a box is estimated by its count.
    offsets : int
        Extra box grids, shifted on the torus (boxes crossing an edge wrap around) by Halton
        fractions of the largest fitted box (image) or of the bounding cube (points), whose
        estimates' spread makes the grid term of the intervals; each costs one more pass.
        ``0`` leaves that term out. The estimates themselves come from the unshifted grid.
    confidence : float
        Level of the confidence intervals.

    Returns
    -------
    MultifractalSpectrum
        ``q``, ``tau``, ``D_q``, ``alpha``, ``f``, their standard errors and intervals, the box
        sizes and the common range, and one :class:`~fractalkit.scaling.Fit` per ``q`` for each
        of ``D_q``, ``α`` and ``f``.

    Raises
    ------
    ValueError
        If the measure has NaN, infinite or negative values, no positive mass, a wrong shape,
        fewer than 16 pixels along its longer side, fewer than 4 usable box sizes, or ``q`` is
        empty or not finite.
    fractalkit.limits.WorkLimitError
        If the image exceeds ``MAX_PIXELS``, the points ``MAX_POINTS``, or ``q``
        :data:`MAX_Q_VALUES` values.

    Notes
    -----
    Allowed box sizes: an image's boxes at most a quarter of its shorter side (its longer side
    for a 1-D measure), at least 4 boxes across; for points, also at least ``min_count`` points
    per occupied box on average. Sampled measures (points) bias ``D_q`` at negative ``q``,
    which is dominated by the boxes holding the fewest points, and so does any box that clips
    the edge of the support: negative ``q`` do not steer the choice of the range.

    Each standard error adds in quadrature, as :func:`fractalkit.measure.box_counting_dimension` does:
    the regression error of the slope (t-interval), the **grid offsets** term (standard
    deviation of the slopes over the shifted grids) and the **sub-range** term (half the spread
    of the slopes over sub-ranges spanning at least half the fitted range). Each ``Fit``'s
    ``notes`` give the three terms. None of them is the sampling error of a random measure.

    References
    ----------
    - H. G. E. Hentschel and I. Procaccia, "The infinite number of generalized dimensions of
      fractals and strange attractors", Physica D 8, 435-444 (1983): ``D_q``, eq. (1.9)-(1.10).
    - T. C. Halsey, M. H. Jensen, L. P. Kadanoff, I. Procaccia and B. I. Shraiman, "Fractal
      measures and their singularities: the characterization of strange sets", Phys. Rev. A
      33, 1141-1151 (1986): ``τ(q) = (q - 1) D_q``, eq. (2.5)-(2.8), and ``f(α)`` as its
      Legendre transform, eq. (2.9)-(2.11).
    - A. Chhabra and R. V. Jensen, "Direct determination of the f(α) singularity spectrum",
      Phys. Rev. Lett. 62, 1327-1330 (1989), eq. (6)-(8): the escort measure and the slopes
      giving ``α(q)`` and ``f(q)``.

    Examples
    --------
    The binomial cascade (p-model) on 2⁸ x 2⁸ pixels, weights 0.1, 0.2, 0.3, 0.4 on the four
    quadrants at every level, has ``τ(q) = -log₂ Σ p_i^q`` exactly:

    >>> import numpy as np
    >>> from fractalkit import multifractal_spectrum
    >>> p = np.array([[0.1, 0.2], [0.3, 0.4]])
    >>> mu = np.ones((1, 1))
    >>> for _ in range(8):
    ...     mu = np.kron(mu, p)
    >>> spec = multifractal_spectrum(mu, q=[0, 1, 2])
    >>> np.round(spec.D_q, 4)
    array([2.    , 1.8464, 1.737 ])
    >>> bool(np.allclose(spec.D_q[2], -np.log2((p ** 2).sum())))
    True
    >>> print(spec)
    D0 = 2.000 ± 0.000, D1 = 1.846 ± 0.019, D2 = 1.737 ± 0.032 (s = 1…64 px)

    The estimates are exact on the dyadic grid; the intervals say how much they change when the
    grid is shifted (``offsets``), which is what an unaligned measure would show.
    """
    qs = np.atleast_1d(np.asarray(np.linspace(-5, 5, 41) if q is None else q, dtype=np.float64))
    if qs.ndim != 1 or qs.size == 0 or not np.isfinite(qs).all():
        raise ValueError("q must be a non-empty 1-D sequence of finite numbers")
    qs = np.unique(qs)  # ascending, as the kernel needs
    check("moment orders q", qs.size, MAX_Q_VALUES, "ask for fewer q")
    min_count = check_positive_int("min_count", min_count, 1)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    kind, a = _as_measure(measure)
    notes = []
    if kind == "image":
        sizes, boxes, logz, mlog = _image_levels(a, qs)
        side = min(a.shape) if a.shape[0] > 1 else a.shape[1]
        allowed = sizes <= side / 4
        unit, method = "px", "box counting (image)"
        if a.shape[0] != a.shape[1] or a.shape[0] & (a.shape[0] - 1):
            notes.append("the image is not a power-of-two square: boxes along its far edges are partial")
    else:
        sizes, boxes, logz, mlog, side = _point_levels(a, qs, min_count)
        allowed = (sizes <= side / 4) & np.isfinite(logz).all(axis=0)
        unit, method = "", "box counting (points)"
        notes.append(f"box masses estimated from {a.shape[0]:,} points; sizes with fewer than {min_count} "
                     "points per occupied box are not used")
        if np.any(qs < 0):
            notes.append("negative q weigh the emptiest boxes, which a sample of points estimates poorly")
    one = np.abs(qs - 1) < _Q_ONE
    with np.errstate(invalid="ignore", divide="ignore"):
        dims = np.where(one[:, None], mlog, logz / np.where(one, 1.0, qs - 1)[:, None])
    if scale_range is None:
        steer = qs >= 0 if np.any(qs >= 0) else np.ones(qs.size, dtype=bool)
        i, j = _common_range(sizes, dims[steer], allowed & np.isfinite(dims).all(axis=0))
        lo, hi = float(sizes[i]), float(sizes[j])
        notes.append("scaling range chosen jointly for all q >= 0" if steer.sum() < qs.size
                     else "scaling range chosen jointly for all q")
    else:
        lo, hi = (float(v) for v in scale_range)
        if not lo < hi:
            raise ValueError(f"the scaling range must have low < high, got {scale_range}")
        sel = (sizes >= lo) & (sizes <= hi)
        if sel.sum() < 3 or not np.isfinite(dims[:, sel]).all():
            raise ValueError(f"fewer than 3 computed box sizes in {lo:g}…{hi:g} {unit}: widen the range")
    common = dict(confidence=confidence, scale_symbol="s", unit=unit)
    d_fits, a_fits, f_fits = [], [], []
    rescaled = False
    for k, qq in enumerate(qs):
        q_txt = f"{qq:g}"
        if one[k]:  # information dimension: exp(-Σ μ log μ) ~ s^-D1
            fd, r1 = _loglog(sizes, -mlog[k], lo, hi, gain=-1.0, symbol="D_1", method="information dimension",
                             **common)
        else:
            fd, r1 = _loglog(sizes, logz[k], lo, hi, gain=1.0 / (qq - 1.0), symbol=f"D_{q_txt}",
                             method=f"generalized dimension, q = {q_txt}", **common)
        fa, r2 = _loglog(sizes, mlog[k], lo, hi, symbol=f"α({q_txt})",
                         method=f"Chhabra-Jensen α, q = {q_txt}", **common)
        # f: Σ μ(q) log μ(q) = q <log μ>_q - log Z ~ f log s, and y = exp(-that) ~ s^-f
        ff, r3 = _loglog(sizes, logz[k] - qq * mlog[k], lo, hi, gain=-1.0, symbol=f"f({q_txt})",
                         method=f"Chhabra-Jensen f, q = {q_txt}", **common)
        rescaled |= r1 or r2 or r3
        d_fits.append(fd)
        a_fits.append(fa)
        f_fits.append(ff)
    if rescaled:
        notes.append("some fitted quantities y were divided by a constant, or replaced by a power y^c, to "
                     "stay in floating-point range: the estimates are unchanged, their fits' slope and "
                     "intercept refer to the replaced quantity")

    # The uncertainty: regression, grid offsets and sub-ranges, in quadrature (as box counting).
    def rows(lz, ml):  # (3, k, n): the quantities whose slopes are D_q, α and f
        with np.errstate(invalid="ignore", divide="ignore"):
            dd = np.where(one[:, None], ml, lz / np.where(one, 1.0, qs - 1)[:, None])
        return np.stack([dd, ml, qs[:, None] * ml - lz])

    sel = (sizes >= lo) & (sizes <= hi)
    lx = np.log(sizes[sel])
    base = rows(logz, mlog)[:, :, sel]
    sub = np.stack([_subrange_half_spread(lx, base[t]) for t in range(3)])
    offsets = check_positive_int("offsets", offsets, 0, 64)
    grid = np.zeros_like(sub)
    if offsets:
        single = [np.stack([_slopes(lx, base[t]) for t in range(3)])]
        for frac in _halton(offsets, a.shape[1] if kind == "points" else 2):
            if kind == "image":  # pixels are the same boxes on every grid: only larger sizes change
                g_sizes, _, g_lz, g_ml = _image_levels(a, qs, np.floor(frac * hi).astype(np.int64),
                                                       only={float(v) for v in sizes[sel] if v > 1})
                if sel[0]:
                    g_lz[:, 0], g_ml[:, 0] = logz[:, 0], mlog[:, 0]
            else:
                g_sizes, _, g_lz, g_ml, _ = _point_levels(a, qs, min_count, frac, only=set(np.flatnonzero(sel)))
            g = rows(g_lz, g_ml)[:, :, np.isin(g_sizes, sizes[sel])]
            if g.shape[2] == lx.size:
                single.append(np.stack([_slopes(lx, g[t]) for t in range(3)]))
        single = np.array(single)  # (grids, 3, k); nan where a grid left a size empty
        with np.errstate(invalid="ignore"):
            grid = np.nan_to_num(np.nanstd(single, axis=0)) if len(single) > 1 else grid
        notes.append(f"intervals add regression, grid offsets ({len(single)} grids) and sub-range terms "
                     "in quadrature")
    else:
        notes.append("intervals add regression and sub-range terms in quadrature")
    z = stats.norm.ppf(0.5 + confidence / 2)
    label = "regression + " + (f"grid offsets ({offsets + 1} grids) + " if offsets else "") + "sub-ranges"
    notes = tuple(notes)
    fits = []
    for t, group in enumerate((d_fits, a_fits, f_fits)):
        out = []
        for k, fit in enumerate(group):
            reg = fit.half_width / z if math.isfinite(fit.half_width) else 0.0
            se = math.sqrt(reg ** 2 + grid[t, k] ** 2 + sub[t, k] ** 2)
            terms = (f"regression ±{reg:.2g}", f"grid offsets ±{grid[t, k]:.2g}", f"sub-ranges ±{sub[t, k]:.2g}")
            out.append(dataclasses.replace(fit.with_stderr(se, label), notes=notes + terms))
        fits.append(tuple(out))
    d_fits, a_fits, f_fits = fits
    dq = np.array([f.value for f in d_fits])
    dq_se = np.array([f.stderr for f in d_fits])
    tau = np.where(one, 0.0, (qs - 1) * dq)
    tau_se = np.where(one, 0.0, np.abs(qs - 1) * dq_se)
    return MultifractalSpectrum(
        q=qs, tau=tau, tau_stderr=tau_se, D_q=dq, D_q_stderr=dq_se,
        alpha=np.array([f.value for f in a_fits]), alpha_stderr=np.array([f.stderr for f in a_fits]),
        f=np.array([f.value for f in f_fits]), f_stderr=np.array([f.stderr for f in f_fits]),
        scales=sizes, boxes=boxes, used=sel, log_partition=logz,
        D_fits=d_fits, alpha_fits=a_fits, f_fits=f_fits, unit=unit,
        confidence=confidence, method=method, notes=notes)


def generalized_dimensions(measure, q=(0.0, 1.0, 2.0), **kwargs) -> MultifractalSpectrum:
    """Generalized dimensions ``D_q`` of a measure: :func:`multifractal_spectrum` for a few ``q``.

    Parameters
    ----------
    measure : array_like
        An image of masses or ``(N, d)`` points, as in :func:`multifractal_spectrum`.
    q : array_like of float
        Moment orders; default ``(0, 1, 2)``: the box-counting dimension of the support, the
        information dimension and the correlation dimension.
    **kwargs
        ``scale_range``, ``min_count``, ``offsets``, ``confidence``: as in
        :func:`multifractal_spectrum`.

    Returns
    -------
    MultifractalSpectrum
        Read ``D_q``, ``D_q_stderr``, ``D_q_ci`` or one :class:`~fractalkit.scaling.Fit` with
        :meth:`MultifractalSpectrum.fit`.

    Raises
    ------
    ValueError, fractalkit.limits.WorkLimitError
        As :func:`multifractal_spectrum`.

    References
    ----------
    - H. G. E. Hentschel and I. Procaccia, Physica D 8, 435-444 (1983).

    Examples
    --------
    The uniform measure on the Sierpinski triangle (Pascal's triangle mod 2) has
    ``D_q = log 3 / log 2`` for every ``q``:

    >>> import numpy as np
    >>> from fractalkit import generalized_dimensions
    >>> i = np.arange(2 ** 9)
    >>> sierpinski = (i[:, None] & i[None, :]) == 0
    >>> spec = generalized_dimensions(sierpinski, q=[-2, 0, 1, 2, 5])
    >>> bool(np.allclose(spec.D_q, np.log2(3)))
    True
    >>> print(spec.fit(2))
    D_2 = 1.585 ± 0.057 (s = 1…128 px)
    >>> print(generalized_dimensions(sierpinski, q=[2], offsets=0).fit(2))  # the dyadic grid only
    D_2 = 1.585 ± 0.000 (s = 1…128 px)
    """
    return multifractal_spectrum(measure, q, **kwargs)


# --------------------------------------------------------------------------------------------
# Correlation dimension
# --------------------------------------------------------------------------------------------

_KEY_SHIFT = 46  # float64 bits >> 46: the exponent and the top 6 mantissa bits (1/64 octave)


def _bin_table(r2: np.ndarray) -> tuple[np.ndarray, int]:
    """Lookup table from the top bits of a squared distance to the first bin it may fall in.

    For a positive float64 ``v`` with ``r2[0] < v <= r2[-1]``, its bin (the smallest ``k`` with
    ``r2[k] >= v``) is ``table[key - key0]`` or a later one, ``key = bits(v) >> 46``; the
    bins are wider than a key's range, so at most one step later.
    """
    bits = r2.view(np.int64) >> _KEY_SHIFT
    key0, key1 = int(bits[0]), int(bits[-1])
    edges = (np.arange(key0, key1 + 1, dtype=np.int64) << _KEY_SHIFT).view(np.float64)
    return np.searchsorted(r2, edges, side="left").astype(np.int64), key0


@nb.njit(cache=True, nogil=True)
def _pair_histogram(pts, order, ref_pos, theiler, r2, table, key0, chebyshev, nbatch):
    """Histogram of distances from each reference point to every other point within the last radius.

    ``pts`` is sorted by its first coordinate (``order[p]`` = original index of row ``p``), so
    only the slab ``|x0 - x0_ref| <= r_max`` is scanned (both metrics bound ``|Δx0|`` by the
    distance). Pairs closer in time than the Theiler window (``|i - j| <= theiler`` by original
    index) are excluded. ``r2`` are the squared radii, increasing; bin ``k`` counts squared
    distances in ``(r2[k-1], r2[k]]`` and bin 0 every one ``<= r2[0]``, found exactly with
    :func:`_bin_table`. Row ``b`` holds the reference points ``k`` with ``k % nbatch == b``;
    ``partners[b]`` counts the pairs they could form.
    """
    n, d = pts.shape
    nbins = r2.size
    hist = np.zeros((nbatch, nbins), dtype=np.int64)
    partners = np.zeros(nbatch, dtype=np.int64)
    rmax2 = r2[nbins - 1]
    rmax = math.sqrt(rmax2)
    r2lo = r2[0]
    fbuf = np.empty(1)
    ibuf = fbuf.view(np.int64)
    for k in range(ref_pos.size):
        p = ref_pos[k]
        b = k % nbatch
        io = order[p]
        partners[b] += n - 1 - min(io, theiler) - min(n - 1 - io, theiler)
        x0 = pts[p, 0]
        for step in (1, -1):
            j = p + step
            while 0 <= j < n:
                if abs(pts[j, 0] - x0) > rmax:
                    break
                if abs(order[j] - io) > theiler:
                    d2 = 0.0
                    if chebyshev:
                        for a in range(d):
                            d2 = max(d2, abs(pts[j, a] - pts[p, a]))
                            if d2 > rmax:
                                break
                        d2 = d2 * d2
                    else:
                        for a in range(d):
                            t = pts[j, a] - pts[p, a]
                            d2 += t * t
                            if d2 > rmax2:
                                break
                    if d2 <= rmax2:
                        if d2 <= r2lo:
                            kb = 0
                        else:
                            fbuf[0] = d2
                            kb = table[(ibuf[0] >> 46) - key0]
                            while d2 > r2[kb]:
                                kb += 1
                        hist[b, kb] += 1
                j += step
    return hist, partners


def _as_points(data) -> tuple[np.ndarray, str]:
    a = np.asarray(data)
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise ValueError(f"points must be a real array, got dtype {a.dtype}")
    if a.dtype == np.bool_:
        if a.ndim != 2:
            raise ValueError("a boolean array must be a 2-D binary image")
        check("pixels", a.size, MAX_PIXELS, "downscale the image")
        rows, cols = np.nonzero(a)
        pts = np.empty((rows.size, 2))
        pts[:, 0] = rows
        del rows
        pts[:, 1] = cols
        return pts, "px"
    if a.ndim != 2:
        raise ValueError(f"points must be an (N, d) array (a 1-D series needs an embedding dimension m), "
                         f"got shape {a.shape}")
    if a.shape[1] > MAX_POINT_DIMENSIONS:
        raise ValueError(f"points with {a.shape[1]} coordinates each: is this an image? Pass a boolean "
                         "image (image > 0) to use its set pixels as points")
    check("coordinates (points x dimensions)", a.size, MAX_COORDINATES, "sub-sample the points")
    pts = np.asarray(a, dtype=np.float64)
    if not np.isfinite(pts).all():
        raise ValueError("the points contain NaN or infinite coordinates")
    return pts, ""


def _correlation_histogram(pts, radii, theiler, max_reference, seed, metric, nbatch):
    n, d = pts.shape
    if n < 20:
        raise ValueError(f"a correlation sum needs at least 20 points, got {n}")
    if d < 1:
        raise ValueError("points need at least one coordinate")
    if metric not in ("euclidean", "chebyshev"):
        raise ValueError(f"metric must be 'euclidean' or 'chebyshev', got {metric!r}")
    theiler = check_positive_int("theiler", theiler, 0, n - 2)
    radii = np.asarray(radii, dtype=np.float64)
    if radii.ndim != 1 or radii.size < 2 or not np.isfinite(radii).all() or np.any(radii <= 0) \
            or np.any(np.diff(radii) <= 0):
        raise ValueError("radii must be an increasing 1-D sequence of at least 2 positive numbers")
    log_r = np.log(radii)
    steps = np.diff(log_r)
    if not np.allclose(steps, steps[0], rtol=1e-6, atol=1e-12):
        raise ValueError("radii must be evenly spaced in log r (use numpy.geomspace)")
    if max_reference == "auto":
        m = min(n, max(AUTO_MIN_REFERENCE, AUTO_PAIR_WORK // n))
    else:
        m = n if max_reference is None else check_positive_int("max_reference", max_reference, 1)
    m = min(m, n)
    check("reference points x points", m * n, MAX_PAIR_WORK, "lower max_reference")
    axis = int(np.argmax(np.ptp(pts, axis=0)))  # the slab is scanned along the widest axis
    order = np.argsort(pts[:, axis], kind="stable").astype(np.int32)  # n <= MAX_COORDINATES < 2**31
    sorted_pts = np.empty((n, d))
    for new, col in enumerate([axis] + [c for c in range(d) if c != axis]):  # one column at a time
        sorted_pts[:, new] = pts[order, col]
    if m < n:
        refs = np.random.default_rng(seed).choice(n, size=m, replace=False)
    else:
        refs = np.random.default_rng(seed).permutation(n)  # random batches even when every point is used
    pos = np.empty(n, dtype=np.int32)
    pos[order] = np.arange(n, dtype=np.int32)
    ref_pos = pos[refs].astype(np.int64)
    del pos, refs
    r2 = radii ** 2
    table, key0 = _bin_table(r2)
    hist, partners = _pair_histogram(sorted_pts, order, ref_pos, theiler, r2, table, key0,
                                     metric == "chebyshev", nbatch)
    if partners.sum() == 0:
        raise ValueError("the Theiler window excludes every pair: lower it")
    return np.cumsum(hist, axis=1), partners, m, theiler


def correlation_sum(points, radii, *, theiler: int = 0, max_reference: int | None = None, seed: int = 0,
                    metric: str = "euclidean") -> tuple[np.ndarray, np.ndarray]:
    """The correlation sum ``C(r)``: the fraction of pairs of points closer than ``r``.

    ``C(r) = Σ_{i ∈ R} Σ_{j : |i - j| > w} Θ(r - |x_i - x_j|) / (number of such pairs)``, over
    reference points ``R`` (all points, or a seeded random subset) and a Theiler window ``w``.

    Parameters
    ----------
    points : array_like
        Float ``(N, d)`` points (rows in time order when ``theiler > 0``), or a 2-D boolean
        image whose set pixels are the points (coordinates in pixels).
    radii : array_like
        Float64 ``(n,)``: increasing radii evenly spaced in ``log r`` (``numpy.geomspace``).
    theiler : int
        Theiler window ``w``: pairs with ``|i - j| <= w`` are excluded (``0`` excludes only a
        point with itself).
    max_reference : int, optional
        Use at most this many reference points, drawn without replacement with ``seed``;
        default: all.
    seed : int
        Seed of the reference subset.
    metric : {"euclidean", "chebyshev"}
        Distance.

    Returns
    -------
    radii : numpy.ndarray
        Float64 ``(n,)``, as given.
    c : numpy.ndarray
        Float64 ``(n,)``: ``C(r)`` at each radius.

    Raises
    ------
    ValueError
        Fewer than 20 points, non-finite coordinates, a wrong shape, bad radii or parameters.
    fractalkit.limits.WorkLimitError
        If reference points x points exceeds :data:`MAX_PAIR_WORK`, or the input is too large.

    References
    ----------
    - P. Grassberger and I. Procaccia, "Measuring the strangeness of strange attractors",
      Physica D 9, 189-208 (1983), eq. (2.3).
    - J. Theiler, "Spurious dimension from correlation integrals applied to limited
      time-series data", Phys. Rev. A 34, 2427-2432 (1986), eq. (2.2): the window ``w``.

    Examples
    --------
    >>> import numpy as np
    >>> from fractalkit import correlation_sum
    >>> pts = np.random.default_rng(0).random((2000, 2))
    >>> r, c = correlation_sum(pts, np.geomspace(0.01, 0.04, 3))
    >>> np.round(c / (np.pi * r ** 2), 1)  # about 1 for small r: uniform in 2-D
    array([1., 1., 1.])
    """
    pts, _ = _as_points(points)
    radii = np.asarray(radii, dtype=np.float64)
    counts, partners, _, _ = _correlation_histogram(pts, radii, theiler, max_reference, seed, metric, 1)
    return radii, counts[0] / partners[0]


def delay_embedding(x, m: int, tau: int = 1) -> np.ndarray:
    """Delay vectors ``(x_t, x_{t+τ}, ..., x_{t+(m-1)τ})`` of a scalar time series (Takens).

    Parameters
    ----------
    x : array_like
        Float ``(N,)``: the series, equally spaced in time.
    m : int
        Embedding dimension (>= 1).
    tau : int
        Delay in samples (>= 1).

    Returns
    -------
    numpy.ndarray
        Float64 ``(N - (m - 1) τ, m)``, C-contiguous; row ``t`` is the state at time ``t``.

    Raises
    ------
    ValueError
        If ``x`` is not a 1-D finite series, or too short for ``m`` and ``τ``.
    fractalkit.limits.WorkLimitError
        If the embedding would hold more than ``2 * MAX_POINTS`` numbers.

    References
    ----------
    - F. Takens, "Detecting strange attractors in turbulence", in *Dynamical Systems and
      Turbulence*, Lecture Notes in Mathematics 898, 366-381, Springer (1981).

    Examples
    --------
    >>> from fractalkit import delay_embedding
    >>> delay_embedding([0, 1, 2, 3, 4, 5], m=3, tau=2)
    array([[0., 2., 4.],
           [1., 3., 5.]])
    """
    a = np.asarray(x)
    if a.ndim != 1:
        raise ValueError(f"a time series must be 1-D, got shape {a.shape}")
    if a.dtype == object or a.dtype.kind not in "biuf":
        raise ValueError(f"a time series must be real numbers, got dtype {a.dtype}")
    a = a.astype(np.float64, copy=False)
    if not np.isfinite(a).all():
        raise ValueError("the time series contains NaN or infinite values")
    m = check_positive_int("embedding dimension m", m, 1)
    tau = check_positive_int("delay tau", tau, 1)
    n = a.size - (m - 1) * tau
    if n < 1:
        raise ValueError(f"a series of {a.size} samples is too short for m = {m}, tau = {tau}")
    check("embedded numbers", n * m, MAX_COORDINATES, "use a shorter series or a smaller m")
    return np.ascontiguousarray(np.lib.stride_tricks.sliding_window_view(a, (m - 1) * tau + 1)[:, ::tau])


def theiler_window(x) -> int:
    """A Theiler window for a series: the first lag where its autocorrelation falls below 1/e.

    Parameters
    ----------
    x : array_like
        Float ``(N,)`` time series.

    Returns
    -------
    int
        The lag in samples (at least 1; at most ``N // 4``).

    References
    ----------
    - J. Theiler, Phys. Rev. A 34, 2427-2432 (1986): exclude pairs closer in time than the
      autocorrelation time.

    Examples
    --------
    >>> import numpy as np
    >>> from fractalkit import theiler_window
    >>> theiler_window(np.sin(np.arange(1000) * 2 * np.pi / 100))  # arccos(1/e) / 2π x 100
    20
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 1 or a.size < 8 or not np.isfinite(a).all():
        raise ValueError("a Theiler window needs a finite 1-D series of at least 8 samples")
    a = a - a.mean()
    n = a.size
    spec = np.fft.rfft(a, 2 * n)
    acf = np.fft.irfft(np.abs(spec) ** 2)[:n]
    if acf[0] == 0:
        return 1
    below = np.flatnonzero(acf / acf[0] < 1 / math.e)
    lag = int(below[0]) if below.size else n // 4
    return max(1, min(lag, n // 4))


def correlation_dimension(data, *, m: int | None = None, tau: int = 1, theiler: int | None = None,
                          max_reference: int | str | None = "auto", seed: int = 0, metric: str = "euclidean",
                          r_max: float | None = None, bins_per_decade: int = 8, min_pairs: int = 100,
                          scale_range: tuple[float, float] | None = None, n_batches: int = 10,
                          confidence: float = 0.95) -> Fit:
    """Correlation dimension ``D₂``: the slope of ``log C(r)`` against ``log r`` (Grassberger-Procaccia).

    Distances from up to ``max_reference`` reference points to all points are binned at
    ``bins_per_decade`` radii per decade, up to ``r_max``; radii where fewer than ``min_pairs``
    pairs are closer than ``r`` are not fitted. The scaling range is chosen automatically
    (:func:`fractalkit.scaling.choose_scaling_range`) unless ``scale_range`` is given.

    Parameters
    ----------
    data : array_like
        One of: float points ``(N, d)`` (rows in time order if they come from an orbit); a 2-D
        boolean image, whose set pixels are the points (distances in pixels); or, with ``m``, a
        scalar time series ``(N,)`` to delay-embed (:func:`delay_embedding`).
    m, tau : int, optional
        Embedding dimension and delay (samples) for a time series.
    theiler : int, optional
        Theiler window ``w``: pairs of rows with ``|i - j| <= w`` are not counted. Default: 0
        for points and images, :func:`theiler_window` for a time series.
    max_reference : int, "auto" or None
        Reference points: a random subset of this many, drawn with ``seed``, when there are
        more points; ``None`` uses every point (``N²`` work). ``"auto"``: as many as keep
        reference points x points within :data:`AUTO_PAIR_WORK` (2·10⁸), at least
        :data:`AUTO_MIN_REFERENCE` (100). Say so in a report: the result's notes do.
    seed : int
        Seed of the reference subset; the same seed gives the same result.
    metric : {"euclidean", "chebyshev"}
        Distance (Grassberger-Procaccia used the Euclidean norm).
    r_max : float, optional
        Largest radius, in the points' units. Default: a quarter of the largest extent of the
        points along any axis.
    bins_per_decade : int
        Radii per decade, from ``r_max / 10**6`` (``1 px`` for an image) up to ``r_max``.
    min_pairs : int
        Fewest pairs within ``r`` for ``r`` to be fitted.
    scale_range : (float, float), optional
        Fit exactly the radii ``lo <= r <= hi``.
    n_batches : int
        The reference points are split into this many random batches; the spread of the
        batches' slopes over the fitted range gives the sampling error.
    confidence : float
        Level of the confidence interval.

    Returns
    -------
    Fit
        ``value`` is ``D₂`` (symbol ``"D₂"``, scale symbol ``"r"``); ``x`` the radii, ``y``
        ``C(r)``. ``stderr`` adds in quadrature the regression error (how far ``log C`` is from
        a line over the range), the sampling error and the sub-range term (half the spread of
        the slopes over sub-ranges spanning at least half the fitted range); the interval is
        normal. ``notes`` give each term, the reference subset, Theiler window and embedding.

    Raises
    ------
    ValueError
        Fewer than 20 points, non-finite values, a wrong shape, a series without ``m``, bad
        parameters, or fewer than 4 radii with ``min_pairs`` pairs.
    fractalkit.limits.WorkLimitError
        If the input or the pair work exceeds its cap.

    Notes
    -----
    The sampling error comes from ``n_batches`` random batches of reference points: the spread
    of their slopes over the fitted range measures the sampling of the reference points; the
    sampling of their partners, which the batches share, adds ``3 M / N_ind`` times that
    variance (the first Hoeffding term of a U-statistic), ``M`` reference points among
    ``N_ind = N / (1 + w)`` samples taken as independent beyond the Theiler window ``w``.
    Measured on closed forms and on the Hénon and Lorenz attractors (tests), the interval
    covers the true or published value; points from a flow sampled finely along one orbit are
    the hardest case (use a Theiler window and many orbits' worth of samples).

    A finite sample bounds what ``D₂`` can be measured: roughly ``D₂ <= 2 log10(N)``
    (Eckmann and Ruelle, Physica D 56, 185 (1992)); white noise in ``m`` dimensions gives
    ``D₂ ≈ m`` while that holds and less beyond it. Edges of the set and curvature bias ``D₂``
    low at large radii; the range chooser and the interval see this only as curvature.

    References
    ----------
    - P. Grassberger and I. Procaccia, "Characterization of strange attractors", Phys. Rev.
      Lett. 50, 346-349 (1983), eq. (2)-(3); and Physica D 9, 189-208 (1983), eq. (2.3)-(2.5).
    - J. Theiler, "Spurious dimension from correlation integrals applied to limited
      time-series data", Phys. Rev. A 34, 2427-2432 (1986).
    - F. Takens, Lecture Notes in Mathematics 898, 366-381 (1981): delay embedding.

    Examples
    --------
    Points uniform on a circle have ``D₂ = 1``:

    >>> import numpy as np
    >>> from fractalkit import correlation_dimension
    >>> t = np.random.default_rng(0).random(5000) * 2 * np.pi
    >>> fit = correlation_dimension(np.column_stack([np.cos(t), np.sin(t)]))
    >>> round(fit.value, 2), fit.symbol
    (1.0, 'D₂')
    """
    notes = []
    a = np.asarray(data)
    if m is not None:
        if a.ndim != 1:
            raise ValueError("with an embedding dimension m, data must be a 1-D time series")
        if theiler is None:
            theiler = theiler_window(a)
            notes.append(f"Theiler window {theiler} samples (autocorrelation below 1/e)")
        pts = delay_embedding(a, m, tau)
        unit = ""
        notes.append(f"delay embedding m = {int(m)}, tau = {int(tau)} samples")
    else:
        pts, unit = _as_points(a)
    theiler = 0 if theiler is None else theiler
    n = pts.shape[0]
    if n < 20:
        raise ValueError(f"a correlation dimension needs at least 20 points, got {n}")
    bins_per_decade = check_positive_int("bins_per_decade", bins_per_decade, 2, 100)
    min_pairs = check_positive_int("min_pairs", min_pairs, 1)
    n_batches = check_positive_int("n_batches", n_batches, 1, 1000)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    extent = float(np.ptp(pts, axis=0).max())
    if not extent > 0:
        raise ValueError("all points coincide: nothing to measure")
    if r_max is None:
        r_max = extent / 4
    elif not (np.isfinite(r_max) and r_max > 0):
        raise ValueError(f"r_max must be a positive number, got {r_max}")
    r_lo = 1.0 if unit == "px" else r_max * 1e-6
    if r_lo >= r_max:
        raise ValueError("r_max must exceed 1 px for an image")
    nbins = int(round(math.log10(r_max / r_lo) * bins_per_decade)) + 1
    radii = np.geomspace(r_lo, r_max, nbins)
    counts, partners, nref, theiler = _correlation_histogram(pts, radii, theiler, max_reference, seed, metric,
                                                              n_batches)
    total = counts.sum(axis=0)
    if nref < n:
        notes.append(f"{nref:,} of {n:,} points used as reference points (random subset, seed {seed})")
    if theiler and not any(t.startswith("Theiler") for t in notes):
        notes.append(f"Theiler window {theiler} samples")
    allowed = total >= min_pairs
    if allowed.sum() < 4:
        raise ValueError(f"only {int(allowed.sum())} radii have {min_pairs} pairs or more; the fit needs 4: "
                         "use more points or a larger r_max")
    keep = total > 0  # radii with no pair at all are not reported
    radii, counts, total, allowed = radii[keep], counts[:, keep], total[keep], allowed[keep]
    c = total / partners.sum()
    fit = fit_power_law(radii, c, scale_range=scale_range, allowed=allowed,
                        confidence=confidence, symbol="D₂", scale_symbol="r", unit=unit,
                        method=f"correlation sum ({metric})")
    # The interval adds in quadrature: the regression error, the sampling error (from the spread
    # of the reference batches' slopes) and the sub-range term (range dependence), as box counting.
    lx = np.log(radii[fit.used])
    slopes = []
    for b in range(n_batches):
        cb = counts[b, fit.used]
        if partners[b] > 0 and np.all(cb > 0):
            slopes.append(np.polyfit(lx, np.log(cb / partners[b]), 1)[0])
    terms = {"regression": fit.half_width / stats.norm.ppf(0.5 + confidence / 2)
             if math.isfinite(fit.half_width) else 0.0}
    if len(slopes) >= 3:
        # The batches see the sampling of the reference points (variance ζ₁/M of a U-statistic's
        # first Hoeffding term), not that of their partners (3ζ₁/N more, N counted in samples
        # independent beyond the Theiler window): scale up by that ratio.
        independent = n / (1 + theiler)
        terms[f"sampling ({len(slopes)} reference batches)"] = (
            float(np.std(slopes, ddof=1) / math.sqrt(len(slopes))) * math.sqrt(1 + 3 * nref / independent))
    else:
        notes.append("too few pairs per reference batch for a sampling error")
    terms["sub-ranges"] = float(_subrange_half_spread(lx, np.log(c[fit.used])[None, :])[0])
    se = math.sqrt(sum(v * v for v in terms.values()))
    fit = fit.with_stderr(se, " + ".join(terms))
    notes.extend(f"{k}: ±{v:.2g} (one standard error)" for k, v in terms.items())
    return dataclasses.replace(fit, notes=tuple(notes))
