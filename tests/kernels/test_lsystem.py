"""fractalkit.lsystem: rewriting and turtle geometry."""
import numpy as np
import pytest

from fractalkit import LSYSTEMS, WorkLimitError, expand, lsystem_segments


def test_lsystem_expansion_and_segments():
    assert expand("F", {"F": "F+F--F+F"}, 2) == "F+F--F+F+F+F--F+F--F+F--F+F+F+F--F+F"
    for name, preset in LSYSTEMS.items():
        seg = lsystem_segments(name)
        s, e = seg.start, seg.end
        assert s.shape == e.shape and seg.level.shape == (len(s),) and seg.width is None and len(s) > 100, name
    koch = lsystem_segments("Koch curve", 3)
    s, e = koch.start, koch.end
    assert len(s) == 4 ** 3
    np.testing.assert_allclose(np.linalg.norm(e - s, axis=1), 1.0)


def test_lsystem_cap():
    with pytest.raises(WorkLimitError, match="L-system symbols"):
        expand("F", {"F": "FFFF"}, 20)
