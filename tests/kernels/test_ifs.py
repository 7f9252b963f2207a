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


# Cantor-set maps x -> x/3 + 1 and x -> x/3 + 5/3 (y -> y/3): the attractor is 3/2 + C x {0},
# C the middle-thirds Cantor set, and the origin is not on it.
CANTOR = [[1 / 3, 0, 0, 1 / 3, 1.0, 0.0], [1 / 3, 0, 0, 1 / 3, 5 / 3, 0.0]]


def distance_to_cantor_set(u, levels=40):
    """Exact distance of u to the middle-thirds Cantor set C in [0, 1] (to ~1e-16)."""
    if u < 0 or u > 1:
        return max(-u, u - 1)
    scale = 1.0
    for _ in range(levels):
        if 1 / 3 < u < 2 / 3:  # in the removed middle third: the nearest ends are points of C
            return scale * min(u - 1 / 3, 2 / 3 - u)
        # in a kept third, the nearest point of C lies in that third: zoom in on it
        u, scale = (3 * u, scale / 3) if u <= 1 / 3 else (3 * u - 2, scale / 3)
    return 0.0


def test_every_point_is_on_the_cantor_attractor():
    pts, which = chaos_game(CANTOR, None, 20_000, seed=4)
    assert np.all(pts[:, 1] == 0.0)
    d = np.array([distance_to_cantor_set(x - 1.5) for x in pts[:, 0]])
    assert d.max() < 1e-12, f"first point {pts[0]}, worst distance {d.max():.3g}"
    assert distance_to_cantor_set(0.0 - 1.5) > 1  # the old start, the origin, is far off


def test_weak_contraction_starts_on_the_attractor():
    """Maps of ratio 0.95 towards 10 and 11: the attractor is the segment [10, 11] x {0}.
    Started at the origin, 20 burn-in steps leave the first point near 0.36 * 10 + 6.4."""
    maps = [[0.95, 0, 0, 0.95, 0.05 * 10, 0], [0.95, 0, 0, 0.95, 0.05 * 11, 0]]
    pts, _ = chaos_game(maps, None, 5_000, seed=0)
    assert pts[:, 0].min() >= 10 - 1e-12 and pts[:, 0].max() <= 11 + 1e-12
    assert np.all(pts[:, 1] == 0.0)


def test_start_skips_maps_that_are_never_used():
    pts, which = chaos_game(CANTOR, [0.0, 1.0], 100, seed=0)
    np.testing.assert_allclose(pts[:, 0], 2.5, rtol=1e-15)  # the fixed point of map 2
    assert np.all(which == 1)


def test_burn_discards_leading_points():
    a, wa = chaos_game(SIERPINSKI, None, 1000, seed=9, burn=37)
    b, wb = chaos_game(SIERPINSKI, None, 1037, seed=9)
    np.testing.assert_array_equal(a, b[37:])
    np.testing.assert_array_equal(wa, wb[37:])
    with pytest.raises(ValueError, match="burn"):
        chaos_game(SIERPINSKI, None, 10, burn=-1)
