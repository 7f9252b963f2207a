"""Rasterising points and segments onto pixel grids (numba)."""
from __future__ import annotations

import numba as nb
import numpy as np

from .limits import MAX_PIXELS, check

__all__ = ["density", "rasterize_segments"]


def _extent(xy: np.ndarray, pad: float = 0.02) -> tuple[float, float, float, float]:
    finite = xy[np.isfinite(xy).all(axis=1)]
    if finite.size == 0:
        return (0.0, 1.0, 0.0, 1.0)
    x0, y0 = finite.min(axis=0)
    x1, y1 = finite.max(axis=0)
    span = max(x1 - x0, y1 - y0, 1e-12)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    h = span * (0.5 + pad)
    return (cx - h, cx + h, cy - h, cy + h)


@nb.njit(cache=True, nogil=True)
def _hist(pts, x0, x1, y0, y1, ny, nx, out):
    sx = nx / (x1 - x0)
    sy = ny / (y1 - y0)
    for i in range(pts.shape[0]):
        ix = int((pts[i, 0] - x0) * sx)
        iy = int((y1 - pts[i, 1]) * sy)
        if 0 <= ix < nx and 0 <= iy < ny:
            out[iy, ix] += 1


def density(points: np.ndarray, shape: tuple[int, int] = (512, 512), extent=None) -> np.ndarray:
    """Count points per pixel.

    Parameters
    ----------
    points : numpy.ndarray
        ``(n, 2)`` x/y coordinates.
    shape : tuple of int
        ``(ny, nx)`` of the image; row 0 is the top (largest y).
    extent : tuple, optional
        ``(x0, x1, y0, y1)``; default: a square around the points.

    Returns
    -------
    numpy.ndarray
        Int32 ``(ny, nx)`` counts.
    """
    ny, nx = int(shape[0]), int(shape[1])
    check("pixels", nx * ny, MAX_PIXELS, "lower the resolution")
    pts = np.ascontiguousarray(points, dtype=np.float64)
    x0, x1, y0, y1 = _extent(pts) if extent is None else extent
    out = np.zeros((ny, nx), dtype=np.int32)
    _hist(pts, float(x0), float(x1), float(y0), float(y1), ny, nx, out)
    return out


@nb.njit(cache=True, nogil=True)
def _lines(start, end, x0, x1, y0, y1, ny, nx, out):
    sx = (nx - 1) / (x1 - x0)
    sy = (ny - 1) / (y1 - y0)
    for i in range(start.shape[0]):
        ax = (start[i, 0] - x0) * sx
        ay = (y1 - start[i, 1]) * sy
        bx = (end[i, 0] - x0) * sx
        by = (y1 - end[i, 1]) * sy
        steps = int(max(abs(bx - ax), abs(by - ay)) * 2) + 1
        for s in range(steps + 1):
            t = s / steps
            ix = int(round(ax + (bx - ax) * t))
            iy = int(round(ay + (by - ay) * t))
            if 0 <= ix < nx and 0 <= iy < ny:
                out[iy, ix] = True


def rasterize_segments(start: np.ndarray, end: np.ndarray, shape: tuple[int, int] = (1024, 1024),
                       extent=None) -> np.ndarray:
    """Draw 1-pixel-wide segments into a boolean image ``(ny, nx)`` (row 0 at the top)."""
    ny, nx = int(shape[0]), int(shape[1])
    check("pixels", nx * ny, MAX_PIXELS, "lower the resolution")
    start = np.ascontiguousarray(start, dtype=np.float64)
    end = np.ascontiguousarray(end, dtype=np.float64)
    if extent is None:
        extent = _extent(np.concatenate([start, end]))
    out = np.zeros((ny, nx), dtype=np.bool_)
    _lines(start, end, *map(float, extent), ny, nx, out)
    return out
