r"""Deep zooms into the Mandelbrot and Julia sets: perturbation around arbitrary-precision reference orbits.

:func:`~fractalkit.escape.mandelbrot` iterates every pixel in float64, which resolves windows down to
about 1e-13 wide. Below that, neighbouring pixels are no longer distinct float64 numbers. This
module renders windows of any width (tested to 1e-1000) in three steps:

1. **Exact viewport.** Centre and width are decimal *strings*, parsed by MPFR with correct
   rounding at the working precision; they never pass through float64.
2. **Reference orbit.** The orbit :math:`Z_{n+1} = Z_n^2 + C` of the window's centre ``C`` is
   computed once in MPFR (gmpy2) with :func:`working_precision` bits, and stored as float64
   *and* as (mantissa, exponent) pairs, so that values below float64's range (near a nucleus
   :math:`Z_n` can be 1e-1000) are kept.
3. **Perturbation** (numba, parallel over rows): each pixel iterates only its offset
   :math:`\delta z_n = z_n - Z_m` from the reference,
   :math:`\delta z \leftarrow 2 Z_m \delta z + \delta z^2 + \delta c`, with Zhuoran's
   *rebasing*: when :math:`|Z_m + \delta z| < |\delta z|`, or the reference orbit ends, set
   :math:`\delta z \leftarrow Z_m + \delta z` and restart the reference at :math:`m = 0`.
   One reference then serves every pixel; no glitch detection or second reference is needed.

Julia sets (:func:`deep_julia`). There ``c`` is fixed and the pixel moves the orbit's start:
:math:`z_0 = Z_0 + \delta z_0` with ``Z_0`` the centre, and :math:`\delta z \leftarrow 2 Z_m
\delta z + \delta z^2` (no :math:`\delta c`). A rebased offset :math:`\delta z = z` is
measured from 0, so the first rebase switches to a second reference, the critical orbit
:math:`W_0 = 0, W_{m+1} = W_m^2 + c` (the Mandelbrot reference orbit of ``c``), and every later
rebase restarts it. Everything below applies to both references.

Extended range. At widths below ~1e-300, :math:`\delta c` and early :math:`\delta z` underflow
float64. A pixel's :math:`\delta z` is therefore held in one of three ways:

* *plain* float64 while :math:`|\delta z| \ge 2^{-900}`: every rounding or underflow error
  (at most :math:`2^{-1074}` absolute, e.g. a tiny :math:`Z_m` or :math:`\delta c` flushed to 0)
  is then below :math:`2^{-170}` relative, i.e. invisible;
* *rescaled* while :math:`|\delta z| < 2^{-836}` and :math:`|Z_m| \ge 2^{-800}`:
  :math:`\delta z = w\,2^e` with :math:`w \leftarrow (2 Z_m + 2^e w) w + \delta c\,2^{-e}` in
  float64, renormalising ``w`` only when it leaves :math:`2^{\pm 64}` (Heiland-Allen's
  "rescaled iterations"); no rebase or escape can happen in this regime;
* *floatexp* otherwise: a complex float64 mantissa ``(re, im)`` with ``max(|re|, |im|)`` in
  [0.5, 1) and a shared int64 binary exponent, the number type of Kalles Fraktaler and Imagina.
  Each term is formed exactly in this form (``Z_m`` from its stored mantissa/exponent -- near a
  nucleus :math:`|Z_m|` can be :math:`2^{-1663}` -- and :math:`\delta c` from the pixel offset
  times the pixel size's mantissa/exponent), aligned to the largest exponent and summed.

A plain step whose result would fall below :math:`2^{-900}` is redone in floatexp from the
same state, so no precision is lost at the switch.

Bilinear approximation (BLA, Zhuoran 2021). Where :math:`\delta z^2` is negligible, ``2**l``
steps from reference index ``m`` are one linear map :math:`\delta z \leftarrow A \delta z +
B \delta c`. A table of such maps for ``l = 1, 2, ...`` (pairs merged level by level, with the
validity radius :math:`R` of Heiland-Allen's notes and :math:`\epsilon = 2^{-53}`) lets a pixel
skip whole blocks while :math:`|\delta z| < R`; ``A`` and ``B`` are floatexp, so this works at any
depth. It changes almost no pixel (tests: >= 99 %) and renders the 1e-300 and 1e-1000 test
windows 3-11x faster; at shallow depths it gains little.

Accuracy limit. Offsets carry float64's 53 bits: a pixel whose escape count changes when it
moves by ~1e-12 of a pixel (one lying on a filament, typically one that outlives the reference
by hundreds of iterations) may be off; the tests find 0-2 % such pixels, all at the seahorse
valley point.

Costs. The reference orbit is stored as 4 float64 and 1 int64 per iteration, 40 bytes: a
10**6-iteration reference takes 40 MB. Its MPFR computation costs about 1 us (128 bits) to
4.4 us (3 400 bits, width 1e-1000) per iteration in CPython: 4.4 s for 10**6 iterations at
1e-1000 (it holds the GIL, in short slices). The BLA table adds 52 bytes per reference iteration
(52 MB at 10**6, also the peak while it is built, in ~0.7 s). Without BLA the pixels cost
~6 ns per iteration and thread in plain or rescaled mode, ~150 ns in floatexp.

References
----------
- K. I. Martin, "SuperFractalThing Maths" (2013): perturbation around a high-precision
  reference orbit.
- Zhuoran, "Another solution to perturbation glitches", fractalforums.org (Dec. 2021): rebasing.
- C. Heiland-Allen, "Deep zoom theory and practice (again)", mathr.co.uk blog (2022-02-21),
  and "Rescaled iterations", fractalwiki.org: rebasing, floatexp and rescaled iterations.
- Zhuoran, bilinear approximation, same fractalforums.org thread (2021); R. P. Munafo,
  "Bivariate linear approximation", mrob.com Mu-Ency (2023).
- K. Karlsson et al., *Kalles Fraktaler 2+* and Imagina: floatexp (mantissa + exponent) numbers.
- L. Vepstas, "Renormalizing the Mandelbrot escape" (1997): the smooth escape count.
"""
from __future__ import annotations

import array
import math
import re
from decimal import Decimal
from typing import NamedTuple

import gmpy2
import numba as nb
import numpy as np

# The float64 kernels' bail-out, smooth count, row stripes and grid and work caps.
from .escape import _STRIPES, BAILOUT2, _smooth
from .escape import _validate as _validate_grid
from .limits import MAX_DEEP_WORK, MAX_ESCAPE_WORK, check, check_positive_int

__all__ = ["DeepViewport", "MAX_DIGITS", "MIN_WIDTH_EXPONENT", "MAX_REFERENCE_WORK", "FLOAT64_MIN_PIXEL",
           "working_precision", "reference_orbit", "deep_mandelbrot", "deep_julia", "julia_parameter",
           "kernel_ready", "float64_is_exact", "auto_max_iter", "zoom", "misiurewicz_point"]

#: Most significant digits accepted in a centre coordinate or width.
MAX_DIGITS = 10_000
#: Narrowest window accepted: width >= 10**MIN_WIDTH_EXPONENT.
MIN_WIDTH_EXPONENT = -10_000
#: Largest reference orbit, in MPFR bits times iterations. Measured: 3 400 bits (1e-1000) cost
#: 4.1 us an iteration, 11 000 bits 19 us, 33 300 bits (1e-10000) 95 us; the cap allows 10**6
#: iterations down to ~1e-3000 (about 20 s, holding the GIL in short slices), fewer deeper.
MAX_REFERENCE_WORK = 12_000_000_000
#: Largest |real part| or |imaginary part| of the centre, and largest width: the whole set lies
#: in |c| <= 2, and a bounded centre keeps the reference's first step inside the bail-out radius.
MAX_COORDINATE = 16

#: |delta z| >= 2**_PLAIN_EXP is held in plain float64, smaller in floatexp.
_PLAIN_EXP = -900
_PLAIN_MIN = 2.0 ** _PLAIN_EXP
#: Plain-mode magnitudes are compared as squares scaled by 2**450 (|delta z|**2 itself may
#: underflow: 2**-1800 is below float64's range).
_CMP_SCALE = 2.0 ** 450
#: Rescaled iterations run while |Z_m| >= 2**-800 and keep w within 2**+-64 (_RESCALE_SPAN).
_RESCALE_MIN_Z = 2.0 ** -800
_RESCALE_SPAN = 64
_RESCALE_SPAN_F = 2.0 ** _RESCALE_SPAN
#: Exponent of floatexp zero: far below any value that can occur.
_EZERO = -(1 << 40)

_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,9})?")


class DeepViewport(NamedTuple):
    """A window of the complex plane given by exact decimal strings, sampled on a pixel grid.

    Attributes
    ----------
    center_re, center_im : str
        Centre of the window, as decimal strings (e.g. ``"-1.7490234375"``, ``"1e-30"``); at
        most ``MAX_DIGITS`` significant digits, absolute value at most 16.
    width : str
        Width of the window as a positive decimal string, in [1e-10000, 16]; the height follows
        from the aspect ratio (square pixels).
    nx, ny : int
        Image width and height in pixels.
    """

    center_re: str
    center_im: str
    width: str
    nx: int
    ny: int


def _parse_decimal(name: str, value) -> Decimal:
    """Exact value of a decimal string (or int/Decimal); ValueError for anything else."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise ValueError(f"{name} must be a decimal string such as '-0.75' or '1e-300', got {value!r} "
                         f"({type(value).__name__}; floats are rounded, pass their exact decimal text)")
    text = str(value).strip()
    if len(text) > MAX_DIGITS + 32:
        raise ValueError(f"{name} has {len(text):,} characters; at most {MAX_DIGITS:,} significant digits "
                         "are accepted")
    if not _DECIMAL.fullmatch(text):
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ValueError(f"{name} must be a finite decimal number such as '-0.75' or '1e-300', got {shown!r}")
    mantissa = re.split(r"[eE]", text)[0].lstrip("+-").replace(".", "").lstrip("0")
    if len(mantissa) > MAX_DIGITS:
        raise ValueError(f"{name} has {len(mantissa):,} significant digits; at most {MAX_DIGITS:,} are accepted")
    return Decimal(text)


def _validate(viewport: DeepViewport, max_iter: int, work: int = MAX_DEEP_WORK):
    if not isinstance(viewport, tuple) or len(viewport) != 5:
        raise ValueError(f"viewport must be a DeepViewport(center_re, center_im, width, nx, ny), got {viewport!r}")
    cre, cim, width, nx, ny = viewport
    dre = _parse_decimal("center_re", cre)
    dim = _parse_decimal("center_im", cim)
    dw = _parse_decimal("width", width)
    for name, d in (("center_re", dre), ("center_im", dim)):
        if abs(d) > MAX_COORDINATE:
            raise ValueError(f"{name} must be in [-{MAX_COORDINATE}, {MAX_COORDINATE}] "
                             f"(the Mandelbrot set lies in |c| <= 2), got {d:.6g}")
    if not dw > 0:
        raise ValueError(f"width must be positive, got {dw}")
    if dw > MAX_COORDINATE:
        raise ValueError(f"width must be at most {MAX_COORDINATE}, got {dw:.6g}")
    if dw.adjusted() < MIN_WIDTH_EXPONENT:
        raise ValueError(f"width must be at least 1e{MIN_WIDTH_EXPONENT}, got {dw:.6g}")
    nx, ny, max_iter = _validate_grid(nx, ny, max_iter, work)  # the float64 kernels' grid caps
    return str(dre), str(dim), dw, nx, ny, max_iter


def working_precision(width, nx: int = 1, ny: int = 1) -> int:
    """MPFR precision (bits) of the reference orbit for a window ``width`` wide.

    The rule: ``64 + ceil(log2(max(nx, ny) / width)) + 5``, at least 64. ``log2(max(nx, ny) /
    width)`` bits resolve the pixel spacing; 5 cover the centre's integer part (``|c| <= 16``); the
    64 extra bits keep the reference's rounding errors, amplified along the orbit as the pixel
    offsets are, 2**-64 below a pixel for as long as float64 perturbation is accurate anyway.

    Parameters
    ----------
    width : str or decimal.Decimal
        Window width (exact decimal), positive.
    nx, ny : int
        Pixel grid.

    Returns
    -------
    int
        Precision in bits (e.g. 3 399 for width 1e-1000 on 64 x 64 pixels).

    Raises
    ------
    ValueError
        If ``width`` is not a positive decimal.

    References
    ----------
    - C. Heiland-Allen, "Deep zoom theory and practice", mathr.co.uk blog (2021): reference
      precision proportional to the zoom depth in bits.

    Examples
    --------
    >>> working_precision("1e-1000", 64, 64)
    3397
    """
    w = _parse_decimal("width", width)
    if not w > 0:
        raise ValueError(f"width must be positive, got {w}")
    # log2(max(nx, ny) / width) from the decimal exponent and leading digits (exact enough).
    log2_w = float(w.log10()) * math.log2(10)
    return max(64, 64 + 5 + math.ceil(math.log2(max(nx, ny)) - log2_w))


def reference_orbit(center_re, center_im, max_iter: int, precision: int, *, julia_c=None):
    """Reference orbit :math:`Z_{n+1} = Z_n^2 + C`, computed in MPFR.

    For the Mandelbrot set (``julia_c`` None) the orbit of 0 under the centre:
    :math:`Z_0 = 0`, :math:`C` = the centre. For a Julia set the orbit of the centre under the
    set's parameter: :math:`Z_0` = the centre, :math:`C` = ``julia_c``.
    Iterates until :math:`|Z_n|^2 > 256^2` (the bail-out of :func:`~fractalkit.escape.mandelbrot`) or
    ``n = max_iter``, and stores :math:`Z_0 .. Z_N` with ``N`` the last iterate that did not
    escape (``N = max_iter`` for a bounded orbit); ``N >= 1`` for the Mandelbrot set since
    ``|C| <= 16 sqrt 2``.

    Parameters
    ----------
    center_re, center_im : str
        The centre as exact decimal strings.
    max_iter : int
        Iteration cap, in [1, 10**6].
    precision : int
        MPFR precision in bits (see :func:`working_precision`).
    julia_c : tuple of str, optional
        ``(re, im)`` of a Julia set's parameter, exact decimal strings in [-16, 16].

    Returns
    -------
    tuple of numpy.ndarray
        ``(zf_re, zf_im, zx_re, zx_im, zx_exp)``, each of shape ``(N + 1,)``: ``zf`` the
        iterates rounded to float64 (0 where they underflow), ``zx`` the same iterates as
        float64 mantissas with ``max(|re|, |im|)`` in [0.5, 1) (0 for Z = 0) and an int64
        binary exponent, :math:`Z_n = (zx\\_re + i\\, zx\\_im) \\cdot 2^{zx\\_exp}`. 40 bytes per
        iterate: 40 MB for 10**6 iterations.

    Raises
    ------
    ValueError
        If a coordinate is not a decimal string or ``max_iter`` is out of range.
    fractalkit.limits.WorkLimitError
        If ``precision x max_iter`` exceeds ``MAX_REFERENCE_WORK``.

    References
    ----------
    - K. I. Martin, "SuperFractalThing Maths" (2013): the high-precision reference orbit.
    - L. Fousse et al., "MPFR: A multiple-precision binary floating-point library with correct
      rounding", ACM TOMS 33(2), 13 (2007).

    Examples
    --------
    >>> zf_re, zf_im, *_ = reference_orbit("-1", "0", 10, 64)  # the period-2 cycle 0, -1, 0, ...
    >>> zf_re[:5].tolist(), len(zf_re)
    ([0.0, -1.0, 0.0, -1.0, 0.0], 11)
    >>> zf_re, zf_im, *_ = reference_orbit("0.5", "0", 3, 64, julia_c=("-1", "0"))  # 0.5, -0.75, -0.4375, ...
    >>> zf_re.tolist()
    [0.5, -0.75, -0.4375, -0.80859375]
    """
    z0 = (str(_parse_decimal("center_re", center_re)), str(_parse_decimal("center_im", center_im)))
    c = z0 if julia_c is None else julia_parameter(julia_c)
    if julia_c is None:
        z0 = ("0", "0")
    max_iter = check_positive_int("max_iter", max_iter, 1, 1_000_000)
    precision = check_positive_int("precision", precision, 53, 10_000_000)
    check("reference bits x iterations", precision * max_iter, MAX_REFERENCE_WORK,
          "lower the iteration count or zoom out")
    fr = array.array("d")
    fi = array.array("d")
    tiny = []  # (n, zr, zi) of iterates below float64's plain range: exact exponents needed
    limit = 2.0 ** _PLAIN_EXP

    def store(n, zr, zi):
        a = float(zr)
        b = float(zi)
        fr.append(a)
        fi.append(b)
        if abs(a) < limit and abs(b) < limit and (zr or zi):
            tiny.append((n, zr, zi))

    ctx = gmpy2.context(precision=precision, round=gmpy2.RoundToNearest)
    with ctx:
        cr = gmpy2.mpfr(c[0])
        ci = gmpy2.mpfr(c[1])
        bail = gmpy2.mpfr(BAILOUT2)
        zr = gmpy2.mpfr(z0[0])
        zi = gmpy2.mpfr(z0[1])
        zr2 = zr * zr
        zi2 = zi * zi
        store(0, zr, zi)  # |Z_0| <= 16 sqrt 2: inside the bail-out radius
        for n in range(1, max_iter + 1):
            zi = 2 * zr * zi + ci
            zr = zr2 - zi2 + cr
            zr2 = zr * zr
            zi2 = zi * zi
            if zr2 + zi2 > bail:
                break
            store(n, zr, zi)
    zf_re = np.frombuffer(fr, dtype=np.float64).copy()
    zf_im = np.frombuffer(fi, dtype=np.float64).copy()
    mag = np.maximum(np.abs(zf_re), np.abs(zf_im))
    _, e = np.frexp(mag)
    zx_exp = e.astype(np.int64)
    zx_re = np.ldexp(zf_re, -e)
    zx_im = np.ldexp(zf_im, -e)
    zx_exp[mag == 0.0] = _EZERO
    for n, zr, zi in tiny:
        ex = max(gmpy2.get_exp(zr) if zr else _EZERO, gmpy2.get_exp(zi) if zi else _EZERO)
        zx_re[n] = float(gmpy2.mul_2exp(zr, -ex))
        zx_im[n] = float(gmpy2.mul_2exp(zi, -ex))
        zx_exp[n] = ex
    return zf_re, zf_im, zx_re, zx_im, zx_exp


# --- floatexp: complex float64 mantissa (max(|re|, |im|) in [0.5, 1), or 0) and int64 exponent ---

@nb.njit(cache=True, inline="always")
def _ldexp(x, e):
    # math.ldexp takes a C int: clamp far-out exponents (the result is 0 or inf either way).
    if e < -2200:
        return 0.0 * x
    if e > 2200:
        e = 2200
    return math.ldexp(x, e)


@nb.njit(cache=True, inline="always")
def _fx_norm(re, im, e):
    m = max(abs(re), abs(im))
    if m == 0.0:
        return 0.0, 0.0, _EZERO
    _, ex = math.frexp(m)
    return math.ldexp(re, -ex), math.ldexp(im, -ex), e + ex


@nb.njit(cache=True, inline="always")
def _fx_add(ar, ai, ae, br, bi, be):
    if ae >= be:
        return _fx_norm(ar + _ldexp(br, be - ae), ai + _ldexp(bi, be - ae), ae)
    return _fx_norm(_ldexp(ar, ae - be) + br, _ldexp(ai, ae - be) + bi, be)


@nb.njit(cache=True, inline="always")
def _fx_mul(ar, ai, ae, br, bi, be):
    return _fx_norm(ar * br - ai * bi, ar * bi + ai * br, ae + be)


@nb.njit(cache=True, nogil=True)
def _fx_less(ar, ai, ae, br, bi, be):
    """|a| < |b|."""
    a2 = ar * ar + ai * ai
    b2 = br * br + bi * bi
    if a2 == 0.0 or b2 == 0.0:
        return a2 == 0.0 and b2 != 0.0
    d = 2 * (ae - be)
    if d > 8:
        return False
    if d < -8:
        return True
    return math.ldexp(a2, d) < b2


#: Relative size of the neglected term delta z**2 that a bilinear step may drop: float64's epsilon.
_BLA_EPS_EXP = -53
#: Stored exponent of a zero A, B or R in the (int32) BLA table.
_BLA_EZERO = -(1 << 30)


@nb.njit(cache=True, nogil=True)
def _store_exp(e):
    return max(e, _BLA_EZERO)


@nb.njit(cache=True, inline="always")
def _load_exp(e):
    return _EZERO if e <= _BLA_EZERO else np.int64(e)


@nb.njit(cache=True, nogil=True)
def _bla_step(zx_re, zx_im, zx_exp, m):
    """Level 0: the single step from reference index m, (A, B, R) = (2 Z_m, 1, 2**-53 |Z_m|)."""
    r, _, e = _fx_norm(math.hypot(zx_re[m], zx_im[m]), 0.0, zx_exp[m] + _BLA_EPS_EXP)
    return zx_re[m], zx_im[m], zx_exp[m] + 1, 0.5, 0.0, np.int64(1), r, e


@nb.njit(cache=True, nogil=True)
def _bla_table(zx_re, zx_im, zx_exp, dc_max_m, dc_max_e):
    """Bilinear approximation table of the reference orbit (Zhuoran 2021).

    Node k of level l approximates the 2**l steps from reference index m = 1 + k 2**l as
    delta z <- A delta z + B delta c, valid while |delta z| < R. Level 0 is one step:
    A = 2 Z_m, B = 1, R = 2**-53 |Z_m| (the dropped delta z**2 is then below float64's
    rounding of 2 Z_m delta z). Levels merge pairs x then y: A = A_y A_x,
    B = A_y B_x + B_y, R = max(0, min(R_x, (R_y - |B_x| max|delta c|) / |A_x|)).
    A and B are floatexp (mantissas and int32 exponents), R is kept as floor(log2 R) and as
    2**(floor(log2 R) - 2) in float64. Levels >= 1 only are stored (level 0 is formed on the
    fly): node (l, k) is at index offsets[l] - offsets[1] + k; offsets[1] is the number of steps.
    """
    n0 = zx_re.shape[0] - 2  # steps from m = 1 .. N - 1 land at most at N
    levels = 0
    while n0 >> levels >= 1:
        levels += 1
    offsets = np.zeros(levels + 1, dtype=np.int64)
    for l in range(levels):
        offsets[l + 1] = offsets[l] + (n0 >> l)
    total = offsets[levels] - offsets[1] if levels >= 1 else 0
    ar = np.empty(total)
    ai = np.empty(total)
    ae = np.empty(total, dtype=np.int32)
    br = np.empty(total)
    bi = np.empty(total)
    be = np.empty(total, dtype=np.int32)
    rm = np.empty(total)  # mantissa of R while building
    r_exp = np.empty(total, dtype=np.int32)
    for l in range(1, levels):
        for k in range(n0 >> l):
            if l == 1:
                xr, xi, xe, xbr, xbi, xbe, xrm, xre = _bla_step(zx_re, zx_im, zx_exp, 1 + 2 * k)
                yr, yi, ye, ybr, ybi, ybe, yrm, yre = _bla_step(zx_re, zx_im, zx_exp, 2 + 2 * k)
            else:
                x = offsets[l - 1] - offsets[1] + 2 * k
                y = x + 1
                xr, xi, xe, xbr, xbi, xbe = ar[x], ai[x], _load_exp(ae[x]), br[x], bi[x], _load_exp(be[x])
                xrm, xre = rm[x], _load_exp(r_exp[x])
                yr, yi, ye, ybr, ybi, ybe = ar[y], ai[y], _load_exp(ae[y]), br[y], bi[y], _load_exp(be[y])
                yrm, yre = rm[y], _load_exp(r_exp[y])
            z = offsets[l] - offsets[1] + k
            pr, pi, pe = _fx_mul(yr, yi, ye, xr, xi, xe)
            ar[z] = pr
            ai[z] = pi
            ae[z] = _store_exp(pe)
            qr, qi, qe = _fx_mul(yr, yi, ye, xbr, xbi, xbe)
            sr, si, se = _fx_add(qr, qi, qe, ybr, ybi, ybe)
            br[z] = sr
            bi[z] = si
            be[z] = _store_exp(se)
            # R_y - |B_x| max|delta c|, then / |A_x|, then min with R_x
            bm, _, bme = _fx_norm(math.hypot(xbr, xbi) * dc_max_m, 0.0, xbe + dc_max_e)
            tm, _, te = _fx_add(yrm, 0.0, yre, -bm, 0.0, bme)
            amag = math.hypot(xr, xi)
            if tm <= 0.0 or amag == 0.0 or yrm == 0.0 or xrm == 0.0:
                rm[z] = 0.0
                r_exp[z] = _BLA_EZERO
                continue
            tm, _, te = _fx_norm(tm / amag, 0.0, te - xe)
            if not _fx_less(tm, 0.0, te, xrm, 0.0, xre):
                tm = xrm
                te = xre
            rm[z] = tm
            r_exp[z] = _store_exp(te)
    r_plain = np.empty(total)
    for i in range(total):
        # R >= 2**(r_exp - 1) (mantissa in [0.5, 1)); for plain float64 delta z,
        # max(|re|, |im|) < 2**(r_exp - 2) implies |delta z| < R
        r_plain[i] = _ldexp(1.0, np.int64(r_exp[i]) - 2) if rm[i] > 0.0 else 0.0
    return ar, ai, ae, br, bi, be, r_exp, r_plain, offsets


@nb.njit(cache=True, inline="always")
def _bla_level(bla_off, bla_r, bla_rp, k, n, max_iter, plain, mx, we):
    """Largest usable BLA level at reference step k = m - 1, or -1.

    ``plain``: delta z is float64 with max(|re|, |im|) = mx; else floatexp, |delta z| < 2**(we + 1).
    """
    levels = bla_off.shape[0] - 1
    if levels < 2 or k & 1 or (not plain and we <= _EZERO):
        return -1
    n0 = bla_off[1]
    l = 1
    while l + 1 < levels and (k >> (l + 1)) << (l + 1) == k:
        l += 1
    while l >= 1:
        span = 1 << l
        if k + span <= n0 and n + span <= max_iter:
            i = bla_off[l] - n0 + (k >> l)
            # sufficient for |delta z| < R: |delta z| < 2**(we + 1) <= 2**(r_exp - 1) <= R
            if (mx < bla_rp[i]) if plain else (we + 2 <= bla_r[i]):
                return l
        l -= 1
    return -1


@nb.njit(cache=True, inline="always")
def _perturb(ref, dcr, dci, dce, max_iter, use_bla, plain, wr, wi, we, dr, di, n, stop_at_rebase):
    """Iterate one pixel's offset from a reference orbit, starting at its index 0 after ``n`` steps.

    delta c = (dcr + i dci) 2^dce (floatexp); delta z is ``(dr, di)`` if ``plain``, else
    ``(wr, wi) 2^we``. Returns (done, n, mag2, plain, wr, wi, we, dr, di): done with n == max_iter
    for a pixel that stays bounded (as escape.mandelbrot), or, with ``stop_at_rebase``, not done and
    the state just rebased (delta z = z, to continue from index 0 of another reference).
    ``ref`` is (zf_re, zf_im, zx_re, zx_im, zx_exp, *BLA table).
    """
    zf_re, zf_im, zx_re, zx_im, zx_exp, bla_ar, bla_ai, bla_ae, bla_br, bla_bi, bla_be, bla_r, bla_rp, bla_off = ref
    dcf_r = _ldexp(dcr, dce)
    dcf_i = _ldexp(dci, dce)
    last = zf_re.shape[0] - 1
    m = 0
    while True:
        # z_n = Z_m + delta z: escape, end and rebase tests
        if plain:
            zr = zf_re[m] + dr
            zi = zf_im[m] + di
            mag2 = zr * zr + zi * zi
            if mag2 > BAILOUT2:
                return True, (n if n < max_iter else max_iter - 1), mag2, plain, wr, wi, we, dr, di
            if n >= max_iter:
                return True, max_iter, mag2, plain, wr, wi, we, dr, di
            szr = zr * _CMP_SCALE
            szi = zi * _CMP_SCALE
            sdr = dr * _CMP_SCALE
            sdi = di * _CMP_SCALE
            if m == last or szr * szr + szi * szi < sdr * sdr + sdi * sdi:
                if max(abs(zr), abs(zi)) >= _PLAIN_MIN:
                    dr = zr
                    di = zi
                else:  # z is below the plain range: form it exactly in floatexp
                    ar, ai, ae = _fx_norm(dr, di, 0)
                    wr, wi, we = _fx_add(zx_re[m], zx_im[m], zx_exp[m], ar, ai, ae)
                    plain = False
                m = 0
                if stop_at_rebase:
                    return False, n, 0.0, plain, wr, wi, we, dr, di
        else:
            zr, zi, ze = _fx_add(zx_re[m], zx_im[m], zx_exp[m], wr, wi, we)
            fzr = _ldexp(zr, ze)
            fzi = _ldexp(zi, ze)
            mag2 = fzr * fzr + fzi * fzi
            if mag2 > BAILOUT2:
                return True, (n if n < max_iter else max_iter - 1), mag2, plain, wr, wi, we, dr, di
            if n >= max_iter:
                return True, max_iter, mag2, plain, wr, wi, we, dr, di
            if m == last or _fx_less(zr, zi, ze, wr, wi, we):
                m = 0
                wr = zr
                wi = zi
                we = ze
                if we > _PLAIN_EXP:
                    plain = True
                    dr = fzr
                    di = fzi
                if stop_at_rebase:
                    return False, n, 0.0, plain, wr, wi, we, dr, di
        # bilinear approximation: skip 2**l steps at once, delta z <- A delta z + B delta c
        if use_bla and m >= 1:
            l = _bla_level(bla_off, bla_r, bla_rp, m - 1, n, max_iter, plain, max(abs(dr), abs(di)), we)
            if l >= 1:
                if plain:
                    wr, wi, we = _fx_norm(dr, di, 0)
                i = bla_off[l] - bla_off[1] + ((m - 1) >> l)  # level 0 is not stored
                pr, pi, pe = _fx_mul(bla_ar[i], bla_ai[i], _load_exp(bla_ae[i]), wr, wi, we)
                qr, qi, qe = _fx_mul(bla_br[i], bla_bi[i], _load_exp(bla_be[i]), dcr, dci, dce)
                wr, wi, we = _fx_add(pr, pi, pe, qr, qi, qe)
                m += 1 << l
                n += 1 << l
                plain = we > _PLAIN_EXP
                if plain:
                    dr = _ldexp(wr, we)
                    di = _ldexp(wi, we)
                continue
        # one step: delta z <- (2 Z_m + delta z) delta z + delta c
        if plain:
            tr = 2.0 * zf_re[m] + dr
            ti = 2.0 * zf_im[m] + di
            nr = tr * dr - ti * di + dcf_r
            ni = tr * di + ti * dr + dcf_i
            if max(abs(nr), abs(ni)) >= _PLAIN_MIN:
                dr = nr
                di = ni
                m += 1
                n += 1
                continue
            # the result leaves the plain range: redo this step in floatexp
            plain = False
            wr, wi, we = _fx_norm(dr, di, 0)
        elif m != last and max(abs(zf_re[m]), abs(zf_im[m])) >= _RESCALE_MIN_Z and dce - we <= _RESCALE_SPAN:
            # Rescaled iterations: delta z = w 2^we, tiny, while Z_m is in float64's range, so
            # w <- (2 Z_m + 2^we w) w + delta c 2^-we in float64, renormalising w only when it
            # leaves [2^-64, 2^64]. |delta z| < 2^-836 < 2^-36 |Z_m| here: no rebase and no
            # escape can occur, so the loop runs without those tests.
            s = _ldexp(1.0, we)
            sr = _ldexp(dcr, dce - we)
            si = _ldexp(dci, dce - we)
            while True:
                tr = 2.0 * zf_re[m] + s * wr
                ti = 2.0 * zf_im[m] + s * wi
                nr = tr * wr - ti * wi + sr
                wi = tr * wi + ti * wr + si
                wr = nr
                m += 1
                n += 1
                mx = max(abs(wr), abs(wi))
                if mx > _RESCALE_SPAN_F or mx < 1.0 / _RESCALE_SPAN_F:
                    wr, wi, we = _fx_norm(wr, wi, we)
                    if we > _PLAIN_EXP - _RESCALE_SPAN or dce - we > _RESCALE_SPAN:
                        break
                    s = _ldexp(1.0, we)
                    sr = _ldexp(dcr, dce - we)
                    si = _ldexp(dci, dce - we)
                if m == last or n >= max_iter or max(abs(zf_re[m]), abs(zf_im[m])) < _RESCALE_MIN_Z:
                    break
                if use_bla and (m - 1) & 1 == 0 and _bla_level(bla_off, bla_r, bla_rp, m - 1, n, max_iter, False,
                                                                0.0, _fx_norm(wr, wi, we)[2]) >= 1:
                    break
            wr, wi, we = _fx_norm(wr, wi, we)
            if we > _PLAIN_EXP:
                plain = True
                dr = _ldexp(wr, we)
                di = _ldexp(wi, we)
            continue
        tr, ti, te = _fx_add(zx_re[m], zx_im[m], zx_exp[m] + 1, wr, wi, we)
        pr, pi, pe = _fx_mul(tr, ti, te, wr, wi, we)
        wr, wi, we = _fx_add(pr, pi, pe, dcr, dci, dce)
        m += 1
        n += 1
        if we > _PLAIN_EXP:
            plain = True
            dr = _ldexp(wr, we)
            di = _ldexp(wi, we)


@nb.njit(cache=True, nogil=True)
def _until_rebase(ref, dcr, dci, dce, max_iter, use_bla, plain, wr, wi, we, dr, di):
    """:func:`_perturb` from step 0 to the first rebase, compiled on its own. A second copy inlined
    into the kernel made the first compile take 138 s instead of 51 s; this call costs Julia
    renders 5-50 % (1e-1000 to 1e-20) and the Mandelbrot set nothing."""
    return _perturb(ref, dcr, dci, dce, max_iter, use_bla, plain, wr, wi, we, dr, di, 0, True)


@nb.njit(cache=True, inline="always")
def _pixel(ref0, ref1, dcr_m, dci_m, dce, max_iter, use_bla, julia):
    """Escape index and |z|^2 of the pixel at offset (dcr_m + i dci_m) 2^dce from the centre.

    Mandelbrot: z_0 = 0 and c = C + offset; one reference, the orbit of 0 under C. Julia:
    z_0 = Z_0 + offset and c fixed; the centre's orbit ``ref0`` until the first rebase, then the
    critical orbit ``ref1``, which starts at 0 as a rebased delta z = z needs. Each ref is
    (zf_re, zf_im, zx_re, zx_im, zx_exp, *BLA table).
    """
    dcr, dci, dce = _fx_norm(dcr_m, dci_m, dce)
    if julia:  # delta z_0 = the offset, delta c = 0
        wr, wi, we = dcr, dci, dce
        dcr, dci, dce = 0.0, 0.0, np.int64(_EZERO)
    else:  # delta z_0 = 0, held in floatexp until it reaches the plain range
        wr, wi, we = 0.0, 0.0, np.int64(_EZERO)
    plain = we > _PLAIN_EXP
    dr = _ldexp(wr, we) if plain else 0.0
    di = _ldexp(wi, we) if plain else 0.0
    n = 0
    if julia:
        done, n, mag2, plain, wr, wi, we, dr, di = _until_rebase(ref0, dcr, dci, dce, max_iter, use_bla, plain, wr,
                                                                 wi, we, dr, di)
        if done:
            return n, mag2
    done, n, mag2, plain, wr, wi, we, dr, di = _perturb(ref1, dcr, dci, dce, max_iter, use_bla, plain, wr, wi, we,
                                                        dr, di, n, False)
    return n, mag2


@nb.njit(parallel=True, cache=True, nogil=True)
def _deep_kernel(ref0, ref1, use_bla, julia, pixel_m, pixel_e, max_iter, smooth, out):
    ny, nx = out.shape
    for s in nb.prange(_STRIPES):
        for y in range(s, ny, _STRIPES):
            dci = -(y - (ny - 1) / 2.0) * pixel_m
            for x in range(nx):
                dcr = (x - (nx - 1) / 2.0) * pixel_m
                n, mag2 = _pixel(ref0, ref1, dcr, dci, pixel_e, max_iter, use_bla, julia)
                if smooth:
                    out[y, x] = _smooth(n, mag2, max_iter)
                else:
                    out[y, x] = n


_NO_BLA = (np.zeros(0), np.zeros(0), np.zeros(0, np.int32), np.zeros(0), np.zeros(0), np.zeros(0, np.int32),
           np.zeros(0, np.int32), np.zeros(0), np.zeros(1, np.int64))


def deep_mandelbrot(viewport: DeepViewport, max_iter: int = 1000, *, smooth: bool = True,
                    bla: bool = True) -> np.ndarray:
    """Escape-time image of the Mandelbrot set at any zoom depth (perturbation + rebasing).

    Pixel ``(y, x)`` samples :math:`c = C + \\delta c` with
    :math:`\\delta c = (x - (n_x - 1)/2 - i\\,(y - (n_y - 1)/2)) \\cdot w / n_x` (the pixel
    centres of :meth:`~fractalkit.escape.Viewport.axes`), ``C`` and ``w`` the exact decimal centre and
    width. The orbit of ``C`` is computed once in MPFR (:func:`reference_orbit`, at
    :func:`working_precision` bits); every pixel iterates its offset from it in float64, or in a
    float64-mantissa/int64-exponent form where float64 would underflow (see the module notes).

    Parameters
    ----------
    viewport : DeepViewport
        Centre and width as decimal strings, and the pixel grid (at most 16384 per side).
    max_iter : int
        Iteration cap, in [1, 10**6]; points still bounded after it count as inside. Deep
        windows need more: near a spiral (a Misiurewicz point) pixels escape after roughly 10
        to 60 iterations per decade of zoom (about 3 000 at 1e-50, 60 000 at 1e-1000 in seahorse
        valley), and a minibrot of period ``p`` needs several times ``p``. A window rendered all
        inside with the default is usually a cap too low, not the set's interior: raise it.
    smooth : bool
        If True return the continuous escape count as float64, NaN inside; otherwise the integer
        escape count as int32, ``max_iter`` inside. Same convention and bail-out radius (256) as
        :func:`~fractalkit.escape.mandelbrot`: the integer count is ``floor`` of the smooth one.
    bla : bool
        Skip blocks of iterations by bilinear approximation where it is valid (default); False
        iterates every step (slower, and a reference for testing).

    Returns
    -------
    numpy.ndarray
        Shape ``(ny, nx)``, dimensionless iteration counts; row 0 is the top of the window.

    Raises
    ------
    ValueError
        If a coordinate or the width is not a finite decimal string (NaN, inf, a float, text,
        more than ``MAX_DIGITS`` significant digits), the centre is outside [-16, 16]^2, the
        width is not in [1e-10000, 16], or the grid or ``max_iter`` is out of range.
    fractalkit.limits.WorkLimitError
        If pixels, pixels x ``max_iter`` (``fractalkit.limits.MAX_DEEP_WORK`` with BLA, ``MAX_ESCAPE_WORK``
        without), or the reference's bits x iterations exceed their caps.

    References
    ----------
    - K. I. Martin, "SuperFractalThing Maths" (2013): perturbation,
      :math:`\\delta z_{n+1} = 2 Z_n \\delta z_n + \\delta z_n^2 + \\delta c`.
    - Zhuoran, "Another solution to perturbation glitches", fractalforums.org (2021): rebasing.
    - C. Heiland-Allen, "Deep zoom theory and practice (again)" (2022) and "Rescaled
      iterations", fractalwiki.org: floatexp and rescaled iterations below float64's range,
      and the bilinear approximation's merge rule and validity radius.

    Examples
    --------
    A window 1e-30 wide at a ten-armed spiral, the Misiurewicz point M(18, 10) to 40 digits
    (the first call of a process compiles the kernel, ~50 s, or loads it from numba's cache):

    >>> import numpy as np
    >>> from fractalkit.deepzoom import DeepViewport, deep_mandelbrot
    >>> vp = DeepViewport("-0.7746728091751297001111463273694036795633",
    ...                   "-0.1374184017372485577314585415106539161148", "1e-30", 32, 24)
    >>> counts = deep_mandelbrot(vp, 2000, smooth=False)
    >>> counts.shape, counts.dtype, len(np.unique(counts)) > 30, int(counts.max()) < 2000
    ((24, 32), dtype('int32'), True, True)
    """
    return _render(viewport, max_iter, smooth, bla)


def deep_julia(c, viewport: DeepViewport, max_iter: int = 1000, *, smooth: bool = True,
               bla: bool = True) -> np.ndarray:
    """Escape-time image of the filled Julia set of :math:`z^2 + c` at any zoom depth.

    The Julia counterpart of :func:`deep_mandelbrot`: pixel ``(y, x)`` starts at
    :math:`z_0 = Z_0 + \\delta z_0`, ``Z_0`` the exact decimal centre and :math:`\\delta z_0` the pixel's
    offset (the pixel centres of :meth:`~fractalkit.escape.Viewport.axes`), and iterates
    :math:`z \\leftarrow z^2 + c` with ``c`` fixed. Perturbation runs around two references
    computed in MPFR: the centre's orbit, then, from the first rebase on, the critical orbit
    (of 0), since a rebased offset :math:`\\delta z = z` is measured from 0. In the offset's
    recurrence :math:`\\delta z \\leftarrow 2 Z_m \\delta z + \\delta z^2` there is no
    :math:`\\delta c` term, and the bilinear approximation's ``B`` terms vanish.

    Parameters
    ----------
    c : tuple of str
        ``(re, im)``: the set's parameter as exact decimal strings, each in [-16, 16]. For c
        outside the Mandelbrot set the critical orbit escapes and the set is a Cantor dust;
        that works too.
    viewport : DeepViewport
        Centre and width as decimal strings, and the pixel grid (at most 16384 per side).
    max_iter : int
        Iteration cap, in [1, 10**6]. Near a repelling periodic point of multiplier
        :math:`\\lambda` pixels escape after about :math:`\\log(1/w) / \\log|\\lambda|` iterations
        (about 2 500 at 1e-1000 for the dendrite ``c = i``).
    smooth, bla : bool
        As for :func:`deep_mandelbrot`.

    Notes
    -----
    Two references and two BLA tables: twice :func:`deep_mandelbrot`'s memory, about 190 MB
    more at the peak for 10**6 iterations (measured: the basilica ``c = -1``, a 4 x 4 window
    inside, every pixel bounded, 2.5 s).

    Returns
    -------
    numpy.ndarray
        Shape ``(ny, nx)``: the smooth escape count (float64, NaN inside) or the integer count
        (int32, ``max_iter`` inside), as :func:`~fractalkit.escape.julia`; row 0 is the top.

    Raises
    ------
    ValueError
        If ``c``, a coordinate or the width is not a finite decimal string in range, or the
        grid or ``max_iter`` is out of range (as :func:`deep_mandelbrot`).
    fractalkit.limits.WorkLimitError
        As :func:`deep_mandelbrot`.

    References
    ----------
    - K. I. Martin, "SuperFractalThing Maths" (2013): perturbation.
    - Zhuoran, "Another solution to perturbation glitches", fractalforums.org (2021), and
      C. Heiland-Allen, "Deep zoom theory and practice (again)" (2022): rebasing, which for
      Julia sets needs the second reference of 0's orbit.

    Examples
    --------
    The dendrite ``c = i`` 1e-40 wide at its fixed point
    :math:`\\beta = (1 + \\sqrt{1 - 4i})/2`, a point of the Julia set, to 44 decimals (enough for
    widths down to ~1e-42; deeper windows need a centre with more digits, or they lie beside
    the set and every pixel escapes alike):

    >>> import numpy as np
    >>> from fractalkit.deepzoom import DeepViewport, deep_julia
    >>> vp = DeepViewport("1.30024259022012041915890982074952138854853282",
    ...                   "-0.62481053384382658687960444744285144400523446", "1e-40", 32, 24)
    >>> counts = deep_julia(("0", "1"), vp, 2000, smooth=False)
    >>> counts.shape, len(np.unique(counts)) > 10, int(counts.max()) < 2000
    ((24, 32), True, True)
    """
    return _render(viewport, max_iter, smooth, bla, julia_parameter(c))


def kernel_ready() -> bool:
    """Whether this process has the perturbation kernel compiled (or loaded from numba's cache).

    The first :func:`deep_mandelbrot` or :func:`deep_julia` call of a process loads the kernel
    from numba's on-disk cache in under a second, or, when the cache holds none for this source
    and CPU, compiles it: about 50 s on a quiet 2-core host, longer on a busy one. A caller can
    warn before that first call.

    Returns
    -------
    bool
        True after the first deep render of this process.
    """
    return bool(_deep_kernel.signatures)


def _render(viewport, max_iter, smooth, bla, julia_c=None):
    args, (ny, nx) = _kernel_args(viewport, max_iter, bla, julia_c)
    out = np.empty((ny, nx))
    _deep_kernel(*args, smooth, out)  # one compiled variant: integer counts are exact in float64
    return out if smooth else out.astype(np.int32)


def _kernel_args(viewport: DeepViewport, max_iter: int, bla: bool, julia_c=None):
    """Validated inputs of :func:`_deep_kernel` (all but ``smooth`` and ``out``), and the shape."""
    cre, cim, width, nx, ny, max_iter = _validate(viewport, max_iter, MAX_DEEP_WORK if bla else MAX_ESCAPE_WORK)
    prec = working_precision(width, nx, ny)
    with gmpy2.context(precision=prec):
        pixel = gmpy2.mpfr(str(width)) / nx
        pixel_e = gmpy2.get_exp(pixel)
        pixel_m = float(gmpy2.mul_2exp(pixel, -pixel_e))
    # largest |delta c| (mantissa, exponent) that a bilinear step must allow for: 0 for Julia sets
    dc_max = (math.hypot((nx - 1) / 2, (ny - 1) / 2) * pixel_m, int(pixel_e)) if julia_c is None else (0.0, 0)

    def reference(z_re, z_im, c):
        orbit = reference_orbit(z_re, z_im, max_iter, prec, julia_c=c)
        table = _bla_table(*orbit[2:], *dc_max) if bla and len(orbit[0]) >= 4 else _NO_BLA
        return (*orbit, *table)

    if julia_c is None:
        ref0 = ref1 = reference(cre, cim, None)
    else:  # the centre's orbit, then the critical orbit (the Mandelbrot reference orbit of c)
        ref0 = reference(cre, cim, julia_c)
        ref1 = reference(*julia_c, None)
    return (ref0, ref1, bool(bla), julia_c is not None, pixel_m, int(pixel_e), max_iter), (ny, nx)


def julia_parameter(c) -> tuple[str, str]:
    """A Julia set's parameter, checked: the exact decimal strings of its real and imaginary parts.

    Parameters
    ----------
    c : tuple of str
        ``(re, im)``, exact decimal strings (or ints), each in [-16, 16].

    Returns
    -------
    tuple of str
        ``(re, im)`` normalised as :class:`decimal.Decimal` prints them, e.g. ``("-0.123", "0.745")``.

    Raises
    ------
    ValueError
        If ``c`` is not a pair, or a part is not a finite decimal string in range (the message
        names ``c_re`` or ``c_im``).

    Examples
    --------
    >>> julia_parameter(("-0.123", "7.45e-1"))
    ('-0.123', '0.745')
    """
    if not isinstance(c, (tuple, list)) or len(c) != 2:
        raise ValueError(f"c must be a pair of decimal strings (re, im) such as ('-0.123', '0.745'), got {c!r}")
    parts = []
    for name, value in zip(("c_re", "c_im"), c):
        d = _parse_decimal(name, value)
        if abs(d) > MAX_COORDINATE:
            raise ValueError(f"{name} must be in [-{MAX_COORDINATE}, {MAX_COORDINATE}] (the Mandelbrot set, where "
                             f"Julia sets are connected, lies in |c| <= 2), got {d:.6g}")
        parts.append(str(d))
    return parts[0], parts[1]


# --------------------------------------------------------------------------------------------
# Navigating: zooms, iteration counts and known locations, all in exact decimals
# --------------------------------------------------------------------------------------------

#: Smallest pixel spacing, relative to ``max(1, |C|)``, that :func:`float64_is_exact` accepts.
#: Measured against the perturbation kernel (3 000 iterations, 96 x 72 px, seahorse valley):
#: at 2**-32 only 97.8 % of escape counts agree within +-1 (float64's rounding, amplified along
#: the orbit, moves filament pixels), at 2**-28 99.1 %, as many as at 1e-3 wide (99.9 %).
FLOAT64_MIN_PIXEL = 2.0 ** -28


def _places(width: Decimal, n: int) -> int:
    """Decimal places that resolve a thousandth of a pixel of a window ``width`` wide on ``n`` px."""
    return max(0, -width.adjusted() + len(str(n)) + 3)


def _plain(d: Decimal) -> str:
    """A decimal's plain (no exponent) text, trailing zeros dropped: ``"-0.75"``, ``"0"``."""
    text = format(d, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def float64_is_exact(viewport: DeepViewport) -> bool:
    """Whether the float64 kernel (:func:`~fractalkit.escape.mandelbrot`) renders this window exactly enough.

    True when the pixel spacing ``width / nx`` is at least :data:`FLOAT64_MIN_PIXEL` times
    ``max(1, |C|)``: neighbouring pixels then differ in their 28 leading bits, and float64's
    rounding, amplified along the orbit, stays below a pixel. Deeper windows need :func:`deep_mandelbrot`.

    Parameters
    ----------
    viewport : DeepViewport
        The window (validated as by :func:`deep_mandelbrot`).

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        If the viewport is invalid (see :func:`deep_mandelbrot`).

    Examples
    --------
    >>> float64_is_exact(DeepViewport("-0.5", "0", "3", 800, 600))
    True
    >>> float64_is_exact(DeepViewport("-0.75", "0.1", "1e-9", 800, 600))
    False
    """
    cre, cim, width, nx, ny, _ = _validate(viewport, 1)
    scale = max(Decimal(1), abs(Decimal(cre)), abs(Decimal(cim)))
    return width / nx >= Decimal(FLOAT64_MIN_PIXEL) * scale


def auto_max_iter(width) -> int:
    """An iteration cap for a window ``width`` wide: ``256`` at the whole set, 60 more per decade.

    ``max(256, round(100 + 60 * log10(3 / width)))``, at most 10**6: about 900 at 1e-13,
    3 100 at 1e-50, 18 100 at 1e-300 and 60 100 at 1e-1000. Near spirals and in seahorse valley
    pixels escape after 10 to 60 iterations per decade of zoom (tested windows of
    ``deep_mandelbrot``), so this shows them; inside a minibrot of period ``p`` raise it to a
    few times ``p``.

    Parameters
    ----------
    width : str or decimal.Decimal
        Window width, a positive decimal.

    Returns
    -------
    int
        Iteration cap in [256, 10**6].

    Raises
    ------
    ValueError
        If ``width`` is not a positive decimal.

    Examples
    --------
    >>> auto_max_iter("3"), auto_max_iter("1e-50"), auto_max_iter("1e-1000")
    (256, 3129, 60129)
    """
    w = _parse_decimal("width", width)
    if not w > 0:
        raise ValueError(f"width must be positive, got {w}")
    decades = float((3 / w).log10())
    return int(min(10 ** 6, max(256, round(100 + 60 * decades))))


def zoom(viewport: DeepViewport, x: float, y: float, factor: float) -> DeepViewport:
    """The window centred on pixel ``(x, y)`` of ``viewport``, ``factor`` times narrower, exactly.

    The new centre is ``C + (x - (nx - 1)/2) p - i (y - (ny - 1)/2) p`` with ``p = width / nx``
    (the pixel centres of :func:`deep_mandelbrot`), computed in decimal arithmetic: the offset
    is rounded to a thousandth of the new window's pixel, the centre ``C`` keeps every digit it
    had (zooming about the centre keeps it exactly); the new width is ``width / factor`` to 6
    significant digits. Nothing passes through float64 but ``x``, ``y`` and ``factor``
    themselves (pixel positions and a ratio, exact as given).

    Parameters
    ----------
    viewport : DeepViewport
        The current window.
    x, y : float
        Pixel coordinates of the new centre: ``x`` from the left column's centre (0) to the
        right's (``nx - 1``), ``y`` from the top row's (0); fractions and points outside the
        image are allowed.
    factor : float
        Magnification, positive: 4 zooms in four times, 0.25 out.

    Returns
    -------
    DeepViewport
        Same pixel grid; decimal strings without exponents for the centre, ``"%.6g"`` for the
        width (e.g. ``"2.5e-501"``).

    Raises
    ------
    ValueError
        If the viewport is invalid, ``x``, ``y`` or ``factor`` is not finite, ``factor`` is not
        positive, or the new window is out of range (wider than 16, narrower than
        ``10**MIN_WIDTH_EXPONENT``, centre beyond 16).

    Examples
    --------
    >>> zoom(DeepViewport("-0.5", "0", "3", 800, 600), 399.5, 299.5, 4)
    DeepViewport(center_re='-0.5', center_im='0', width='0.75', nx=800, ny=600)
    >>> zoom(DeepViewport("-0.5", "0", "1e-500", 100, 100), 59.5, 49.5, 4).width
    '2.5e-501'
    """
    from decimal import localcontext

    cre, cim, width, nx, ny, _ = _validate(viewport, 1)
    for name, v in (("x", x), ("y", y), ("factor", factor)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")
    if not factor > 0:
        raise ValueError(f"factor must be positive, got {factor!r}")
    with localcontext() as ctx:
        ctx.prec = 60
        new_width = Decimal(f"{width / Decimal(repr(float(factor))):.5e}")
        if new_width.adjusted() < MIN_WIDTH_EXPONENT or new_width > MAX_COORDINATE:
            raise ValueError(f"width must be in [1e{MIN_WIDTH_EXPONENT}, {MAX_COORDINATE}]: zooming {width:.6g} by "
                             f"{factor:g} gives {new_width:.6g}")
        # the offset from the centre to a thousandth of a new pixel; the centre's own digits are kept
        places = _places(new_width, max(nx, ny))
        ctx.prec = max(len(cre), len(cim)) + places + 40
        pixel = width / nx
        q = Decimal(1).scaleb(-places)
        dre = ((Decimal(repr(float(x))) - Decimal(nx - 1) / 2) * pixel).quantize(q)
        dim = ((Decimal(repr(float(y))) - Decimal(ny - 1) / 2) * pixel).quantize(q)
        out = DeepViewport(_plain(Decimal(cre) + dre), _plain(Decimal(cim) - dim), f"{new_width.normalize():g}", nx, ny)
    _validate(out, 1)
    return out


def misiurewicz_point(guess_re: str, guess_im: str, preperiod: int, period: int, digits: int = 50) -> tuple[str, str]:
    """A Misiurewicz point of the Mandelbrot set to ``digits`` significant digits (Newton's method in MPFR).

    Solves :math:`f_c^{k+p}(0) = f_c^{k}(0)` (``k`` the preperiod, ``p`` the period,
    :math:`f_c(z) = z^2 + c`) by Newton's method from ``guess``, with derivatives with respect to
    ``c``, at ``3.33 digits + 64`` bits. Near such a point the set looks like the Julia set
    :math:`J_c` (a spiral with ``p`` arms, or a dendrite), at every depth: a location for deep zooms.

    Parameters
    ----------
    guess_re, guess_im : str
        A decimal guess close enough for Newton's method to converge to the wanted point.
    preperiod, period : int
        ``k >= 1`` and ``p >= 1``.
    digits : int
        Significant digits of the result, 10 to ``MAX_DIGITS`` (10 000).

    Returns
    -------
    (str, str)
        Real and imaginary parts, plain decimal strings (no exponent).

    Raises
    ------
    ValueError
        If an argument is out of range, Newton's method does not converge in 200 steps, or it
        converges to a root that is not a Misiurewicz point of that preperiod and period (its
        orbit reaches the cycle earlier, or the cycle attracts): a guess too far from the point.

    References
    ----------
    - C. Heiland-Allen, "Misiurewicz points", mathr.co.uk (2013): Newton's method for
      preperiodic points.
    - Tan Lei, "Similarity between the Mandelbrot set and Julia sets", Comm. Math. Phys. 134,
      587-617 (1990).

    Examples
    --------
    The ten-armed spiral near -0.7747 - 0.1374i:

    >>> re_, im_ = misiurewicz_point("-0.7746728091751297", "-0.13741840173724856", 18, 10, 40)
    >>> re_[:20], im_[:20]
    ('-0.77467280917512970', '-0.13741840173724855')
    """
    for name, v, lo, hi in (("preperiod", preperiod, 1, 10_000), ("period", period, 1, 10_000),
                            ("digits", digits, 10, MAX_DIGITS)):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError(f"{name} must be an integer in [{lo}, {hi}], got {v!r}")
    c0re, c0im = _parse_decimal("guess_re", guess_re), _parse_decimal("guess_im", guess_im)
    k, p = preperiod, period
    with gmpy2.context(precision=math.ceil(digits * math.log2(10)) + 64):
        c = gmpy2.mpc(gmpy2.mpfr(str(c0re)), gmpy2.mpfr(str(c0im)))
        eps = gmpy2.mpfr(2) ** (-gmpy2.get_context().precision + 16)
        for _ in range(200):
            z = dz = zk = dzk = gmpy2.mpc(0)
            orbit = [z]
            for n in range(1, k + p + 1):
                dz = 2 * z * dz + 1
                z = z * z + c
                orbit.append(z)
                if n == k:
                    zk, dzk = z, dz
            if not gmpy2.is_finite(z.real) or dz == dzk:
                break
            step = (z - zk) / (dz - dzk)
            c -= step
            if abs(step) <= eps * abs(c):
                # A root can also be a centre or a point of a hyperbolic component, whose orbit
                # falls into an attracting cycle: M(k, p) has an exact preperiod k and a
                # repelling p-cycle (Douady-Hubbard).
                multiplier = abs(gmpy2.mpc(2) ** p * math.prod(orbit[k:k + p], start=gmpy2.mpc(1)))
                if abs(orbit[k - 1 + p] - orbit[k - 1]) > 1e-6 and multiplier > 1:
                    return (_plain(Decimal(format(c.real, f".{digits - 1}e"))),
                            _plain(Decimal(format(c.imag, f".{digits - 1}e"))))
                raise ValueError(f"Newton's method from {guess_re} {guess_im}i converged to c = "
                                 f"{complex(c):.6g}, which is not a Misiurewicz point M({k}, {p}) (its orbit "
                                 f"{'reaches its cycle earlier' if multiplier > 1 else 'falls into an attracting cycle'}"
                                 "): start closer to the point")
    raise ValueError(f"Newton's method did not converge to a Misiurewicz point M({k}, {p}) from "
                     f"{guess_re} {guess_im}i: start closer to it")
