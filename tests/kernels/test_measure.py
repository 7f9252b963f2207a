import numpy as np
import pytest

from fractalkit import (box_counting_dimension, box_counts, diamond_square, fbm_1d, fbm_surface,
                        hurst_exponent, lsystem_segments, pink_noise, rasterize_segments)


def sierpinski_raster(k):
    i = np.arange(2 ** k)
    return (i[:, None] & i[None, :]) == 0  # Pascal's triangle mod 2


def test_sierpinski_exact():
    fit = box_counting_dimension(sierpinski_raster(10))
    assert fit.value == pytest.approx(np.log2(3), abs=0.002)
    sizes, counts = box_counts(sierpinski_raster(6))
    np.testing.assert_array_equal(counts, 3 ** (6 - np.arange(7)))


def test_koch_curve():
    koch = lsystem_segments("Koch curve", 8)
    img = rasterize_segments(koch.start, koch.end, (4096, 4096))
    assert box_counting_dimension(img).value == pytest.approx(np.log(4) / np.log(3), abs=0.03)


def test_line_and_square():
    line = np.zeros((1024, 1024), bool)
    line[300, :] = True
    assert box_counting_dimension(line).value == pytest.approx(1.0, abs=0.02)
    diag = np.eye(1024, dtype=bool)
    assert box_counting_dimension(diag).value == pytest.approx(1.0, abs=0.02)
    assert box_counting_dimension(np.ones((1024, 1024), bool)).value == pytest.approx(2.0, abs=0.02)


def test_fit_reports_range_and_rejects_empty():
    fit = box_counting_dimension(sierpinski_raster(8), 2, 32)
    assert fit.fit_range == (2.0, 32.0) and fit.r2 > 0.999
    with pytest.raises(ValueError, match="empty"):
        box_counting_dimension(np.zeros((64, 64)))


@pytest.mark.parametrize("h", [0.2, 0.5, 0.8])
def test_fbm_surface_recovers_hurst(h):
    est = [hurst_exponent(fbm_surface(256, h, seed)).value for seed in range(4)]
    assert np.mean(est) == pytest.approx(h, abs=0.05)


@pytest.mark.parametrize("h", [0.2, 0.5, 0.8])
def test_fbm_1d_recovers_hurst(h):
    est = [hurst_exponent(fbm_1d(8192, h, seed)).value for seed in range(4)]
    assert np.mean(est) == pytest.approx(h, abs=0.05)


def test_fbm_properties():
    a = fbm_surface((128, 256), 0.7, seed=1)
    assert a.shape == (128, 256) and a.dtype == np.float32
    np.testing.assert_array_equal(a, fbm_surface((128, 256), 0.7, seed=1))
    assert abs(float(a.mean())) < 1e-4 and float(a.std()) == pytest.approx(1.0, abs=1e-3)
    assert fbm_surface(64, 0.5, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match="Hurst"):
        fbm_surface(64, 1.5)


def test_pink_noise_and_diamond_square():
    p = pink_noise(1 << 14, seed=2)
    # 1/f noise has beta = 1, i.e. "H" = 0 in the 1D fBm convention beta = 2H + 1
    assert hurst_exponent(p).value == pytest.approx(0.0, abs=0.05)
    d = diamond_square(7, 0.7, seed=3)
    assert d.shape == (129, 129)
    np.testing.assert_array_equal(d, diamond_square(7, 0.7, seed=3))
