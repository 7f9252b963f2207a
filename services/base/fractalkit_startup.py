"""Apply fractalkit's runtime settings at the start of every Python process in the images.

Imported at interpreter start-up by ``zzz-fractalkit-runtime.pth`` in the venv's
site-packages (site runs ``import`` lines of ``.pth`` files, in name order: after the
editable install's own ``.pth`` has put ``src/`` on the path). Not a ``sitecustomize``:
Debian's Python ships one in the standard library, which would shadow ours.

Importing fractalkit configures nothing, and Streamlit, the Jupyter server and kernels, and
Sphinx import numpy (and with it OpenBLAS) long before any app or notebook imports fractalkit;
thread pools are sized when their library loads. So this hook does what
``fractalkit.configure_runtime()`` does, first:

* ``fractalkit/_runtime.py``'s ``configure()``: numba's thread-safe threading layer (TBB on
  amd64, OpenMP on arm64), pinned, and every thread pool sized to the container's CPU limit;
* ``fractalkit/_numba_cache.py``'s ``install_on_import()``: the recovery from corrupt numba
  cache files, installed right after numba's caching module first loads (a finder on
  ``sys.meta_path``), so numba is not imported here.

Both modules are standard library only. They are loaded by path, without importing the
fractalkit package, so a plain ``python`` start stays fast; under their own names
(``fractalkit._runtime``, ``fractalkit._numba_cache``), so the package, once imported, uses
these same modules.

A thread-unsafe ``NUMBA_THREADING_LAYER`` raises here: site prints the traceback and goes on,
and every ``import fractalkit`` in the process then raises the same error, so no kernel runs on
that layer.
"""
import importlib.util
import os
import sys


def _load(package_dir: str, name: str):
    """Run ``<package_dir>/<name>.py`` as the module ``fractalkit.<name>``, without the package."""
    spec = importlib.util.spec_from_file_location(f"fractalkit.{name}", os.path.join(package_dir, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class _Refuse:
    """A ``sys.meta_path`` finder that makes every ``import fractalkit`` raise ``error`` again."""

    def __init__(self, error: RuntimeError):
        self.error = error

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "fractalkit":
            raise RuntimeError(*self.error.args)
        return None


_spec = importlib.util.find_spec("fractalkit")
if _spec is not None and _spec.submodule_search_locations:
    _dir = list(_spec.submodule_search_locations)[0]
    _load(_dir, "_numba_cache").install_on_import()
    try:
        _load(_dir, "_runtime").configure()
    except RuntimeError as exc:
        sys.meta_path.insert(0, _Refuse(exc))
        raise
