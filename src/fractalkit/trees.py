"""Branching trees (2D and 3D) and the Pythagoras tree, as arrays of geometry.

Geometry is built level by level with vectorised numpy, so a tree of a million segments
takes milliseconds. Drawing helpers turn the arrays into ONE Plotly trace (NaN-separated
polyline) or ONE matplotlib ``LineCollection`` -- never one artist per segment.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .limits import MAX_SEGMENTS, check, check_positive_int

__all__ = ["Segments", "Squares", "segment_count", "tree_2d", "tree_3d", "pythagoras_tree", "nan_path",
           "polygon_path"]


class Segments(NamedTuple):
    """Line segments: of a tree, or drawn by an L-system's turtle.

    Attributes
    ----------
    start, end : numpy.ndarray
        Float64 arrays of shape ``(n, dim)`` with segment end points (``dim`` is 2 or 3).
    level : numpy.ndarray
        Int32 array ``(n,)``: for a tree, 0 for the trunk and ``d`` for the deepest twigs; for
        a turtle's drawing, the bracket depth (how many ``[`` are open).
    width : numpy.ndarray or None
        Float64 array ``(n,)`` of line widths (trunk width times ``width_ratio**level``); None
        for a turtle's drawing, whose lines have no width of their own.
    """

    start: np.ndarray
    end: np.ndarray
    level: np.ndarray
    width: np.ndarray | None = None

    def __len__(self) -> int:  # number of segments
        return int(self.start.shape[0])


class Squares(NamedTuple):
    """Squares of a Pythagoras tree.

    Attributes
    ----------
    corners : numpy.ndarray
        Float64 ``(n, 4, 2)``: the corners of each square, counter-clockwise from the base-left.
    level : numpy.ndarray
        Int32 ``(n,)``: 0 for the root square.
    """

    corners: np.ndarray
    level: np.ndarray


def segment_count(depth: int, branches: int) -> int:
    """Number of segments of a full tree: ``sum(branches**k for k in 0..depth)``."""
    return sum(branches ** k for k in range(depth + 1))


def _check_tree(depth: int, branches: int, length_ratio: float = 0.5, width_ratio: float = 0.5,
                jitter: float = 0.0) -> tuple[int, int]:
    if not (0 < length_ratio <= 1 and 0 < width_ratio <= 1):
        raise ValueError("length_ratio and width_ratio must be in (0, 1]")
    if not 0 <= jitter <= 1:
        raise ValueError("jitter must be in [0, 1]")
    depth = check_positive_int("depth", depth, 0, 30)
    branches = check_positive_int("branches", branches, 1, 8)
    check("tree segments", segment_count(depth, branches), MAX_SEGMENTS,
          "lower the depth or the branch count")
    return depth, branches


def _spread(branches: int, angle: float) -> np.ndarray:
    """Child angle offsets, symmetric around the parent direction."""
    if branches == 1:
        return np.zeros(1)
    return np.linspace(-angle, angle, branches)


def tree_2d(depth: int = 10, branches: int = 2, angle: float = 25.0, length_ratio: float = 0.72,
            width_ratio: float = 0.7, *, trunk_length: float = 1.0, trunk_width: float = 8.0,
            jitter: float = 0.0, seed: int | None = 0) -> Segments:
    """A recursive 2D branching tree.

    Parameters
    ----------
    depth : int
        Number of branching levels below the trunk (``0`` is just the trunk).
    branches : int
        Children per branch, fanned out symmetrically.
    angle : float
        Half the fan's opening in degrees (the angle of the outer child to its parent).
    length_ratio, width_ratio : float
        Child length / width as a fraction of the parent's, in (0, 1].
    trunk_length, trunk_width : float
        Size of the trunk; the trunk starts at the origin and points up.
    jitter : float
        Relative random variation of angles and lengths (0 gives the exact tree).
    seed : int or None
        Seed of the jitter; the same seed gives the same tree.

    Returns
    -------
    Segments
        ``segment_count(depth, branches)`` segments, trunk first, level by level.

    References
    ----------
    - M. Aono and T. L. Kunii, "Botanical tree image generation", IEEE Computer Graphics
      and Applications 4(5), 10-34 (1984).

    Examples
    --------
    >>> from fractalkit import segment_count, tree_2d
    >>> tree = tree_2d(depth=3, branches=2)
    >>> len(tree) == segment_count(3, 2) == 15, tree.start.shape
    (True, (15, 2))
    """
    depth, branches = _check_tree(depth, branches, length_ratio, width_ratio, jitter)
    rng = np.random.default_rng(seed)
    offsets = np.deg2rad(_spread(branches, float(angle)))

    starts = [np.zeros((1, 2))]
    theta = np.array([np.pi / 2])
    lengths = np.array([float(trunk_length)])
    ends = [starts[0] + np.stack([np.cos(theta), np.sin(theta)], axis=1) * lengths[:, None]]
    levels = [np.zeros(1, dtype=np.int32)]
    for lev in range(1, depth + 1):
        parent_end = ends[-1]
        th = (theta[:, None] + offsets[None, :]).ravel()
        ln = np.repeat(lengths * length_ratio, branches)
        if jitter > 0:
            th = th + jitter * rng.uniform(-0.5, 0.5, th.shape) * np.deg2rad(max(angle, 10.0))
            ln = ln * (1.0 + jitter * rng.uniform(-0.5, 0.5, ln.shape))
        st = np.repeat(parent_end, branches, axis=0)
        starts.append(st)
        ends.append(st + np.stack([np.cos(th), np.sin(th)], axis=1) * ln[:, None])
        levels.append(np.full(th.shape[0], lev, dtype=np.int32))
        theta, lengths = th, ln
    level = np.concatenate(levels)
    return Segments(np.concatenate(starts), np.concatenate(ends), level,
                    trunk_width * width_ratio ** level.astype(np.float64))


def _rotate(v: np.ndarray, axis: np.ndarray, ang: np.ndarray) -> np.ndarray:
    """Rodrigues rotation of row vectors ``v`` about unit ``axis`` by ``ang`` radians."""
    c, s = np.cos(ang)[:, None], np.sin(ang)[:, None]
    return v * c + np.cross(axis, v) * s + axis * np.sum(axis * v, axis=1, keepdims=True) * (1 - c)


def tree_3d(depth: int = 7, branches: int = 3, angle: float = 35.0, length_ratio: float = 0.7,
            width_ratio: float = 0.7, *, trunk_length: float = 1.0, trunk_width: float = 8.0,
            jitter: float = 0.0, seed: int | None = 0) -> Segments:
    """A 3D branching tree: children tilt by ``angle`` and spread evenly around their parent.

    Successive levels are turned by the golden angle so branches do not stack up.
    Parameters and return value as for :func:`tree_2d` (points are 3D, z up).
    """
    depth, branches = _check_tree(depth, branches, length_ratio, width_ratio, jitter)
    rng = np.random.default_rng(seed)
    tilt = np.deg2rad(float(angle))
    golden = np.pi * (3.0 - np.sqrt(5.0))

    d = np.array([[0.0, 0.0, 1.0]])
    ref = np.array([[1.0, 0.0, 0.0]])  # a direction perpendicular to d, carried along
    lengths = np.array([float(trunk_length)])
    starts = [np.zeros((1, 3))]
    ends = [d * lengths[:, None]]
    levels = [np.zeros(1, dtype=np.int32)]
    for lev in range(1, depth + 1):
        n = d.shape[0]
        dd = np.repeat(d, branches, axis=0)
        rr = np.repeat(ref, branches, axis=0)
        az = np.tile(2 * np.pi * np.arange(branches) / branches, n) + lev * golden
        tl = np.full(n * branches, tilt if branches > 1 else 0.0)
        ln = np.repeat(lengths * length_ratio, branches)
        if jitter > 0:
            az = az + jitter * rng.uniform(-0.5, 0.5, az.shape) * (2 * np.pi / branches)
            tl = tl * (1.0 + jitter * rng.uniform(-0.5, 0.5, tl.shape))
            ln = ln * (1.0 + jitter * rng.uniform(-0.5, 0.5, ln.shape))
        # Tilt axis: the reference perpendicular turned by the azimuth about the parent.
        axis = _rotate(rr, dd, az)
        nd = _rotate(dd, axis, tl)
        nref = _rotate(rr, axis, tl)
        st = np.repeat(ends[-1], branches, axis=0)
        starts.append(st)
        ends.append(st + nd * ln[:, None])
        levels.append(np.full(nd.shape[0], lev, dtype=np.int32))
        d, ref, lengths = nd, nref, ln
    level = np.concatenate(levels)
    return Segments(np.concatenate(starts), np.concatenate(ends), level,
                    trunk_width * width_ratio ** level.astype(np.float64))


def pythagoras_tree(depth: int = 10, angle: float = 45.0) -> Squares:
    """The Pythagoras tree: squares on the legs of right triangles, recursively.

    Parameters
    ----------
    depth : int
        Levels below the root square (``2**(depth + 1) - 1`` squares in all).
    angle : float
        Angle in degrees (0, 90) between the base of a square and its left child.

    Returns
    -------
    Squares
        ``corners``, float64 ``(n, 4, 2)``, counter-clockwise from the base-left, and ``level``,
        int32 ``(n,)``; unpacks as ``corners, level``.

    References
    ----------
    - A. E. Bosman, *Het wondere onderzoekingsveld der vlakke meetkunde* (1957): the tree
      of squares, each pair of children on the sides of a right triangle.

    Examples
    --------
    >>> from fractalkit import pythagoras_tree
    >>> squares = pythagoras_tree(depth=3)
    >>> squares.corners.shape, squares.level.dtype
    ((15, 4, 2), dtype('int32'))
    """
    depth, _ = _check_tree(depth, 2)
    if not 0 < angle < 90:
        raise ValueError("angle must be strictly between 0 and 90 degrees")
    a = np.deg2rad(float(angle))
    p = np.array([[-0.5, 0.0]])  # base-left corner
    v = np.array([[1.0, 0.0]])   # base edge vector
    out, levels = [], []
    for lev in range(depth + 1):
        perp = np.stack([-v[:, 1], v[:, 0]], axis=1)
        corners = np.stack([p, p + v, p + v + perp, p + perp], axis=1)
        out.append(corners)
        levels.append(np.full(p.shape[0], lev, dtype=np.int32))
        top_left = p + perp
        # Left child: base from top-left, edge rotated by +a, scaled by cos(a).
        ca, sa = np.cos(a), np.sin(a)
        vl = np.stack([v[:, 0] * ca - v[:, 1] * sa, v[:, 0] * sa + v[:, 1] * ca], axis=1) * ca
        # Right child: starts at the apex of the triangle, ends at the top-right corner.
        apex = top_left + vl
        vr = (p + v + perp) - apex
        p = np.concatenate([top_left, apex])
        v = np.concatenate([vl, vr])
    return Squares(np.concatenate(out), np.concatenate(levels))


def nan_path(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Interleave segments into one polyline separated by NaN rows.

    Returns an array ``(3 n, dim)``: start, end, NaN for each segment -- the input of a
    single Plotly ``Scatter``/``Scatter3d`` trace.
    """
    n, dim = start.shape
    path = np.full((n, 3, dim), np.nan)
    path[:, 0] = start
    path[:, 1] = end
    return path.reshape(3 * n, dim)


def polygon_path(polys: np.ndarray) -> np.ndarray:
    """Closed polygons ``(n, k, 2)`` to one NaN-separated polyline ``(n (k + 2), 2)``."""
    n, k, dim = polys.shape
    path = np.full((n, k + 2, dim), np.nan)
    path[:, :k] = polys
    path[:, k] = polys[:, 0]
    return path.reshape(n * (k + 2), dim)
