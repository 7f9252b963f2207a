"""numba threading layers against gcc, interleaved in one run: did the switch to TBB cost speed?

    uv run --frozen python benchmarks/threading_layers.py [--rounds 5] [--threads 2] [--json out.json]

Each round measures the C baseline (gcc -O3 OpenMP, benchmarks/mandelbrot.c) and then, each in
a fresh process (numba picks its layer once per process), the Mandelbrot kernel under every
layer: ``workqueue`` (what the images had before: not thread-safe), ``omp`` and ``tbb`` (now).
Rounds interleave the layers so that a noisy neighbour hits them alike; the table gives the
median and the range of the C/numba time ratio per layer (> 1: numba is faster than C).
Judged here, never in the tests.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from kernels import c_mandelbrot  # noqa: E402

FRAME = (-0.5, 0.0, 3.0, 1920, 1080, 256)
LAYERS = ("workqueue", "omp", "tbb")

# The kernel under one layer. fractalkit.configure_runtime() (as the images' start-up hook does)
# refuses a non-thread-safe NUMBA_THREADING_LAYER and preloads TBB, so the layer under test is set
# on numba's config afterwards, before the first parallel call picks it.
CHILD = """
import sys, time, numba, fractalkit as fk
fk.configure_runtime()
numba.config.THREADING_LAYER = sys.argv[1]
numba.set_num_threads(int(sys.argv[2]))
vp = fk.Viewport(*{frame}[:5])
out = {{}}
for shortcuts in (False, True):
    fk.mandelbrot(vp, 256, smooth=False, shortcuts=shortcuts)
    best = float("inf")
    for _ in range(int(sys.argv[3])):
        t0 = time.perf_counter(); fk.mandelbrot(vp, 256, smooth=False, shortcuts=shortcuts)
        best = min(best, time.perf_counter() - t0)
    out[shortcuts] = best
assert numba.threading_layer() == sys.argv[1], numba.threading_layer()
print(out[False], out[True])
"""


def kernel_seconds(layer: str, threads: int, reps: int) -> tuple[float, float]:
    """Best-of-``reps`` seconds (no shortcuts, shortcuts) of the kernel under ``layer``.

    Raises
    ------
    subprocess.CalledProcessError
        If the layer is not available (e.g. no libgomp for ``omp``).
    """
    env = {**os.environ, "NUMBA_THREADING_LAYER": "tbb"}
    r = subprocess.run([sys.executable, "-c", CHILD.format(frame=FRAME), layer, str(threads), str(reps)],
                       capture_output=True, text=True, check=True, env=env)
    plain, fast = map(float, r.stdout.split())
    return plain, fast


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    ratios = {layer: {"no shortcuts": [], "shortcuts": []} for layer in LAYERS}
    for n in range(args.rounds):
        c_time, reason, _ = c_mandelbrot(args.threads, FRAME, args.reps)
        if c_time is None:
            print(f"C baseline unavailable: {reason}", file=sys.stderr)
            return 1
        line = [f"round {n + 1}: C {c_time:.3f} s"]
        for layer in LAYERS:
            plain, fast = kernel_seconds(layer, args.threads, args.reps)
            ratios[layer]["no shortcuts"].append(c_time / plain)
            ratios[layer]["shortcuts"].append(c_time / fast)
            line.append(f"{layer} {plain:.3f}/{fast:.3f} s")
        print(" · ".join(line), flush=True)

    print(f"\nMandelbrot 1920x1080@256 vs gcc -O3 OpenMP, {args.threads} threads, {args.rounds} interleaved "
          "rounds: C time / numba time (> 1 = numba faster), median [min-max]\n")
    print(f"{'layer':10} {'no shortcuts (same work as C)':>32} {'with shortcuts':>24}")
    for layer in LAYERS:
        cells = []
        for kind in ("no shortcuts", "shortcuts"):
            v = ratios[layer][kind]
            cells.append(f"{statistics.median(v):.2f} [{min(v):.2f}-{max(v):.2f}]")
        print(f"{layer:10} {cells[0]:>32} {cells[1]:>24}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"frame": FRAME, "threads": args.threads, "ratios": ratios}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
