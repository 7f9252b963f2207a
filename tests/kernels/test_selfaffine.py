"""Hurst exponent estimators (fractalkit.selfaffine) against oracles written elsewhere.

- exact fGn / fBm from the ``fbm`` package (Davies-Harte): bias and spread over seeds;
- ``fathon`` (C): the DFA fluctuation function F(s) itself, on the same input and scales;
- closed forms: a ramp, a constant, white noise, a random walk;
- exact isotropic 2-D fBm by Cholesky factorisation of its covariance (numpy), and a surface
  summed from two exact 1-D fBm (its row and column increments are exactly fBm's);
- coverage of the bootstrap interval over seeds; bad input; threads; determinism.
"""
from __future__ import annotations

import functools
import threading

import fathon
import fbm as fbm_oracle  # the oracle package (test-only group), not the gallery page apps/fbm.py
import numpy as np
import pytest
from fathon import fathonUtils as fu

import fractalkit as fk  # noqa: E402
from fractalkit import selfaffine as sa  # noqa: E402

HS = (0.2, 0.5, 0.8)




@functools.lru_cache(maxsize=None)
def _generator(n: int, h: float):
    return fbm_oracle.FBM(n, h, length=n, method="daviesharte")  # caches its eigenvalues


@functools.lru_cache(maxsize=512)
def oracle_fgn(n: int, h: float, seed: int) -> np.ndarray:
    """Exact fGn, unit variance, from the ``fbm`` package (global numpy seed, as it needs)."""
    np.random.seed(10_000 + seed)
    x = _generator(n, h).fgn()
    x.setflags(write=False)
    return x


def oracle_fbm(n: int, h: float, seed: int) -> np.ndarray:
    """Exact fBm path of ``n`` points, ``B(0) = 0``."""
    return np.concatenate([[0.0], np.cumsum(oracle_fgn(n - 1, h, seed))])


ESTIMATORS = {
    # name: (estimator of H from an fBm path, |bias| bound, spread bound) at n = 2**13
    "dfa": (lambda b: sa.dfa(b, kind="fbm", n_boot=0), 0.015, 0.03),
    "variogram": (lambda b: sa.variogram(b, n_boot=0), 0.015, 0.03),
    "madogram": (lambda b: sa.structure_function(b, 1, n_boot=0), 0.015, 0.03),
    "spectral": (lambda b: sa.spectral_hurst(b, n_boot=0), 0.015, 0.035),
}


# ----------------------------------------------------------------------------- DFA vs fathon

@pytest.mark.parametrize("order,both", [(1, True), (1, False), (2, True), (3, False)])
def test_dfa_fluctuation_function_matches_fathon(order, both):
    x = oracle_fgn(4096, 0.7, 0)
    scales = fu.powRangeByStep(order + 2, 10, step=1)  # 2**k window sizes
    scales = np.unique(np.concatenate([scales, fu.linRangeByStep(order + 2, 40, step=3)]))
    fit = sa.dfa(x, order, scales=scales, both_ends=both, n_boot=0)
    _, f_ref = fathon.DFA(fu.toAggregated(x)).computeFlucVec(scales.astype(np.int64), polOrd=order,
                                                             revSeg=both)
    np.testing.assert_array_equal(fit.x, scales)
    # fathon fits raw powers of t = 1..N (ill-conditioned for order >= 2): agree to its precision
    np.testing.assert_allclose(fit.y, f_ref, rtol=1e-10 if order == 1 else 1e-4)
    assert fit.method == f"DFA-{order}" and fit.symbol == "α"


def test_dfa_kinds_report_alpha_or_h():
    # alpha = H for fGn, alpha = H + 1 for fBm (mean over seeds: DFA of a path is noisier)
    alphas = np.array([[sa.dfa(x, n_boot=0).value, sa.dfa(np.cumsum(x), n_boot=0).value]
                       for x in (oracle_fgn(8192, 0.3, s) for s in range(6))])
    np.testing.assert_allclose(alphas.mean(axis=0), [0.3, 1.3], atol=0.03)
    x = oracle_fgn(8192, 0.3, 1)
    b = np.cumsum(x)
    alpha_noise = sa.dfa(x, n_boot=0)
    h_noise = sa.dfa(x, kind="fgn", n_boot=0)
    h_path = sa.dfa(b, kind="fbm", n_boot=0)
    assert h_noise.value == alpha_noise.value and h_noise.symbol == "H" and alpha_noise.symbol == "α"
    # the path is its own profile: same windows, same F(s) up to rounding
    np.testing.assert_allclose(h_path.y, h_noise.y, rtol=1e-9)


# ----------------------------------------------------------------------------- exact fBm: bias and spread

@pytest.mark.parametrize("h", HS)
@pytest.mark.parametrize("name", list(ESTIMATORS))
def test_bias_and_spread_on_exact_fbm(name, h):
    estimator, max_bias, max_spread = ESTIMATORS[name]
    est = np.array([estimator(oracle_fbm(2**13, h, s)).value for s in range(20)])
    bias, spread = est.mean() - h, est.std(ddof=1)
    print(f"{name} H={h}: bias {bias:+.4f}, spread {spread:.4f} over {est.size} seeds")
    assert abs(bias) <= max_bias, (bias, spread)
    assert spread <= max_spread, (bias, spread)


def test_old_bug_nonperiodic_fbm_is_not_read_as_h_one_half():
    # the jump between the ends used to leak f**-2: exact fBm with H = 0.8 came out near 0.5
    for seed in range(3):
        b = oracle_fbm(2**13, 0.8, seed)
        for method in ("auto", "variogram", "spectral"):
            assert fk.hurst_exponent(b, method, n_boot=0).value == pytest.approx(0.8, abs=0.06), method


# ----------------------------------------------------------------------------- the interval

@pytest.mark.parametrize("name", ["dfa", "variogram", "spectral"])
def test_bootstrap_interval_covers_the_truth(name):
    estimator = {"dfa": lambda b, s: sa.dfa(b, kind="fbm", n_boot=40, seed=s),
                 "variogram": lambda b, s: sa.variogram(b, n_boot=40, seed=s),
                 "spectral": lambda b, s: sa.spectral_hurst(b, n_boot=40, seed=s)}[name]
    hits, widths, total = 0, [], 0
    for h in HS:
        for seed in range(16):
            fit = estimator(oracle_fbm(2**12, h, seed), seed)
            assert fit.uncertainty.startswith("parametric bootstrap (40 exact fBm") or \
                fit.uncertainty.startswith("parametric bootstrap (40 exact fGn"), fit.uncertainty
            hits += fit.ci[0] <= h <= fit.ci[1]
            widths.append(fit.half_width)
            total += 1
    print(f"{name}: coverage {hits}/{total}, mean half-width {np.mean(widths):.3f}")
    assert hits >= 0.9 * total
    # and the interval is not uselessly wide: the regression one is far narrower, this one is honest
    assert np.mean(widths) < 0.12


def test_regression_interval_is_too_narrow_and_bootstrap_is_not():
    # the reason for the bootstrap: over seeds, the regression interval misses far more often
    miss_reg = miss_boot = 0
    for seed in range(12):
        b = oracle_fbm(2**12, 0.8, seed)
        reg = sa.variogram(b, n_boot=0)
        boot = sa.variogram(b, n_boot=40, seed=seed)
        assert reg.value == boot.value and reg.uncertainty == "regression"
        miss_reg += not (reg.ci[0] <= 0.8 <= reg.ci[1])
        miss_boot += not (boot.ci[0] <= 0.8 <= boot.ci[1])
    assert miss_boot <= 2 < miss_reg


def test_interval_is_deterministic_for_a_seed():
    b = oracle_fbm(2**12, 0.6, 3)
    a1, a2, a3 = (sa.dfa(b, kind="fbm", n_boot=20, seed=s) for s in (7, 7, 8))
    assert a1.ci == a2.ci and a1.stderr != a3.stderr and a1.value == a3.value


def test_estimate_outside_the_model_keeps_regression_interval_with_a_note():
    fit = sa.dfa(np.arange(4000.0) ** 2 + oracle_fgn(4000, 0.5, 0), n_boot=20)  # alpha about 3
    assert fit.uncertainty == "regression" and any("outside the fBm model" in n for n in fit.notes)


# ----------------------------------------------------------------------------- closed forms

def test_ramp_is_smooth_or_refused():
    ramp = np.linspace(-3.0, 5.0, 2000)
    assert sa.variogram(ramp, n_boot=0).value == pytest.approx(1.0, abs=1e-9)
    assert sa.structure_function(ramp, 1, n_boot=0).value == pytest.approx(1.0, abs=1e-9)
    # classical DFA-1 of a ramp: the profile is a parabola, F(s) ~ s**2 exactly
    assert sa.dfa(ramp, n_boot=0).value == pytest.approx(2.0, abs=0.02)
    with pytest.raises(ValueError, match="removes x completely"):
        sa.dfa(ramp, kind="fbm")
    with pytest.raises(ValueError, match="smooth"):
        sa.spectral_hurst(ramp)
    plane = np.add.outer(np.arange(64.0), np.arange(80.0))
    assert sa.variogram(plane, n_boot=0).value == pytest.approx(1.0, abs=1e-9)
    with pytest.raises(ValueError, match="plane"):
        sa.spectral_hurst(plane)


@pytest.mark.parametrize("fn", [sa.dfa, sa.variogram, sa.spectral_hurst, fk.hurst_exponent,
                                lambda x: sa.structure_function(x, 1)])
def test_constant_has_no_roughness(fn):
    with pytest.raises(ValueError, match="constant"):
        fn(np.full(1000, 3.5))
    if fn is not sa.dfa:
        with pytest.raises(ValueError, match="constant"):
            fn(np.zeros((64, 64)))


def test_white_noise_and_random_walk():
    w = np.random.default_rng(5).standard_normal(2**14)
    assert sa.dfa(w, n_boot=0).value == pytest.approx(0.5, abs=0.03)
    assert sa.dfa(np.cumsum(w), n_boot=0).value == pytest.approx(1.5, abs=0.04)
    assert sa.variogram(np.cumsum(w), n_boot=0).value == pytest.approx(0.5, abs=0.03)
    # a linear trend on the noise: DFA-2 removes it from the profile, the estimate stays
    t = np.arange(w.size)
    assert sa.dfa(w + 1e-3 * t, 2, n_boot=0).value == pytest.approx(sa.dfa(w, 2, n_boot=0).value, abs=1e-6)


def test_trend_does_not_fool_dfa_and_spectral():
    b = oracle_fbm(2**13, 0.4, 2)
    trend = 50 * np.linspace(0, 1, b.size) * b.std()
    for f in (lambda x: sa.dfa(x, kind="fbm", n_boot=0), lambda x: sa.spectral_hurst(x, n_boot=0)):
        assert f(b + trend).value == pytest.approx(f(b).value, abs=0.01)


# ----------------------------------------------------------------------------- 2-D

@functools.lru_cache(maxsize=None)
def _cholesky_fbm2d(side: int, h: float) -> np.ndarray:
    """Lower Cholesky factor of the covariance of isotropic 2-D fBm on a side x side grid.

    ``Cov(B(p), B(q)) = (|p|**2H + |q|**2H - |p - q|**2H) / 2``, origin one pixel off the
    grid's corner so the matrix is positive definite.
    """
    i, j = np.divmod(np.arange(side * side), side)
    px, py = i + 1.0, j + 1.0
    r = np.hypot(px, py) ** (2 * h)
    d = np.hypot(px[:, None] - px[None, :], py[:, None] - py[None, :]) ** (2 * h)
    return np.linalg.cholesky(0.5 * (r[:, None] + r[None, :] - d))


@pytest.mark.parametrize("h", HS)
def test_2d_on_exact_fbm_surfaces_by_cholesky(h):
    # small (40 x 40: a 1600 x 1600 factorisation), so loose bounds on single estimates; too
    # small for the spectral estimate (spread about 0.2), which is checked on larger surfaces
    side, count = 40, 32
    z = _cholesky_fbm2d(side, h) @ np.random.default_rng(int(h * 10)).standard_normal((side * side, count))
    vg = [sa.variogram(z[:, k].reshape(side, side), n_boot=0).value for k in range(count)]
    md = [sa.structure_function(z[:, k].reshape(side, side), 1, n_boot=0).value for k in range(count)]
    print(f"2-D {side}x{side} H={h}: variogram {np.mean(vg) - h:+.3f}/{np.std(vg):.3f}, "
          f"madogram {np.mean(md) - h:+.3f}/{np.std(md):.3f}")
    assert np.mean(vg) == pytest.approx(h, abs=0.03) and np.std(vg) < 0.1
    assert np.mean(md) == pytest.approx(h, abs=0.03) and np.std(md) < 0.1


@pytest.mark.parametrize("h", HS)
def test_2d_on_larger_exact_surfaces(h):
    # Stein's exact embedding (fractalkit.surfaces, another author), 192 x 192
    exact = pytest.importorskip("fractalkit.surfaces").fbm_surface_exact
    vg, sp = [], []
    for seed in range(8):
        z = exact(192, h, seed)
        vg.append(sa.variogram(z, n_boot=0).value)
        sp.append(sa.spectral_hurst(z, n_boot=0).value)
    print(f"2-D 192x192 H={h}: variogram {np.mean(vg) - h:+.3f}/{np.std(vg):.3f}, "
          f"spectral {np.mean(sp) - h:+.3f}/{np.std(sp):.3f}")
    assert np.mean(vg) == pytest.approx(h, abs=0.03) and np.std(vg) < 0.05
    assert np.mean(sp) == pytest.approx(h, abs=0.03) and np.std(sp) < 0.05


@pytest.mark.parametrize("h", HS)
def test_2d_variogram_on_a_sum_of_exact_fbm_profiles(h):
    # z[i, j] = B1(i) + B2(j): increments along rows and columns are exactly fBm's
    est = []
    for seed in range(8):
        z = np.add.outer(oracle_fbm(384, h, 2 * seed), oracle_fbm(256, h, 2 * seed + 1))
        est.append(sa.variogram(z, n_boot=0).value)
    assert np.mean(est) == pytest.approx(h, abs=0.03)


def test_2d_bootstrap_interval_from_exact_surfaces():
    fit = sa.variogram(np.asarray(_cholesky_fbm2d(40, 0.5) @ np.random.default_rng(9).standard_normal(1600))
                       .reshape(40, 40), n_boot=12, seed=1)
    assert fit.uncertainty == "parametric bootstrap (12 exact fBm surfaces, H = %.3f)" % fit.value
    assert 0.005 < fit.half_width < 0.2


def test_hurst_exponent_picks_the_recommended_estimator():
    assert fk.hurst_exponent(oracle_fbm(4096, 0.5, 0), n_boot=0).method == "DFA-1"
    assert fk.hurst_exponent(np.add.outer(oracle_fbm(64, 0.5, 1), oracle_fbm(64, 0.5, 2)),
                             n_boot=0).method == "variogram"
    assert fk.hurst_exponent(np.add.outer(oracle_fbm(128, 0.5, 1), oracle_fbm(130, 0.5, 2)),
                             n_boot=0).method == "spectral"
    assert fk.hurst_exponent(oracle_fbm(4096, 0.5, 0), "madogram", n_boot=0).method == "madogram"
    h_noise = fk.hurst_exponent(oracle_fgn(4096, 0.5, 0), kind="fgn", n_boot=0).value
    assert h_noise == pytest.approx(0.5, abs=0.05)
    with pytest.raises(ValueError, match="method"):
        fk.hurst_exponent(oracle_fbm(4096, 0.5, 0), "wavelet")
    with pytest.raises(ValueError, match="1-D only"):
        fk.hurst_exponent(np.random.default_rng(0).random((64, 64)), "dfa")


# ----------------------------------------------------------------------------- the Fit

def test_fit_reports_range_and_local_slopes():
    fit = sa.dfa(oracle_fgn(2**14, 0.7, 4), kind="fgn", n_boot=20)
    lo, hi = fit.fit_range
    assert 12 <= lo < hi <= 2**14 / 8
    assert str(fit).startswith(f"H = {fit.value:.3f} ± ") and "samples)" in str(fit)
    xs, slopes = fit.local_slopes
    inside = (xs > lo) & (xs < hi)
    assert abs(np.median(slopes[inside]) - 0.7) < 0.05
    fixed = sa.dfa(oracle_fgn(2**14, 0.7, 4), kind="fgn", scale_range=(16, 256), n_boot=0)
    assert 16 <= fixed.fit_range[0] < fixed.fit_range[1] <= 256
    sfit = sa.spectral_hurst(oracle_fbm(2**12, 0.5, 0), n_boot=0)
    assert sfit.unit == "cycles/sample" and sfit.scale_symbol == "f"


# ----------------------------------------------------------------------------- bad input

@pytest.mark.parametrize("bad,match", [
    (np.r_[np.zeros(500), np.nan, np.ones(500)], "NaN"),
    (np.r_[np.arange(600.0), np.inf], "infinite"),
    (np.arange(50.0), "at least 128"),
    (np.arange(1000.0).reshape(10, 10, 10), "1-D"),
    (np.float64(3.0), "1-D"),
    (np.array(["a"] * 300), "real numbers"),
    (np.array([object()] * 300), "real numbers"),
    (np.arange(300) * (1 + 1j), "complex"),
    ([[1.0, 2.0], [3.0]], "array of real numbers"),
])
def test_bad_input_is_named(bad, match):
    for fn in (sa.dfa, sa.variogram, sa.spectral_hurst, fk.hurst_exponent):
        with pytest.raises(ValueError, match=match):
            fn(bad)


def test_bad_parameters_are_named():
    x = oracle_fgn(1024, 0.5, 0)
    with pytest.raises(ValueError, match="1-D only"):
        sa.dfa(np.ones((64, 64)))
    with pytest.raises(ValueError, match="at least 32"):
        sa.variogram(np.random.default_rng(0).random((16, 64)))
    with pytest.raises(ValueError, match="order"):
        sa.dfa(x, order=0)
    with pytest.raises(ValueError, match="kind"):
        sa.dfa(x, kind="noise")
    with pytest.raises(ValueError, match="kind='fgn'"):
        sa.variogram(np.random.default_rng(0).random((64, 64)), kind="fgn")
    with pytest.raises(ValueError, match="q must"):
        sa.structure_function(x, q=0)
    with pytest.raises(ValueError, match="scales"):
        sa.dfa(x, scales=[2, 8, 16])
    with pytest.raises(ValueError, match="lags"):
        sa.variogram(np.cumsum(x), lags=[0, 1, 2, 4])
    with pytest.raises(ValueError, match="scale_range"):
        sa.dfa(x, scale_range=(100, 10))
    with pytest.raises(ValueError, match="n_boot"):
        sa.dfa(x, n_boot=-1)
    with pytest.raises(ValueError, match="confidence"):
        sa.spectral_hurst(np.cumsum(x), confidence=95)
    with pytest.raises(fk.WorkLimitError):
        sa.dfa(np.broadcast_to(np.float64(1.0), (fk.limits.MAX_PIXELS + 1,)))


# ----------------------------------------------------------------------------- threads

def test_same_bits_on_one_thread_and_on_all():
    # no parallel floating-point reductions: the partition of the work never changes the result
    import numba

    b = oracle_fbm(2**13, 0.65, 6)
    z = np.add.outer(oracle_fbm(256, 0.4, 3), oracle_fbm(192, 0.4, 4))
    jobs = [lambda: sa.dfa(b, kind="fbm", n_boot=0).y, lambda: sa.dfa(b, 3, n_boot=0).y,
            lambda: sa.variogram(z, n_boot=0).y, lambda: sa.structure_function(z, 1.5, n_boot=0).y,
            lambda: sa.variogram(b, n_boot=0).y, lambda: sa.spectral_hurst(z, n_boot=0).y]
    many = [job() for job in jobs]
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = [job() for job in jobs]
    finally:
        numba.set_num_threads(before)
    for a, b1 in zip(many, one):
        np.testing.assert_array_equal(a, b1)


def test_two_threads_same_input_same_answer():
    b = oracle_fbm(2**14, 0.65, 5)
    z = np.add.outer(oracle_fbm(128, 0.4, 1), oracle_fbm(128, 0.4, 2))
    jobs = [lambda: sa.dfa(b, kind="fbm", n_boot=10, seed=1), lambda: sa.variogram(z, n_boot=0),
            lambda: sa.spectral_hurst(b, n_boot=10, seed=2), lambda: sa.structure_function(b, 1, n_boot=0)]
    expected = [(f.value, f.ci, tuple(f.y)) for f in (job() for job in jobs)]
    results = [[None] * len(jobs) for _ in range(2)]

    def run(slot):
        for _ in range(2):
            for k, job in enumerate(jobs):
                f = job()
                results[slot][k] = (f.value, f.ci, tuple(f.y))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == expected and results[1] == expected
