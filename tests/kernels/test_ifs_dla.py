import numpy as np
import pytest

from fractalkit import (BARNSLEY_FERN, BARNSLEY_FERN_P, LSYSTEMS, SIERPINSKI, WorkLimitError,
                        box_counting_dimension, chaos_game, density, dla, expand, gyration_dimension,
                        lsystem_segments)


def test_chaos_game_deterministic_and_bounded():
    a, wa = chaos_game(BARNSLEY_FERN, BARNSLEY_FERN_P, 50_000, seed=3)
    b, wb = chaos_game(BARNSLEY_FERN, BARNSLEY_FERN_P, 50_000, seed=3)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50_000, 2)
    assert a[:, 1].min() >= 0 and a[:, 1].max() <= 10.01 and np.abs(a[:, 0]).max() < 2.8
    # the maps are used in proportion to their probabilities
    np.testing.assert_allclose(np.bincount(wa, minlength=4) / wa.size, BARNSLEY_FERN_P, atol=0.01)


def test_chaos_game_sierpinski_dimension():
    pts, _ = chaos_game(SIERPINSKI, None, 2_000_000, seed=1)
    img = density(pts, (1024, 1024), extent=(0, 1, 0, 1)) > 0
    assert box_counting_dimension(img, 2, 64).value == pytest.approx(np.log(3) / np.log(2), abs=0.03)


def test_ifs_rejects_expanding_map():
    with pytest.raises(ValueError, match="not contractive"):
        chaos_game([[1.2, 0, 0, 0.5, 0, 0]], None, 10)


def test_lsystem_expansion_and_segments():
    assert expand("F", {"F": "F+F--F+F"}, 2) == "F+F--F+F+F+F--F+F--F+F--F+F+F+F--F+F"
    for name, preset in LSYSTEMS.items():
        s, e, d = lsystem_segments(name)
        assert s.shape == e.shape and len(s) > 100, name
    s, e, _ = lsystem_segments("Koch curve", 3)
    assert len(s) == 4 ** 3
    np.testing.assert_allclose(np.linalg.norm(e - s, axis=1), 1.0)


def test_lsystem_cap():
    with pytest.raises(WorkLimitError, match="L-system symbols"):
        expand("F", {"F": "FFFF"}, 20)


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
