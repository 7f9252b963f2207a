"""fractalkit.ifs: the chaos game."""
import numpy as np
import pytest

from fractalkit import BARNSLEY_FERN, BARNSLEY_FERN_P, SIERPINSKI, box_counting_dimension, chaos_game, density


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
