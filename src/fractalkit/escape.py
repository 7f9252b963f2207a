"""Escape-time fractals: Mandelbrot and Julia sets.

The kernels are numba-compiled, parallel over rows (``prange``) and work in float64, so
viewports down to about 1e-13 wide render without pixelation. Two exact shortcuts speed
up the Mandelbrot set without changing any pixel:

* the main-cardioid / period-2-bulb test marks those interior points without iterating;
* periodicity checking (Brent's cycle detection with *exact* equality) stops an orbit that
  has entered a floating-point cycle, which can never escape.

SIMD. Each thread iterates 16 adjacent pixels of a row together: every step is one branch-free
loop over these lanes (a lane that escaped or was found periodic keeps its z by a select), which
LLVM compiles to packed vector instructions; a block ends when every lane is done. 3.9x faster
than one pixel at a time on the whole set, 0.6x hand-written AVX-512 C (docs: Measured).
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from .limits import MAX_ESCAPE_WORK, MAX_PIXELS, check, check_positive_int

__all__ = ["BAILOUT2", "Viewport", "mandelbrot", "julia", "mandelbrot_reference", "inside"]

#: Bail-out radius squared. A large radius makes the smooth colouring continuous.
BAILOUT2 = 256.0 * 256.0
_LOG2 = math.log(2.0)
_LOG_R = 0.5 * math.log(BAILOUT2)
# Rows are processed in interleaved stripes so every thread gets a fair share of the
# expensive interior rows (prange splits its range into contiguous blocks).
_STRIPES = 64
#: Pixels of a row iterated together, one SIMD-friendly loop over them per step (see _escape_lanes).
#: 16 float64 lanes are 2 AVX-512 or 4 AVX2 vectors in flight. Measured (1920 x 1080, 256
#: iterations, no shortcuts, 2 threads, AVX-512 host): 8 lanes 0.103 s, 16 0.042 s, 32 0.038 s,
#: one pixel at a time 0.197 s; hand-written AVX-512 C (benchmarks/mandelbrot_simd.c) 0.032 s.
_LANES = 16


class Viewport(NamedTuple):
    """A rectangular window of the complex plane sampled on a pixel grid.

    Attributes
    ----------
    center_re, center_im : float
        Centre of the window.
    width : float
        Width of the window in the complex plane; the height follows from the aspect ratio.
    nx, ny : int
        Image width and height in pixels.
    """

    center_re: float
    center_im: float
    width: float
    nx: int
    ny: int

    @property
    def pixel_size(self) -> float:
        return self.width / self.nx

    def axes(self) -> tuple[np.ndarray, np.ndarray]:
        """Pixel-centre coordinates ``(re[nx], im[ny])`` as float64, ``im`` from top to bottom."""
        ps = self.pixel_size
        re = self.center_re + (np.arange(self.nx, dtype=np.float64) - (self.nx - 1) / 2) * ps
        im = self.center_im - (np.arange(self.ny, dtype=np.float64) - (self.ny - 1) / 2) * ps
        return re, im

    def zoomed(self, factor: float, re: float | None = None, im: float | None = None) -> "Viewport":
        """A new viewport ``factor`` times narrower, optionally re-centred."""
        return Viewport(
            self.center_re if re is None else float(re),
            self.center_im if im is None else float(im),
            self.width / factor,
            self.nx,
            self.ny,
        )


def _validate(nx: int, ny: int, max_iter: int, work: int = MAX_ESCAPE_WORK) -> tuple[int, int, int]:
    nx = check_positive_int("nx (pixels across)", nx, 1, 16384)
    ny = check_positive_int("ny (pixels down)", ny, 1, 16384)
    max_iter = check_positive_int("max_iter", max_iter, 1, 1_000_000)
    check("pixels", nx * ny, MAX_PIXELS, "lower the resolution")
    check("pixels x iterations", nx * ny * max_iter, work, "lower the resolution or the iteration count")
    return nx, ny, max_iter


@nb.njit(cache=True, inline="always")
def _in_cardioid_or_bulb(cr, ci):
    ci2 = ci * ci
    xq = cr - 0.25
    q = xq * xq + ci2
    if q * (q + xq) <= 0.25 * ci2:
        return True
    xb = cr + 1.0
    return xb * xb + ci2 <= 0.0625


@nb.njit(cache=True, inline="always")
def _step_lanes(zr, zi, cr, ci, sr, si, count, inside, periodicity):
    """One step of every lane still iterating; returns how many stepped."""
    alive = 0
    for k in range(_LANES):
        x = zr[k]
        y = zi[k]
        x2 = x * x
        y2 = y * y
        step = (x2 + y2 <= BAILOUT2) & (inside[k] == 0)
        nr = x2 - y2 + cr[k]
        ni = 2.0 * x * y + ci[k]
        zr[k] = nr if step else x
        zi[k] = ni if step else y
        count[k] += step
        if periodicity:
            inside[k] |= step & (nr == sr[k]) & (ni == si[k])
        alive += step
    return alive


@nb.njit(cache=True, inline="always")
def _escape_lanes(zr, zi, cr, ci, sr, si, count, inside, max_iter, periodicity):
    """Iterate z <- z^2 + c in all _LANES lanes at once, until every lane escaped or is inside.

    On entry: z_0 in (zr, zi), c in (cr, ci), count = 0, inside = 1 for lanes known inside. On
    return: count[k] = the first n with |z_n|^2 > BAILOUT2 (max_iter if none within max_iter
    steps) and (zr, zi) = that z_n (or z_max_iter), or inside[k] = 1 when Brent's cycle detection
    found z_{n+1} exactly equal to a saved iterate (periodicity). Each step is one branch-free
    loop over the lanes (selects, no exits), which LLVM compiles to SIMD instructions; a lane
    that escaped or is inside keeps its z.
    """
    for k in range(_LANES):  # the saved iterates
        sr[k] = zr[k]
        si[k] = zi[k]
    check_at = 8
    since = 0
    for _ in range(max_iter):
        if periodicity:
            alive = _step_lanes(zr, zi, cr, ci, sr, si, count, inside, True)
        else:  # a copy of the loop without the comparisons: 1.2-1.4x faster
            alive = _step_lanes(zr, zi, cr, ci, sr, si, count, inside, False)
        if alive == 0:
            break
        since += 1
        if periodicity and since == check_at:  # Brent: the refresh interval doubles
            since = 0
            check_at *= 2
            for k in range(_LANES):
                sr[k] = zr[k]
                si[k] = zi[k]


@nb.njit(cache=True, inline="always")
def _lanes():
    """Scratch arrays of one thread: zr, zi, cr, ci, sr, si (float64) and count, inside (int64)."""
    f = np.empty((6, _LANES))
    i = np.zeros((2, _LANES), dtype=np.int64)
    return f[0], f[1], f[2], f[3], f[4], f[5], i[0], i[1]


@nb.njit(cache=True, inline="always")
def _store_lanes(out, y, x0, zr, zi, count, inside, max_iter, smooth):
    """Write the lanes' results to out[y, x0:x0 + _LANES] (fewer at the row's end); an escape
    found only after the last step counts as max_iter - 1."""
    for k in range(min(_LANES, out.shape[1] - x0)):
        n = max_iter if inside[k] else count[k]
        mag2 = zr[k] * zr[k] + zi[k] * zi[k]
        if n == max_iter and not inside[k] and mag2 > BAILOUT2:
            n = max_iter - 1
        if smooth:
            out[y, x0 + k] = _smooth(n, mag2, max_iter)
        else:
            out[y, x0 + k] = n


@nb.njit(cache=True, inline="always")
def _smooth(n, mag2, max_iter):
    if n >= max_iter:
        return np.nan
    # Continuous escape count: |z| is in (R, R^2] at escape, so this lies in [n, n + 1).
    return n + 1.0 - math.log(0.5 * math.log(mag2) / _LOG_R) / _LOG2


@nb.njit(parallel=True, cache=True, nogil=True)
def _mandelbrot_kernel(re, im, max_iter, smooth, shortcuts, out):
    ny = im.shape[0]
    nx = re.shape[0]
    for s in nb.prange(_STRIPES):
        zr, zi, cr, ci, sr, si, count, inside = _lanes()
        for y in range(s, ny, _STRIPES):
            for x0 in range(0, nx, _LANES):
                for k in range(_LANES):  # past the row's end, lanes repeat its last pixel
                    x = min(x0 + k, nx - 1)
                    zr[k] = 0.0
                    zi[k] = 0.0
                    cr[k] = re[x]
                    ci[k] = im[y]
                    count[k] = 0
                    inside[k] = shortcuts and _in_cardioid_or_bulb(re[x], im[y])
                _escape_lanes(zr, zi, cr, ci, sr, si, count, inside, max_iter, shortcuts)
                _store_lanes(out, y, x0, zr, zi, count, inside, max_iter, smooth)


@nb.njit(parallel=True, cache=True, nogil=True)
def _julia_kernel(re, im, cr0, ci0, max_iter, smooth, out):
    ny = im.shape[0]
    nx = re.shape[0]
    for s in nb.prange(_STRIPES):
        zr, zi, cr, ci, sr, si, count, inside = _lanes()
        for y in range(s, ny, _STRIPES):
            for x0 in range(0, nx, _LANES):
                for k in range(_LANES):
                    zr[k] = re[min(x0 + k, nx - 1)]
                    zi[k] = im[y]
                    cr[k] = cr0
                    ci[k] = ci0
                    count[k] = 0
                    inside[k] = 0
                _escape_lanes(zr, zi, cr, ci, sr, si, count, inside, max_iter, True)
                _store_lanes(out, y, x0, zr, zi, count, inside, max_iter, smooth)


def mandelbrot(viewport: Viewport, max_iter: int = 256, *, smooth: bool = True,
               shortcuts: bool = True) -> np.ndarray:
    """Escape-time image of the Mandelbrot set.

    Parameters
    ----------
    viewport : Viewport
        Window and pixel grid.
    max_iter : int
        Iteration cap; points still bounded after it count as inside.
    smooth : bool
        If True return the continuous (smooth) escape count as float64 with NaN inside the
        set; otherwise the integer escape count as int32 with ``max_iter`` inside.
    shortcuts : bool
        Use the cardioid/bulb test and periodicity checking (exact; no pixel changes).

    Returns
    -------
    numpy.ndarray
        Shape ``(ny, nx)``; row 0 is the top of the window.

    Raises
    ------
    ValueError
        If the pixel grid or ``max_iter`` is not a positive integer in range.
    fractalkit.limits.WorkLimitError
        If pixels, or pixels times ``max_iter``, exceed the caps of :mod:`fractalkit.limits`.

    References
    ----------
    - B. B. Mandelbrot, "Fractal aspects of the iteration of z -> lambda z (1 - z) for
      complex lambda and z", Annals of the New York Academy of Sciences 357, 249-259 (1980).
    - L. Vepstas, "Renormalizing the Mandelbrot escape" (1997): the smooth escape count.
    - H.-O. Peitgen and D. Saupe (eds.), *The Science of Fractal Images*, Springer (1988),
      ch. 4: escape-time algorithms. The cardioid and period-2 bulb test and periodicity
      checking are exact: they only skip iterations whose result is known.

    Examples
    --------
    >>> from fractalkit import Viewport, inside, mandelbrot
    >>> counts = mandelbrot(Viewport(-0.5, 0.0, 3.0, 64, 48), max_iter=64)
    >>> counts.shape, counts.dtype
    ((48, 64), dtype('float64'))
    >>> int(inside(counts, 64).sum())
    714
    """
    nx, ny, max_iter = _validate(viewport.nx, viewport.ny, max_iter)
    re, im = Viewport(*viewport[:3], nx, ny).axes()
    out = np.empty((ny, nx), dtype=np.float64 if smooth else np.int32)
    _mandelbrot_kernel(re, im, max_iter, smooth, shortcuts, out)
    return out


def julia(c: complex, viewport: Viewport, max_iter: int = 256, *, smooth: bool = True) -> np.ndarray:
    """Escape-time image of the filled Julia set of ``z**2 + c``.

    Parameters
    ----------
    c : complex
        The Julia parameter.
    viewport : Viewport
        Window of the z-plane and pixel grid.
    max_iter : int
        Iteration cap.
    smooth : bool
        As for :func:`mandelbrot`.

    Returns
    -------
    numpy.ndarray
        Shape ``(ny, nx)``; float64 (NaN inside) when ``smooth``, else int32.

    Raises
    ------
    ValueError
        If ``c`` is not finite, or the grid or ``max_iter`` is out of range.
    fractalkit.limits.WorkLimitError
        If the work exceeds the caps of :mod:`fractalkit.limits`.

    References
    ----------
    - G. Julia, "Mémoire sur l'itération des fonctions rationnelles", Journal de
      Mathématiques Pures et Appliquées 8, 47-245 (1918).

    Examples
    --------
    >>> from fractalkit import Viewport, julia
    >>> counts = julia(-0.123 + 0.745j, Viewport(0.0, 0.0, 3.2, 64, 48), 64, smooth=False)  # Douady's rabbit
    >>> counts.shape, counts.dtype, int(counts.max())
    ((48, 64), dtype('int32'), 64)
    """
    nx, ny, max_iter = _validate(viewport.nx, viewport.ny, max_iter)
    c = complex(c)
    if not (math.isfinite(c.real) and math.isfinite(c.imag)):
        raise ValueError(f"c must be finite, got {c!r}")
    re, im = Viewport(*viewport[:3], nx, ny).axes()
    out = np.empty((ny, nx), dtype=np.float64 if smooth else np.int32)
    _julia_kernel(re, im, c.real, c.imag, max_iter, smooth, out)
    return out


def mandelbrot_reference(viewport: Viewport, max_iter: int = 256) -> np.ndarray:
    """Plain float64 numpy reference (no numba, no shortcuts): integer escape counts.

    Uses the same bail-out radius as :func:`mandelbrot`; ``max_iter`` marks points inside.
    Meant for testing and as the "numpy vectorised" baseline of the benchmark.
    """
    nx, ny, max_iter = _validate(viewport.nx, viewport.ny, max_iter)
    re, im = Viewport(*viewport[:3], nx, ny).axes()
    c = re[None, :] + 1j * im[:, None]
    z = np.zeros_like(c)
    counts = np.full(c.shape, max_iter, dtype=np.int32)
    alive = np.ones(c.shape, dtype=bool)
    for n in range(max_iter):
        zr, zi = z.real, z.imag
        escaped = alive & (zr * zr + zi * zi > BAILOUT2)
        counts[escaped] = n
        alive &= ~escaped
        z = np.where(alive, z * z + c, z)
    mag2 = z.real ** 2 + z.imag ** 2
    counts[alive & (mag2 > BAILOUT2)] = max_iter - 1
    return counts


def inside(counts: np.ndarray, max_iter: int) -> np.ndarray:
    """Boolean mask of points that did not escape (works for int counts and smooth NaNs)."""
    if np.issubdtype(counts.dtype, np.floating):
        return np.isnan(counts)
    return counts >= max_iter
