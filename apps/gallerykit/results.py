"""Results shared by every session of the server, within a byte budget."""
from __future__ import annotations

import threading
from collections import OrderedDict

import streamlit as st

__all__ = ["SharedResults", "shared_results"]


class SharedResults:
    """Results shared by every session of the server, least recently used dropped first.

    For results that must be computed outside ``st.cache_data`` (which replays the Streamlit
    elements a cached function drew, so a progress bar cannot update inside one) and are too
    large to keep per session: a class of 20 students each growing a few capped DLA clusters
    would otherwise hold ~20 x 6 x 29 MB in their session states. Thread-safe; numpy arrays
    of stored values are made read-only, since every session gets the same object.

    :meth:`get_or_compute` also de-duplicates in flight: sessions asking for a key that another
    session is computing wait for that result (and see its progress) instead of computing it too.

    Parameters
    ----------
    max_bytes : int
        Budget for the stored values' ``nbytes`` together; the newest entry is always kept.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict = OrderedDict()  # key -> (value, nbytes)
        self._nbytes = 0
        self._lock = threading.Lock()
        self._flights: dict = {}  # key -> _Flight, while one session computes it

    def get(self, key):
        """The stored value for ``key`` (now the most recently used), or None."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key][0]

    def put(self, key, value, nbytes: int) -> None:
        """Store ``value`` (``nbytes`` bytes), dropping least recently used values beyond the budget."""
        for part in value if isinstance(value, tuple) else (value,):
            if hasattr(part, "flags"):
                part.flags.writeable = False
        with self._lock:
            if key in self._items:
                self._nbytes -= self._items.pop(key)[1]
            self._items[key] = (value, int(nbytes))
            self._nbytes += int(nbytes)
            while len(self._items) > 1 and self._nbytes > self.max_bytes:
                self._nbytes -= self._items.popitem(last=False)[1][1]

    def get_or_compute(self, key, compute, nbytes, progress=None, poll: float = 0.25):
        """The value for ``key``: stored, being computed by another session, or computed here.

        Parameters
        ----------
        key : hashable
            What identifies the result (e.g. the parameters it was computed from).
        compute : callable
            ``compute(report)`` returns the value; it may call ``report(fraction, text)`` (fraction
            in [0, 1]) to publish its progress to this session and every session waiting for it.
        nbytes : callable
            ``nbytes(value)``, the value's size in bytes for the budget.
        progress : callable, optional
            ``progress(fraction, text)``: this session's view of the progress, whether it computes
            or waits. Called at least every ``poll`` seconds while waiting, so a Streamlit script
            stays interruptible (a rerun or a closed tab stops the wait, not the computation).
        poll : float
            Seconds between two looks at another session's computation while waiting for it.

        Returns
        -------
        object
            The stored value (read-only arrays), the same object for every session.

        Raises
        ------
        Exception
            Whatever ``compute`` raises, in the session that ran it. A session waiting for a
            computation that failed (or was stopped) computes the value itself.
        """
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key][0]
                flight = self._flights.get(key)
                owner = flight is None
                if owner:
                    flight = self._flights[key] = _Flight()
            if owner:
                def report(fraction, text=""):
                    flight.fraction, flight.text = fraction, text
                    if progress is not None:
                        progress(fraction, text)
                try:
                    report(0.0)
                    value = compute(report)
                    self.put(key, value, nbytes(value))
                    flight.value, flight.ok = value, True
                    return value
                finally:
                    with self._lock:
                        del self._flights[key]
                    flight.done.set()
            while not flight.done.wait(poll):
                if progress is not None:
                    progress(flight.fraction, flight.text)
            if flight.ok:  # the value, even if the budget has already dropped it again
                return flight.value

    @property
    def nbytes(self) -> int:
        """Bytes held now (the sum of the stored values' sizes)."""
        return self._nbytes

    def __len__(self) -> int:
        return len(self._items)


class _Flight:
    """One computation in progress: its latest progress, and its value once done."""

    def __init__(self):
        self.done = threading.Event()
        self.fraction, self.text = 0.0, ""
        self.ok, self.value = False, None


@st.cache_resource(show_spinner=False)
def shared_results(name: str, _max_mb: int) -> SharedResults:
    """The server-wide :class:`SharedResults` called ``name`` (one per page and kind of result).

    ``_max_mb`` (MiB) sizes it when first created; the leading underscore keeps it out of the key.
    """
    return SharedResults(_max_mb * 2**20)
