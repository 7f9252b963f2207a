"""Process-wide runtime settings, to apply before numpy, scipy or numba load.

Importing this module changes nothing; :func:`configure` applies the settings. It is standard
library only, so it can run first: the images run it at interpreter start-up (a ``.pth`` hook,
see ``services/base/fractalkit_startup.py``), because Streamlit and Jupyter import numpy long
before an app or notebook imports fractalkit. Elsewhere :func:`fractalkit.configure_runtime`
calls it.

Two things are set, each only where the user has not set it already:

* **A thread-safe numba threading layer (TBB on x86-64, OpenMP on arm64).** Streamlit runs
  each session's script in its own thread and notebooks may use threads, so parallel kernels
  are called concurrently. numba's ``workqueue`` layer is not thread-safe (it aborts the process, "Concurrent access
  has been detected", or returns wrong pixels); numba documents ``tbb`` as the only layer
  that is both thread- and fork-safe, and ``omp`` with GNU libgomp as thread- but not
  fork-safe. TBB comes from the ``tbb`` wheel on PyPI (a declared dependency on x86-64), so
  every x86-64 install has it. PyPI has no TBB wheel for arm64 (aarch64), so there the layer
  is ``omp``: numba's OpenMP layer, linked to GNU libgomp (Debian's ``libgomp1`` in the
  images; numba's wheel does not ship it). The servers run sessions in threads and kernels in
  separate processes, never a fork of a process that ran a kernel.
  The layer is pinned explicitly (:data:`DEFAULT_LAYER`): numba then raises "No threading
  layer could be loaded" instead of silently falling back to ``workqueue``. A user setting may
  pick ``tbb``/``omp``/``threadsafe``/``safe``; a layer that is not thread-safe is refused
  with :class:`RuntimeError`.
* **Thread pools sized from the CPU limit of the container** (cgroup v2 ``cpu.max``, cgroup v1
  ``cpu.cfs_quota_us / cpu.cfs_period_us``, and the CPU affinity), not from the host's core
  count: ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` (numpy's and
  scipy's OpenBLAS both read it), ``MKL_NUM_THREADS``. These must be in the environment
  before the libraries load; a value set earlier (by the user, Compose, or ``.env``) wins.
"""
from __future__ import annotations

import ctypes
import math
import os
import platform
import sys
from pathlib import Path

#: Threading layers that numba documents as thread-safe.
THREAD_SAFE_LAYERS = ("tbb", "omp", "threadsafe", "safe")
#: The layer used unless the environment picks another thread-safe one: TBB where PyPI has a TBB
#: wheel (x86-64), OpenMP elsewhere (arm64).
DEFAULT_LAYER = "tbb" if platform.machine() in ("x86_64", "AMD64") else "omp"
#: Environment variables that size the thread pools of numba, OpenMP, OpenBLAS and MKL.
POOL_VARIABLES = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _quota_v2(root: Path) -> float | None:
    try:
        quota, period = (root / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def _quota_v1(root: Path) -> float | None:
    for d in (root / "cpu,cpuacct", root / "cpu"):
        try:
            quota = int((d / "cpu.cfs_quota_us").read_text())
            period = int((d / "cpu.cfs_period_us").read_text())
        except (OSError, ValueError):
            continue
        return quota / period if quota > 0 and period > 0 else None
    return None


def cpu_limit(cgroup_root: Path | str = CGROUP_ROOT) -> int:
    """Number of CPUs this process may use: the cgroup CPU quota, rounded up, and the affinity.

    Parameters
    ----------
    cgroup_root : path, optional
        Where the cgroup file system is mounted (``/sys/fs/cgroup``; a container sees its own
        cgroup there). Both layouts are read: v2 ``cpu.max`` (``"max 100000"`` or
        ``"150000 100000"``) and v1 ``cpu/cpu.cfs_quota_us`` / ``cpu.cfs_period_us``
        (quota ``-1`` = unlimited).

    Returns
    -------
    int
        ``min(ceil(quota / period), CPUs in the affinity mask)``, at least 1. ``docker run
        --cpus 1.5`` gives 2; no quota gives the affinity count (``--cpuset-cpus`` or all
        cores).
    """
    root = Path(cgroup_root)
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        n = os.cpu_count() or 1
    quota = _quota_v2(root)
    if quota is None:
        quota = _quota_v1(root)
    if quota is not None:
        n = min(n, math.ceil(quota))
    return max(1, n)


def _preload_tbb() -> None:
    """Load the ``tbb`` wheel's ``libtbb.so.12`` so numba's TBB layer finds it.

    The wheel installs the library into ``<prefix>/lib``, which is not on the dynamic loader's
    search path; once loaded (by soname) numba's ``dlopen("libtbb.so.12")`` reuses it.
    """
    if not sys.platform.startswith("linux"):
        return
    for prefix in dict.fromkeys((sys.prefix, sys.base_prefix)):
        lib = Path(prefix) / "lib" / "libtbb.so.12"
        if lib.exists():
            try:
                ctypes.CDLL(str(lib), mode=ctypes.RTLD_GLOBAL)
            except OSError:
                pass  # numba reports the missing layer itself, loudly (layer is pinned)
            return


def configure(environ=os.environ, cgroup_root: Path | str = CGROUP_ROOT) -> dict[str, str]:
    """Pin a thread-safe numba threading layer and size the thread pools; idempotent.

    Parameters
    ----------
    environ : mutable mapping, optional
        The environment to update (``os.environ``). Empty values count as unset.
    cgroup_root : path, optional
        Passed to :func:`cpu_limit`.

    Returns
    -------
    dict
        The values now in effect for ``NUMBA_THREADING_LAYER`` and :data:`POOL_VARIABLES`.

    Raises
    ------
    RuntimeError
        If ``NUMBA_THREADING_LAYER`` names a layer that is not thread-safe (``workqueue``,
        ``forksafe``, ``default``): the kernels are called from several threads at once.

    Notes
    -----
    For ``os.environ`` it also acts on the running process: it loads the ``tbb`` wheel's
    library for a TBB layer (:func:`_preload_tbb`), and if numba is loaded already it sets
    the layer on numba's config (numba picks its layer at the first parallel call) and keeps
    the pool size numba fixed when it loaded, as if ``NUMBA_NUM_THREADS`` had been set: another
    value would make numba's next compilation raise once its threads run.
    """
    layer = (environ.get("NUMBA_THREADING_LAYER") or DEFAULT_LAYER).strip().lower()
    if layer not in THREAD_SAFE_LAYERS:
        raise RuntimeError(
            f"NUMBA_THREADING_LAYER={layer!r} is not thread-safe; fractalkit kernels run from several "
            f"threads at once (Streamlit sessions). Use one of {', '.join(THREAD_SAFE_LAYERS)} "
            f"(default here: {DEFAULT_LAYER}).")
    environ["NUMBA_THREADING_LAYER"] = layer
    numba_config = sys.modules.get("numba.core.config") if environ is os.environ else None
    if numba_config is not None and not environ.get("NUMBA_NUM_THREADS"):
        environ["NUMBA_NUM_THREADS"] = str(numba_config.NUMBA_NUM_THREADS)
    n = None
    for var in POOL_VARIABLES:
        if not environ.get(var):
            n = n or cpu_limit(cgroup_root)
            environ[var] = str(n)
    if environ is os.environ and layer in ("tbb", "safe", "threadsafe"):
        _preload_tbb()
    if numba_config is not None:  # numba was imported first: its config read the env already
        numba_config.THREADING_LAYER = layer
    return {k: environ[k] for k in ("NUMBA_THREADING_LAYER", *POOL_VARIABLES)}

