"""Run fractalkit's runtime settings at the start of every Python process in the images.

Imported at interpreter start-up by ``zzz-fractalkit-runtime.pth`` in the venv's
site-packages (site runs ``import`` lines of ``.pth`` files, in name order: after the
editable install's own ``.pth`` has put ``src/`` on the path). Not a ``sitecustomize``:
Debian's Python ships one in the standard library, which would shadow ours.

Streamlit, the Jupyter server and kernels, and Sphinx import numpy (and with it OpenBLAS)
long before any app or notebook imports fractalkit, and thread pools are sized when their library loads. So the settings of
``fractalkit/_runtime.py`` are applied here first: numba's thread-safe TBB threading layer,
pinned, and every thread pool sized to the container's CPU limit (see that module).
The module is loaded by path (standard library only), without importing the fractalkit
package itself, so a plain ``python`` start stays fast.
"""
import importlib.util
import os
import sys

_spec = importlib.util.find_spec("fractalkit")
if _spec is not None and _spec.submodule_search_locations:
    _path = os.path.join(list(_spec.submodule_search_locations)[0], "_runtime.py")
    _rt = importlib.util.spec_from_file_location("_fractalkit_runtime", _path)
    _mod = importlib.util.module_from_spec(_rt)
    sys.modules["_fractalkit_runtime"] = _mod
    # An invalid setting raises here; site prints the traceback, and importing fractalkit
    # raises the same error again.
    _rt.loader.exec_module(_mod)
