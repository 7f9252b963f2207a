"""Generalized dimensions, f(α) and the correlation dimension, against what no one here wrote.

Oracles: closed forms (the binomial multiplicative cascade, uniform measures, the Sierpinski
measure, a circle and a flat torus), brute-force pair distances from scipy, and published
values (Hénon and Lorenz attractors, Grassberger & Procaccia 1983).
"""
import json
import threading

import numpy as np
import pytest
from scipy.integrate import solve_ivp
from scipy.spatial.distance import cdist, pdist

import fractalkit.multifractal as mf
from fractalkit import (SIERPINSKI, SIERPINSKI_P, WorkLimitError, chaos_game, correlation_dimension,
                        correlation_sum, delay_embedding, generalized_dimensions, multifractal_spectrum,
                        theiler_window)

Q = np.linspace(-5, 5, 41)
LOG2_3 = np.log2(3)


# ---------------------------------------------------------------------------------------------
# Closed forms for the measures
# ---------------------------------------------------------------------------------------------

def cascade(p, k, seed=None):
    """The 2-D binomial cascade (p-model): weights ``p`` (4,) on the quadrants, ``k`` levels.

    With a seed, each box's four weights are shuffled independently: the partition function,
    a sum over boxes, is unchanged, so tau(q) stays exact while the measure is no longer a
    Kronecker product.
    """
    rng = np.random.default_rng(seed)
    mu = np.ones((1, 1))
    for _ in range(k):
        n = mu.shape[0]
        w = np.tile(np.asarray(p, float), (n * n, 1))
        if seed is not None:
            w = rng.permuted(w, axis=1)
        w = w.reshape(n, n, 4)
        out = np.empty((2 * n, 2 * n))
        out[0::2, 0::2] = mu * w[..., 0]
        out[0::2, 1::2] = mu * w[..., 1]
        out[1::2, 0::2] = mu * w[..., 2]
        out[1::2, 1::2] = mu * w[..., 3]
        mu = out
    return mu


def cascade_exact(p, q):
    """tau(q) = -log2 sum p_i^q; D_q = tau / (q - 1) (D_1 = -sum p log2 p); alpha, f by Legendre."""
    p = np.asarray(p, float)
    z = (p[None, :] ** q[:, None]).sum(axis=1)
    tau = -np.log2(z)
    one = np.isclose(q, 1)
    dq = np.where(one, -(p * np.log2(p)).sum(), tau / np.where(one, 1, q - 1))
    escort = p[None, :] ** q[:, None] / z[:, None]
    alpha = -(escort * np.log2(p)[None, :]).sum(axis=1)  # tau'(q)
    return tau, dq, alpha, q * alpha - tau


def sierpinski_raster(k):
    i = np.arange(2 ** k)
    return (i[:, None] & i[None, :]) == 0  # Pascal's triangle mod 2


def covers(ci, exact, slack=1e-9):
    ci = np.asarray(ci)
    return (ci[..., 0] - slack <= exact) & (exact <= ci[..., 1] + slack)


P4 = (0.1, 0.2, 0.3, 0.4)


@pytest.mark.parametrize("seed", [None, 3])
def test_binomial_cascade_matches_closed_form(seed):
    spec = multifractal_spectrum(cascade(P4, 10, seed), Q)
    tau, dq, alpha, f = cascade_exact(P4, Q)
    np.testing.assert_allclose(spec.q, Q)
    np.testing.assert_allclose(spec.tau, tau, atol=1e-9)
    np.testing.assert_allclose(spec.D_q, dq, atol=1e-9)
    np.testing.assert_allclose(spec.alpha, alpha, atol=1e-8)
    np.testing.assert_allclose(spec.f, f, atol=1e-8)
    assert covers(spec.D_q_ci, dq).all() and covers(spec.alpha_ci, alpha).all() and covers(spec.f_ci, f).all()
    # The exact scaling holds at every size, so the whole allowed range (up to a quarter side) is used.
    assert spec.scale_range == (1.0, 256.0)
    assert spec.D_q[np.isclose(Q, 0)] == pytest.approx(2.0)  # the support is the whole square


def test_cascade_with_uneven_q_and_the_spectrum_shape():
    q = np.array([4.5, -5, -1.3, 0, 0.7, 1, 2, 3.25])  # unsorted, unevenly spaced: the exp path
    spec = multifractal_spectrum(cascade((0.05, 0.15, 0.3, 0.5), 9), q)
    _, dq, alpha, f = cascade_exact((0.05, 0.15, 0.3, 0.5), np.sort(q))
    np.testing.assert_allclose(spec.q, np.sort(q))
    np.testing.assert_allclose(spec.D_q, dq, atol=1e-9)
    np.testing.assert_allclose(spec.alpha, alpha, atol=1e-8)
    np.testing.assert_allclose(spec.f, f, atol=1e-8)
    assert np.all(np.diff(spec.D_q) < 0)  # D_q decreases with q for a multifractal
    assert np.all(spec.f <= spec.alpha + 1e-9)  # f(alpha) <= alpha, touching at q = 1
    assert spec.f[spec.q == 1][0] == pytest.approx(spec.alpha[spec.q == 1][0], abs=1e-9)


@pytest.mark.parametrize("name, measure, dim", [
    ("line", np.zeros((1024, 1024)), 1.0),
    ("square", np.ones((1024, 1024), np.uint8), 2.0),
    ("1-D", np.full(4096, 7.0), 1.0),
    ("Sierpinski", sierpinski_raster(10), LOG2_3),
])
def test_monofractal_measures_have_one_dimension_for_every_q(name, measure, dim):
    if name == "line":
        measure[300, :] = 1.0
    spec = multifractal_spectrum(measure, Q)
    np.testing.assert_allclose(spec.D_q, dim, atol=1e-9)
    np.testing.assert_allclose(spec.alpha, dim, atol=1e-9)  # the spectrum is one point (D, D)
    np.testing.assert_allclose(spec.f, dim, atol=1e-9)
    np.testing.assert_allclose(spec.tau, (Q - 1) * dim, atol=1e-8)
    assert covers(spec.D_q_ci, dim).all()


def test_grey_noise_on_a_square_is_two_dimensional_within_its_interval():
    img = np.random.default_rng(0).uniform(0.5, 1.0, (512, 512))
    spec = multifractal_spectrum(img, Q)
    np.testing.assert_allclose(spec.D_q, 2.0, atol=0.01)
    assert covers(spec.D_q_ci, 2.0).all()
    assert (spec.D_q_stderr > 0).all()


def test_points_sampled_from_a_cascade():
    # 400k points drawn from the p-model measure (quadrant by quadrant): a sampled measure with exact tau.
    rng = np.random.default_rng(1)
    n, levels = 400_000, 16
    quad = np.searchsorted(np.cumsum(P4)[:-1], rng.random((n, levels)), side="right")
    w = 0.5 ** np.arange(1, levels + 1)
    pts = np.column_stack([(quad % 2) @ w, (quad // 2) @ w]) + rng.random((n, 2)) * 0.5 ** levels
    q = np.linspace(0, 4, 9)
    spec = multifractal_spectrum(pts, q)
    json.dumps([fit.to_dict() for fit in spec.D_fits], allow_nan=False)  # sparse sizes left out, no NaN
    _, dq, alpha, f = cascade_exact(P4, q)
    bias = spec.D_q - dq
    print("cascade points: D_q bias", np.round(bias, 4), "range", spec.scale_range)
    assert np.abs(bias).max() < 0.02
    assert np.abs(spec.alpha - alpha).max() < 0.03 and np.abs(spec.f - f).max() < 0.03
    assert spec.method == "box counting (points)" and any("400,000 points" in s for s in spec.notes)


def test_chaos_game_sierpinski_points():
    pts, _ = chaos_game(SIERPINSKI, SIERPINSKI_P, n=1_000_000, seed=1)
    spec = generalized_dimensions(pts, q=[0, 1, 2, 3, 5])
    print("chaos-game Sierpinski: D_q - log2(3) =", np.round(spec.D_q - LOG2_3, 3), "+-",
          np.round(spec.D_q_stderr, 3), spec)
    # The square boxes cut the triangle's sub-triangles: a few-percent bias at this size, which
    # the grid-offset and sub-range terms of the intervals must cover.
    np.testing.assert_allclose(spec.D_q, LOG2_3, atol=0.06)
    assert covers(spec.D_q_ci, LOG2_3).all()
    for fit in spec.D_fits:  # the three terms, each there
        terms = dict(t.split(" ±") for t in fit.notes if " ±" in t)
        assert set(terms) == {"regression", "grid offsets", "sub-ranges"}
        assert float(terms["grid offsets"]) > 0 and float(terms["sub-ranges"]) > 0


def test_uniform_points_fill_the_square():
    spec = multifractal_spectrum(np.random.default_rng(2).random((200_000, 2)), np.linspace(-2, 5, 8))
    np.testing.assert_allclose(spec.D_q, 2.0, atol=0.02)
    assert covers(spec.D_q_ci, 2.0).all()


def test_spectrum_report_and_fits():
    spec = multifractal_spectrum(cascade(P4, 8), q=[-1, 0, 1, 2], offsets=0)
    d = json.loads(json.dumps(spec.to_dict(), allow_nan=False))
    assert d["q"] == [-1, 0, 1, 2] and len(d["D_q"]) == 4 and d["unit"] == "px"
    assert d["range_low"] == spec.scale_range[0] and len(d["scales"]) == len(d["used"])
    fit = spec.fit(2)
    assert fit.symbol == "D_2" and fit.value == spec.D_q[3]
    assert str(fit).startswith("D_2 = 1.737 ± 0.000 (s = 1…")
    assert str(spec).startswith("D0 = 2.000 ± 0.000, D1 = 1.846 ± 0.000, D2 = 1.737")
    with pytest.raises(KeyError):
        spec.fit(3)
    assert "grid offsets ±0" in fit.notes[-2] and fit.uncertainty == "regression + sub-ranges"
    # Shifted grids do not change the estimates (from the unshifted grid) but widen the intervals:
    # the cascade is exactly self-similar only on the dyadic grid.
    shifted = multifractal_spectrum(cascade(P4, 8), q=[-1, 0, 1, 2], offsets=3)
    np.testing.assert_array_equal(shifted.D_q, spec.D_q)
    assert np.all(shifted.D_q_stderr[[0, 2, 3]] > 1e-3) and shifted.D_q_stderr[1] < 1e-9  # D0: support is all
    assert shifted.fit(2).uncertainty == "regression + grid offsets (4 grids) + sub-ranges"
    with pytest.raises(ValueError, match="offsets"):
        multifractal_spectrum(cascade(P4, 8), q=[2], offsets=-1)
    # A given range is used as given.
    fixed = multifractal_spectrum(cascade(P4, 8), q=[2], scale_range=(2, 16))
    assert fixed.scale_range == (2.0, 16.0) and fixed.used.sum() == 4


def test_shifted_grids_are_the_image_rolled_on_the_torus():
    img = cascade(P4, 7, seed=2)[:, :100]  # not a power of two wide: partial boxes too
    q = np.array([-2.0, 0.0, 1.0, 3.0])
    for oy, ox in [(0, 0), (5, 0), (3, 17), (64, 99)]:
        shifted = mf._image_levels(img, q, (oy, ox))
        rolled = mf._image_levels(np.roll(img, (-oy, -ox), axis=(0, 1)), q)
        for a, b in zip(shifted, rolled):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_extreme_masses_stay_in_floating_point_range():
    rng = np.random.default_rng(12)
    img = rng.random((256, 256)) * 10.0 ** rng.uniform(-250, 0, (256, 256))  # mu^-5 would overflow
    spec = multifractal_spectrum(img, q=[-5, 0, 2, 5], offsets=0)
    assert np.isfinite(spec.D_q).all() and np.isfinite(spec.f).all()
    assert spec.D_q[1] == pytest.approx(2.0)  # every pixel has mass
    assert any("floating-point range" in n for n in spec.notes)


def test_partial_boxes_on_a_non_square_image():
    img = np.ones((300, 500))
    spec = multifractal_spectrum(img, q=[0, 2])
    assert any("partial" in n for n in spec.notes)
    np.testing.assert_allclose(spec.D_q, 2.0, atol=0.03)


@pytest.mark.parametrize("bad, match", [
    (np.full((64, 64), np.nan), "NaN"),
    (-np.ones((64, 64)), "negative"),
    (np.zeros((64, 64)), "no pixel has positive mass"),
    (np.zeros((0, 0)), "empty"),
    (np.ones((8, 8)), "at least 16 pixels"),
    (np.ones((4, 4, 4)), "1-D or 2-D"),
    (np.array([[np.inf, 0.0]] * 100), "NaN or infinite"),
    (np.array(["a"] * 20), "real array"),
    (np.random.default_rng(0).random((10, 2)), "box sizes are usable"),
])
def test_spectrum_rejects_bad_measures(bad, match):
    with pytest.raises(ValueError, match=match):
        multifractal_spectrum(bad, q=[0, 1, 2])


def test_spectrum_rejects_bad_parameters():
    img = np.ones((64, 64))
    with pytest.raises(ValueError, match="q must be"):
        multifractal_spectrum(img, q=[])
    with pytest.raises(ValueError, match="q must be"):
        multifractal_spectrum(img, q=[0, np.nan])
    with pytest.raises(WorkLimitError, match="moment orders"):
        multifractal_spectrum(img, q=np.arange(mf.MAX_Q_VALUES + 1))
    with pytest.raises(ValueError, match="low < high"):
        multifractal_spectrum(img, q=[2], scale_range=(8, 2))
    with pytest.raises(ValueError, match="widen the range"):
        multifractal_spectrum(img, q=[2], scale_range=(2, 4))


# ---------------------------------------------------------------------------------------------
# Correlation sums against brute-force distances
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("metric, scipy_metric", [("euclidean", "euclidean"), ("chebyshev", "chebyshev")])
def test_correlation_sum_equals_brute_force_pair_counts(metric, scipy_metric):
    rng = np.random.default_rng(4)
    pts = rng.standard_normal((600, 3))
    pts[10] = pts[11]  # a duplicate pair: distance 0 counts at every radius
    radii = np.geomspace(0.05, 2.0, 17)
    d = pdist(pts, scipy_metric)
    expected = np.array([(d <= r).sum() for r in radii]) / d.size
    _, c = correlation_sum(pts, radii, metric=metric)
    np.testing.assert_allclose(c, expected, rtol=0, atol=1e-15)
    # With a Theiler window w, pairs |i - j| <= w drop out of the count and of the total.
    i, j = np.triu_indices(len(pts), 1)
    keep = (j - i) > 5
    expected = np.array([(d[keep] <= r).sum() for r in radii]) / keep.sum()
    _, c = correlation_sum(pts, radii, theiler=5, metric=metric)
    np.testing.assert_allclose(c, expected, rtol=0, atol=1e-15)


def test_correlation_sum_with_a_reference_subset_equals_brute_force():
    pts = np.random.default_rng(5).random((800, 2))
    radii = np.geomspace(0.01, 0.3, 9)
    refs = np.random.default_rng(7).choice(800, 100, replace=False)  # the documented draw
    dist = cdist(pts[refs], pts)
    dist[np.arange(100), refs] = np.inf  # not with itself
    expected = np.array([(dist <= r).sum() for r in radii]) / (100 * 799)
    _, c = correlation_sum(pts, radii, max_reference=100, seed=7)
    np.testing.assert_allclose(c, expected, rtol=0, atol=1e-15)


def test_theiler_window_removes_temporal_neighbours():
    # Every point repeated three times in a row: without a window, the copies are pairs at distance 0.
    pts = np.repeat(np.random.default_rng(6).random((300, 2)), 3, axis=0)
    tiny = np.geomspace(1e-9, 1e-8, 2)
    _, c = correlation_sum(pts, tiny)
    np.testing.assert_allclose(c, 2 / (len(pts) - 1))
    _, c = correlation_sum(pts, tiny, theiler=2)
    np.testing.assert_array_equal(c, 0.0)


def test_delay_embedding_and_theiler_window():
    x = np.arange(10.0)
    e = delay_embedding(x, m=3, tau=2)
    np.testing.assert_array_equal(e, np.column_stack([x[:6], x[2:8], x[4:10]]))
    assert e.flags.c_contiguous and e.dtype == np.float64
    np.testing.assert_array_equal(delay_embedding(x, 1), x[:, None])
    # A sine's autocorrelation is cos(2 pi lag / period): below 1/e after arccos(1/e) / 2 pi periods.
    period = 200
    lag = theiler_window(np.sin(np.arange(20 * period) * 2 * np.pi / period))
    assert lag == int(np.ceil(np.arccos(1 / np.e) / (2 * np.pi) * period))
    with pytest.raises(ValueError, match="too short"):
        delay_embedding(x, m=6, tau=2)
    with pytest.raises(ValueError, match="1-D"):
        delay_embedding(np.ones((5, 2)), m=2)
    with pytest.raises(ValueError, match="NaN"):
        delay_embedding([1.0, np.nan, 2.0], m=2)
    with pytest.raises(ValueError, match="embedding dimension m"):
        delay_embedding(x, m=0)


# ---------------------------------------------------------------------------------------------
# Correlation dimension: closed forms and published values
# ---------------------------------------------------------------------------------------------

def report(name, fit, truth):
    print(f"{name}: {fit} (stderr {fit.stderr:.4f}); bias {fit.value - truth:+.4f} vs {truth}")


def test_circle_is_one_dimensional():
    t = np.random.default_rng(8).random(5000) * 2 * np.pi
    fit = correlation_dimension(np.column_stack([np.cos(t), np.sin(t)]))
    report("circle", fit, 1.0)
    assert fit.value == pytest.approx(1.0, abs=0.01)
    assert fit.ci[0] <= 1.0 <= fit.ci[1]
    assert fit.symbol == "D₂" and fit.scale_symbol == "r" and str(fit).startswith("D₂ = ")


def test_flat_torus_is_two_dimensional():
    # Uniform on the Clifford torus in R^4: two-dimensional with no edges to bias the count.
    t = np.random.default_rng(9).random((2, 8000)) * 2 * np.pi
    pts = np.column_stack([np.cos(t[0]), np.sin(t[0]), np.cos(t[1]), np.sin(t[1])])
    fit = correlation_dimension(pts, max_reference=3000)
    report("torus", fit, 2.0)
    assert fit.value == pytest.approx(2.0, abs=0.03)
    assert fit.ci[0] <= 2.0 <= fit.ci[1]


def test_square_and_line():
    rng = np.random.default_rng(10)
    fit = correlation_dimension(rng.random((20_000, 2)), max_reference=2000)
    report("square", fit, 2.0)  # the edges bias D2 low: -0.02 on average over seeds at this size
    assert fit.value == pytest.approx(2.0, abs=0.04)
    line = np.column_stack([rng.random(5000), np.full(5000, 0.5)])
    fit = correlation_dimension(line)
    report("line", fit, 1.0)
    assert fit.value == pytest.approx(1.0, abs=0.02)


def test_binary_image_set_pixels():
    fit = correlation_dimension(sierpinski_raster(9), max_reference=3000)  # 19683 set pixels
    report("Sierpinski pixels", fit, LOG2_3)
    assert fit.unit == "px" and fit.fit_range[0] >= 1.0
    assert fit.value == pytest.approx(LOG2_3, abs=0.03)


def henon(n, a=1.4, b=0.3, burn=1000):
    out = np.empty((n + burn, 2))
    x, y = 0.1, 0.1
    for i in range(n + burn):
        x, y = 1 - a * x * x + y, b * x
        out[i] = x, y
    return out[burn:]


def test_henon_attractor_matches_grassberger_procaccia():
    fit = correlation_dimension(henon(100_000), max_reference=1000)
    report("Henon", fit, 1.21)
    # Published D2 = 1.21 +- 0.01 (Grassberger & Procaccia, PRL 50, 346 (1983)): the intervals meet.
    assert fit.ci[0] <= 1.21 + 0.01 and fit.ci[1] >= 1.21 - 0.01
    assert fit.value == pytest.approx(1.21, abs=0.02)
    assert any("1,000 of 100,000 points" in n for n in fit.notes)
    # The interval adds three terms in quadrature; the notes give each.
    assert fit.uncertainty == "regression + sampling (10 reference batches) + sub-ranges"
    terms = {t.split(":")[0]: float(t.split("±")[1].split()[0]) for t in fit.notes if "±" in t}
    assert set(terms) == {"regression", "sampling (10 reference batches)", "sub-ranges"}
    assert all(v > 0 for v in terms.values())
    assert fit.stderr == pytest.approx(np.sqrt(sum(v * v for v in terms.values())), rel=0.05)  # notes: 2 digits


def test_lorenz_attractor_by_delay_embedding():
    def lorenz(t, u, s=10.0, r=28.0, b=8 / 3):
        return [s * (u[1] - u[0]), u[0] * (r - u[2]) - u[1], u[0] * u[1] - b * u[2]]

    dt = 0.02
    sol = solve_ivp(lorenz, (0, 450), [1.0, 1.0, 1.0], method="DOP853", t_eval=np.arange(50, 450, dt),
                    rtol=1e-6, atol=1e-6)
    x = sol.y[0]
    fit = correlation_dimension(x, m=4, tau=10, max_reference=4000)  # delay 0.2 time units
    report("Lorenz (x, m = 4)", fit, 2.05)
    # Published D2 = 2.05 +- 0.01 (Grassberger & Procaccia 1983).
    assert fit.ci[0] <= 2.05 + 0.01 and fit.ci[1] >= 2.05 - 0.01
    assert fit.value == pytest.approx(2.05, abs=0.03)
    assert any("Theiler window" in n for n in fit.notes) and any("m = 4" in n for n in fit.notes)


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_white_noise_fills_every_embedding_dimension(m):
    x = np.random.default_rng(11).standard_normal(10_000)
    fit = correlation_dimension(x, m=m, theiler=0, max_reference=2000)
    report(f"white noise, m = {m}", fit, m)
    assert fit.value == pytest.approx(m, abs=0.03 + 0.01 * m)  # no saturation: D2 follows m
    assert fit.ci[0] <= m <= fit.ci[1]


def test_same_seed_same_result_and_subsets_differ():
    pts = henon(20_000)
    a = correlation_dimension(pts, max_reference=500, seed=1)
    b = correlation_dimension(pts, max_reference=500, seed=1)
    c = correlation_dimension(pts, max_reference=500, seed=2)
    assert a.value == b.value and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.y, c.y)
    json.dumps(a.to_dict(), allow_nan=False)  # no NaN: radii without pairs are left out


def test_thread_safe_same_results():
    img = cascade(P4, 9, seed=5)
    pts = henon(20_000)
    ref_spec = multifractal_spectrum(img, Q)
    ref_fit = correlation_dimension(pts, max_reference=1000)
    results = {}

    def work(i):
        results[i] = (multifractal_spectrum(img, Q), correlation_dimension(pts, max_reference=1000))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for spec, fit in results.values():
        assert np.array_equal(spec.D_q, ref_spec.D_q) and np.array_equal(spec.f, ref_spec.f)
        assert np.array_equal(fit.y, ref_fit.y) and fit.value == ref_fit.value


@pytest.mark.parametrize("kwargs, match", [
    (dict(data=np.ones(100)), "embedding dimension m"),
    (dict(data=np.ones((10, 2))), "at least 20 points"),
    (dict(data=np.full((100, 2), np.nan)), "NaN"),
    (dict(data=np.ones((100, 2))), "coincide"),
    (dict(data=np.random.default_rng(0).random((100, 2)), metric="manhattan"), "metric"),
    (dict(data=np.ones((100, 2)), m=2), "1-D time series"),
    (dict(data=np.random.default_rng(0).random((100, 100))), "is this an image"),
    (dict(data=np.random.default_rng(0).random((100, 2)), r_max=-1.0), "r_max"),
    (dict(data=np.random.default_rng(0).random((30, 2)), min_pairs=10**6), "radii have"),
])
def test_correlation_dimension_rejects_bad_input(kwargs, match):
    data = kwargs.pop("data")
    with pytest.raises(ValueError, match=match):
        correlation_dimension(data, **kwargs)


def test_correlation_sum_rejects_bad_radii_and_caps_work(monkeypatch):
    pts = np.random.default_rng(0).random((100, 2))
    for radii in ([0.1], [0.2, 0.1], [0.0, 0.1], [0.01, 0.02, 0.1]):
        with pytest.raises(ValueError, match="radii"):
            correlation_sum(pts, radii)
    with pytest.raises(ValueError, match="theiler"):
        correlation_sum(pts, [0.1, 0.2], theiler=-1)
    monkeypatch.setattr(mf, "MAX_PAIR_WORK", 1000)
    with pytest.raises(WorkLimitError, match="reference points x points"):
        correlation_sum(pts, [0.1, 0.2])
