"""Self-affine signals and surfaces: fractional Brownian motion and diamond-square."""
from __future__ import annotations

import numba as nb
import numpy as np
import scipy.fft as sfft

from .limits import MAX_PIXELS, check, check_positive_int

__all__ = ["fbm_surface", "fbm_1d", "pink_noise", "diamond_square"]


def _check_hurst(hurst: float) -> float:
    h = float(hurst)
    if not 0.0 < h < 1.0:
        raise ValueError(f"the Hurst exponent must be in (0, 1), got {hurst!r}")
    return h


def fbm_surface(shape: int | tuple[int, int] = 512, hurst: float = 0.5, seed: int = 0,
                dtype=np.float32) -> np.ndarray:
    """Fractional Brownian surface by spectral synthesis.

    White Gaussian noise is filtered in Fourier space by ``|k|**-(H + 1)``, i.e. a power
    spectrum ``|k|**-(2 H + 2)``; the fractal dimension of the surface is ``3 - H``.
    The result is periodic, zero-mean and scaled to unit standard deviation.

    Parameters
    ----------
    shape : int or (int, int)
        ``n`` for an ``n x n`` surface, or ``(ny, nx)``.
    hurst : float
        Hurst exponent ``H`` in (0, 1).
    seed : int
        Random seed; the same seed gives the same surface.
    dtype : numpy dtype
        ``float32`` (default, half the memory and faster FFTs) or ``float64``.

    Returns
    -------
    numpy.ndarray
        ``(ny, nx)`` of ``dtype``.

    References
    ----------
    - D. Saupe, "Algorithms for random fractals", in H.-O. Peitgen and D. Saupe (eds.),
      *The Science of Fractal Images*, Springer (1988), ch. 2: spectral synthesis.

    Examples
    --------
    >>> from fractalkit import fbm_surface
    >>> z = fbm_surface(128, hurst=0.7, seed=0)
    >>> z.shape, z.dtype
    ((128, 128), dtype('float32'))
    """
    h = _check_hurst(hurst)
    ny, nx = (shape, shape) if np.isscalar(shape) else shape
    ny = check_positive_int("height", ny, 2, 16384)
    nx = check_positive_int("width", nx, 2, 16384)
    check("pixels", nx * ny, MAX_PIXELS, "lower the resolution")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise ValueError("dtype must be float32 or float64")
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((ny, nx), dtype=dtype)
    spec = sfft.rfft2(noise, workers=-1, overwrite_x=True)
    ky = sfft.fftfreq(ny).astype(dtype)[:, None]
    kx = sfft.rfftfreq(nx).astype(dtype)[None, :]
    k2 = ky * ky + kx * kx
    k2[0, 0] = 1.0
    filt = k2 ** dtype.type(-(h + 1.0) / 2.0)
    filt[0, 0] = 0.0
    spec *= filt
    out = sfft.irfft2(spec, s=(ny, nx), workers=-1, overwrite_x=True)
    out /= out.std()
    return out.astype(dtype, copy=False)


def fbm_1d(n: int = 4096, hurst: float = 0.5, seed: int = 0) -> np.ndarray:
    """Fractional Brownian motion of length ``n`` by spectral synthesis (spectrum ``f**-(2H+1)``)."""
    return _power_law_noise(n, 2.0 * _check_hurst(hurst) + 1.0, seed)


def pink_noise(n: int = 4096, seed: int = 0) -> np.ndarray:
    """1/f ("pink") noise of length ``n``: power spectrum ``f**-1``."""
    return _power_law_noise(n, 1.0, seed)


def _power_law_noise(n: int, beta: float, seed: int) -> np.ndarray:
    n = check_positive_int("length", n, 2, 1 << 24)
    rng = np.random.default_rng(seed)
    spec = sfft.rfft(rng.standard_normal(n))
    f = sfft.rfftfreq(n)
    f[0] = 1.0
    spec *= f ** (-beta / 2.0)
    spec[0] = 0.0
    out = sfft.irfft(spec, n=n)
    return out / out.std()


@nb.njit(cache=True, nogil=True)
def _diamond_square(k, hurst, seed):
    np.random.seed(seed)
    n = (1 << k) + 1
    a = np.zeros((n, n))
    a[0, 0] = np.random.normal()
    a[0, n - 1] = np.random.normal()
    a[n - 1, 0] = np.random.normal()
    a[n - 1, n - 1] = np.random.normal()
    step = n - 1
    scale = 1.0
    while step > 1:
        half = step // 2
        scale *= 0.5 ** hurst
        for y in range(half, n, step):  # diamond step
            for x in range(half, n, step):
                avg = 0.25 * (a[y - half, x - half] + a[y - half, x + half]
                              + a[y + half, x - half] + a[y + half, x + half])
                a[y, x] = avg + scale * np.random.normal()
        for y in range(0, n, half):  # square step
            for x in range((y + half) % step, n, step):
                s = 0.0
                c = 0
                if y >= half:
                    s += a[y - half, x]
                    c += 1
                if y + half < n:
                    s += a[y + half, x]
                    c += 1
                if x >= half:
                    s += a[y, x - half]
                    c += 1
                if x + half < n:
                    s += a[y, x + half]
                    c += 1
                a[y, x] = s / c + scale * np.random.normal()
        step = half
    return a


def diamond_square(k: int = 9, hurst: float = 0.7, seed: int = 0) -> np.ndarray:
    """Diamond-square (midpoint displacement) surface of size ``(2**k + 1)`` squared.

    Displacements shrink by ``2**-H`` per level. Cheaper than spectral synthesis but shows
    the grid's creases; returned zero-mean with unit standard deviation, float64.

    References
    ----------
    - A. Fournier, D. Fussell and L. Carpenter, "Computer rendering of stochastic models",
      Communications of the ACM 25, 371-384 (1982).

    Examples
    --------
    >>> from fractalkit import diamond_square
    >>> diamond_square(6, hurst=0.7, seed=0).shape
    (65, 65)
    """
    k = check_positive_int("k", k, 1, 12)
    a = _diamond_square(k, _check_hurst(hurst), int(seed) % (2 ** 32))
    a -= a.mean()
    return a / a.std()
