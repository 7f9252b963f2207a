"""Call every ``parallel=True`` kernel of fractalkit from many threads at once.

    python tests/data/hammer.py [--threads 6] [--rounds 10]

Prints one JSON line: the threading layer numba used, the parallel kernels found, the ones
without a case here, and per kernel how many concurrent results differ (bit for bit) from the
same call made alone. Run in a child process by tests/kernels/test_thread_safety.py, and in
each image by tests/stack/test_threads_in_images.py, because a thread-unsafe layer (numba's
``workqueue``) may abort the whole process.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import threading

import numba
import numpy as np
from numba.core.registry import CPUDispatcher

import fractalkit
from fractalkit.escape import Viewport


def parallel_kernels() -> dict[str, CPUDispatcher]:
    """Every numba dispatcher compiled with ``parallel=True`` in any fractalkit module."""
    found = {}
    for info in pkgutil.iter_modules(fractalkit.__path__, "fractalkit."):
        mod = importlib.import_module(info.name)
        for name, obj in vars(mod).items():
            if isinstance(obj, CPUDispatcher) and obj.targetoptions.get("parallel") and obj.__module__ == mod.__name__:
                found[f"{mod.__name__}.{name}"] = obj
    return found


def _bits(*arrays) -> bytes:
    return b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)


def _cases() -> dict:
    """Kernel name -> call returning the bytes of its results (fresh output buffers each call)."""
    from fractalkit import deepzoom, escape, measure, selfaffine

    re, im = Viewport(-0.5, 0.0, 3.0, 600, 450).axes()
    jre, jim = Viewport(0.0, 0.0, 3.2, 400, 300).axes()
    rng = np.random.default_rng(7)
    grid = (rng.random((1024, 1024)) < 0.05).astype(np.uint8)

    def mandel():
        out = np.empty((im.size, re.size))
        escape._mandelbrot_kernel(re, im, 300, True, True, out)
        return _bits(out)

    def julia():
        out = np.empty((jim.size, jre.size), dtype=np.int32)
        escape._julia_kernel(jre, jim, -0.8, 0.156, 200, False, out)
        return _bits(out)

    surface = np.cumsum(rng.random((512, 512)) - 0.5, axis=0)
    series = np.cumsum(rng.standard_normal(1 << 16))
    scales = np.unique(np.geomspace(4, 1 << 14, 40).astype(np.int64))
    sizes = np.array([[1, 0, 0], [5, 2, 1], [7, 3, 6], [64, 10, 40]])
    radii2 = (2.0 ** (np.arange(45) / 4)) ** 2

    # a deep window (1e-400 wide, at the Misiurewicz tip c = -2): floatexp, rescaled and plain
    # iterations, rebasing and bilinear approximation all run
    tip = "-1." + "9" * 400 + "7"  # -2 + 3e-401
    deep_args, deep_shape = deepzoom._kernel_args(deepzoom.DeepViewport(tip, "1e-402", "1e-400", 160, 120), 3000, True)

    def deep():
        out = np.empty(deep_shape)
        deepzoom._deep_kernel(*deep_args, True, out)
        return _bits(out)

    def radial_counts():
        c, far = measure._radial_counts(grid, 511.5, 511.5, radii2)
        return _bits(c, np.float64(far))

    return {
        "fractalkit.escape._mandelbrot_kernel": mandel, "fractalkit.escape._julia_kernel": julia,
        "fractalkit.deepzoom._deep_kernel": deep,
        "fractalkit.measure._positions": lambda: _bits(np.int64(measure._positions(grid, 7, np.empty_like(grid)))),
        "fractalkit.measure._sat": lambda: _bits(measure._sat(grid)),
        "fractalkit.measure._grid_counts": lambda: _bits(measure._grid_counts(measure._sat(grid), sizes)),
        "fractalkit.measure._radial_counts": radial_counts,
        "fractalkit.measure._gliding_moments": lambda: _bits(np.array(
            measure._gliding_moments(grid, 9, np.empty((1024, 1016), np.int32), np.int32(0)))),
        "fractalkit.measure._dbc_boxes": lambda: _bits(np.array(measure._dbc_boxes(surface, 6, 1, 2, 0.5))),
        "fractalkit.selfaffine._dfa_fluctuation": lambda: _bits(selfaffine._dfa_fluctuation(series, scales, 2, True)),
        "fractalkit.selfaffine._sf_1d": lambda: _bits(selfaffine._sf_1d(series, scales, 2.0)),
        "fractalkit.selfaffine._sf_2d": lambda: _bits(selfaffine._sf_2d(surface, scales[scales < 256], 2.0)),
    }


def hammer(threads: int = 6, rounds: int = 10) -> dict:
    kernels = parallel_kernels()
    cases = _cases()
    report = {"kernels": sorted(kernels), "uncovered": sorted(set(kernels) - set(cases)), "mismatches": {},
              "calls": {}}
    for name, call in cases.items():
        alone = call()  # single-threaded reference (also compiles / loads the cache)
        barrier = threading.Barrier(threads)
        bad = [0] * threads
        errors = []

        def worker(i, call=call, alone=alone, barrier=barrier, bad=bad):
            try:
                for _ in range(rounds):
                    barrier.wait()  # all threads enter the kernel together
                    if call() != alone:
                        bad[i] += 1
            except Exception as exc:  # reported, not swallowed
                errors.append(repr(exc))
                barrier.abort()

        ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        report["mismatches"][name] = sum(bad) if not errors else f"errors: {errors[:3]}"
        report["calls"][name] = threads * rounds
    report["threading_layer"] = numba.threading_layer()
    return report


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=10)
    a = ap.parse_args()
    print(json.dumps(hammer(a.threads, a.rounds)))
