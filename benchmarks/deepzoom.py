"""Deep-zoom benchmark: time per megapixel at each depth, and against baselines in the same run.

    uv run --frozen python benchmarks/deepzoom.py [--size 400x300] [--json out.json]
                                                  [--fractalshades /path/to/python] [--set julia]

Windows are centred on the ten-armed spiral M(18, 10) (``fractalkit.deepzoom.misiurewicz_point``)
at widths 1e-5 ... 1e-1000 with the explorer's iteration cap (``auto_max_iter``). Printed per
depth: the reference orbit's time (MPFR), the whole render's time and seconds per megapixel with
and without bilinear approximation. At 1e-5, where float64 is still exact, the perturbation
kernel is also timed against the float64 kernel (``fractalkit.mandelbrot``) on the same frame.
``--set julia`` renders the dendrite's Julia set (c = i) at its fixed point beta = (1 + sqrt(1 - 4i))/2
instead (``deep_julia``, float64 baseline ``fractalkit.julia``).

``--fractalshades PYTHON`` times Fractalshades (the one other Python deep-zoom renderer; numba
too) on the same windows, size and iteration cap, run by that interpreter (Fractalshades ships
Windows wheels only: build its sdist in a separate environment, which needs libmpfr-dev and
libmpc-dev). Not a test: it measures and prints; nothing here is asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import numba

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fractalkit as fk  # noqa: E402
from kernels import best_of  # noqa: E402  (a warm-up call, then the best of reps)
import gmpy2  # noqa: E402
from fractalkit.deepzoom import (DeepViewport, auto_max_iter, deep_julia, deep_mandelbrot,  # noqa: E402
                                 float64_is_exact, misiurewicz_point, reference_orbit, working_precision)

WIDTHS = ["1e-5", "1e-20", "1e-50", "1e-100", "1e-300", "1e-1000"]
SPIRAL = ("-0.7746728091751297", "-0.13741840173724856", 18, 10)
DENDRITE = ("0", "1")  # c = i


def dendrite_beta(digits: int) -> tuple[str, str]:
    """The repelling fixed point (1 + sqrt(1 - 4c)) / 2 of z**2 + i, a point of its Julia set."""
    with gmpy2.context(precision=int(digits * 3.33) + 64):
        beta = (1 + gmpy2.sqrt(1 - 4 * gmpy2.mpc(0, 1))) / 2
        return format(beta.real, f".{digits}f"), format(beta.imag, f".{digits}f")

#: Run by --fractalshades' interpreter: one render of a window, its seconds on stdout (last line).
FRACTALSHADES = r"""
import sys, time, tempfile
import fractalshades as fs
import fractalshades.models as fsm
x, y, dx, nx, ny, max_iter = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
precision = int(sys.argv[7])
best = float("inf")
for rep in range(3):
    with tempfile.TemporaryDirectory() as d:
        f = fsm.Perturbation_mandelbrot(d)
        f.zoom(precision=precision, x=x, y=y, dx=dx, nx=nx, xy_ratio=nx / ny, theta_deg=0.0,
               projection=fs.projection.Cartesian())
        f.calc_std_div(calc_name="bench", subset=None, max_iter=max_iter, M_divergence=256.0,
                       epsilon_stationnary=1e-3, BLA_eps=1e-6, interior_detect=False, calc_dzndc=False)
        t0 = time.perf_counter()
        f.calc_raw("bench")  # reference orbit, BLA tree and every pixel's escape; no colouring
        best = min(best, time.perf_counter() - t0)
        print(f"rep {rep}: {time.perf_counter() - t0:.3f} s", file=sys.stderr)
print(best)
"""


def fractalshades_seconds(python: str, vp: DeepViewport, max_iter: int) -> tuple[float | None, str]:
    digits = len(vp.center_re) + 10
    try:
        r = subprocess.run([python, "-c", FRACTALSHADES, vp.center_re, vp.center_im, vp.width, str(vp.nx), str(vp.ny),
                            str(max_iter), str(digits)], capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, repr(exc)
    if r.returncode != 0:
        return None, (r.stderr or r.stdout).strip().splitlines()[-1][:200]
    return float(r.stdout.strip().splitlines()[-1]), ""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="400x300", help="pixels, WxH")
    ap.add_argument("--reps", type=int, default=2, help="timed renders after a warm-up one")
    ap.add_argument("--widths", nargs="+", default=WIDTHS)
    ap.add_argument("--fractalshades", metavar="PYTHON", help="an interpreter with fractalshades installed")
    ap.add_argument("--set", choices=["mandelbrot", "julia"], default="mandelbrot")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    nx, ny = map(int, args.size.lower().split("x"))
    fk.configure_runtime()
    mp = nx * ny / 1e6
    digits = 20 + max(-Decimal(w).adjusted() for w in args.widths)
    julia = args.set == "julia"
    if julia:
        re_, im_ = dendrite_beta(digits)
        where = "the Julia set of c = i at its fixed point beta"

        def render(vp, it, bla=True):
            return deep_julia(DENDRITE, vp, it, bla=bla)
    else:
        re_, im_ = misiurewicz_point(*SPIRAL, digits=digits)
        where = "the spiral M(18,10)"

        def render(vp, it, bla=True):
            return deep_mandelbrot(vp, it, bla=bla)
    rows = []
    print(f"deep-zoom benchmark · {platform.machine()} · {os.cpu_count()} CPUs · numba {numba.__version__} · "
          f"{numba.get_num_threads()} threads · {nx}x{ny} px at {where}\n")
    print(f"{'width':>8} {'iter':>7} {'bits':>6} {'ref (s)':>8} {'BLA (s/MP)':>11} {'no BLA (s/MP)':>14} "
          f"{'BLA gain':>9}  baseline")
    for width in args.widths:
        vp = DeepViewport(re_, im_, width, nx, ny)
        it = auto_max_iter(width)
        bits = working_precision(width, nx, ny)
        t_ref = best_of(lambda: reference_orbit(re_, im_, it, bits, julia_c=DENDRITE if julia else None), 1)
        t_bla = best_of(lambda: render(vp, it), args.reps)
        try:
            t_plain = best_of(lambda: render(vp, it, bla=False), 1)
        except fk.WorkLimitError:  # without BLA the float64 kernels' work cap applies
            t_plain = None
        row = {"width": width, "max_iter": it, "bits": bits, "nx": nx, "ny": ny, "reference_s": t_ref,
               "seconds": t_bla, "seconds_no_bla": t_plain, "s_per_mp": t_bla / mp,
               "s_per_mp_no_bla": t_plain / mp if t_plain else None}
        note = ""
        if float64_is_exact(vp):
            flat = fk.Viewport(float(re_), float(im_), float(width), nx, ny)
            t_flat = best_of(lambda: fk.julia(1j, flat, it) if julia else fk.mandelbrot(flat, it), args.reps)
            row["float64_s"] = t_flat
            note = f"float64 kernel {t_flat:.3f} s: perturbation {t_flat / t_bla:.2f}x its speed"
        if args.fractalshades and not julia:
            t_fs, why = fractalshades_seconds(args.fractalshades, vp, it)
            row["fractalshades_s"] = t_fs
            note += (" · " if note else "") + (f"Fractalshades {t_fs:.3f} s: ours {t_fs / t_bla:.2f}x" if t_fs
                                               else f"Fractalshades failed: {why}")
        rows.append(row)
        plain = f"{t_plain / mp:14.3f} {t_plain / t_bla:8.1f}x" if t_plain else f"{'over its cap':>14} {'-':>9}"
        print(f"{width:>8} {it:>7} {bits:>6} {t_ref:8.3f} {t_bla / mp:11.3f} {plain}  {note}", flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": platform.machine(), "threads": numba.get_num_threads(),
                                         "set": args.set, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
