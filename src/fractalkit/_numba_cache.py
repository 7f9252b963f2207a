"""Recover from corrupt or truncated numba cache files by recompiling.

numba (up to at least 0.68) raises ``EOFError`` when a kernel's cache index (``*.nbi``) is
empty, e.g. after a process was killed while the shared ``numba-cache`` volume was being
written or the disk filled up, and then every render of every session fails until someone
deletes the file. numba/numba#10434 reports it; the fix (numba/numba#10656) is not released.
This module backports that fix: an unreadable index or data file (``*.nbc``) counts as a
cache miss, with a warning, so the kernel recompiles and numba overwrites the file.

Importing this module changes nothing and does not import numba (standard library only, so the
images' start-up hook can load it): :func:`install` patches numba, and
:func:`install_on_import` has that done as soon as numba's caching module loads. Both
:func:`fractalkit.configure_runtime` and the start-up hook (``services/base/fractalkit_startup.py``)
call :func:`install_on_import`.
"""
from __future__ import annotations

import sys
import warnings

#: The numba module whose :class:`IndexDataCacheFile` is patched.
CACHING = "numba.core.caching"


class CorruptCacheWarning(RuntimeWarning):
    """A numba cache file could not be read; the kernel is recompiled and the file rewritten."""


def install() -> None:
    """Patch :class:`numba.core.caching.IndexDataCacheFile` once (importing numba); idempotent."""
    import pickle  # here, not at the top: the images' start-up hook loads this module in every process

    from numba.core import caching

    cls = caching.IndexDataCacheFile
    if getattr(cls, "_fractalkit_recovers", False):
        return
    load_index, load_data = cls._load_index, cls._load_data
    # What unpickling a truncated or garbled file raises.
    corrupt_errors = (EOFError, pickle.UnpicklingError, ValueError, TypeError, IndexError, AttributeError)

    def _load_index(self):
        try:
            return load_index(self)
        except corrupt_errors as exc:
            warnings.warn(f"unreadable numba cache index {self._index_path} ({exc!r}); recompiling",
                          CorruptCacheWarning, stacklevel=2)
            return {}

    def _load_data(self, name):
        try:
            return load_data(self, name)
        except corrupt_errors as exc:
            warnings.warn(f"unreadable numba cache file {self._data_path(name)} ({exc!r}); recompiling",
                          CorruptCacheWarning, stacklevel=2)
            raise OSError(f"corrupt cache file {name}") from exc  # load() treats OSError as a miss

    cls._load_index, cls._load_data = _load_index, _load_data
    cls._fractalkit_recovers = True


class _AfterImport:
    """A :data:`sys.meta_path` finder that runs ``then()`` right after module ``name`` executes.

    It finds no module itself. The first time ``name`` is imported it asks the finders after it
    for the spec and wraps that spec's loader, so that ``then()`` runs once the module's body has
    run, before the import returns (and nothing is imported earlier than the program imports it).
    It stays on :data:`sys.meta_path`, inert, instead of removing itself: another thread may be
    walking that list.
    """

    def __init__(self, name: str, then):
        self.name, self.then, self.done = name, then, False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.name or self.done:
            return None
        self.done = True  # once; and the look-up below skips this finder
        for finder in sys.meta_path:
            spec = finder.find_spec(fullname, path, target) if hasattr(finder, "find_spec") else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader

        def exec_module(module):
            del loader.exec_module  # the loader's own method again
            loader.exec_module(module)
            self.then()

        loader.exec_module = exec_module
        return spec


def install_on_import() -> None:
    """Run :func:`install` now if numba's caching module is loaded, else right after it loads.

    Does not import numba: a plain Python start stays fast, and a process that never uses numba
    never loads it. Idempotent.
    """
    if CACHING in sys.modules:
        install()
    elif not any(isinstance(f, _AfterImport) and not f.done for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterImport(CACHING, install))
