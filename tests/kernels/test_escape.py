import numpy as np
import pytest
import scipy.ndimage

from fractalkit import Viewport, WorkLimitError, inside, julia, mandelbrot, mandelbrot_reference

FULL = Viewport(-0.5, 0.0, 3.0, 320, 240)


@pytest.mark.parametrize("c", [0j, -1 + 0j, 1j, -0.1226 + 0.7449j])
def test_known_points_inside(c):
    vp = Viewport(c.real, c.imag, 1e-9, 1, 1)
    assert inside(mandelbrot(vp, 1000, smooth=False), 1000).all()
    assert np.isnan(mandelbrot(vp, 1000)).all()


@pytest.mark.parametrize("c", [1 + 0j, 0.5 + 0j, -2.1 + 0j, 0.5j + 0.5])
def test_known_points_outside(c):
    vp = Viewport(c.real, c.imag, 1e-9, 1, 1)
    assert not inside(mandelbrot(vp, 1000, smooth=False), 1000).any()


def test_agrees_with_plain_float64_reference():
    ours = mandelbrot(FULL, 256, smooth=False)
    ref = mandelbrot_reference(FULL, 256)
    assert ours.shape == ref.shape == (240, 320)
    assert (ours == ref).mean() >= 0.9995


def test_shortcuts_change_no_pixel():
    for vp in (FULL, Viewport(-0.7435, 0.1314, 0.002, 200, 150), Viewport(-1.25, 0.0, 0.6, 200, 150)):
        fast = mandelbrot(vp, 500, smooth=False, shortcuts=True)
        slow = mandelbrot(vp, 500, smooth=False, shortcuts=False)
        np.testing.assert_array_equal(fast, slow)


def julia_numpy(c, vp, max_iter):
    """Escape counts of z <- z**2 + c by plain numpy complex arithmetic, as mandelbrot_reference."""
    re, im = vp.axes()
    z = re[None, :] + 1j * im[:, None]
    counts = np.full(z.shape, max_iter, dtype=np.int32)
    alive = np.ones(z.shape, dtype=bool)
    for n in range(max_iter):
        escaped = alive & (z.real ** 2 + z.imag ** 2 > 256.0 ** 2)
        counts[escaped] = n
        alive &= ~escaped
        z = np.where(alive, z * z + c, z)
    counts[alive & (z.real ** 2 + z.imag ** 2 > 256.0 ** 2)] = max_iter - 1
    return counts


@pytest.mark.parametrize("nx", [1, 2, 15, 16, 17, 33, 47])
def test_every_pixel_of_every_lane_block_is_computed(nx):
    """The kernels iterate 16 pixels of a row together (SIMD lanes): rows of any length, the
    block at a row's end included, give each pixel its own count, as plain numpy iteration does."""
    vp = Viewport(-0.7436, 0.1318, 0.004 * nx / 16, nx, 5)
    ref = mandelbrot_reference(vp, 400)
    assert len(np.unique(ref)) >= min(nx, 5)
    for shortcuts in (True, False):
        np.testing.assert_array_equal(mandelbrot(vp, 400, smooth=False, shortcuts=shortcuts), ref)
    jvp = Viewport(0.29, 0.47, 0.02 * nx / 16, nx, 5)
    np.testing.assert_array_equal(julia(RABBIT, jvp, 400, smooth=False), julia_numpy(RABBIT, jvp, 400))


def test_smooth_is_continuous_refinement_of_counts():
    counts = mandelbrot(FULL, 256, smooth=False)
    smooth = mandelbrot(FULL, 256)
    out = ~inside(counts, 256)
    np.testing.assert_array_equal(np.isnan(smooth), ~out)
    d = smooth[out] - counts[out]
    assert d.min() >= 0.0 and d.max() < 1.0


def test_deep_zoom_float64_is_not_pixelated():
    vp = Viewport(-0.743643887037151, 0.131825904205330, 1e-11, 64, 64)
    img = mandelbrot(vp, 3000)
    assert len(np.unique(img[np.isfinite(img)])) > 100


RABBIT = -0.123 + 0.745j  # Douady's rabbit: c in M (an attracting 3-cycle), K_c connected
CARDIOID = -0.4 + 0.3j  # inside the main cardioid: K_c is a topological disc
DUST = -0.8 + 0.156j  # just outside M (|c + 1| > 1/4, beside the period-2 disc): a Cantor dust


def critical_orbit_count(c, max_iter):
    """Escape count of the critical point z0 = 0 (the single pixel of a tiny viewport at 0)."""
    return int(julia(c, Viewport(0.0, 0.0, 1e-9, 1, 1), max_iter, smooth=False)[0, 0])


def test_julia_symmetry():
    img = julia(RABBIT, Viewport(0, 0, 3.2, 201, 151), 300, smooth=False)
    np.testing.assert_array_equal(img, img[::-1, ::-1])  # z -> -z symmetry
    assert inside(julia(0j, Viewport(0, 0, 1.0, 9, 9), 100, smooth=False), 100).all()


def test_julia_connectedness():
    """Fatou-Julia: K_c is connected iff the critical orbit stays bounded, a Cantor dust if not."""
    assert critical_orbit_count(RABBIT, 100_000) == 100_000
    assert critical_orbit_count(CARDIOID, 100_000) == 100_000
    assert critical_orbit_count(DUST, 100_000) < 1000
    # and what the pixels show: one piece inside the cardioid, hundreds of specks outside M
    vp = Viewport(0, 0, 3.2, 201, 151)
    eight = np.ones((3, 3), bool)
    assert scipy.ndimage.label(inside(julia(CARDIOID, vp, 300, smooth=False), 300), eight)[1] == 1
    assert scipy.ndimage.label(inside(julia(DUST, vp, 300, smooth=False), 300), eight)[1] > 100


def test_work_caps():
    with pytest.raises(WorkLimitError, match="pixels x iterations"):
        mandelbrot(Viewport(0, 0, 1, 4000, 4000), 1_000_000)
    with pytest.raises(ValueError):
        mandelbrot(Viewport(0, 0, 1, 0, 10), 10)
    with pytest.raises(ValueError, match="finite"):
        julia(complex("nan"), FULL, 10)


def test_integer_parameters_are_validated():
    with pytest.raises(ValueError, match="max_iter must be an integer"):
        mandelbrot(FULL, 10.5)
    with pytest.raises(ValueError, match="must be an integer"):
        mandelbrot(Viewport(0, 0, 1, float("nan"), 10), 10)
    assert mandelbrot(Viewport(0, 0, 1, 4.0, 3), np.int64(10)).shape == (3, 4)
