"""Where a warm page run's serialized time goes: Streamlit's work, figure and image encoding,
and ours, per gallery page, beside the trivial page (Streamlit's own floor).

    uv run --frozen python benchmarks/page_profile.py [--pages fbm dla] [--sessions 20] [--reruns 2]
                                                      [--floors] [--json artifacts/page-profile.json]

One Streamlit process serves the gallery from this checkout (the home page is
benchmarks/trivial_page.py, as in benchmarks/load.py). For each page, after a warm-up, N
protocol-level sessions (tests/utils/streamlit_ws.py) open it at once and rerun it, while py-spy
(https://github.com/benfred/py-spy, run with uvx) samples every thread of the server with
``--gil``: only the samples of the thread that holds the interpreter lock, i.e. the work that
sessions queue for. Each sample is charged to the innermost frame's library (numpy, matplotlib,
PIL, plotly, pyarrow, protobuf, tornado, streamlit, ...), or to "ours" when that frame is in
apps/ or fractalkit. Printed per page: GIL milliseconds per run and the share of each part; the
JSON has every page's top functions too, by their own time and by inclusive time (the calls
they made included), to find which call owns a page's time. ``--floors`` also serves each page
of benchmarks/floor_pages.py (the trivial page plus one picture, one figure, one download or
five widgets) from a server of its own: Streamlit's own cost of each kind of element. Not a
test: it measures and prints.
"""
from __future__ import annotations

import argparse
import ast
import collections
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from utils.commands import free_port  # noqa: E402
from utils.gallery import PAGE_FILES  # noqa: E402
from utils.streamlit_ws import concurrent_sessions  # noqa: E402

TRIVIAL = Path(__file__).with_name("trivial_page.py")
FLOOR_PAGES = Path(__file__).with_name("floor_pages.py")
GALLERY = [Path(f).stem for f in PAGE_FILES]
#: Library of a frame, by a fragment of its file's path (first match wins).
PARTS = [("ours", ("/apps/", "/fractalkit/")), ("streamlit", ("/streamlit/",)), ("tornado", ("/tornado/",)),
         ("protobuf", ("/google/protobuf/",)), ("plotly", ("/plotly/", "/_plotly_utils/")),
         ("matplotlib", ("/matplotlib/", "/mpl_toolkits/")), ("PIL", ("/PIL/",)), ("numpy", ("/numpy/",)),
         ("pyarrow", ("/pyarrow/",)), ("pandas", ("/pandas/",)), ("numba", ("/numba/", "/llvmlite/")),
         ("python", ("/lib/python3",))]
FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def part(file: str) -> str:
    for name, fragments in PARTS:
        if any(f in file for f in fragments):
            return name
    return "other"


def collapse(raw: str) -> tuple[collections.Counter, collections.Counter, collections.Counter, int]:
    """py-spy's raw (collapsed-stack) output -> samples per part, per leaf function, per function
    anywhere in the stack (inclusive: counted once per sample), in total."""
    parts, leaves, inclusive, total = collections.Counter(), collections.Counter(), collections.Counter(), 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [m for f in stack.split(";") if (m := FRAME.match(f))]
        if not frames:
            continue
        n = int(count)
        total += n
        leaf = frames[-1]
        # charge a sample to the innermost frame of a known library (C code shows no frame)
        parts[part(leaf["file"])] += n
        leaves[f"{leaf['func']} ({Path(leaf['file']).name}:{leaf['line']})"] += n
        for name in {f"{f['func']} ({Path(f['file']).name})" for f in frames}:
            inclusive[name] += n
    return parts, leaves, inclusive, total


def floors() -> tuple[str, ...]:
    """``FLOORS`` of benchmarks/floor_pages.py, read (importing a page would run it)."""
    tree = ast.parse(FLOOR_PAGES.read_text())
    return next(ast.literal_eval(node.value) for node in tree.body
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FLOORS")


def serve(apps: Path, port: int, home: Path = TRIVIAL, floor: str = "") -> subprocess.Popen:
    env = {**os.environ, "STREAMLIT_APP": home.name, "FLOOR": floor}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(apps / "gallery.py"),
                             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--server.baseUrlPath", "app", "--server.runOnSave", "false",
                             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
                            cwd=apps.parent, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if requests.get(f"http://127.0.0.1:{port}/app/_stcore/health", timeout=2).ok:
                return proc
        except requests.RequestException:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError("Streamlit did not start")


def profile(pid: int, base: str, page: str, sessions: int, reruns: int, rate: int) -> dict:
    concurrent_sessions(base, page, 2, reruns=1)  # warm: imports, JIT, caches
    out = Path(tempfile.mkstemp(suffix=".txt")[1])
    spy = subprocess.Popen(["uvx", "py-spy@0.4.3", "record", "--pid", str(pid), "--rate", str(rate), "--gil",
                            "--format", "raw", "--full-filenames", "--output", str(out), "--nonblocking"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(2.0)  # py-spy attached
    t0 = time.perf_counter()
    results = concurrent_sessions(base, page, sessions, reruns=reruns)
    wall = time.perf_counter() - t0
    time.sleep(0.5)
    spy.send_signal(signal.SIGINT)
    spy.wait(timeout=60)
    runs = sum(len(r) for r in results if not isinstance(r, BaseException))
    parts, leaves, inclusive, total = collapse(out.read_text())
    out.unlink()
    ms = 1000.0 / rate
    return {"page": page or "trivial", "runs": runs, "wall_s": wall, "gil_ms_per_run": total * ms / max(1, runs),
            "parts_ms_per_run": {k: v * ms / max(1, runs) for k, v in parts.most_common()},
            "top": [(f, round(n * ms / max(1, runs), 2)) for f, n in leaves.most_common(15)],
            "inclusive": [(f, round(n * ms / max(1, runs), 2)) for f, n in inclusive.most_common(60)],
            "failed": sum(1 for r in results if isinstance(r, BaseException) or not all(x.ok for x in r))}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", nargs="*", default=GALLERY)
    ap.add_argument("--floors", action="store_true", help="also each element's own cost (benchmarks/floor_pages.py)")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--reruns", type=int, default=2)
    ap.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    ap.add_argument("--json", type=Path, default=ROOT / "artifacts" / "page-profile.json")
    args = ap.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="fractal-profile-"))
    shutil.copytree(ROOT / "apps", scratch / "apps", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / ".streamlit", scratch / ".streamlit")
    for page in (TRIVIAL, FLOOR_PAGES):
        shutil.copy(page, scratch / "apps" / page.name)
    servers = [(TRIVIAL, "", ["", *args.pages])]
    if args.floors:
        servers += [(FLOOR_PAGES, floor, [""]) for floor in floors()]
    rows = []
    try:
        for home, floor, pages in servers:
            port = free_port()
            proc = serve(scratch / "apps", port, home, floor)
            try:
                for page in pages:
                    rows.append(profile(proc.pid, f"http://127.0.0.1:{port}/app", page, args.sessions, args.reruns,
                                        args.rate))
                    r = rows[-1]
                    if floor:
                        r["page"] = f"trivial+{floor}"
                    print(f"{r['page']:15} {r['gil_ms_per_run']:7.1f} GIL ms/run  " +
                          "  ".join(f"{k} {v:.1f}" for k, v in list(r["parts_ms_per_run"].items())[:6]), flush=True)
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    floor = rows[0]["gil_ms_per_run"]
    print(f"\nGIL time per warm run ({args.sessions} sessions x {1 + args.reruns} runs), x the trivial page's "
          f"{floor:.1f} ms:")
    for r in rows:
        print(f"  {r['page']:15} {r['gil_ms_per_run']:7.1f} ms  {r['gil_ms_per_run'] / floor:5.2f}x"
              f"{'  (' + str(r['failed']) + ' sessions failed)' if r['failed'] else ''}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
