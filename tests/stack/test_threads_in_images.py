"""End-to-end: the built images run numba on the thread-safe TBB layer, and every thread pool
follows the container's CPU limit (``docker run --cpus 1``), within a small pids limit."""
from __future__ import annotations

import json

import pytest

from utils.commands import run
from utils.paths import ROOT
from utils.project import project

pytestmark = pytest.mark.e2e

HAMMER = ROOT / "tests" / "data" / "hammer.py"
# Imports the libraries in the order the servers do (numpy and scipy's BLAS before fractalkit),
# starts every pool (numba kernel, numpy and scipy BLAS calls) and reports their sizes.
POOLS = r"""
import json, os
import numpy as np, scipy.linalg
import fractalkit as f, numba, threadpoolctl
f.mandelbrot(f.Viewport(-0.5, 0, 3, 320, 240), 200)
f.box_counts(np.ones((256, 256), bool))
a = np.random.default_rng(0).random((400, 400))
a @ a; scipy.linalg.inv(a + 400 * np.eye(400))
print(json.dumps({"layer": numba.threading_layer(), "numba": numba.get_num_threads(),
                  "numba_pool": numba.config.NUMBA_NUM_THREADS,
                  "pools": threadpoolctl.threadpool_info(),
                  "os_threads": len(os.listdir("/proc/self/task"))}))
"""


@pytest.fixture(scope="module")
def images(docker_engine, python_image, scratch):
    with project(scratch, python_image, "threads") as p:
        p.compose("build", "streamlit", "jupyter", timeout=2400)
        yield dict(zip(("base", "streamlit", "jupyter"), p.images()[:3]))


def _python(image, code, *docker_args, timeout=600):
    return run(["docker", "run", "--rm", "--network", "none", "-e", "NUMBA_CACHE_DIR=/tmp/numba",
                *docker_args, image, "python", "-c", code], check=False, timeout=timeout)


@pytest.mark.parametrize("service", ["streamlit", "jupyter"])
def test_images_use_the_tbb_threading_layer(images, service):
    out = _python(images[service], "import fractalkit as f, numba\n"
                                   "f.mandelbrot(f.Viewport(-0.5, 0, 3, 64, 48), 64)\n"
                                   "print('layer', numba.threading_layer())")
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split()[-1] == "tbb", out.stdout


def test_parallel_kernels_are_thread_safe_inside_the_image(images):
    out = run(["docker", "run", "--rm", "--network", "none", "-e", "NUMBA_CACHE_DIR=/tmp/numba",
               "-v", f"{HAMMER}:/tmp/hammer.py:ro", images["streamlit"],
               "python", "/tmp/hammer.py", "--threads", "6", "--rounds", "10"], check=False, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["threading_layer"] == "tbb" and report["uncovered"] == []
    assert report["mismatches"] == {k: 0 for k in report["kernels"]}, report


@pytest.mark.parametrize("service", ["streamlit", "jupyter"])
def test_every_pool_has_one_thread_with_cpus_1_and_fits_a_small_pids_limit(images, service):
    # 24 pids: the main thread plus one per pool and a few helpers. A pool sized from the
    # host's cores instead of the limit shows up as a count above one below.
    out = _python(images[service], POOLS, "--cpus", "1", "--pids-limit", "24")
    assert out.returncode == 0, out.stderr[-3000:]
    info = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"\n{service}: {info['os_threads']} OS threads;",
          [(p["internal_api"], p["filepath"].rsplit("/", 1)[-1], p["num_threads"]) for p in info["pools"]])
    assert info["layer"] == "tbb"
    assert info["numba"] == 1 and info["numba_pool"] == 1
    blas = [p for p in info["pools"] if p["user_api"] == "blas"]
    assert len(blas) >= 2, info["pools"]  # numpy's and scipy's OpenBLAS
    assert {(p["filepath"], p["num_threads"]) for p in info["pools"]} == {(p["filepath"], 1) for p in info["pools"]}

