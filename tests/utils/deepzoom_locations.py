"""Real deep-zoom windows for tests/kernels/test_deepzoom.py, computed in MPFR (about a minute;
the test keeps them in pytest's cache, keyed by this file's content).

Every window is centred near an exactly computed feature of the Mandelbrot set, so that it shows
structure (escaping pixels with varied counts, and for minibrots, interior) at every depth:

* ``seahorse``: the Misiurewicz point M(24, 2) in seahorse valley (preperiod 24, period 2), found
  by Newton's method on f^(k+p)(0) - f^k(0) = 0 in MPFR (``fractalkit.deepzoom.misiurewicz_point``,
  checked against that definition in the tests); windows at it show its spiralling
  dendrite (Tan Lei: near a Misiurewicz point M looks like the Julia set J_c);
* ``spiral``: the Misiurewicz point M(18, 10) near -0.7746806 - 0.1374169i, a ten-armed spiral;
* ``minibrot``: a nucleus (centre of a hyperbolic component, f^p(0) = 0) near the spiral point,
  of size about width/6 (Heiland-Allen's size estimate); its period is found with the "ball
  period" method (first n with |f^n(0)| < r |d f^n / dc|, a disc of radius r around the guess
  then covers a root), then Newton's method in MPFR.

Each window's centre is offset from the feature by a fixed fraction of the width, rounded to
width-relative 20 digits, so the centre strings carry hundreds of significant digits.

References: C. Heiland-Allen, "Newton's method for nuclei", "ball period", "Misiurewicz points",
"size estimate" notes on mathr.co.uk (2013-2018); Tan Lei, "Similarity between the Mandelbrot set
and Julia sets", Comm. Math. Phys. 134 (1990).
"""
from __future__ import annotations

import math

import gmpy2
from gmpy2 import mpc, mpfr

from fractalkit.deepzoom import misiurewicz_point

__all__ = ["DEPTHS", "windows"]

DEPTHS = [20, 50, 100, 300, 1000]


def ball_period(c, r, limit):
    z = dz = mpc(0)
    for n in range(1, limit):
        dz = 2 * z * dz + 1
        z = z * z + c
        if abs(z) < r * abs(dz):
            return n
        if abs(z) > 4:
            return None
    return None


def nucleus(c, p, steps=200):
    eps = mpfr(2) ** (-gmpy2.get_context().precision + 16)
    for _ in range(steps):
        z = dz = mpc(0)
        for _ in range(p):
            dz = 2 * z * dz + 1
            z = z * z + c
        step = z / dz
        c -= step
        if abs(step) < eps * abs(c):
            return c
    raise RuntimeError("nucleus Newton did not converge")


def size_estimate(c, p):
    z = mpc(0)
    l = b = mpc(1)
    for _ in range(1, p):
        z = z * z + c
        l = 2 * z * l
        b = b + 1 / l
    return abs(1 / (b * l * l))


def decimal(x: mpfr, digits: int) -> str:
    return format(x, f".{digits}e")


def window(name, c, depth, offset, **extra):
    width = mpfr(10) ** (-depth)
    centre = c + width * offset
    digits = depth + 20
    return {"name": name, "depth": depth, "center_re": decimal(centre.real, digits),
            "center_im": decimal(centre.imag, digits), "width": f"1e-{depth}", **extra}


def windows() -> list[dict]:
    """Three windows per depth of :data:`DEPTHS`: ``seahorse``, ``spiral`` and ``minibrot``, each a
    dict with ``name``, ``depth``, ``center_re``, ``center_im`` and ``width`` (decimal strings),
    minibrots also ``period`` and ``size_over_width``."""
    found = []
    with gmpy2.context(precision=max(DEPTHS) * 4 + 400):
        digits = int(gmpy2.get_context().precision * math.log10(2))
        seahorse = mpc(*map(mpfr, misiurewicz_point("-0.7432918908524302", "0.1312405523087976", 24, 2, digits)))
        spiral = mpc(*map(mpfr, misiurewicz_point("-0.7746728091751297", "-0.13741840173724856", 18, 10, digits)))
        for depth in DEPTHS:
            found.append(window("seahorse", seahorse, depth, mpc(mpfr("0.137"), mpfr("-0.0571"))))
            found.append(window("spiral", spiral, depth, mpc(mpfr("-0.0923"), mpfr("0.181"))))
            width = mpfr(10) ** (-depth)
            # Nuclei near a Misiurewicz point shrink like the square of their distance to it:
            # scan distances for one whose minibrot is about width/6 across.
            best = None
            seen = set()
            for angle in ("0.6", "-0.8"):
                u = mpc(mpfr(angle), gmpy2.sqrt(1 - mpfr(angle) ** 2))
                for scale in [2 ** (j / 2) for j in range(-8, 8)]:
                    guess = spiral + scale * gmpy2.sqrt(width) * u
                    p = ball_period(guess, scale * gmpy2.sqrt(width) / 2, 200_000)
                    if p is None or p in seen:
                        continue
                    seen.add(p)
                    n = nucleus(guess, p)
                    ratio = float(size_estimate(n, p) / width)
                    if best is None or abs(math.log(ratio * 6)) < abs(math.log(best[2] * 6)):
                        best = (n, p, ratio)
            n, p, ratio = best
            found.append(window("minibrot", n, depth, mpc(mpfr("0.031"), mpfr("0.047")), period=p,
                                size_over_width=round(ratio, 4)))
    return found
