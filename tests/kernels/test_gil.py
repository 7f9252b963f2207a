"""Every compiled kernel releases the GIL while it runs.

Streamlit runs each session's script in a thread of one process: a kernel that held the GIL
(a DLA cluster at the particle cap grows for tens of seconds) would stall every other session's
script, even on an idle core.
"""
from __future__ import annotations

import importlib
import pkgutil

from numba.core.registry import CPUDispatcher

import fractalkit


def _kernels():
    for info in pkgutil.iter_modules(fractalkit.__path__):
        module = importlib.import_module(f"fractalkit.{info.name}")
        for name, obj in vars(module).items():
            if isinstance(obj, CPUDispatcher) and obj.__module__ == module.__name__:
                yield f"{module.__name__}.{name}", obj


def test_every_kernel_releases_the_gil():
    kernels = dict(_kernels())
    assert len(kernels) >= 10, sorted(kernels)
    # inline="always" helpers are compiled into their callers, never called on their own
    holding = [name for name, k in kernels.items()
               if k.targetoptions.get("inline") != "always" and not k.targetoptions.get("nogil")]
    assert holding == [], f"kernels that hold the GIL: {holding}"
