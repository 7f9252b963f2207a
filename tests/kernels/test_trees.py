import numpy as np
import pytest

from fractalkit import Squares, WorkLimitError, nan_path, pythagoras_tree, segment_count, tree_2d, tree_3d


@pytest.mark.parametrize("depth", [0, 1, 5, 12])
def test_binary_tree_segment_count(depth):
    seg = tree_2d(depth, 2)
    assert len(seg) == 2 ** (depth + 1) - 1 == segment_count(depth, 2)
    assert seg.start.shape == seg.end.shape == (len(seg), 2)
    assert seg.start.dtype == np.float64 and seg.level.dtype == np.int32


def test_children_start_where_parents_end_and_shrink():
    seg = tree_2d(3, 3, length_ratio=0.5)
    lengths = np.linalg.norm(seg.end - seg.start, axis=1)
    np.testing.assert_allclose(lengths, 0.5 ** seg.level)
    np.testing.assert_allclose(seg.start[1:4], np.repeat(seg.end[:1], 3, axis=0))


def test_same_seed_same_tree_and_jitter_changes_it():
    a = tree_2d(8, 2, jitter=0.5, seed=7)
    b = tree_2d(8, 2, jitter=0.5, seed=7)
    c = tree_2d(8, 2, jitter=0.5, seed=8)
    np.testing.assert_array_equal(a.end, b.end)
    assert not np.allclose(a.end, c.end)


def test_3d_tree():
    seg = tree_3d(5, 3, length_ratio=0.6)
    assert len(seg) == segment_count(5, 3) and seg.start.shape[1] == 3
    np.testing.assert_allclose(np.linalg.norm(seg.end - seg.start, axis=1), 0.6 ** seg.level)
    np.testing.assert_array_equal(tree_3d(4, 3, jitter=0.3, seed=1).end, tree_3d(4, 3, jitter=0.3, seed=1).end)


def test_pythagoras_squares_shrink_by_cos_and_sin():
    tree = pythagoras_tree(6, 30.0)
    assert isinstance(tree, Squares) and tree.level.dtype == np.int32
    sq, lev = tree
    assert sq.shape == (2 ** 7 - 1, 4, 2)
    side = np.linalg.norm(sq[:, 1] - sq[:, 0], axis=1)
    np.testing.assert_allclose(side[1:3], [np.cos(np.pi / 6), np.sin(np.pi / 6)])
    # each square is a square: equal sides, right angles
    np.testing.assert_allclose(np.linalg.norm(sq[:, 3] - sq[:, 0], axis=1), side)


def test_nan_path_is_one_polyline():
    seg = tree_2d(4)
    path = nan_path(seg.start, seg.end)
    assert path.shape == (3 * len(seg), 2)
    assert np.isnan(path[2::3]).all() and np.isfinite(path[0::3]).all()


def test_tree_caps():
    with pytest.raises(WorkLimitError, match="tree segments"):
        tree_2d(25, 2)
    with pytest.raises(ValueError):
        tree_2d(5, 2, length_ratio=1.5)
