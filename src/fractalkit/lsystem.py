"""L-systems: string rewriting, and turtle geometry that draws the result."""
from __future__ import annotations

import math
from typing import NamedTuple

import numba as nb
import numpy as np

from .limits import MAX_LSYSTEM_SYMBOLS, check, check_positive_int
from .trees import Segments

__all__ = ["LSystem", "LSYSTEMS", "expand", "turtle", "lsystem_segments"]


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

    Raises
    ------
    ValueError
        If the axiom is empty, a rule key is not one character, or ``iterations`` is not in
        [0, 30].
    fractalkit.limits.WorkLimitError
        If a generation would have more than ``max_symbols`` symbols.

    References
    ----------
    - A. Lindenmayer, "Mathematical models for cellular interactions in development",
      Journal of Theoretical Biology 18, 280-299 and 300-315 (1968).
    - P. Prusinkiewicz and A. Lindenmayer, *The Algorithmic Beauty of Plants*, Springer
      (1990), ch. 1: the presets of ``LSYSTEMS`` and the turtle's symbols.

    Examples
    --------
    >>> from fractalkit import expand
    >>> expand("F", {"F": "F+F--F+F"}, 1)
    'F+F--F+F'
    >>> len(expand("F", {"F": "F+F--F+F"}, 3))
    148
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


def turtle(program: str, angle: float, draw: str = "F", heading: float = 0.0) -> Segments:
    """Interpret an L-system string with a turtle; unit step length.

    Symbols in ``draw`` move forward drawing a segment, ``f`` moves without drawing, ``+``/``-``
    turn by ``angle`` degrees, ``|`` turns around, ``[``/``]`` push/pop the state; all others
    are ignored.

    Returns
    -------
    Segments
        ``start`` and ``end``, float64 ``(n, 2)`` segment end points; ``level``, int32 ``(n,)``,
        the bracket depth of each segment (for colouring plants); ``width`` None.
    """
    try:
        codes = np.frombuffer(program.encode("ascii"), dtype=np.uint8)
    except UnicodeEncodeError:
        raise ValueError("L-system programs must be ASCII") from None
    mask = np.zeros(256, dtype=np.uint8)
    for ch in draw:
        mask[ord(ch)] = 1
    n_draw = int(mask[codes].sum())
    return Segments(*_turtle(codes, mask, math.radians(angle), math.radians(heading), n_draw))


def lsystem_segments(preset: LSystem | str, iterations: int | None = None) -> Segments:
    """Expand a preset (or its name) and run the turtle: :func:`expand`, then :func:`turtle`.

    Returns :class:`~fractalkit.trees.Segments` (``level`` is the bracket depth). Raises
    ``KeyError`` for an unknown preset name and what :func:`expand` raises.
    """
    if isinstance(preset, str):
        preset = LSYSTEMS[preset]
    it = preset.iterations if iterations is None else iterations
    prog = expand(preset.axiom, preset.rules, it)
    return turtle(prog, preset.angle, preset.draw, preset.heading)
