"""A class of sessions: results shared across sessions within a budget, small session states."""
from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from utils.gallery import APPS_DIR, PAGE_FILES  # puts the apps' folder on the path, as Streamlit does

from gallerykit import SharedResults, shared_results  # noqa: E402  isort: skip

APPS = sorted(PAGE_FILES)


def start(app: str) -> AppTest:
    at = AppTest.from_file(str(APPS_DIR / app), default_timeout=180)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("app", APPS)
def test_a_session_keeps_no_large_result_in_its_state(app):
    # Session state lives as long as the session (and its tab): large results belong in a
    # cache bounded for the whole server, or 20 students multiply them by 20.
    at = start(app)
    sizes = {k: len(pickle.dumps(v)) for k, v in at.session_state.items()}
    assert sum(sizes.values()) < 64 * 1024, sizes


def test_dla_clusters_are_grown_once_for_all_sessions():
    first = start("dla.py")
    key = (int(first.slider(key="d_particles").value), int(first.number_input(key="d_seed").value))
    clusters = shared_results("dla-clusters", 0)
    grown = clusters.get(key)
    assert grown is not None and not grown.grid.flags.writeable
    start("dla.py")  # another session, same inputs: served from the shared cache, not regrown
    assert clusters.get(key) is grown


def test_shared_results_stay_within_their_byte_budget():
    store = SharedResults(max_bytes=3000)
    for i in range(5):
        store.put(i, np.zeros(1000, np.uint8), 1000)
    assert len(store) == 3 and store.nbytes == 3000
    assert store.get(0) is None and store.get(1) is None
    store.get(2)                                   # now the most recently used
    store.put(5, np.zeros(1000, np.uint8), 1000)
    assert store.get(3) is None and store.get(2) is not None
    with pytest.raises(ValueError):
        store.get(2)[0] = 1                         # shared by every session: read-only
    store.put("big", np.zeros(10_000, np.uint8), 10_000)
    assert len(store) == 1 and store.get("big") is not None  # the newest is always kept


def test_shared_results_hold_their_budget_under_concurrent_sessions():
    store = SharedResults(max_bytes=10 * 1000)
    errors = []

    def session(n):
        try:
            for i in range(200):
                store.put((n, i), np.zeros(1000, np.uint8), 1000)
                store.get((n, i - 1))
                assert store.nbytes <= 10 * 1000
        except Exception as exc:  # noqa: BLE001 - reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(store) == 10 and store.nbytes == 10 * 1000
