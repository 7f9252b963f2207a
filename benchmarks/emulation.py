"""What emulation costs: the kernel benchmark in an amd64 and an arm64 image, in the same run.

    uv run --frozen python benchmarks/emulation.py --image linux/amd64=IMAGE --image linux/arm64=IMAGE \
        [--reps 2] [--threads 2] [--json out.json]

Runs ``benchmarks/kernels.py`` inside each image (``docker run --platform``; a foreign platform
runs under QEMU user emulation, see scripts/enable-emulation.sh) and prints, per benchmark, the
seconds on each platform and the ratio to the first one. Under emulation the ratio is the cost
of emulation, not the speed of arm64 hardware.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def run_in(platform: str, image: str, reps: int, threads: int) -> dict:
    """kernels.py's JSON report from inside `image` on `platform`."""
    cmd = ["docker", "run", "--rm", "--no-healthcheck", "--platform", platform, "-v", f"{HERE}:/bench:ro",
           "--entrypoint", "sh",
           image, "-c", f"python /bench/kernels.py --reps {reps} --threads {threads} --json /tmp/k.json "
                        ">/dev/null && cat /tmp/k.json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{platform}: {' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--image", action="append", required=True, metavar="PLATFORM=IMAGE",
                    help="an image to run, with its platform (give two or more; the first is the reference)")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    pairs = [item.split("=", 1) for item in args.image]
    if len(pairs) < 2 or any(len(p) != 2 for p in pairs):
        ap.error("give at least two --image PLATFORM=IMAGE")
    reports = {platform: run_in(platform, image, args.reps, args.threads) for platform, image in pairs}
    ref, *others = reports
    names = [r["benchmark"] for r in reports[ref]["rows"]]
    seconds = {p: {r["benchmark"]: r["seconds"] for r in rep["rows"]} for p, rep in reports.items()}
    print(f"\nkernel benchmark per platform, {args.threads} threads, best of {args.reps}; "
          f"ratio = seconds / seconds on {ref}\n")
    head = f"{'benchmark':48} " + " ".join(f"{p:>14}" for p in reports) + " " + " ".join(
        f"{'x ' + p:>16}" for p in others)
    print(head)
    for name in names:
        cells = [f"{seconds[p].get(name, float('nan')):14.4f}" for p in reports]
        ratios = [f"{seconds[p].get(name, float('nan')) / seconds[ref][name]:15.1f}x" for p in others]
        print(f"{name:48} " + " ".join(cells) + " " + " ".join(ratios))
    for p, rep in reports.items():
        print(f"{p}: threading layer {rep['threading_layer']}, {rep['threads']} threads")
    if args.json:
        args.json.write_text(json.dumps(reports, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
