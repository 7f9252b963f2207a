"""Exact and approximate fBm generators, checked against closed forms and the `fbm` package.

Closed forms used (none of them taken from fractalkit):

- fGn autocovariance ``gamma(k) = (|k+1|**2H - 2 |k|**2H + |k-1|**2H) / 2``;
- fBm increments ``E[(B(t+k) - B(t))**2] = k**2H`` (1-D, unit step);
- Levy fBm field ``Cov(B(p), B(q)) = (|p|**2H + |q|**2H - |p-q|**2H) / 2``, so
  ``E[(B(p+h) - B(p))**2] = |h|**2H`` in every direction.

Two kinds of check: deterministic ones, which push unit noise vectors through the linear
generator and compare the implied covariance matrix with the closed form to round-off;
and Monte Carlo ones over fixed seeds, with a z-score tolerance of 5 standard errors
(computed from the spread over seeds), so a false failure is rare and, with fixed seeds,
reproducible. Each Monte Carlo check is also run on the approximate spectral generator,
which must fail it: that shows the check can fail.
"""
import warnings
from concurrent.futures import ThreadPoolExecutor

import fbm as fbm_oracle  # the oracle package (test-only group), not fractalkit.fbm or apps/fbm.py
import numpy as np
import pytest
import scipy.linalg
import scipy.stats

from fractalkit import (
    EmbeddingError,
    SynthesisFallbackWarning,
    WorkLimitError,
    diamond_square,
    fbm,
    fbm_1d,
    fbm_surface,
    fbm_surface_exact,
    fgn,
)
from fractalkit import surfaces as S

Z_TOL = 5.0


def gamma(k, h):
    """fGn autocovariance, the closed form, written out here."""
    k = np.abs(np.asarray(k, dtype=float))
    return 0.5 * (np.abs(k + 1) ** (2 * h) - 2 * k ** (2 * h) + np.abs(k - 1) ** (2 * h))


def levy_covariance(ny, nx, h):
    """Covariance of the Levy fBm field on the ny x nx pixel grid, anchored at pixel (0, 0)."""
    yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
    p = np.stack([yy.ravel(), xx.ravel()], 1).astype(float)
    r = np.hypot(p[:, 0], p[:, 1])
    d = np.hypot(p[:, None, 0] - p[None, :, 0], p[:, None, 1] - p[None, :, 1])
    return 0.5 * (r[:, None] ** (2 * h) + r[None, :] ** (2 * h) - d ** (2 * h))


def zscore(samples, target):
    """(mean - target) / standard error of the mean, over axis 0 (the seeds)."""
    samples = np.asarray(samples)
    return (samples.mean(0) - target) / (samples.std(0, ddof=1) / np.sqrt(len(samples)))


def ratio_z(num, den, target):
    """z-score of mean(num) / mean(den) against target, jackknife standard error over seeds."""
    num, den = np.asarray(num), np.asarray(den)
    n = len(num)
    t = num.mean() / den.mean()
    loo = (num.sum() - num) / (den.sum() - den)
    se = np.sqrt((n - 1) / n * np.sum((loo - loo.mean()) ** 2))
    return (t - target) / se, t


# --------------------------------------------------------------------------- 1-D, exact

@pytest.mark.parametrize("h", [0.05, 0.3, 0.5, 0.75, 0.95])
@pytest.mark.parametrize("n", [1, 2, 7, 40])
def test_fgn_covariance_is_exact(n, h):
    """Unit noise vectors through the generator: the covariance is Toeplitz(gamma) to round-off."""
    lam = S._clip_roundoff(S._fgn_eigenvalues(n, h))
    m = 2 * (lam.size - 1)
    a = np.array([S._fgn_from_noise(lam, e, n) for e in np.eye(m)]).T  # (n, m)
    np.testing.assert_allclose(a @ a.T, scipy.linalg.toeplitz(gamma(np.arange(n), h)), atol=1e-12)


@pytest.mark.parametrize("h", [0.01, 0.2, 0.8, 0.99])
def test_autocovariance_is_accurate_at_large_lags(h):
    k = np.array([0.0, 1.0, 2.0, 3.0, 10.0])
    np.testing.assert_allclose(S._fgn_autocovariance(k, h), gamma(k, h), rtol=1e-12, atol=1e-15)
    # far out, gamma(k) ~ H (2H - 1) k**(2H-2) (1 + (2H-2)(2H-3)/(12 k**2)): the direct
    # second difference loses every digit there; the module must not
    k = np.array([1e5, 1e6, 1e7])
    c = h * (2 * h - 1) * k ** (2 * h - 2) * (1 + (2 * h - 2) * (2 * h - 3) / (12 * k ** 2))
    np.testing.assert_allclose(S._fgn_autocovariance(k, h), c, rtol=1e-6)


@pytest.mark.parametrize("h", [0.2, 0.5, 0.8])
def test_fgn_sample_autocovariance_matches_closed_form(h):
    n, seeds, lags = 256, 400, np.array([0, 1, 2, 5, 20, 100])
    x = np.array([fgn(n, h, seed) for seed in range(seeds)])
    prod = np.array([(x[:, : n - k] * x[:, k:]).mean(1) for k in lags]).T  # (seeds, lags)
    z = zscore(prod, gamma(lags, h))
    bias = prod.mean(0) - gamma(lags, h)
    assert np.all(np.abs(z) < Z_TOL), f"H={h}: bias {bias} at lags {lags}, z {z}"


def increment_variances(paths, lags):
    return np.array([((paths[:, k:] - paths[:, :-k]) ** 2).mean(1) for k in lags]).T


@pytest.mark.parametrize("h", [0.2, 0.8])
def test_fbm_increments_scale_as_k_to_the_2h(h):
    lags = np.array([1, 4, 16, 64])
    paths = np.array([fbm(257, h, seed) for seed in range(300)])
    assert np.all(paths[:, 0] == 0.0)
    v = increment_variances(paths, lags)
    z = zscore(v, lags ** (2.0 * h))
    assert np.all(np.abs(z) < Z_TOL), f"H={h}: E|dB|^2 / k^2H = {v.mean(0) / lags ** (2 * h)}, z {z}"
    # scale-free form of the same check (the spectral generator is normalized, so only this
    # one applies to it): V(64) / V(1) = 64**2H
    zr, _ = ratio_z(v[:, 3], v[:, 0], 64.0 ** (2 * h))
    assert abs(zr) < Z_TOL


@pytest.mark.parametrize("h", [0.2, 0.8])
def test_spectral_fbm_1d_fails_the_increment_check(h):
    """The same scale-free check rejects the approximate generator: the check can fail."""
    lags = np.array([1, 64])
    paths = np.array([fbm_1d(256, h, seed) for seed in range(300)])
    v = increment_variances(paths, lags)
    zr, ratio = ratio_z(v[:, 1], v[:, 0], 64.0 ** (2 * h))
    assert abs(zr) > Z_TOL, f"H={h}: V(64)/V(1) = {ratio:.3g}, closed form {64.0 ** (2 * h):.3g}"


@pytest.fixture
def global_numpy_rng():
    """The `fbm` package draws from numpy's global generator: seed it, restore it after."""
    state = np.random.get_state()
    yield np.random.seed
    np.random.set_state(state)


def lag1_autocorrelation(x):
    x = np.asarray(x)
    return (x[:-1] * x[1:]).sum() / (x * x).sum()


@pytest.mark.parametrize("h", [0.2, 0.8])
def test_agrees_with_the_fbm_package(h, global_numpy_rng):
    n, seeds = 256, 300
    ours, theirs = [], []
    ours_sq, theirs_sq = [], []
    for seed in range(seeds):
        global_numpy_rng(10_000 + seed)
        ref = fbm_oracle.FBM(n, h, length=n, method="daviesharte")  # unit time step
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the package must not fall back to Hosking here
            their_path = ref.fbm()
        our_path = fbm(n + 1, h, seed)  # n + 1 points, B(0) = 0, like the package's fbm()
        assert their_path.shape == our_path.shape
        ours.append(lag1_autocorrelation(np.diff(our_path)))
        theirs.append(lag1_autocorrelation(np.diff(their_path)))
        ours_sq.append(np.log(np.mean((our_path[8:] - our_path[:-8]) ** 2)))
        theirs_sq.append(np.log(np.mean((their_path[8:] - their_path[:-8]) ** 2)))
    for a, b in [(ours, theirs), (ours_sq, theirs_sq)]:
        p = scipy.stats.ks_2samp(a, b).pvalue
        assert p > 1e-3, f"H={h}: KS p = {p:.2g}; medians {np.median(a):.4f} vs {np.median(b):.4f}"
    # and the spectral approximation is told apart by the same test
    spectral = [lag1_autocorrelation(np.diff(fbm_1d(n + 1, h, seed))) for seed in range(seeds)]
    assert scipy.stats.ks_2samp(spectral, theirs).pvalue < 1e-6


def test_fgn_api():
    x = fgn(1000, 0.7, seed=3)
    assert x.shape == (1000,) and x.dtype == np.float64
    np.testing.assert_array_equal(x, fgn(1000, 0.7, seed=3))
    assert not np.array_equal(x, fgn(1000, 0.7, seed=4))
    np.testing.assert_allclose(fgn(1000, 0.7, seed=3, sigma=2.5), 2.5 * x, rtol=1e-14)
    b = fbm(1001, 0.7, seed=3)
    assert b[0] == 0.0
    np.testing.assert_allclose(np.diff(b), x, rtol=1e-12, atol=1e-12)
    assert fbm(1, 0.3).tolist() == [0.0] and fgn(1, 0.3).shape == (1,)
    for bad in [dict(hurst=0.0), dict(hurst=1.0), dict(hurst=0.5, sigma=0.0), dict(hurst=0.5, sigma=np.nan)]:
        with pytest.raises(ValueError):
            fgn(10, **bad)
    with pytest.raises(ValueError):
        fgn(0, 0.5)
    with pytest.raises(WorkLimitError):
        fgn(S.MAX_SERIES + 1, 0.5)


def test_fgn_long_series_needs_no_fallback():
    with warnings.catch_warnings():
        warnings.simplefilter("error", SynthesisFallbackWarning)
        for h in (0.01, 0.99):
            x = fgn(1 << 20, h, seed=1)
            assert x.shape == (1 << 20,) and np.isfinite(x).all()


def test_fgn_is_thread_safe():
    args = [(4096, h, seed) for h in (0.3, 0.7) for seed in range(8)]
    serial = [fgn(*a) for a in args]
    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(lambda a: fgn(*a), args))
    for a, b in zip(serial, threaded):
        np.testing.assert_array_equal(a, b)


# ------------------------------------------------------------------- 1-D, the fallback

TRUE_EIGENVALUES = S._fgn_eigenvalues


def broken_eigenvalues(n, h):
    lam = TRUE_EIGENVALUES(n, h).copy()
    lam[len(lam) // 2] = -0.1 * lam.max()
    return lam


def test_fallback_is_reported_and_exact(monkeypatch):
    monkeypatch.setattr(S, "_fgn_eigenvalues", broken_eigenvalues)
    with pytest.warns(SynthesisFallbackWarning, match="Durbin-Levinson"):
        x = fgn(300, 0.8, seed=5)
    assert x.shape == (300,) and np.isfinite(x).all()
    with pytest.warns(SynthesisFallbackWarning):
        np.testing.assert_array_equal(x, fgn(300, 0.8, seed=5))
    # the fallback's own covariance, exactly: unit noise through the recursion
    for h in (0.2, 0.8):
        g = gamma(np.arange(30), h)
        a = np.array([S._durbin_levinson(g, e) for e in np.eye(30)]).T
        np.testing.assert_allclose(a @ a.T, scipy.linalg.toeplitz(g), atol=1e-12)
    with pytest.raises(WorkLimitError, match="fallback"):
        fgn(S.MAX_FALLBACK_SERIES + 1, 0.8)


def test_roundoff_negatives_are_clipped_not_reported(monkeypatch):
    def roundoff(n, h):
        lam = TRUE_EIGENVALUES(n, h).copy()
        lam[-1] = -1e-14
        return lam
    monkeypatch.setattr(S, "_fgn_eigenvalues", roundoff)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SynthesisFallbackWarning)
        assert np.isfinite(fgn(100, 0.6)).all()


def test_fallback_sample_covariance(monkeypatch):
    monkeypatch.setattr(S, "_fgn_eigenvalues", broken_eigenvalues)
    lags = np.array([0, 1, 10])
    with pytest.warns(SynthesisFallbackWarning):
        x = np.array([fgn(64, 0.75, seed) for seed in range(300)])
    prod = np.array([(x[:, : 64 - k] * x[:, k:]).mean(1) for k in lags]).T
    assert np.all(np.abs(zscore(prod, gamma(lags, 0.75))) < Z_TOL)


# --------------------------------------------------------------------------- 2-D, exact

@pytest.mark.parametrize("h", [0.1, 0.5, 0.75, 0.8, 0.95])
@pytest.mark.parametrize("shape", [(2, 2), (4, 5), (9, 6)])
def test_fbm_surface_exact_covariance_is_exact(shape, h):
    """Unit noise through the generator: the covariance is the Levy field's, to round-off."""
    ny, nx = shape
    plan = S._stein_plan(ny, nx, h)
    half = plan[1]
    noise_shape = (2 * half, half + 1, 2)
    size = int(np.prod(noise_shape))
    cols = [S._stein_from_noise(plan, e.reshape(noise_shape), np.zeros(2), ny, nx, h).ravel()
            for e in np.eye(size)]
    cols += [S._stein_from_noise(plan, np.zeros(noise_shape), e, ny, nx, h).ravel() for e in np.eye(2)]
    a = np.array(cols).T
    np.testing.assert_allclose(a @ a.T, levy_covariance(ny, nx, h), atol=1e-12)


DIRECTIONS = {"x": (0, 1), "y": (1, 0), "diagonal": (1, 1), "knight": (1, 2)}


def variograms(z, lags, direction):
    dy, dx = direction
    out = []
    for k in lags:
        sy, sx = k * dy, k * dx
        out.append(np.mean((z[sy:, sx:] - z[: z.shape[0] - sy, : z.shape[1] - sx]) ** 2))
    return out


@pytest.mark.parametrize("h", [0.2, 0.8])
def test_fbm_surface_exact_variogram(h):
    lags = np.array([1, 2, 4, 8, 16])
    surfaces = [fbm_surface_exact(48, h, seed) for seed in range(150)]
    for name, d in DIRECTIONS.items():
        v = np.array([variograms(z, lags, d) for z in surfaces])
        target = (lags * np.hypot(*d)) ** (2 * h)
        z = zscore(v, target)
        rel = v.mean(0) / target - 1
        assert np.all(np.abs(z) < Z_TOL), f"H={h} {name}: relative bias {rel}, z {z}"


@pytest.mark.parametrize("h", [0.2, 0.8])
def test_variogram_ratio_passes_exact_and_fails_spectral(h):
    """Scale-free check V(16 pixels) / V(1 pixel) = 16**2H, along x and the diagonal."""
    for name, d in [("x", (0, 1)), ("diagonal", (1, 1))]:
        exact = np.array([variograms(fbm_surface_exact(48, h, s), [1, 16], d) for s in range(150)])
        spectral = np.array([variograms(fbm_surface(48, h, s, dtype=np.float64), [1, 16], d)
                             for s in range(150)])
        z_exact, r_exact = ratio_z(exact[:, 1], exact[:, 0], 16.0 ** (2 * h))
        z_spec, r_spec = ratio_z(spectral[:, 1], spectral[:, 0], 16.0 ** (2 * h))
        assert abs(z_exact) < Z_TOL, f"exact H={h} {name}: ratio {r_exact:.3f} vs {16.0 ** (2 * h):.3f}"
        assert abs(z_spec) > Z_TOL, f"spectral H={h} {name}: ratio {r_spec:.3f} vs {16.0 ** (2 * h):.3f}"


def test_fbm_surface_exact_api():
    z = fbm_surface_exact((20, 33), 0.4, seed=2)
    assert z.shape == (20, 33) and z.dtype == np.float64 and z[0, 0] == 0.0
    np.testing.assert_array_equal(z, fbm_surface_exact((20, 33), 0.4, seed=2))
    assert not np.array_equal(z, fbm_surface_exact((20, 33), 0.4, seed=3))
    np.testing.assert_allclose(fbm_surface_exact((20, 33), 0.4, seed=2, sigma=3.0), 3 * z, rtol=1e-13)
    assert fbm_surface_exact(16, 0.9).shape == (16, 16)
    with pytest.raises(ValueError, match="Hurst"):
        fbm_surface_exact(16, 1.0)
    with pytest.raises(ValueError):
        fbm_surface_exact(1, 0.5)
    with pytest.raises(ValueError, match="sigma"):
        fbm_surface_exact(16, 0.5, sigma=-1)
    with pytest.raises(WorkLimitError, match="2048 x 2048"):
        fbm_surface_exact(4096, 0.5)
    with pytest.raises(WorkLimitError, match="1024 x 1024"):
        fbm_surface_exact(1200, 0.9)


def test_embedding_failure_is_an_error(monkeypatch):
    """Without Stein's intrinsic term (c2 = 0) the plain embedding is not non-negative definite."""
    monkeypatch.setattr(S, "_stein_covariance", lambda alpha: (1.0, 0.0, 1.0 - alpha / 2, 0.0))
    with pytest.raises(EmbeddingError, match="negative eigenvalue"):
        fbm_surface_exact(32, 0.5)


# ---------------------------------------------------------------- approximate generators

def test_fbm_surface_same_surface_for_both_dtypes():
    a = fbm_surface((64, 96), 0.6, seed=7, dtype=np.float32)
    b = fbm_surface((64, 96), 0.6, seed=7, dtype=np.float64)
    assert a.dtype == np.float32 and b.dtype == np.float64
    np.testing.assert_allclose(a, b, atol=1e-5)


def variogram_hurst(z, lags=(1, 2, 4, 8, 16)):
    v = [0.5 * (np.mean((z[:, k:] - z[:, :-k]) ** 2) + np.mean((z[k:] - z[:-k]) ** 2)) for k in lags]
    return np.polyfit(np.log(lags), np.log(v), 1)[0] / 2


def second_difference_by_level(z, k):
    """Mean squared second difference along x at columns of each subdivision level, relative
    to the finest level: 1 everywhere for a stationary field; creases show up as > 1."""
    n = z.shape[1]
    d2 = np.mean(np.diff(z, 2, axis=1) ** 2, axis=0)  # centred at columns 1 .. n-2
    cols = np.arange(1, n - 1)
    level = np.array([(int(c) & -int(c)).bit_length() - 1 for c in cols])
    return np.array([d2[level == j].mean() for j in range(k)]) / d2[level == 0].mean()


@pytest.mark.parametrize("h", [0.2, 0.8])
def test_diamond_square_is_consistent_and_crease_free(h):
    k, seeds = 7, 40
    ds = [diamond_square(k, h, seed) for seed in range(seeds)]
    est = np.array([variogram_hurst(z) for z in ds])
    # the variogram's Hurst exponent within 0.03 of H (mean over seeds; spread reported)
    assert abs(est.mean() - h) < 0.03, f"H={h}: variogram H {est.mean():.3f} +- {est.std():.3f}"
    levels = np.mean([second_difference_by_level(z, k) for z in ds], axis=0)
    assert np.all(np.abs(levels - 1) < 0.1), f"H={h}: second differences by level {np.round(levels, 3)}"


def test_diamond_square_api():
    d = diamond_square(5, 0.5, seed=1)
    assert d.shape == (33, 33) and d.dtype == np.float64
    np.testing.assert_array_equal(d, diamond_square(5, 0.5, seed=1))
    assert abs(d.mean()) < 1e-12 and d.std() == pytest.approx(1.0)
    assert diamond_square(1, 0.5).shape == (3, 3)
    with pytest.raises(ValueError):
        diamond_square(13, 0.5)
