"""Sets and measures whose fractal dimensions are known exactly, built without fractalkit.

The oracles of the estimator tests and of ``benchmarks/accuracy.py``: each is built from its
definition (digits of the pixel index, Pillow's drawing for curves), never by the generators
under test, and comes with its exact dimension.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

__all__ = ["EXACT_DIMENSION", "sierpinski_triangle", "sierpinski_carpet", "cantor_dust", "koch_curve", "line",
           "circle", "disc", "exact_set", "binomial_cascade", "cascade_tau"]

#: Exact box-counting (similarity) dimension of each set below.
EXACT_DIMENSION = {
    "Sierpinski triangle": math.log(3) / math.log(2),
    "Sierpinski carpet": math.log(8) / math.log(3),
    "Cantor dust": math.log(4) / math.log(3),
    "Koch curve": math.log(4) / math.log(3),
    "line": 1.0,
    "circle": 1.0,
    "disc": 2.0,
}


def sierpinski_triangle(k: int) -> np.ndarray:
    """Bool ``(2**k, 2**k)``: pixel ``(i, j)`` is set iff ``i & j == 0`` (Pascal's triangle mod 2)."""
    i = np.arange(2 ** k)
    return (i[:, None] & i[None, :]) == 0


def _no_digit(k: int, digit: int) -> np.ndarray:
    """Bool ``(3**k,)``: indices whose base-3 expansion (k digits) avoids ``digit``."""
    i = np.arange(3 ** k)
    ok = np.ones(i.size, dtype=bool)
    for _ in range(k):
        ok &= (i % 3) != digit
        i = i // 3
    return ok


def sierpinski_carpet(k: int) -> np.ndarray:
    """Bool ``(3**k, 3**k)``: no position where both indices have the base-3 digit 1."""
    i = np.arange(3 ** k)
    hole = np.zeros((i.size, i.size), dtype=bool)
    a = i.copy()
    for _ in range(k):
        d = a % 3 == 1
        hole |= d[:, None] & d[None, :]
        a //= 3
    return ~hole


def cantor_dust(k: int) -> np.ndarray:
    """Bool ``(3**k, 3**k)``: the product of two middle-thirds Cantor sets."""
    c = _no_digit(k, 1)
    return c[:, None] & c[None, :]


def _draw(size: int, draw) -> np.ndarray:
    img = Image.new("1", (size, size), 0)
    draw(ImageDraw.Draw(img))
    return np.asarray(img, dtype=bool)


def koch_curve(size: int, levels: int | None = None) -> np.ndarray:
    """Bool ``(size, size)``: the Koch curve, its vertices computed exactly, drawn by Pillow.

    ``levels`` defaults to the depth at which a segment is shorter than a pixel.
    """
    if levels is None:
        levels = max(1, math.ceil(math.log(size) / math.log(3)))
    pts = np.array([0.0, 1.0 + 0j])
    rot = np.exp(1j * math.pi / 3)
    for _ in range(levels):
        a, b = pts[:-1], pts[1:]
        d = (b - a) / 3
        new = np.empty(4 * a.size + 1, dtype=complex)
        new[0:-1:4], new[1::4], new[2::4], new[3::4] = a, a + d, a + d + d * rot, a + 2 * d
        new[-1] = pts[-1]
        pts = new
    margin = 2
    scale = size - 1 - 2 * margin
    xy = [(margin + scale * p.real, size - 1 - margin - scale * p.imag) for p in pts]
    return _draw(size, lambda d: d.line(xy, fill=1, width=1))


def line(size: int) -> np.ndarray:
    """Bool ``(size, size)``: a diagonal line drawn by Pillow."""
    return _draw(size, lambda d: d.line([(0, size // 7), (size - 1, size - 1 - size // 5)], fill=1))


def circle(size: int) -> np.ndarray:
    """Bool ``(size, size)``: a one-pixel circle drawn by Pillow."""
    m = size // 8
    return _draw(size, lambda d: d.ellipse([m, m, size - 1 - m, size - 1 - m], outline=1, width=1))


def disc(size: int) -> np.ndarray:
    """Bool ``(size, size)``: a filled disc drawn by Pillow."""
    m = size // 8
    return _draw(size, lambda d: d.ellipse([m, m, size - 1 - m, size - 1 - m], fill=1))


def exact_set(name: str, side: int) -> np.ndarray:
    """The set ``name`` (a key of :data:`EXACT_DIMENSION`) at about ``side`` pixels a side.

    Triadic sets take the largest ``3**k <= side``, the Sierpinski triangle ``2**k <= side``.
    """
    if name == "Sierpinski triangle":
        return sierpinski_triangle(int(math.log2(side)))
    if name in ("Sierpinski carpet", "Cantor dust"):
        k = int(math.log(side) / math.log(3) + 1e-9)
        return sierpinski_carpet(k) if name == "Sierpinski carpet" else cantor_dust(k)
    return {"Koch curve": koch_curve, "line": line, "circle": circle, "disc": disc}[name](side)


def binomial_cascade(k: int, weights=(0.4, 0.3, 0.2, 0.1)) -> np.ndarray:
    """Float64 ``(2**k, 2**k)`` measure (sum 1): a multiplicative cascade with quadrant ``weights``.

    Every level splits each square's mass among its four quadrants in the proportions
    ``weights`` (top-left, top-right, bottom-left, bottom-right); Meneveau & Sreenivasan,
    Phys. Rev. Lett. 59, 1424 (1987). Its mass exponents are :func:`cascade_tau`.
    """
    w = np.asarray(weights, dtype=np.float64).reshape(2, 2)
    w = w / w.sum()
    m = np.ones((1, 1))
    for _ in range(k):
        m = np.kron(m, w)
    return m


def cascade_tau(q, weights=(0.4, 0.3, 0.2, 0.1)) -> np.ndarray:
    """Exact mass exponents ``tau(q) = -log2(sum_i p_i**q)`` of :func:`binomial_cascade`."""
    p = np.asarray(weights, dtype=np.float64)
    p = p / p.sum()
    q = np.atleast_1d(np.asarray(q, dtype=np.float64))
    return -np.log2((p[None, :] ** q[:, None]).sum(axis=1))
