"""Every parallel kernel gives bit-identical results, and never aborts, under concurrent calls.

Streamlit runs each session's script in its own thread, so two students rendering at once
call the same ``parallel=True`` kernel concurrently. The calls run in a child process
(tests/data/hammer.py): a thread-unsafe numba threading layer may abort the process.
"""
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import fractalkit._runtime as runtime

HAMMER = Path(__file__).parents[1] / "data" / "hammer.py"
#: Runs the script in argv[1] (with the arguments after it) in a process that first applies
#: fractalkit's runtime settings, as a researcher's script does (the images do it at start-up).
CONFIGURED = ("import runpy, sys, fractalkit\n"
              "fractalkit.configure_runtime()\n"
              "sys.argv = sys.argv[1:]\n"
              "runpy.run_path(sys.argv[0], run_name='__main__')\n")


def _child_env() -> dict:
    # A fresh process as a user starts it, without a threading layer of the caller's: the child
    # must pick its layer by itself.
    env = dict(os.environ)
    env.pop("NUMBA_THREADING_LAYER", None)
    return env


def test_parallel_kernels_are_bit_identical_under_concurrent_calls():
    out = subprocess.run([sys.executable, "-c", CONFIGURED, str(HAMMER), "--threads", "6", "--rounds", "10"],
                         env=_child_env(), capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"child process died ({out.returncode}):\n{out.stderr[-3000:]}"
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(report["kernels"]) >= 4, report  # the four known today; new ones are found automatically
    assert report["uncovered"] == [], f"parallel kernels without a case in hammer.py: {report['uncovered']}"
    assert report["mismatches"] == {k: 0 for k in report["kernels"]}, report
    assert report["threading_layer"] in ("tbb", "omp"), report


def test_thread_unsafe_layer_is_refused_loudly():
    env = {**_child_env(), "NUMBA_THREADING_LAYER": "workqueue"}
    out = subprocess.run([sys.executable, "-c", "import fractalkit; fractalkit.configure_runtime()"], env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode != 0 and "RuntimeError: NUMBA_THREADING_LAYER='workqueue' is not thread-safe" in out.stderr


def test_missing_tbb_fails_instead_of_falling_back():
    # The layer is pinned: with the TBB library unloadable (as if the wheel were missing), the
    # first parallel call must raise, not quietly run on workqueue.
    code = ("import ctypes\n"
            "real = ctypes.CDLL\n"
            "class NoTbb(real):\n"
            "    def __init__(self, name, *a, **k):\n"
            "        if 'libtbb' in str(name): raise OSError(f'{name}: cannot open shared object file')\n"
            "        super().__init__(name, *a, **k)\n"
            "ctypes.CDLL = NoTbb\n"
            "import fractalkit as f\n"
            "f.configure_runtime()\n"
            "f.mandelbrot(f.Viewport(-0.5, 0, 3, 32, 24), 32)\n")
    out = subprocess.run([sys.executable, "-c", code], env=_child_env(), capture_output=True, text=True,
                         timeout=300)
    assert out.returncode != 0 and "No threading layer could be loaded" in out.stderr, out.stderr[-2000:]


def test_cpu_limit_reads_cgroup_v2_and_v1(tmp_path):
    v2 = tmp_path / "v2"
    v2.mkdir()
    (v2 / "cpu.max").write_text("150000 100000\n")
    assert runtime.cpu_limit(v2) == min(2, len(os.sched_getaffinity(0)))
    (v2 / "cpu.max").write_text("max 100000\n")
    assert runtime.cpu_limit(v2) == len(os.sched_getaffinity(0))
    v1 = tmp_path / "v1"
    (v1 / "cpu,cpuacct").mkdir(parents=True)
    (v1 / "cpu,cpuacct" / "cpu.cfs_quota_us").write_text("100000\n")
    (v1 / "cpu,cpuacct" / "cpu.cfs_period_us").write_text("100000\n")
    assert runtime.cpu_limit(v1) == 1
    (v1 / "cpu,cpuacct" / "cpu.cfs_quota_us").write_text("-1\n")
    assert runtime.cpu_limit(v1) == len(os.sched_getaffinity(0))
    assert runtime.cpu_limit(tmp_path / "missing") == len(os.sched_getaffinity(0))


def test_configure_keeps_user_settings_and_fills_the_rest(tmp_path):
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    env = {"OPENBLAS_NUM_THREADS": "3", "OMP_NUM_THREADS": ""}
    got = runtime.configure(env, tmp_path)
    layer = {"x86_64": "tbb", "aarch64": "omp"}[platform.machine()]  # PyPI has TBB for x86-64 only
    assert got == {"NUMBA_THREADING_LAYER": layer, "NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
                   "OPENBLAS_NUM_THREADS": "3", "MKL_NUM_THREADS": "1"}
