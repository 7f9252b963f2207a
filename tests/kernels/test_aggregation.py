"""fractalkit.aggregation: diffusion-limited aggregation."""
import numpy as np
import pytest

from fractalkit import dla, gyration_dimension


def test_dla_grows_deterministically_with_progress():
    calls = []
    a = dla(1200, seed=5, progress=lambda done, total: calls.append((done, total)))
    b = dla(1200, seed=5)
    np.testing.assert_array_equal(a.grid, b.grid)
    assert a.particles == 1201 and (a.grid > 0).sum() == 1201
    assert calls[-1] == (1200, 1200) and len(calls) == 3
    # every particle touches an earlier one (4-neighbour connectivity)
    g = a.grid
    ys, xs = np.nonzero(g > 1)
    nb = np.stack([g[ys + 1, xs], g[ys - 1, xs], g[ys, xs + 1], g[ys, xs - 1]])
    assert np.all(((nb > 0) & (nb < g[ys, xs])).any(axis=0))


def test_dla_dimension_is_about_1_71():
    dims = [gyration_dimension(dla(15_000, seed=s)).value for s in range(3)]
    assert np.mean(dims) == pytest.approx(1.71, abs=0.06)
