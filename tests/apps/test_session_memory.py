"""A class of sessions: results shared across sessions within a budget, small session states."""
from __future__ import annotations

import pickle
import threading
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from utils.gallery import APPS, APPS_DIR, TIMEOUT, start  # puts the apps' folder on the path, as Streamlit does

from gallerykit import SharedResults, shared_results  # noqa: E402  isort: skip


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


def test_sessions_asking_at_the_same_moment_compute_once_and_see_the_progress():
    """In-flight de-duplication: 12 sessions ask for one result while it is being computed; it is
    computed once, every session gets that object, and the waiting sessions see its progress."""
    store = SharedResults(max_bytes=10**6)
    calls, seen, start_line = [], {}, threading.Barrier(12)

    def waiting_seen(at_least):
        return sum(1 for n in range(12) if max(seen.get(("progress", n), [0.0])) >= at_least)

    def compute(report):
        calls.append(threading.get_ident())
        for fraction in (0.2, 0.8):  # each step waits (up to 30 s) until the 11 others have seen it
            report(fraction, f"{fraction:.0%}")
            deadline = time.monotonic() + 30
            while waiting_seen(fraction) < 12 and time.monotonic() < deadline:
                time.sleep(0.02)
        return np.arange(1000)

    def session(n):
        start_line.wait()
        seen[n] = store.get_or_compute("k", compute, lambda v: v.nbytes, poll=0.01,
                                       progress=lambda f, text: seen.setdefault(("progress", n), []).append(f))

    threads = [threading.Thread(target=session, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    values = [seen[n] for n in range(12)]
    assert all(v is values[0] for v in values) and not values[0].flags.writeable
    assert waiting_seen(0.8) == 12, seen


def test_a_failed_computation_fails_its_session_and_the_waiting_ones_compute_it():
    store = SharedResults(max_bytes=10**6)
    calls, results, release = [], {}, threading.Event()

    def compute(report):
        calls.append(None)
        if len(calls) == 1:  # the first session's run fails (or is stopped by a rerun) midway
            release.wait(5)
            raise RuntimeError("stopped")
        return np.zeros(10)

    def session(n):
        try:
            results[n] = store.get_or_compute("k", compute, lambda v: v.nbytes, poll=0.01)
        except RuntimeError as exc:
            results[n] = exc

    first = threading.Thread(target=session, args=(0,))
    first.start()
    while not calls:
        time.sleep(0.01)
    others = [threading.Thread(target=session, args=(n,)) for n in (1, 2, 3)]
    for t in others:
        t.start()
    time.sleep(0.2)
    release.set()
    for t in (first, *others):
        t.join()
    assert isinstance(results[0], RuntimeError)
    assert len(calls) == 2 and all(results[n] is results[1] for n in (1, 2, 3))


def test_two_sessions_growing_the_same_dla_cluster_at_once_grow_it_once(monkeypatch):
    """The DLA page, two AppTest sessions at the same moment with a seed no other test uses."""
    import fractalkit

    grown = []
    real = fractalkit.dla

    def counting_dla(*args, **kwargs):
        grown.append(kwargs.get("seed"))
        return real(*args, **kwargs)

    monkeypatch.setattr(fractalkit, "dla", counting_dla)
    pages = [AppTest.from_file(str(APPS_DIR / "dla.py"), default_timeout=TIMEOUT) for _ in range(2)]
    for at in pages:
        at.session_state["d_seed"] = 4242
        at.session_state["d_particles"] = 20_000
    threads = [threading.Thread(target=at.run) for at in pages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for at in pages:
        assert not at.exception, [e.value for e in at.exception]
    assert grown == [4242], grown
    assert all(at.get("image") for at in pages)
