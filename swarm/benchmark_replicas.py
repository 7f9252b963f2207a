"""Sessions per second served by 1, 2 and 3 Streamlit replicas of a deployed Swarm stack.

    uv run --frozen python swarm/benchmark_replicas.py --url https://127.0.0.1:8443/app \\
        --ca certs/proxy/tls.crt --stack fractal-notebooks [--replicas 1 2 3] [--tabs 30]

The stack is one deployed by swarm/deploy-swarm.sh. For each replica count the benchmark
scales the streamlit service (`docker service scale`, waiting for convergence), opens a few
warm-up tabs, then opens ``--tabs`` tabs at once through the proxy and the sticky balancer. Each
tab loads the Mandelbrot page, fetches its media, and reruns the page. Reported per count: tabs
per second of wall time, p50/p95 of a tab's time, failures, and the ratio to one replica (the
same run, the same machine). The service is scaled back to its count before the run.

On a 2-core host expect the cores, not the replicas, to cap the rate: each replica's numba
kernels already use both cores. Replicas buy capacity on more cores and more nodes, and they
buy availability.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from utils.streamlit_ws import SessionError, StreamlitSession  # noqa: E402


def tab(url: str, ca: str) -> tuple[float, str | None]:
    t0 = time.perf_counter()
    try:
        with StreamlitSession(url, timeout=300, verify=ca) as s:
            runs = [s.run_page("mandelbrot"), s.run_page("mandelbrot")]
        err = "; ".join(e for r in runs for e in r.errors) or None
    except SessionError as exc:
        err = str(exc)
    return time.perf_counter() - t0, err


def measure(url: str, ca: str, tabs: int) -> dict:
    with ThreadPoolExecutor(max_workers=tabs) as pool:
        list(pool.map(lambda _: tab(url, ca), range(3)))  # warm-up: every replica compiled and cached
        t0 = time.perf_counter()
        results = list(pool.map(lambda _: tab(url, ca), range(tabs)))
        wall = time.perf_counter() - t0
    times = sorted(t for t, _ in results)
    return {"tabs_per_s": tabs / wall, "p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
            "failed": sum(1 for _, e in results if e), "wall": wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="the gallery through the proxy, e.g. https://127.0.0.1:8443/app")
    ap.add_argument("--ca", required=True, help="the proxy's certificate (PEM) to verify it")
    ap.add_argument("--stack", default="fractal-notebooks")
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 3])
    ap.add_argument("--tabs", type=int, default=30)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    service = f"{a.stack}_streamlit"
    before = json.loads(subprocess.run(["docker", "service", "inspect", service], check=True, capture_output=True,
                                       text=True).stdout)[0]["Spec"]["Mode"]["Replicated"]["Replicas"]
    rows = {}
    try:
        for n in a.replicas:
            subprocess.run(["docker", "service", "scale", "--detach=false", f"{service}={n}"], check=True,
                           capture_output=True, timeout=900)
            time.sleep(5)  # the balancer re-resolves tasks.streamlit every 2 s
            rows[n] = measure(a.url, a.ca, a.tabs)
            print(f"{n} replica(s): {rows[n]['tabs_per_s']:.2f} tabs/s", flush=True)
    finally:
        subprocess.run(["docker", "service", "scale", "--detach=false", f"{service}={before}"], capture_output=True)
    one = rows[a.replicas[0]]["tabs_per_s"]
    print(f"\n{a.tabs} tabs at once, Mandelbrot page + one rerun each, through proxy and balancer")
    print(f"{'replicas':>8} {'tabs/s':>8} {'vs ' + str(a.replicas[0]):>6} {'p50 s':>7} {'p95 s':>7} {'failed':>6}")
    for n, r in rows.items():
        print(f"{n:>8} {r['tabs_per_s']:>8.2f} {r['tabs_per_s'] / one:>6.2f} {r['p50']:>7.1f} {r['p95']:>7.1f} "
              f"{r['failed']:>6}")
    if a.json:
        a.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
