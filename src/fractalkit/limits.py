"""Work caps shared by the kernels and the apps.

Every kernel that allocates or loops in proportion to user input checks its request here
first, so an extreme slider gets a clear :class:`WorkLimitError` instead of an
out-of-memory kill. The caps are sized for a 2 GB / 2 CPU container.
"""
from __future__ import annotations

__all__ = ["MAX_PIXELS", "MAX_ESCAPE_WORK", "MAX_DEEP_WORK", "MAX_SEGMENTS", "MAX_POINTS", "MAX_LSYSTEM_SYMBOLS", "MAX_PARTICLES",
           "MAX_FRAMES", "WorkLimitError", "check", "check_positive_int"]

#: Largest image any kernel renders, in pixels (4096 x 4096).
MAX_PIXELS = 4096 * 4096
#: Largest escape-time job, in pixels times iterations.
MAX_ESCAPE_WORK = 4_000_000_000
#: Largest perturbation job with bilinear approximation (``fractalkit.deep_mandelbrot``), in
#: pixels times iterations. Measured worst case, every pixel inside (a minibrot or the cardioid,
#: where each runs to the cap): 0.13 ns per pixel-iteration, as BLA skips blocks of the reference
#: period; escaping pixels stop at their count. The cap is then ~30 s on 2 cores, and lets an
#: 800 x 600 view at 1e-1000 use the 60 000 iterations its spirals need (without BLA the
#: float64 kernels' ``MAX_ESCAPE_WORK`` applies).
MAX_DEEP_WORK = 200_000_000_000
#: Largest number of tree segments / squares.
MAX_SEGMENTS = 2_000_000
#: Largest number of chaos-game points.
MAX_POINTS = 20_000_000
#: Largest expanded L-system string.
MAX_LSYSTEM_SYMBOLS = 5_000_000
#: Largest number of DLA particles.
MAX_PARTICLES = 200_000
#: Largest number of animation frames.
MAX_FRAMES = 240


class WorkLimitError(ValueError):
    """Raised when a request would exceed a work cap; the message says which and by how much."""


def check(name: str, requested: float, limit: float, hint: str = "") -> None:
    """Raise :class:`WorkLimitError` if ``requested`` exceeds ``limit``.

    Parameters
    ----------
    name : str
        What is being counted, e.g. ``"pixels x iterations"``.
    requested, limit : float
        The requested amount and the cap.
    hint : str, optional
        How to bring the request under the cap.
    """
    if requested > limit:
        msg = f"{name} = {requested:,.0f} exceeds the cap of {limit:,.0f}"
        raise WorkLimitError(msg + (f"; {hint}" if hint else ""))


def check_positive_int(name: str, value: int, lo: int = 1, hi: int | None = None) -> int:
    """Validate an integer parameter and return it as ``int``."""
    try:
        iv = int(value)
        integral = float(value) == iv
    except (TypeError, ValueError, OverflowError):
        integral = False
    if not integral:
        raise ValueError(f"{name} must be an integer, got {value!r}")
    if iv < lo or (hi is not None and iv > hi):
        rng = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be in {rng}, got {iv}")
    return iv
