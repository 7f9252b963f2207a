"""Load benchmark: N concurrent Streamlit sessions rendering the default app under the
production limits, each a real headless-Chromium page. Reports p50/p95 and checks that no
session failed and nothing was OOM-killed or restarted.

    uv run --frozen python benchmarks/load.py [--sessions 20] [--json artifacts/load-bench.json]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CHROMIUM_FLAGS, make_project, run  # noqa: E402

FIGURE = "[data-testid='stImage'] img"


async def session(browser, url: str) -> float:
    ctx = await browser.new_context()
    page = await ctx.new_page()
    t0 = time.monotonic()
    try:
        await page.goto(url, wait_until="commit")
        await page.locator(FIGURE).first.wait_for(state="visible", timeout=180_000)
        return time.monotonic() - t0
    finally:
        await ctx.close()


async def load(url: str, n: int) -> list[float | BaseException]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_FLAGS)
        try:
            return await asyncio.gather(*(session(browser, url) for _ in range(n)), return_exceptions=True)
        finally:
            await browser.close()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--base-image", default=os.environ.get("BASE_IMAGE", "python:3.11-slim"))
    ap.add_argument("--json", type=Path, default=ROOT / "artifacts" / "load-bench.json")
    args = ap.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="fractal-load-"))
    p = make_project(scratch, args.base_image, "load", JUPYTER_TOKEN=uuid.uuid4().hex, APP_VERSION="0.0.0",
                     GIT_SHA=uuid.uuid4().hex[:7], DEPLOY_ENV="load")
    p.files = ["compose.yaml", "compose.prod.yaml"]
    try:
        p.compose("up", "--build", "--wait", "--detach", timeout=3600)
        url = p.url("streamlit", "/app/")
        asyncio.run(load(url, 1))  # one warm-up session: JIT and caches, as on a running server
        results = asyncio.run(load(url, args.sessions))
        ok = sorted(r for r in results if isinstance(r, float))
        failed = [repr(r) for r in results if not isinstance(r, float)]
        info = json.loads(run(["docker", "inspect", p.container("streamlit")]).stdout)[0]
        q = statistics.quantiles(ok, n=20) if len(ok) >= 2 else [float("nan")] * 19
        summary = {
            "sessions": args.sessions, "completed": len(ok), "failed": failed,
            "p50_s": statistics.median(ok) if ok else None, "p95_s": q[18], "max_s": max(ok) if ok else None,
            "oom_killed": info["State"]["OOMKilled"], "restarts": info["RestartCount"],
            "memory_limit_bytes": info["HostConfig"]["Memory"], "nano_cpus": info["HostConfig"]["NanoCpus"],
        }
    finally:
        p.cleanup()
        shutil.rmtree(scratch, ignore_errors=True)
    print(json.dumps(summary, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(summary, indent=2))
    return 0 if not failed and not summary["oom_killed"] and summary["restarts"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
