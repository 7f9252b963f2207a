"""Stack benchmark: ours against a naive single-image baseline, measured in one run.

    uv run --frozen python benchmarks/stack.py [--python-image IMAGE] [--json artifacts/stack-bench.json]

Measures cold builds from an empty build cache (ours: the compose images; baseline:
benchmarks/baseline.Dockerfile), the production rebuild after editing one app file, the dev
live edit (zero rebuilds, time until the running app shows it), image sizes and the stack's
unique bytes, `up` to healthy, `stop`, idle memory, and the kernel benchmark inside the
streamlit image. WARNING: it empties the Docker build cache (docker builder prune -af).
Prints a table and writes JSON. Goals are reported, not asserted.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from utils.browser import CHROMIUM_FLAGS, chromium_env, wait_until_streamlit_is_idle  # noqa: E402
from utils.project import make_project  # noqa: E402

GB = 1e9


def sh(cmd, env=None, check=True, timeout=3600):
    out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=timeout)
    if check and out.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stdout[-2000:]}\n{out.stderr[-4000:]}")
    return out


def timed(fn):
    t0 = time.monotonic()
    fn()
    return time.monotonic() - t0


def image_size(image: str) -> int:
    return int(sh(["docker", "image", "inspect", image, "--format", "{{.Size}}"]).stdout)


def saved_bytes(*images: str) -> int:
    """Bytes of `docker save` of these images: every layer once, however many images hold it
    (with tar's headers, about 3 % over the layers' own sizes)."""
    with subprocess.Popen(["docker", "save", *images], stdout=subprocess.PIPE) as proc:
        total = sum(len(chunk) for chunk in iter(lambda: proc.stdout.read(1 << 20), b""))
    if proc.returncode:
        raise SystemExit(f"docker save {' '.join(images)} failed ({proc.returncode})")
    return total


# Bytes of each installed distribution's own files (its RECORD), without the bytecode.
_DIST_BYTES = """
import importlib.metadata as md, json, os
print(json.dumps({d.metadata["Name"].lower(): sum(os.path.getsize(f.locate()) for f in d.files or []
                  if f.suffix != ".pyc" and os.path.isfile(f.locate())) for d in md.distributions()}))
"""


def package_floor(python_image: str, images: list[str]) -> int:
    """The least any layout of these images could store: the Python image, and every installed
    package's own files once, with no bytecode (nothing pruned, nothing shared twice)."""
    dists: dict[str, int] = {}
    for image in images:
        out = sh(["docker", "run", "--rm", "--entrypoint", "python", image, "-c", _DIST_BYTES]).stdout
        dists.update(json.loads(out))
    return image_size(python_image) + sum(dists.values())


def layers(image: str) -> list[str]:
    return json.loads(sh(["docker", "image", "inspect", image]).stdout)[0]["RootFS"]["Layers"]


def mem_bytes(text: str) -> float:
    m = re.match(r"([\d.]+)\s*([KMG]i?B|B)", text)
    units = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2, "GiB": 1024 ** 3, "KB": 1e3, "MB": 1e6, "GB": 1e9}
    return float(m.group(1)) * units[m.group(2)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python-image", default=os.environ.get("PYTHON_IMAGE", "python:3.11-slim"))
    ap.add_argument("--json", type=Path, default=ROOT / "artifacts" / "stack-bench.json")
    args = ap.parse_args(argv)
    rows = []

    def row(name, ours, base=None, unit="s", goal="", met=None, note=""):
        rows.append(dict(metric=name, ours=ours, baseline=base, unit=unit, goal=goal, met=met, note=note,
                         ratio=(ours / base) if base else None))

    scratch = Path(tempfile.mkdtemp(prefix="fractal-bench-"))
    p = make_project(scratch, args.python_image, "bench", JUPYTER_TOKEN=uuid.uuid4().hex, APP_VERSION="0.0.0",
                     GIT_SHA=uuid.uuid4().hex[:7], DEPLOY_ENV="bench")
    baseline_tag = f"fractal-notebooks-bench/baseline:{p.name}"
    try:
        # 1. cold builds from an empty build cache: Bake (Compose's default with buildx), the
        #    classic builder (COMPOSE_BAKE=false), and the naive single-image baseline
        sh(["docker", "builder", "prune", "-af"])
        ours_cold = timed(lambda: p.compose("build", timeout=3600))
        sh(["docker", "builder", "prune", "-af"])
        classic = make_project(scratch, args.python_image, "bench-classic", COMPOSE_BAKE="false")
        try:
            classic_cold = timed(lambda: classic.compose("build", timeout=3600))
        finally:
            classic.cleanup()
        row("cold build, classic builder (COMPOSE_BAKE=false)", classic_cold, ours_cold,
            note="baseline column: the same build through Bake")
        sh(["docker", "builder", "prune", "-af"])
        # built by Compose too, so both sides use the same builder (BuildKit)
        shutil.copy(ROOT / "benchmarks" / "baseline.Dockerfile", p.dir / "baseline.Dockerfile")
        (p.dir / "baseline.yaml").write_text(
            "services:\n  baseline:\n    image: " + baseline_tag + "\n    build:\n      context: .\n"
            "      dockerfile: baseline.Dockerfile\n      args:\n        PYTHON_IMAGE: " + args.python_image + "\n")
        base_cold = timed(lambda: sh(["docker", "compose", "-p", p.name + "-baseline", "-f",
                                      str(p.dir / "baseline.yaml"), "build"], timeout=3600))
        row("cold build, all images (empty cache)", ours_cold, base_cold, goal="<= 1.0x baseline",
            met=ours_cold <= base_cold)

        # 2. sizes: each image, and unique bytes of the stack: its images saved together, which
        # stores each layer once (the base's under every service; the notebook layer under
        # jupyter and docs), compared with the baseline image saved alone.
        images = p.images()
        base_layers = layers(images[0])
        assert all(layers(i)[: len(base_layers)] == base_layers for i in images[1:])
        for i in images:
            row(f"image size {i.split('/')[-1].split(':')[0]}", image_size(i) / GB, unit="GB")
        unique = saved_bytes(*images)
        row("stack unique bytes (dev images, docker save)", unique / GB, saved_bytes(baseline_tag) / GB, unit="GB",
            goal="<= 1.0 GB", met=unique <= GB)
        row("floor: the Python image + every package's files once, no bytecode",
            package_floor(args.python_image, images) / GB, unit="GB", note="no layout stores less")

        # 3. production images: build, then rebuild after editing one app file
        prod = make_project(scratch, args.python_image, "bench", **{k: v for k, v in p.env.items()
                                                                  if k in ("JUPYTER_TOKEN", "APP_VERSION", "GIT_SHA", "DEPLOY_ENV")})
        prod.files = ["compose.yaml", "compose.prod.yaml"]
        prod.compose("build", timeout=3600)
        app = prod.dir / "apps" / "julia.py"
        app.write_text(app.read_text().replace("Julia sets", "Julia sets (edited)"))
        rebuild = timed(lambda: prod.compose("build", timeout=1800))
        row("prod rebuild after editing one app file", rebuild, goal="<= 10 s", met=rebuild <= 10)

        # 4. dev: up to healthy, live edit, idle memory, stop
        p.compose("up", "--wait", "--detach", timeout=1800)  # first start fills the caches
        p.compose("stop")
        up = timed(lambda: p.compose("up", "--wait", "--detach", timeout=1800))
        row("up -> all healthy (built images)", up, goal="<= 10 s", met=up <= 10)
        live = live_edit_seconds(p)
        row("dev live edit visible in the app (0 rebuilds)", live, goal="<= 2 s", met=live <= 2)
        time.sleep(20)
        stats = sh(["docker", "stats", "--no-stream", "--format", "{{json .}}",
                    *[p.container(s) for s in ("streamlit", "jupyter", "docs")]]).stdout
        total = 0.0
        for line in stats.splitlines():
            st = json.loads(line)
            used = mem_bytes(st["MemUsage"].split("/")[0].strip())
            total += used
            row(f"idle memory {st['Name'].split('-')[-2]}", used / 1e6, unit="MB")
        row("idle memory total", total / 1e6, unit="MB", goal="<= 400 MB", met=total <= 400e6)
        stop = timed(lambda: p.compose("stop"))
        row("docker compose stop", stop, goal="<= 3 s", met=stop <= 3)

        # 5. kernel benchmark inside the streamlit image
        k = sh(["docker", "run", "--rm", "-v", f"{ROOT / 'benchmarks'}:/bench:ro", "-e", "NUMBA_CACHE_DIR=/tmp/nc",
                images[1], "python", "/bench/kernels.py", "--json", "/tmp/k.json"], timeout=1800).stdout
        print(k)
    finally:
        p.cleanup()
        if "prod" in locals():
            prod.cleanup()
        sh(["docker", "image", "rm", "-f", baseline_tag], check=False)
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\n{'metric':48} {'ours':>9} {'baseline':>9} {'ratio':>6} {'unit':>4}  {'goal':>16} {'met':>4}")
    for r in rows:
        b = f"{r['baseline']:.3f}" if r["baseline"] is not None else "-"
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else "-"
        met = {True: "yes", False: "NO", None: ""}[r["met"]]
        print(f"{r['metric']:48} {r['ours']:9.3f} {b:>9} {ratio:>6} {r['unit']:>4}  {r['goal']:>16} {met:>4}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"python_image": args.python_image, "rows": rows}, indent=2))
    print(f"\nwritten: {args.json}")
    return 0


def live_edit_seconds(p) -> float:
    """Seconds from saving an app file on the host to the open page showing the change."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS, env=chromium_env())
        page = b.new_page()
        page.goto(p.url("streamlit"))
        page.get_by_role("heading", name="Branching tree").wait_for(timeout=120_000)
        wait_until_streamlit_is_idle(page, page.get_by_text(re.compile(r"^Depth \d+, \d+ branches")))
        app = p.dir / "apps" / "branching_tree.py"
        src = app.read_text()
        t0 = time.monotonic()
        app.write_text(src.replace('st.title("Branching tree")', 'st.title("Live edit")'))
        page.get_by_role("heading", name="Live edit").wait_for(timeout=60_000)
        took = time.monotonic() - t0
        app.write_text(src)
        b.close()
    return took


if __name__ == "__main__":
    sys.exit(main())
