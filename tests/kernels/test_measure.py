import numpy as np
import pytest

from fractalkit import diamond_square, dfa, fbm_1d, fbm_surface, pink_noise, spectral_hurst


@pytest.mark.parametrize("h", [0.2, 0.5, 0.8])
def test_fbm_surface_recovers_hurst(h):
    # spectral synthesis has an exact power-law spectrum, without the alias of sampled fBm
    # (exact fBm is measured in test_selfaffine.py)
    est = [spectral_hurst(fbm_surface(256, h, seed), alias_correction=False, n_boot=0).value for seed in range(4)]
    assert np.mean(est) == pytest.approx(h, abs=0.05)


@pytest.mark.parametrize("h", [0.2, 0.5, 0.8])
def test_fbm_1d_recovers_hurst(h):
    est = [spectral_hurst(fbm_1d(8192, h, seed), alias_correction=False, n_boot=0).value for seed in range(4)]
    assert np.mean(est) == pytest.approx(h, abs=0.05)


def test_fbm_properties():
    a = fbm_surface((128, 256), 0.7, seed=1)
    assert a.shape == (128, 256) and a.dtype == np.float32
    np.testing.assert_array_equal(a, fbm_surface((128, 256), 0.7, seed=1))
    assert abs(float(a.mean())) < 1e-4 and float(a.std()) == pytest.approx(1.0, abs=1e-3)
    assert fbm_surface(64, 0.5, dtype=np.float64).dtype == np.float64
    # one seed, one surface, whatever the dtype (the noise is drawn in float64)
    np.testing.assert_allclose(a, fbm_surface((128, 256), 0.7, seed=1, dtype=np.float64), atol=1e-5)
    with pytest.raises(ValueError, match="Hurst"):
        fbm_surface(64, 1.5)


def test_pink_noise_and_diamond_square():
    p = pink_noise(1 << 14, seed=2)
    # 1/f noise has beta = 1, i.e. "H" = 0 in the 1D fBm convention beta = 2H + 1; DFA alpha = 1
    assert spectral_hurst(p, alias_correction=False, n_boot=0).value == pytest.approx(0.0, abs=0.05)
    assert dfa(p, n_boot=0).value == pytest.approx(1.0, abs=0.05)
    d = diamond_square(7, 0.7, seed=3)
    assert d.shape == (129, 129)
    np.testing.assert_array_equal(d, diamond_square(7, 0.7, seed=3))
