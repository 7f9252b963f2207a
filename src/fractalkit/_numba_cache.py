"""Recover from corrupt or truncated numba cache files by recompiling.

numba (up to at least 0.68) raises ``EOFError`` when a kernel's cache index (``*.nbi``) is
empty, e.g. after a process was killed while the shared ``numba-cache`` volume was being
written or the disk filled up, and then every render of every session fails until someone
deletes the file. numba/numba#10434 reports it; the fix (numba/numba#10656) is not released.
This module backports that fix: an unreadable index or data file (``*.nbc``) counts as a
cache miss, with a warning, so the kernel recompiles and numba overwrites the file.
"""
from __future__ import annotations

import pickle
import warnings

from numba.core import caching

#: What unpickling a truncated or garbled file raises.
CORRUPT_ERRORS = (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, AttributeError)


class CorruptCacheWarning(RuntimeWarning):
    """A numba cache file could not be read; the kernel is recompiled and the file rewritten."""


def install() -> None:
    """Patch :class:`numba.core.caching.IndexDataCacheFile` once; idempotent."""
    cls = caching.IndexDataCacheFile
    if getattr(cls, "_fractalkit_recovers", False):
        return
    load_index, load_data = cls._load_index, cls._load_data

    def _load_index(self):
        try:
            return load_index(self)
        except CORRUPT_ERRORS as exc:
            warnings.warn(f"unreadable numba cache index {self._index_path} ({exc!r}); recompiling",
                          CorruptCacheWarning, stacklevel=2)
            return {}

    def _load_data(self, name):
        try:
            return load_data(self, name)
        except CORRUPT_ERRORS as exc:
            warnings.warn(f"unreadable numba cache file {self._data_path(name)} ({exc!r}); recompiling",
                          CorruptCacheWarning, stacklevel=2)
            raise OSError(f"corrupt cache file {name}") from exc  # load() treats OSError as a miss

    cls._load_index, cls._load_data = _load_index, _load_data
    cls._fractalkit_recovers = True


install()
