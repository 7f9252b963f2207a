"""fractalkit.measure: box counting, mass-radius, lacunarity and differential box counting.

The oracles are built here from their definitions (bits and base-3 digits of the pixel indices,
exact geometry, closed forms, brute force), never by the estimators or generators under test.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from fractalkit import (Fit, box_counting_dimension, box_counts, differential_box_counting, lacunarity,
                        mass_radius_dimension)

LOG2_3 = math.log(3) / math.log(2)
LOG3_4 = math.log(4) / math.log(3)
LOG3_8 = math.log(8) / math.log(3)


# --- exact sets -----------------------------------------------------------------------------------

def sierpinski(k: int) -> np.ndarray:
    """Sierpinski triangle: (i & j) == 0 on a 2**k grid (Pascal's triangle mod 2)."""
    i = np.arange(2 ** k)
    return (i[:, None] & i[None, :]) == 0


def _digits_avoid(k: int, digit: int) -> np.ndarray:
    i, ok = np.arange(3 ** k), np.ones(3 ** k, bool)
    for _ in range(k):
        ok &= i % 3 != digit
        i = i // 3
    return ok


def cantor_dust(k: int) -> np.ndarray:
    """Middle-thirds Cantor set x itself: no base-3 digit 1 in either index."""
    c = _digits_avoid(k, 1)
    return c[:, None] & c[None, :]


def carpet(k: int) -> np.ndarray:
    """Sierpinski carpet: no position where both indices have the digit 1."""
    a = np.arange(3 ** k)
    out = np.ones((a.size, a.size), bool)
    i, j = a[:, None].copy(), a[None, :].copy()
    for _ in range(k):
        out &= ~((i % 3 == 1) & (j % 3 == 1))
        i, j = i // 3, j // 3
    return out


def koch(n: int) -> np.ndarray:
    """Koch curve: vertices by complex arithmetic down to sub-pixel segments, sampled every 1/4 px."""
    pts = np.array([0j, 1 + 0j])
    rot = np.exp(1j * np.pi / 3)
    width = 0.96 * n
    while abs(pts[1] - pts[0]) * width > 0.5:
        a, b = pts[:-1], pts[1:]
        d = (b - a) / 3
        new = np.empty(4 * a.size + 1, complex)
        new[0:-1:4], new[1::4], new[2::4], new[3::4], new[-1] = a, a + d, a + d + d * rot, a + 2 * d, pts[-1]
        pts = new
    p = pts * width + 0.02 * n + 0.3j * n
    t = np.linspace(0, 1, 4, endpoint=False)
    q = np.append((p[:-1, None] + np.diff(p)[:, None] * t).ravel(), p[-1])
    img = np.zeros((n, n), bool)
    img[q.imag.astype(int), q.real.astype(int)] = True
    return img


def circle(n: int, filled: bool = False) -> np.ndarray:
    c, r = (n - 1) / 2, 0.4 * n
    d = np.hypot(*np.mgrid[0:n, 0:n] - c)
    return d <= r if filled else np.abs(d - r) < 0.5


def hline(n: int) -> np.ndarray:
    img = np.zeros((n, n), bool)
    img[n // 3, n // 10:n - n // 10] = True
    return img


def random_cascade(k: int, base: int, keep: int, seed: int) -> np.ndarray:
    """Random self-similar set: every kept cell keeps ``keep`` of its base x base children at random.

    Each level-j cell holds exactly keep**(k - j) pixels' worth of descendants, so the dimension is
    exactly log(keep) / log(base) for every seed; only the positions are random.
    """
    rng = np.random.default_rng(seed)
    m = np.ones((1, 1), bool)
    for _ in range(k):
        n = m.shape[0]
        child = rng.random((n, n, base * base)).argsort(axis=2) < keep
        child = child.reshape(n, n, base, base).transpose(0, 2, 1, 3).reshape(n * base, n * base)
        m = np.kron(m, np.ones((base, base), bool)) & child
    return m


# --- box counting: exact sets ----------------------------------------------------------------------

#: (set, exact D, largest |error| measured at this size when written). The error is the estimator's
#: bias on that raster (pixel scale, log-periodic wobble of triadic sets), not noise.
EXACT = {
    "Sierpinski triangle 1024": (lambda: sierpinski(10), LOG2_3, 0.012),
    "Sierpinski carpet 729": (lambda: carpet(6), LOG3_8, 0.012),
    "Cantor dust 729": (lambda: cantor_dust(6), LOG3_4, 0.07),
    "Koch curve 1024": (lambda: koch(1024), LOG3_4, 0.02),
    "circle 1024": (lambda: circle(1024), 1.0, 0.015),
    "line 1024": (lambda: hline(1024), 1.0, 0.006),
    "filled square 512": (lambda: np.ones((512, 512), bool), 2.0, 1e-9),
}


@pytest.mark.parametrize("name", EXACT)
def test_exact_sets_within_bias_and_covered(name):
    build, d, tol = EXACT[name]
    fit = box_counting_dimension(build())
    assert isinstance(fit, Fit) and fit.method == "box counting"
    assert abs(fit.value - d) <= tol, (str(fit), d)
    assert fit.ci[0] <= d <= fit.ci[1], (str(fit), d, fit.notes)
    lo, hi = fit.fit_range
    assert str(fit) == f"D = {fit.value:.3f} ± {fit.half_width:.3f} (s = {lo:.4g}…{hi:.4g} px)"


def test_disc_bias_is_the_boundary_term():
    # N(s) = A/s² + c P/s: the local slope falls from 2 as s grows, so any fitted range reads a
    # little low. Measured: 1.988 ± 0.012 at 1024² (its interval just misses 2: reported, not hidden).
    fit = box_counting_dimension(circle(1024, filled=True))
    assert 1.98 < fit.value < 2.0 and fit.fit_range[0] == 1
    _, local = fit.local_slopes
    assert np.all(np.diff(local[:20]) < 0) and local[0] > 1.99


def test_square_counts_exactly_on_a_periodic_window():
    sizes, counts = box_counts(np.ones((300, 300), bool), sizes=[1, 7, 16, 64, 100])
    np.testing.assert_allclose(counts * sizes ** 2, 300 * 300)
    fit = box_counting_dimension(np.ones((300, 300), bool))
    assert fit.value == pytest.approx(2.0, abs=1e-12) and fit.half_width < 1e-6


def test_single_grids_tile_the_window():
    # The grid term of the interval comes from single grids. On the Cantor dust's own window the
    # grid at offset 0 and size 3**j counts its 4**(k-j) cells exactly; a shifted grid cuts cells.
    from fractalkit.measure import _single_grids

    img = cantor_dust(5).view(np.uint8)
    sizes = np.array([1, 3, 9, 27])
    grids = _single_grids(img, sizes, 4)
    np.testing.assert_array_equal(grids[0], 4.0 ** (5 - np.arange(4)))
    assert np.all(grids[1:, 1:] >= grids[0, 1:]) and np.any(grids[1:, 1:] > grids[0, 1:])
    # brute force for a shifted grid: boxes [oy + k s, ...) on the 243-periodic window
    s, (oy, ox) = 9, (4, 6)
    ys, xs = np.nonzero(img)
    assert len(set(zip((ys - oy) % 243 // s, (xs - ox) % 243 // s))) == _single_grids_at(img, s, oy, ox)


def _single_grids_at(img, s, oy, ox):
    from fractalkit.measure import _grid_counts, _sat

    return int(_grid_counts(_sat(img), np.array([[s, oy, ox]]))[0])


# --- box counting: the count itself against brute force ----------------------------------------------

def _brute_mean_count(img: np.ndarray, s: int) -> float:
    """Mean over all s² grid offsets of the occupied boxes, grids laid on the plane (bounded sets)."""
    ys, xs = np.nonzero(img)
    total = 0
    for oy in range(s):
        for ox in range(s):
            total += len(set(zip((ys + oy) // s, (xs + ox) // s)))
    return total / s ** 2


def test_counts_average_every_grid_offset_exactly():
    rng = np.random.default_rng(3)
    img = np.zeros((40, 50), bool)
    img[5:30, 8:41] = rng.random((25, 33)) < 0.15  # bounded: reaches no image edge
    sizes, counts = box_counts(img, sizes=[1, 2, 3, 5, 8, 13])
    expected = [_brute_mean_count(img, s) for s in sizes]
    np.testing.assert_allclose(counts, expected, rtol=1e-12)


def test_a_set_reaching_both_edges_is_periodic_along_that_axis():
    rng = np.random.default_rng(4)
    img = np.zeros((24, 30), bool)
    img[:, 6:20] = rng.random((24, 14)) < 0.3
    img[0, 10] = img[-1, 12] = True  # reaches the top and bottom edges: rows periodic
    s = 4
    sizes, counts = box_counts(img, sizes=[s])
    # brute force: rows on a circle of 24, columns on the plane
    ys, xs = np.nonzero(img)
    occupied = {(p, q) for p in range(24) for q in range(-s + 1, 30)
                if np.any(((ys - p) % 24 < s) & (xs - q >= 0) & (xs - q < s))}
    assert counts[0] == pytest.approx(len(occupied) / s ** 2)


def test_result_does_not_depend_on_margins_or_position():
    base = koch(256)
    big = np.zeros((700, 600), bool)
    big[123:123 + 256, 77:77 + 256] = base
    a, b = box_counting_dimension(base), box_counting_dimension(big)
    assert (a.value, a.ci, a.fit_range) == (b.value, b.ci, b.fit_range)
    c = box_counting_dimension(base.T)  # transposed: same counts by symmetry
    assert c.value == pytest.approx(a.value, abs=1e-12)


# --- box counting: ranges and the interval -------------------------------------------------------------

def test_range_given_positionally_or_as_scale_range():
    img = sierpinski(9)
    fit = box_counting_dimension(img, 4, 64)
    assert fit.fit_range == (4.0, 64.0) and fit.used.sum() == 17  # four sizes per octave
    assert box_counting_dimension(img, scale_range=(4, 64)).value == fit.value
    auto = box_counting_dimension(img)
    assert auto.fit_range[1] <= 512 / 8
    low = box_counting_dimension(img, min_box=16)  # one bound: the automatic choice respects it
    assert low.fit_range[0] >= 16
    with pytest.raises(ValueError, match="not both"):
        box_counting_dimension(img, 2, 8, scale_range=(2, 8))
    with pytest.raises(ValueError, match="at least 3"):
        box_counting_dimension(img, 5, 6)


def test_interval_terms_are_reported():
    fit = box_counting_dimension(cantor_dust(6))
    assert fit.uncertainty == "regression + grid offsets (16 grids) + sub-ranges"
    terms = dict(n.split(": ±") for n in fit.notes)
    assert set(terms) == {"regression", "grid offsets (16 grids)", "sub-ranges"}
    se = math.sqrt(sum(float(v.split()[0]) ** 2 for v in terms.values()))
    assert fit.stderr == pytest.approx(se, rel=0.05)
    # the Cantor dust's estimate moves with the range: the sub-range term says so
    assert float(terms["sub-ranges"].split()[0]) > 0.02
    assert fit.half_width == pytest.approx(1.959964 * fit.stderr, rel=1e-6)


@pytest.mark.parametrize("base,keep", [(2, 3), (3, 6)])
def test_interval_covers_random_sets_over_seeds(base, keep):
    k = 9 if base == 2 else 6
    d = math.log(keep) / math.log(base)
    fits = [box_counting_dimension(random_cascade(k, base, keep, seed)) for seed in range(10)]
    covered = sum(f.ci[0] <= d <= f.ci[1] for f in fits)
    assert covered >= 9, [str(f) for f in fits]
    assert abs(np.mean([f.value for f in fits]) - d) < 0.03


# --- which pixels are the set ----------------------------------------------------------------------------

def test_nan_is_not_part_of_the_set():
    tri = sierpinski(7)
    as_float = np.where(tri, 1.0, np.nan)  # a smooth-coloured image: NaN where not in the set
    a, b = box_counting_dimension(tri), box_counting_dimension(as_float)
    assert (a.value, a.ci) == (b.value, b.ci)
    np.testing.assert_array_equal(box_counts(tri).counts, box_counts(as_float.astype(np.float32)).counts)
    assert lacunarity(as_float).values.tolist() == lacunarity(tri).values.tolist()
    disc = circle(128, filled=True)
    assert (mass_radius_dimension(np.where(disc, 7, 0)).value
            == mass_radius_dimension(np.where(disc, -2.5, np.nan)).value)
    for empty in (np.full((64, 64), np.nan), np.zeros((64, 64)), np.where(np.eye(64) > 0, np.nan, 0.0)):
        with pytest.raises(ValueError, match="empty"):
            box_counting_dimension(empty)


@pytest.mark.parametrize("bad,match", [
    (np.zeros((0, 5)), "non-empty"),
    (np.ones(100, bool), "2-D"),
    (np.ones((8, 8, 3), bool), "2-D"),
    (np.array([["a", "b"], ["c", "d"]]), "numeric"),
    (np.ones((40, 40), complex), "numeric"),
    (np.ones((40, 40), object), "numeric"),
    ([[1, 2], [3]], "2-D numeric"),
])
def test_bad_input_is_a_clear_value_error(bad, match):
    for f in (box_counting_dimension, box_counts, mass_radius_dimension, lacunarity, differential_box_counting):
        with pytest.raises(ValueError, match=match):
            f(bad)


def test_too_small_sets_are_refused():
    with pytest.raises(ValueError, match="spans only 5 px"):
        box_counting_dimension(np.eye(5, dtype=bool))
    with pytest.raises(ValueError, match="too few"):
        mass_radius_dimension(np.eye(64, dtype=bool)[:5])


# --- mass-radius -----------------------------------------------------------------------------------------

def test_mass_radius_disc_line_and_sierpinski():
    disc = mass_radius_dimension(circle(513, filled=True))
    assert disc.value == pytest.approx(2.0, abs=0.01) and disc.ci[0] <= 2.0 <= disc.ci[1]
    line = np.zeros((513, 513), bool)
    line[256, :] = True
    fit = mass_radius_dimension(line)
    assert fit.value == pytest.approx(1.0, abs=0.01) and fit.ci[0] <= 1.0 <= fit.ci[1]
    # the triangle seen from its corner: M(2**j) = 3**j exactly
    tri = mass_radius_dimension(sierpinski(10), center=(0, 0))
    assert abs(tri.value - LOG2_3) < 0.03 and tri.ci[0] <= LOG2_3 <= tri.ci[1]
    assert tri.scale_symbol == "r" and tri.method == "mass-radius"
    np.testing.assert_array_equal(tri.y[tri.x == 1], [3])  # pixels within 1 px of the corner
    assert mass_radius_dimension(line, r_min=4, r_max=64).fit_range == (4.0, 64.0)


# --- lacunarity ------------------------------------------------------------------------------------------

def _brute_lacunarity(a: np.ndarray, r: int) -> float:
    m = np.lib.stride_tricks.sliding_window_view(a.astype(np.float64), (r, r)).sum(axis=(2, 3))
    return float((m ** 2).mean() / m.mean() ** 2)


def test_lacunarity_matches_brute_force_binary_and_grey():
    rng = np.random.default_rng(5)
    binary = rng.random((37, 45)) < 0.2
    grey = rng.gamma(0.5, size=(37, 45))
    sizes = [1, 2, 3, 5, 8, 20, 37]
    lb, lg = lacunarity(binary, sizes), lacunarity(grey, sizes, grey=True)
    np.testing.assert_allclose(lb.values, [_brute_lacunarity(binary, r) for r in sizes], rtol=1e-12)
    np.testing.assert_allclose(lg.values, [_brute_lacunarity(grey, r) for r in sizes], rtol=1e-10)
    np.testing.assert_array_equal(lb.boxes, [(38 - r) * (46 - r) for r in sizes])
    assert lb.values[0] == pytest.approx(binary.size / binary.sum())  # Λ(1) = 1 / p exactly
    np.testing.assert_allclose(lb.values, 1 + lb.variance / lb.mean ** 2, rtol=1e-12)


def test_lacunarity_of_a_uniform_image_is_one():
    lac = lacunarity(np.ones((96, 80), np.uint8))
    np.testing.assert_allclose(lac.values, 1.0, atol=1e-12)
    np.testing.assert_array_equal(lac.sizes, [1, 2, 3, 4, 6, 8, 11, 16, 23, 32])  # round(2**(k/2)) <= 80 // 2
    np.testing.assert_allclose(lacunarity(np.full((50, 50), 3.5), grey=True).values, 1.0, atol=1e-12)


def test_lacunarity_of_a_random_map_is_the_closed_form():
    # Bernoulli(p) pixels: E[M] = p r², Var M = p (1 - p) r², so Λ(r) = 1 + (1 - p) / (p r²).
    p = 0.3
    img = np.random.default_rng(6).random((1024, 1024)) < p
    lac = lacunarity(img, [1, 2, 4, 8, 16, 32])
    expected = 1 + (1 - p) / (p * lac.sizes ** 2)
    np.testing.assert_allclose(lac.values - 1, expected - 1, rtol=0.03)


def test_lacunarity_bad_input():
    with pytest.raises(ValueError, match="no mass"):
        lacunarity(np.zeros((20, 20)))
    with pytest.raises(ValueError, match=">= 0"):
        lacunarity(-np.ones((20, 20)), grey=True)
    with pytest.raises(ValueError, match="finite"):
        lacunarity(np.where(np.eye(20) > 0, np.nan, 1.0), grey=True)
    with pytest.raises(ValueError, match=r"\[1, 20\]"):
        lacunarity(np.ones((20, 30)), [1, 21])


# --- differential box counting ----------------------------------------------------------------------

def test_dbc_of_planes_is_two():
    y, x = np.mgrid[0:300, 0:257]
    for z in (0.3 * x + 0.1 * y, -2.0 * y, 5.0 * x + 1e6):
        fit = differential_box_counting(z)
        assert fit.value == pytest.approx(2.0, abs=1e-9) and fit.half_width < 1e-6
        assert fit.method == "differential box counting"
    assert differential_box_counting(y.astype(float), height_per_pixel=0.25).value == pytest.approx(2.0, abs=1e-9)


def _fbm_path(n: int, hurst: float, seed: int) -> np.ndarray:
    from fbm import FBM  # the oracle library (Davies-Harte), not fractalkit's generator

    np.random.seed(seed)
    return np.asarray(FBM(n - 1, hurst, length=n - 1, method="daviesharte").fbm())


def test_dbc_of_rough_surfaces_reads_low_by_a_known_bias():
    # z(x, y) = B_H(x) for every row: the graph is (graph of fBm) x (segment), of box dimension
    # exactly (2 - H) + 1 = 3 - H. DBC rounds every cell up to whole boxes, so it reads low for rough
    # surfaces; measured at 512²: about -0.2 (H = 0.2), -0.1 (H = 0.5), -0.05 (H = 0.8).
    est = {}
    for h in (0.2, 0.5, 0.8):
        vals = [differential_box_counting(np.tile(_fbm_path(512, h, s), (512, 1))).value for s in range(3)]
        est[h] = np.mean(vals)
        assert 3 - h - 0.3 < est[h] < 3 - h + 0.02, (h, vals)
    assert est[0.2] > est[0.5] + 0.1 > est[0.8] + 0.2


def test_dbc_height_scale():
    z = np.tile(_fbm_path(256, 0.5, 1), (256, 1))
    a = differential_box_counting(z)
    b = differential_box_counting(3.0 * z + 10.0)  # default height: the relief spans the image
    assert a.value == pytest.approx(b.value, abs=1e-9)
    rough = differential_box_counting(z, height_per_pixel=1e-3 * np.ptp(z) / 255)
    smooth = differential_box_counting(z, height_per_pixel=1e3 * np.ptp(z) / 255)
    assert rough.value > a.value > smooth.value >= 2.0 - 1e-9


def test_dbc_bad_input():
    with pytest.raises(ValueError, match="33 x 33"):
        differential_box_counting(np.random.default_rng(0).random((32, 40)))
    with pytest.raises(ValueError, match="NaN or infinite"):
        differential_box_counting(np.where(np.eye(40) > 0, np.nan, 1.0))
    with pytest.raises(ValueError, match="flat"):
        differential_box_counting(np.ones((40, 40)))
    with pytest.raises(ValueError, match="positive"):
        differential_box_counting(np.eye(40), height_per_pixel=0)


@pytest.mark.parametrize("side, bounds", [(33, (None, None)), (128, (2, 100)), (128, (None, 200)), (97, (2, 60))])
def test_dbc_accepts_every_size_it_allows(side, bounds):
    """The smallest surface, and box sizes up to or past the side (every grid offset then has no cell)."""
    rng = np.random.default_rng(side)
    z = np.cumsum(np.cumsum(rng.standard_normal((side, side)), axis=0), axis=1)
    fit = differential_box_counting(z, *bounds)
    assert 2.0 <= fit.ci[0] <= fit.value <= fit.ci[1] and fit.fit_range[1] <= (side - 1) // 2


# --- threads ------------------------------------------------------------------------------------------

def test_two_threads_get_the_same_results_as_one():
    img = random_cascade(9, 2, 3, 11)
    z = np.tile(_fbm_path(256, 0.4, 2), (256, 1)) + np.arange(256)[:, None] * 0.01

    def run(_):
        f = box_counting_dimension(img)
        g = differential_box_counting(z)
        lac = lacunarity(img)
        m = mass_radius_dimension(img)
        return f.value, f.ci, g.value, g.ci, lac.values.tobytes(), m.value, m.ci

    alone = run(0)
    with ThreadPoolExecutor(2) as pool:
        for got in pool.map(run, range(6)):
            assert got == alone


@pytest.mark.parametrize("args, kwargs, message", [
    ((-3,), {}, "min_box must be a positive"),
    ((8, 4), {}, "low < high"),
    (("a",), {}, "min_box must be a positive"),
    ((), {"scale_range": (-1, 10)}, "must be a positive number of pixels"),
    ((), {"confidence": 2}, "confidence must be a level"),
])
def test_a_bad_range_or_level_is_a_clear_error(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        box_counting_dimension(sierpinski(7), *args, **kwargs)
