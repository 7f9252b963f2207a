"""Iterated function systems, drawn with the chaos game."""
from __future__ import annotations

import math

import numba as nb
import numpy as np

from .limits import MAX_POINTS, check, check_positive_int
__all__ = ["BARNSLEY_FERN", "BARNSLEY_FERN_P", "SIERPINSKI", "SIERPINSKI_P", "validate_maps", "chaos_game"]

#: Affine maps as rows ``(a, b, c, d, e, f)``: ``x' = a x + b y + e``, ``y' = c x + d y + f``.
BARNSLEY_FERN = np.array([
    [0.00, 0.00, 0.00, 0.16, 0.00, 0.00],
    [0.85, 0.04, -0.04, 0.85, 0.00, 1.60],
    [0.20, -0.26, 0.23, 0.22, 0.00, 1.60],
    [-0.15, 0.28, 0.26, 0.24, 0.00, 0.44],
])
BARNSLEY_FERN_P = np.array([0.01, 0.85, 0.07, 0.07])
SIERPINSKI = np.array([
    [0.5, 0.0, 0.0, 0.5, 0.0, 0.0],
    [0.5, 0.0, 0.0, 0.5, 0.5, 0.0],
    [0.5, 0.0, 0.0, 0.5, 0.25, math.sqrt(3) / 4],
])
SIERPINSKI_P = np.full(3, 1 / 3)


def validate_maps(maps, probs=None) -> tuple[np.ndarray, np.ndarray]:
    """Check an IFS; return ``(maps (m, 6) float64, cumulative probabilities (m,))``.

    Probabilities default to the maps' area factors ``|det|`` (floored so no map is starved).
    Each map must be contractive (both singular values < 1) for the attractor to exist.
    """
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim != 2 or maps.shape[1] != 6 or not 1 <= maps.shape[0] <= 32:
        raise ValueError("maps must have shape (m, 6) with 1 <= m <= 32")
    if not np.all(np.isfinite(maps)):
        raise ValueError("maps must be finite numbers")
    for i, (a, b, c, d, _, _) in enumerate(maps):
        if np.linalg.norm([[a, b], [c, d]], 2) >= 1.0:
            raise ValueError(f"map {i + 1} is not contractive (largest singular value >= 1)")
    if probs is None:
        det = np.abs(maps[:, 0] * maps[:, 3] - maps[:, 1] * maps[:, 2])
        probs = np.maximum(det, 0.01)
    probs = np.asarray(probs, dtype=np.float64)
    if probs.shape != (maps.shape[0],) or np.any(probs < 0) or not np.isfinite(probs).all() or probs.sum() <= 0:
        raise ValueError("probs must be one non-negative weight per map, not all zero")
    cum = np.cumsum(probs / probs.sum())
    cum[-1] = 1.0
    return maps, cum


def _start_point(maps: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """A point on the attractor: the fixed point of the first map that has a non-zero weight.

    A contraction's fixed point ``p = A p + t`` lies on the attractor (it is the limit of
    that map applied again and again to any attractor point), so it is found by solving
    ``(I - A) p = t``; ``I - A`` is invertible because ``A``'s singular values are < 1.
    """
    weights = np.diff(cum, prepend=0.0)
    k = int(np.flatnonzero(weights > 0)[0])
    a, b, c, d, e, f = maps[k]
    return np.linalg.solve(np.array([[1.0 - a, -b], [-c, 1.0 - d]]), np.array([e, f]))


@nb.njit(cache=True, nogil=True)
def _chaos(maps, cum, n, seed, burn, x0, y0):
    np.random.seed(seed)
    out = np.empty((n, 2))
    which = np.empty(n, dtype=np.int32)
    x = x0
    y = y0
    m = maps.shape[0]
    for i in range(n + burn):
        r = np.random.random()
        k = 0
        while k < m - 1 and r > cum[k]:
            k += 1
        a, b, c, d, e, f = maps[k, 0], maps[k, 1], maps[k, 2], maps[k, 3], maps[k, 4], maps[k, 5]
        x, y = a * x + b * y + e, c * x + d * y + f
        if i >= burn:
            out[i - burn, 0] = x
            out[i - burn, 1] = y
            which[i - burn] = k
    return out, which


def chaos_game(maps, probs=None, n: int = 200_000, seed: int = 0, burn: int = 0):
    """Points on the attractor of an IFS by the chaos game.

    The game starts on the attractor, at the fixed point of the first map with a non-zero
    weight, so every returned point lies on the attractor (up to floating-point rounding),
    the first one included, however weakly the maps contract: no burn-in is needed. (A
    start anywhere else, such as the origin, approaches the attractor only as
    ``contraction**steps``: still 0.36 of the start's distance after 20 steps at 0.95.)

    Parameters
    ----------
    maps : array_like, shape (m, 6)
        Affine maps ``(a, b, c, d, e, f)``.
    probs : array_like, shape (m,), optional
        Map weights; default proportional to each map's area factor.
    n : int
        Number of points returned (after ``burn`` discarded steps).
    seed : int
        Random seed; the same seed gives the same points.
    burn : int
        Steps taken and discarded before the first returned point (default 0). Kept for
        compatibility: the start is already on the attractor, so it is never needed;
        ``chaos_game(..., n, burn=b)`` returns the last ``n`` points of
        ``chaos_game(..., n + b, burn=0)``.

    Returns
    -------
    points : numpy.ndarray
        Float64 ``(n, 2)``.
    which : numpy.ndarray
        Int32 ``(n,)``: the index of the map that produced each point (useful for colouring).

    Raises
    ------
    ValueError
        If ``maps`` is not ``(m, 6)`` with ``1 <= m <= 32`` finite numbers, a map is not
        contractive, ``probs`` is not one non-negative weight per map, ``n`` is not a
        positive integer or ``burn`` is negative.
    fractalkit.limits.WorkLimitError
        If ``n + burn`` exceeds ``MAX_POINTS``.

    References
    ----------
    - M. F. Barnsley and S. Demko, "Iterated function systems and the global construction
      of fractals", Proceedings of the Royal Society of London A 399, 243-275 (1985).
    - M. F. Barnsley, *Fractals Everywhere*, Academic Press (1988): the fern's maps.

    Examples
    --------
    >>> from fractalkit import SIERPINSKI, chaos_game
    >>> points, maps_used = chaos_game(SIERPINSKI, n=10_000, seed=0)
    >>> points.shape, points.dtype, maps_used.dtype
    ((10000, 2), dtype('float64'), dtype('int32'))
    >>> bool(((points >= 0) & (points <= 1)).all())
    True
    """
    n = check_positive_int("points", n, 1)
    burn = check_positive_int("burn", burn, 0)
    check("chaos-game points", n + burn, MAX_POINTS, "ask for fewer points")
    maps, cum = validate_maps(maps, probs)
    x0, y0 = _start_point(maps, cum)
    return _chaos(maps, cum, n, int(seed) % (2 ** 32), burn, float(x0), float(y0))
