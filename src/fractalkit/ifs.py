"""Iterated function systems (chaos game) and L-systems with turtle geometry."""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from .limits import MAX_LSYSTEM_SYMBOLS, MAX_POINTS, check, check_positive_int

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


@nb.njit(cache=True, nogil=True)
def _chaos(maps, cum, n, seed, burn):
    np.random.seed(seed)
    out = np.empty((n, 2))
    which = np.empty(n, dtype=np.int32)
    x = 0.0
    y = 0.0
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


def chaos_game(maps, probs=None, n: int = 200_000, seed: int = 0, burn: int = 20):
    """Points on the attractor of an IFS by the chaos game.

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

    Returns
    -------
    points : numpy.ndarray
        Float64 ``(n, 2)``.
    which : numpy.ndarray
        Int32 ``(n,)``: the index of the map that produced each point (useful for colouring).
    """
    n = check_positive_int("points", n, 1)
    check("chaos-game points", n, MAX_POINTS, "ask for fewer points")
    maps, cum = validate_maps(maps, probs)
    return _chaos(maps, cum, n, int(seed) % (2 ** 32), int(burn))


# --------------------------------------------------------------------------- L-systems
class LSystem(NamedTuple):
    """An L-system preset: axiom, rules, turning angle (degrees), drawing symbols."""

    axiom: str
    rules: dict
    angle: float
    iterations: int
    draw: str = "F"
    heading: float = 0.0


LSYSTEMS: dict[str, LSystem] = {
    "Koch curve": LSystem("F", {"F": "F+F--F+F"}, 60, 4),
    "Koch snowflake": LSystem("F--F--F", {"F": "F+F--F+F"}, 60, 4),
    "Sierpinski arrowhead": LSystem("A", {"A": "B-A-B", "B": "A+B+A"}, 60, 6, "AB"),
    "Dragon curve": LSystem("FX", {"X": "X+YF+", "Y": "-FX-Y"}, 90, 11),
    "Hilbert curve": LSystem("A", {"A": "+BF-AFA-FB+", "B": "-AF+BFB+FA-"}, 90, 5),
    "Fractal plant": LSystem("X", {"X": "F+[[X]-X]-F[-FX]+X", "F": "FF"}, 25, 5, "F", 65.0),
    "Gosper curve": LSystem("A", {"A": "A-B--B+A++AA+B-", "B": "+A-BB--B-A++A+B"}, 60, 4, "AB"),
}


def expand(axiom: str, rules: dict, iterations: int, max_symbols: int = MAX_LSYSTEM_SYMBOLS) -> str:
    """Rewrite ``axiom`` ``iterations`` times with single-character ``rules``.

    The length of each generation is predicted before it is built, so a runaway request
    raises :class:`~fractalkit.limits.WorkLimitError` instead of exhausting memory.
    """
    iterations = check_positive_int("iterations", iterations, 0, 30)
    for k in rules:
        if not isinstance(k, str) or len(k) != 1:
            raise ValueError(f"rule keys must be single characters, got {k!r}")
    s = str(axiom)
    if not s:
        raise ValueError("the axiom must not be empty")
    table = str.maketrans({k: str(v) for k, v in rules.items()})
    for _ in range(iterations):
        nxt = len(s) + sum(s.count(k) * (len(v) - 1) for k, v in rules.items())
        check("L-system symbols", nxt, max_symbols, "lower the number of iterations")
        s = s.translate(table)
    return s


@nb.njit(cache=True, nogil=True)
def _turtle(codes, draw_mask, angle, heading, n_draw):
    start = np.empty((n_draw, 2))
    end = np.empty((n_draw, 2))
    depth = np.empty(n_draw, dtype=np.int32)
    stack = np.empty((codes.shape[0] + 1, 3))
    sp = 0
    x = 0.0
    y = 0.0
    h = heading
    k = 0
    for c in codes:
        if draw_mask[c] == 1 or c == 102:  # drawing symbol, or 'f' (move without drawing)
            nx_ = x + math.cos(h)
            ny_ = y + math.sin(h)
            if draw_mask[c] == 1:
                start[k, 0] = x
                start[k, 1] = y
                end[k, 0] = nx_
                end[k, 1] = ny_
                depth[k] = sp
                k += 1
            x = nx_
            y = ny_
        elif c == 43:  # '+'
            h += angle
        elif c == 45:  # '-'
            h -= angle
        elif c == 124:  # '|'
            h += math.pi
        elif c == 91:  # '['
            stack[sp, 0] = x
            stack[sp, 1] = y
            stack[sp, 2] = h
            sp += 1
        elif c == 93:  # ']'
            if sp > 0:
                sp -= 1
                x = stack[sp, 0]
                y = stack[sp, 1]
                h = stack[sp, 2]
    return start[:k], end[:k], depth[:k]


def turtle(program: str, angle: float, draw: str = "F", heading: float = 0.0):
    """Interpret an L-system string with a turtle; unit step length.

    Symbols in ``draw`` move forward drawing a segment, ``f`` moves without drawing, ``+``/``-``
    turn by ``angle`` degrees, ``|`` turns around, ``[``/``]`` push/pop the state; all others
    are ignored.

    Returns
    -------
    start, end : numpy.ndarray
        Float64 ``(n, 2)`` segment end points.
    depth : numpy.ndarray
        Int32 ``(n,)`` bracket depth of each segment (for colouring plants).
    """
    try:
        codes = np.frombuffer(program.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        raise ValueError("L-system programs must be ASCII") from None
    mask = np.zeros(256, dtype=np.uint8)
    for ch in draw:
        mask[ord(ch)] = 1
    n_draw = int(mask[codes].sum())
    return _turtle(codes, mask, math.radians(angle), math.radians(heading), n_draw)


def lsystem_segments(preset: LSystem | str, iterations: int | None = None):
    """Expand a preset (or its name) and run the turtle; returns ``(start, end, depth)``."""
    if isinstance(preset, str):
        preset = LSYSTEMS[preset]
    it = preset.iterations if iterations is None else iterations
    prog = expand(preset.axiom, preset.rules, it)
    return turtle(prog, preset.angle, preset.draw, preset.heading)
