"""Importing fractalkit changes nothing outside it; the runtime settings are applied on request.

``fractalkit.configure_runtime()`` (anywhere) and the images' start-up hook
(services/base/fractalkit_startup.py, run by a ``.pth`` file at interpreter start) apply them:
a thread-safe numba threading layer, thread pools sized to the CPU limit, numba's cache recovery.
Each case runs in a fresh Python, from an environment without those settings.
"""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from fractalkit._runtime import DEFAULT_LAYER, POOL_VARIABLES

HOOK = Path(__file__).parents[2] / "services" / "base" / "fractalkit_startup.py"
SETTINGS = ("NUMBA_THREADING_LAYER", *POOL_VARIABLES)
#: numba's own loaders of cache files, before fractalkit's recovery wraps them.
NUMBA_LOADERS = ["IndexDataCacheFile._load_index", "IndexDataCacheFile._load_data"]
#: The report each child prints: what the process looks like at that point.
REPORT = r"""
def report():
    import json, os, sys
    caching = sys.modules.get("numba.core.caching")
    cls = caching and caching.IndexDataCacheFile
    config = sys.modules.get("numba.core.config")
    with open("/proc/self/maps") as maps:
        tbb = "libtbb" in maps.read()
    return {"env": {k: os.environ.get(k) for k in ("NUMBA_THREADING_LAYER", "NUMBA_NUM_THREADS",
                                                   "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")},
            "loaders": cls and [cls._load_index.__qualname__, cls._load_data.__qualname__],
            "recovers": bool(cls and getattr(cls, "_fractalkit_recovers", False)),
            "layer": config and config.THREADING_LAYER, "tbb_loaded": tbb,
            "meta_path": [getattr(f, "__name__", type(f).__name__) for f in sys.meta_path],
            "loaded": sorted(m for m in ("numpy", "numba", "fractalkit") if m in sys.modules),
            "hook": "_fractalkit_startup" in sys.modules}
"""


def _python(code: str, env: dict | None = None, site_dir: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh Python, without fractalkit's settings in its environment (``env``
    adds some); with ``site_dir``, that directory is processed as a site directory first, as site
    does the venv's at start-up: its ``.pth`` files run."""
    base = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    prefix = f"import site; site.addsitedir({str(site_dir)!r})\n" if site_dir else ""
    return subprocess.run([sys.executable, "-c", prefix + REPORT + code], env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=300)


def _reports(out: subprocess.CompletedProcess) -> list[dict]:
    assert out.returncode == 0, out.stderr[-3000:]
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


@pytest.fixture()
def images_site(tmp_path) -> Path:
    """A site directory as the images' venv has it: the hook and the ``.pth`` file that imports it
    (services/base/Dockerfile)."""
    (tmp_path / "_fractalkit_startup.py").write_text(HOOK.read_text())
    (tmp_path / "zzz-fractalkit-runtime.pth").write_text("import _fractalkit_startup\n")
    return tmp_path


def test_importing_fractalkit_changes_nothing_outside_it():
    out = _python("import json, importlib, pkgutil\n"
                  "print(json.dumps(report()))\n"
                  "import fractalkit\n"
                  "for m in pkgutil.iter_modules(fractalkit.__path__, 'fractalkit.'):\n"
                  "    importlib.import_module(m.name)\n"
                  "import numba.core.caching\n"
                  "print(json.dumps(report()))\n")
    before, after = _reports(out)
    assert not before["hook"], "the host venv runs the images' start-up hook: it must not (no .pth file)"
    assert after["env"] == before["env"] == dict.fromkeys(SETTINGS)
    assert after["loaders"] == NUMBA_LOADERS and not after["recovers"]
    assert after["layer"] == "default"  # numba's own, from the environment
    assert not after["tbb_loaded"]
    assert after["meta_path"] == before["meta_path"]


def test_configure_runtime_applies_the_settings():
    out = _python("import json, fractalkit, numba\n"
                  "settings = fractalkit.configure_runtime()\n"
                  "assert fractalkit.configure_runtime() == settings\n"  # idempotent
                  "fractalkit.mandelbrot(fractalkit.Viewport(-0.5, 0, 3, 32, 24), 32)\n"
                  "print(json.dumps({**report(), 'settings': settings, 'used': numba.threading_layer(),\n"
                  "                  'numba_threads': numba.config.NUMBA_NUM_THREADS}))\n")
    (got,) = _reports(out)
    assert got["settings"] == got["env"] and got["env"]["NUMBA_THREADING_LAYER"] == DEFAULT_LAYER
    assert got["used"] == got["layer"] == DEFAULT_LAYER
    # numba loaded with fractalkit and sized its pool then: that size is kept
    assert got["env"]["NUMBA_NUM_THREADS"] == str(got["numba_threads"])
    assert got["recovers"] and got["loaders"] != NUMBA_LOADERS
    assert got["tbb_loaded"] == (DEFAULT_LAYER == "tbb")


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs a CPU quota below the CPU count")
def test_configure_runtime_after_a_kernel_keeps_numbas_pool(tmp_path):
    # Under a CPU quota of 1 on a machine with more CPUs: numba sized and started its pool before
    # the settings were applied; changing NUMBA_NUM_THREADS now would make its next compile raise.
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    out = _python("import json, os, fractalkit, numba\n"
                  "fractalkit.mandelbrot(fractalkit.Viewport(-0.5, 0, 3, 32, 24), 32)\n"
                  f"fractalkit._runtime.configure(cgroup_root={str(tmp_path)!r})\n"
                  "numba.njit(lambda x: x + 1)(1)\n"  # a compilation: numba re-reads its environment
                  "print(json.dumps(report()))\n")
    (got,) = _reports(out)
    assert got["env"]["NUMBA_NUM_THREADS"] == str(len(os.sched_getaffinity(0)))
    assert got["env"]["OMP_NUM_THREADS"] == got["env"]["OPENBLAS_NUM_THREADS"] == "1"


def test_startup_hook_configures_the_process_and_numbas_cache_on_import(images_site):
    out = _python("import json, sys\n"
                  "print(json.dumps(report()))\n"
                  "hook_modules = [sys.modules['fractalkit._runtime'], sys.modules['fractalkit._numba_cache']]\n"
                  "import numba.core.caching\n"
                  "print(json.dumps(report()))\n"
                  "import fractalkit\n"
                  "assert [fractalkit._runtime, fractalkit._numba_cache] == hook_modules  # one module per name\n"
                  "fractalkit.configure_runtime()\n"
                  "fractalkit.mandelbrot(fractalkit.Viewport(-0.5, 0, 3, 32, 24), 32)\n"
                  "print(json.dumps({**report(), 'used': numba.threading_layer()}))\n",
                  site_dir=images_site)
    at_start, numba_loaded, used = _reports(out)
    # At start-up: the settings are in the environment, and nothing heavy is loaded (a plain
    # python start stays fast) — numba's cache recovery waits for numba.
    assert at_start["hook"] and at_start["loaded"] == []
    assert at_start["env"]["NUMBA_THREADING_LAYER"] == DEFAULT_LAYER
    assert all(at_start["env"][v] for v in POOL_VARIABLES)
    assert at_start["tbb_loaded"] == (DEFAULT_LAYER == "tbb")
    # Importing numba's caching module brings the recovery, without fractalkit.
    assert numba_loaded["loaded"] == ["numba", "numpy"]
    assert numba_loaded["recovers"] and numba_loaded["loaders"] == [
        "install.<locals>._load_index", "install.<locals>._load_data"]
    assert numba_loaded["layer"] == DEFAULT_LAYER
    # configure_runtime() afterwards changes nothing (recovery wrapped once), and kernels run on the layer.
    assert used["env"] == at_start["env"] and used["loaders"] == numba_loaded["loaders"]
    assert used["used"] == DEFAULT_LAYER


def test_startup_hook_keeps_user_settings(images_site):
    layer = {"x86_64": "tbb", "aarch64": "omp"}[platform.machine()]
    out = _python("import json\nprint(json.dumps(report()))\n",
                  env={"NUMBA_THREADING_LAYER": layer.upper(), "OPENBLAS_NUM_THREADS": "3"}, site_dir=images_site)
    (got,) = _reports(out)
    assert got["env"]["NUMBA_THREADING_LAYER"] == layer and got["env"]["OPENBLAS_NUM_THREADS"] == "3"


def test_startup_hook_refuses_a_thread_unsafe_layer(images_site):
    # site reports the error at start-up and carries on; fractalkit then refuses to import, so no
    # kernel runs on that layer.
    out = _python("import fractalkit\n", env={"NUMBA_THREADING_LAYER": "workqueue"}, site_dir=images_site)
    error = "RuntimeError: NUMBA_THREADING_LAYER='workqueue' is not thread-safe"
    assert out.returncode != 0 and out.stderr.count(error) == 2, out.stderr[-3000:]
    assert "zzz-fractalkit-runtime.pth" in out.stderr and out.stderr.strip().splitlines()[-1].startswith(error)
