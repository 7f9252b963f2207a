"""Run fractalkit's runtime settings at the start of every Python process in the images.

Python imports ``sitecustomize`` at start-up. Streamlit, the Jupyter server and kernels, and
Sphinx import numpy (and with it OpenBLAS) long before any app or notebook imports
fractalkit, and thread pools are sized when their library loads. So the settings of
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
    _rt.loader.exec_module(_mod)  # an invalid setting raises here: loudly, at start-up
