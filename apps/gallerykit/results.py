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

    @property
    def nbytes(self) -> int:
        """Bytes held now (the sum of the stored values' sizes)."""
        return self._nbytes

    def __len__(self) -> int:
        return len(self._items)


@st.cache_resource(show_spinner=False)
def shared_results(name: str, _max_mb: int) -> SharedResults:
    """The server-wide :class:`SharedResults` called ``name`` (one per page and kind of result).

    ``_max_mb`` (MiB) sizes it when first created; the leading underscore keeps it out of the key.
    """
    return SharedResults(_max_mb * 2**20)
