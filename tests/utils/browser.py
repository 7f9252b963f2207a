"""Headless Chromium as the browser tests start it (Debian's package, never a downloaded one)."""
from __future__ import annotations

import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

__all__ = ["CHROMIUM_FLAGS", "FIGURE", "RENDER_TIMEOUT_MS", "chromium_env", "wait_until_streamlit_is_idle"]

#: A gallery page's picture: an image or a Plotly figure.
FIGURE = "[data-testid='stImage'] img, [data-testid='stPlotlyChart'] .js-plotly-plot"
#: How long a page's first render may take: on a fresh server numba compiles the page's kernels,
#: and on the 2-core CI host beside a full image build that took over 90 s. A wait, not a speed
#: goal (those are measured and printed, never asserted).
RENDER_TIMEOUT_MS = 300_000

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-quic"]


@functools.cache
def chromium_env() -> dict[str, str]:
    """The environment to launch Chromium with: this process's, plus ``LD_PRELOAD`` of the
    no-netlink shim (tests/utils/no_netlink.c, compiled here once per source).

    Chromium treats any address change on the host as a network change and aborts the requests
    in flight. The test host's Docker creates and removes networks all the time (other tests'
    stacks, Swarm), and CI's browser tests failed on "Failed to fetch dynamically imported module"
    or a Streamlit page that never showed. Measured in a page fetching in a loop while a Docker
    network was created and removed: 6 failed fetches in 4 rounds without the shim, none with it.

    Returns
    -------
    dict
        ``os.environ`` plus ``LD_PRELOAD``; without a C compiler, ``os.environ`` alone (and a
        warning on stdout).
    """
    source = Path(__file__).with_name("no_netlink.c")
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        print("\nWARNING: no C compiler: Chromium runs without the no-netlink shim (network-change aborts)")
        return dict(os.environ)
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    lib = Path(tempfile.gettempdir()) / f"fractal-no-netlink-{digest}.so"
    if not lib.exists():
        tmp = lib.with_suffix(f".{os.getpid()}.so")
        subprocess.run([cc, "-shared", "-fPIC", "-O2", "-o", str(tmp), str(source), "-ldl"], check=True)
        tmp.replace(lib)
    return {**os.environ, "LD_PRELOAD": str(lib)}


def wait_until_streamlit_is_idle(page, last, timeout_ms: float = 120_000) -> None:
    """Wait until the open Streamlit page has finished its run.

    ``last`` is a locator of the page's last element: once it shows, the script has returned,
    and Streamlit hides its status widget when the run is reported finished. Under
    ``st.navigation`` Streamlit watches a page's file from the end of the page's first run
    (its file's hash is taken then): an edit saved before that is never seen. The status widget
    alone is not enough, as Streamlit shows it only some time into a run.
    """
    last.wait_for(timeout=timeout_ms)
    page.wait_for_function("!document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=timeout_ms)
