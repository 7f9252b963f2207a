"""Load benchmark at the protocol level: a class on the production Streamlit service, with one
Streamlit process and with the default number (compose.prod.yaml: the balancer and
STREAMLIT_REPLICAS processes, each limited to 2 CPUs, 2 GB, 256 pids).

    uv run --frozen python benchmarks/load.py [--processes 1 2] [--sessions 1 20 50 100]
                                              [--arrivals 2 --arrival-seconds 60] [--pages fbm dla]
                                              [--json artifacts/load-bench.json] [--git-ref REV]

Each session is one websocket speaking Streamlit's own protocol (tests/utils/streamlit_ws.py).

- **Bursts.** N sessions open a page at the same moment, wait for the script run to finish,
  fetch every /media/ file it references, and rerun the page once. Per page, session count and
  process count: p50/p95/max of the run latency (request -> script finished -> media fetched),
  runs per second of wall time, and two costs per run: *serialized* seconds (wall time / runs,
  the work that queues when every session waits for every other) and CPU seconds (the Streamlit
  containers' cgroup CPU time / runs).
- **Arrivals.** Sessions arrive at a fixed rate (``--arrivals`` per second for
  ``--arrival-seconds``), each on a page drawn at random (seeded), then move ``--moves`` of its
  sliders a few steps, one after another, ``--think`` seconds apart; every run counts, first
  runs and reruns alike.
- **The baseline.** benchmarks/trivial_page.py (a title, a slider, two writes: Streamlit's own
  floor) is the home page of the benchmarked stack, served by the same image, settings and
  balancer, and measured in the same run as every gallery page: each page's cost is printed as
  a multiple of the trivial page's.
- **Memory.** Each Streamlit process's memory after the warm-up (every page run once) and its
  peak over the benchmark (cgroup figures).

Goals (issue 29), judged here and never in tests: with the default processes, the worst page's
p95 at 50 sessions <= the trivial page's p95 on one process; throughput with the default >= 1.5x
one process; at 2 arrivals per second, p95 <= 1 s; serialized time per run <= 1.2x the trivial
page's; 100 sessions with 0 failures, 0 restarts, no OOM kill.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "services" / "base"))

import fractal_settings  # noqa: E402

from utils.browser import CHROMIUM_FLAGS, FIGURE, chromium_env  # noqa: E402
from utils.commands import run  # noqa: E402
from utils.gallery import PAGE_FILES  # noqa: E402
from utils.project import project  # noqa: E402
from utils.streamlit_ws import SessionError, StreamlitSession, concurrent_sessions  # noqa: E402

TRIVIAL = Path(__file__).with_name("trivial_page.py")
#: The gallery's pages by URL path when the trivial page is the home page ("" below).
GALLERY = [Path(f).stem for f in PAGE_FILES]
DEFAULT_PROCESSES = int(next(k.default for k in fractal_settings.KNOBS if k.name == "STREAMLIT_REPLICAS"))


def _label(page: str) -> str:
    return page or "trivial"


def _q95(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=20, method="inclusive")[18] if len(xs) >= 2 else xs[0]


def _latencies(runs) -> dict:
    lat = sorted(r.seconds for r in runs if r.ok)
    return {"runs": len(runs), "p50_s": statistics.median(lat) if lat else None,
            "p95_s": _q95(lat) if lat else None, "max_s": lat[-1] if lat else None,
            "failed_runs": sum(not r.ok for r in runs), "errors": [e for r in runs for e in r.errors][:5]}


def _cgroup(container: str, v2: str, v1: str) -> int:
    """An integer from the container's cgroup (v2 file, else the v1 one)."""
    out = run(["docker", "exec", container, "sh", "-c", f"cat /sys/fs/cgroup/{v2} 2>/dev/null || "
               f"cat /sys/fs/cgroup/{v1}"]).stdout
    return int(out.split("usage_usec")[1].split()[0]) * 1000 if "usage_usec" in out else int(out.split()[0])


def cpu_seconds(containers: list[str]) -> float:
    """CPU time the containers have used, in seconds (cgroup cpu.stat / cpuacct.usage)."""
    return sum(_cgroup(c, "cpu.stat", "cpuacct/cpuacct.usage") for c in containers) / 1e9


def memory_bytes(container: str, peak: bool = False) -> int:
    """The container's memory use now, or its peak since it started (cgroup v2 or v1)."""
    if peak:
        return _cgroup(container, "memory.peak", "memory/memory.max_usage_in_bytes")
    return _cgroup(container, "memory.current", "memory/memory.usage_in_bytes")


def burst(base: str, page: str, sessions: int, containers: list[str]) -> dict:
    """``sessions`` sessions open ``page`` at once and rerun it once; costs and latencies."""
    with StreamlitSession(base) as lone:
        reference = [lone.run_page(page), lone.run_page(page)]
    cpu0, t0 = cpu_seconds(containers), time.perf_counter()
    results = concurrent_sessions(base, page, sessions, reruns=1)
    wall, cpu = time.perf_counter() - t0, cpu_seconds(containers) - cpu0
    lost = [repr(r) for r in results if isinstance(r, BaseException)]
    pairs = [(r, ref) for x in results if not isinstance(x, BaseException) for r, ref in zip(x, reference)]
    runs = [r for r, _ in pairs]
    return {"mode": "burst", "page": _label(page), "sessions": sessions, "wall_s": wall,
            **_latencies(runs), "runs_per_s": sum(r.ok for r in runs) / wall,
            "serialized_s_per_run": wall / max(1, len(runs)), "cpu_s_per_run": cpu / max(1, len(runs)),
            "lost": len(lost), "lost_sessions": lost[:5],
            "differ_from_lone": sum(r.signature != ref.signature for r, ref in pairs if r.ok)}


def _moves(run, rng: random.Random, moves: int) -> list[tuple[str, float]]:
    """Up to ``moves`` (slider key, value) pairs: sliders the run showed, each nudged 1-3 steps
    (numeric sliders with one value; a select slider's value is its option's label)."""
    sliders = [el.slider for el in run.shown if el.WhichOneof("type") == "slider"
               and el.slider.id.startswith("$$ID-") and len(el.slider.default) == 1 and not el.slider.options]
    out = []
    for s in rng.sample(sliders, min(moves, len(sliders))):
        value = s.default[0] + rng.choice((-3, -2, -1, 1, 2, 3)) * (s.step or 1)
        out.append((s.id.split("-", 2)[2], min(s.max, max(s.min, value))))
    return out


def arrivals(base: str, pages: list[str], rate: float, seconds: float, moves: int, think: float,
             seed: int, containers: list[str]) -> dict:
    """Sessions arriving ``rate`` per second for ``seconds``: each opens a random page of
    ``pages`` and moves ``moves`` sliders, ``think`` seconds apart."""
    rng = random.Random(seed)
    plan = [(i / rate, rng.choice(pages), rng.randrange(2**32)) for i in range(round(rate * seconds))]
    runs: list = []
    lost: list[str] = []
    lock = threading.Lock()

    def student(start: float, page: str, seed: int) -> None:
        time.sleep(max(0.0, start - (time.perf_counter() - t0)))
        mine, widgets, r = [], {}, random.Random(seed)
        try:
            with StreamlitSession(base) as s:
                mine.append(s.run_page(page))
                for key, value in _moves(mine[0], r, moves):
                    time.sleep(think)
                    widgets[key] = value  # the frontend sends every widget's state, not only the moved one
                    mine.append(s.run_page(page, widgets=dict(widgets)))
        except SessionError as exc:
            with lock:
                lost.append(repr(exc))
        with lock:
            runs.extend(mine)

    cpu0, t0 = cpu_seconds(containers), time.perf_counter()
    threads = [threading.Thread(target=student, args=p, daemon=True) for p in plan]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, cpu_seconds(containers) - cpu0
    return {"mode": "arrivals", "page": "random", "sessions": len(plan), "rate_per_s": rate, "wall_s": wall,
            **_latencies(runs), "runs_per_s": sum(r.ok for r in runs) / wall,
            "serialized_s_per_run": None, "cpu_s_per_run": cpu / max(1, len(runs)),
            "lost": len(lost), "lost_sessions": lost[:5], "differ_from_lone": 0}


async def browser_first_figure(url: str) -> float:
    """Seconds from navigation to the first visible figure in one headless Chromium page."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS,
                                           env=chromium_env())
        try:
            page = await (await browser.new_context()).new_page()
            t0 = time.monotonic()
            await page.goto(url, wait_until="commit")
            await page.locator(FIGURE).first.wait_for(state="visible", timeout=180_000)
            return time.monotonic() - t0
        finally:
            await browser.close()


def serve(p, processes: int, args) -> dict:
    """Bring the stack to ``processes`` fresh Streamlit processes (no cache of an earlier
    configuration's runs) and run every measurement on it."""
    p.compose("up", "--build", "--force-recreate", "--wait", "--detach", "balancer", "streamlit", timeout=3600,
              env={"STREAMLIT_REPLICAS": str(processes)})
    containers = p.containers("streamlit")
    assert len(containers) == processes, containers
    base = p.url("streamlit", "/app")
    pages = ["", *args.pages]
    for page in pages:  # warm-up: JIT, numba cache and imports, as on a running server; open
        # sessions at once, as new tabs go to the process with the fewest: every process warms up
        concurrent_sessions(base, page, 2 * processes, reruns=0)
    memory = {c: {"warm_bytes": memory_bytes(c)} for c in containers}
    rows = []
    for n in args.sessions:
        for page in pages:
            rows.append({"processes": processes, **burst(base, page, n, containers)})
            r = rows[-1]
            print(f"{processes} proc {r['page']:15} {n:3} sessions: p95 {r['p95_s'] or float('nan'):6.2f} s, "
                  f"{r['runs_per_s']:5.2f} runs/s, cpu {r['cpu_s_per_run']:.3f} s/run, lost {r['lost']}, "
                  f"failed {r['failed_runs']}, differ {r['differ_from_lone']}", flush=True)
    if args.arrivals:
        rows.append({"processes": processes, **arrivals(base, pages, args.arrivals, args.arrival_seconds,
                                                         args.moves, args.think, args.seed, containers)})
        r = rows[-1]
        print(f"{processes} proc arrivals {args.arrivals}/s: {r['runs']} runs, p95 {r['p95_s'] or float('nan'):.2f} s, "
              f"lost {r['lost']}, failed {r['failed_runs']}", flush=True)
    for c in containers:
        memory[c]["peak_bytes"] = memory_bytes(c, peak=True)
    infos = json.loads(run(["docker", "inspect", *containers]).stdout)
    return {"processes": processes, "rows": rows, "memory": list(memory.values()),
            "restarts": sum(i["RestartCount"] for i in infos),
            "oom_killed": any(i["State"]["OOMKilled"] for i in infos),
            "memory_limit_bytes": infos[0]["HostConfig"]["Memory"], "nano_cpus": infos[0]["HostConfig"]["NanoCpus"],
            "browser_first_figure_s": None if args.no_browser else
            asyncio.run(browser_first_figure(f"{base}/{GALLERY[0]}"))}


def _fmt(v, spec=".2f") -> str:
    return "-" if v is None else format(v, spec)


def report(configs: list[dict]) -> list[str]:
    """The tables and the goals, as printed lines."""
    lines = []
    rows = [r for c in configs for r in c["rows"]]
    trivial = {(r["processes"], r["sessions"]): r for r in rows if r["page"] == "trivial" and r["mode"] == "burst"}
    lines.append(f"{'proc':>4} {'page':15} {'sessions':>8} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'runs/s':>7} "
                 f"{'ser s':>6} {'x triv':>6} {'cpu s':>6} {'x triv':>6} {'lost':>4} {'fail':>4} {'diff':>4}")
    for r in rows:
        t = trivial.get((r["processes"], r["sessions"])) if r["mode"] == "burst" else None
        ser = r["serialized_s_per_run"] / t["serialized_s_per_run"] if t else None
        cpu = r["cpu_s_per_run"] / t["cpu_s_per_run"] if t and t["cpu_s_per_run"] else None
        name = r["page"] if r["mode"] == "burst" else f"arrive {r['rate_per_s']:g}/s"
        lines.append(f"{r['processes']:4} {name:15} {r['sessions']:8} {_fmt(r['p50_s']):>7} {_fmt(r['p95_s']):>7} "
                     f"{_fmt(r['max_s']):>7} {_fmt(r['runs_per_s']):>7} {_fmt(r['serialized_s_per_run'], '.3f'):>6} "
                     f"{_fmt(ser):>6} {_fmt(r['cpu_s_per_run'], '.3f'):>6} {_fmt(cpu):>6} {r['lost']:4} "
                     f"{r['failed_runs']:4} {r['differ_from_lone']:4}")
    lines.append("")
    for c in configs:
        mem = ", ".join(f"{m['warm_bytes'] / 2**20:.0f} MB warm / {m['peak_bytes'] / 2**20:.0f} MB peak"
                        for m in c["memory"])
        lines.append(f"{c['processes']} process(es): memory per process {mem}; restarts {c['restarts']}, "
                     f"OOM-killed {c['oom_killed']}; one Chromium tab's first figure "
                     f"{_fmt(c['browser_first_figure_s'])} s")
    goals = []
    by = {(r["processes"], r["page"], r["sessions"]): r for r in rows if r["mode"] == "burst"}
    one, default = min(c["processes"] for c in configs), max(c["processes"] for c in configs)
    gallery = sorted({r["page"] for r in rows if r["mode"] == "burst" and r["page"] != "trivial"})
    if (one, "trivial", 50) in by and one == 1 and default > 1:
        worst = max((by[(default, g, 50)] for g in gallery if (default, g, 50) in by), key=lambda r: r["p95_s"] or 1e9)
        floor = by[(1, "trivial", 50)]["p95_s"]
        goals.append(f"worst page p95 at 50 sessions, {default} processes: {worst['page']} {_fmt(worst['p95_s'])} s "
                     f"vs the trivial page on 1 process {_fmt(floor)} s -> "
                     f"{'met' if worst['p95_s'] and floor and worst['p95_s'] <= floor else 'MISSED'}")
        ratios = [by[(default, g, 50)]["runs_per_s"] / by[(1, g, 50)]["runs_per_s"]
                  for g in gallery if (default, g, 50) in by and (1, g, 50) in by]
        if ratios:
            goals.append(f"throughput {default} vs 1 process at 50 sessions: min {min(ratios):.2f}x, "
                         f"median {statistics.median(ratios):.2f}x (goal >= 1.5x) -> "
                         f"{'met' if min(ratios) >= 1.5 else 'MISSED'}")
    for (procs, page, n), r in sorted(by.items()):
        t = trivial.get((procs, n))
        if procs == 1 and n == max(s for (_, _, s) in by) and page != "trivial" and t:
            ratio = r["serialized_s_per_run"] / t["serialized_s_per_run"]
            goals.append(f"serialized time per run, 1 process, {n} sessions, {page}: {ratio:.2f}x trivial "
                         f"(goal <= 1.2x) -> {'met' if ratio <= 1.2 else 'MISSED'}")
    for r in rows:
        if r["mode"] == "arrivals":
            goals.append(f"arrivals {r['rate_per_s']:g}/s, {r['processes']} processes: p95 {_fmt(r['p95_s'])} s "
                         f"(goal <= 1 s) -> {'met' if r['p95_s'] is not None and r['p95_s'] <= 1 else 'MISSED'}")
    bad = sum(r["lost"] + r["failed_runs"] + r["differ_from_lone"] for r in rows)
    goals.append(f"failures {bad}, restarts {sum(c['restarts'] for c in configs)}, "
                 f"OOM {any(c['oom_killed'] for c in configs)} -> "
                 f"{'met' if not bad and not any(c['restarts'] or c['oom_killed'] for c in configs) else 'MISSED'}")
    return [*lines, "", "Goals (issue 29):", *("  " + g for g in goals)]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--processes", type=int, nargs="+", default=sorted({1, DEFAULT_PROCESSES}),
                    help=f"Streamlit process counts to compare (default: 1 and the default, {DEFAULT_PROCESSES})")
    ap.add_argument("--sessions", type=int, nargs="*", default=[1, 20, 50, 100])
    ap.add_argument("--pages", nargs="+", default=GALLERY, help="gallery pages by URL path (file stem)")
    ap.add_argument("--arrivals", type=float, default=2.0, help="sessions per second (0: no arrival run)")
    ap.add_argument("--arrival-seconds", type=float, default=60.0)
    ap.add_argument("--moves", type=int, default=3, help="sliders each arriving session moves")
    ap.add_argument("--think", type=float, default=2.0, help="seconds between one session's moves")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--python-image", default=os.environ.get("PYTHON_IMAGE", "python:3.11-slim"))
    ap.add_argument("--git-ref", help="measure the code of this commit instead of the working tree")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--json", type=Path, default=ROOT / "artifacts" / "load-bench.json")
    args = ap.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="fractal-load-"))
    configs = []
    try:
        with project(scratch, args.python_image, "load", JUPYTER_TOKEN=uuid.uuid4().hex, APP_VERSION="0.0.0",
                     GIT_SHA=uuid.uuid4().hex[:7], DEPLOY_ENV="load", STREAMLIT_APP=TRIVIAL.name) as p:
            p.files = ["compose.yaml", "compose.prod.yaml"]
            if args.git_ref:  # another commit's code and build files, in the same scratch project
                for item in ("apps", "src", "services"):
                    shutil.rmtree(p.dir / item, ignore_errors=True)
                archive = subprocess.run(["git", "-C", str(ROOT), "archive", args.git_ref, "apps", "src", "services",
                                          "pyproject.toml", "uv.lock", "compose.yaml", "compose.prod.yaml"],
                                         capture_output=True, check=True).stdout
                subprocess.run(["tar", "-x", "-C", str(p.dir)], input=archive, check=True)
            shutil.copy(TRIVIAL, p.dir / "apps" / TRIVIAL.name)
            for processes in args.processes:
                configs.append(serve(p, processes, args))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"\nStreamlit load, protocol level · code: {args.git_ref or 'working tree'}\n")
    lines = report(configs)
    print("\n".join(lines))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"code": args.git_ref or "working tree", "configs": configs,
                                     "report": lines}, indent=2))
    bad = any(r["lost"] or r["failed_runs"] or r["differ_from_lone"] for c in configs for r in c["rows"])
    return 0 if not bad and not any(c["oom_killed"] or c["restarts"] for c in configs) else 1


if __name__ == "__main__":
    sys.exit(main())
