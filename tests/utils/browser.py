"""Headless Chromium as the browser tests start it (Debian's package, never a downloaded one)."""
from __future__ import annotations

__all__ = ["CHROMIUM_FLAGS", "FIGURE", "RENDER_TIMEOUT_MS", "wait_until_streamlit_is_idle"]

#: A gallery page's picture: an image or a Plotly figure.
FIGURE = "[data-testid='stImage'] img, [data-testid='stPlotlyChart'] .js-plotly-plot"
#: How long a page's first render may take: on a fresh server numba compiles the page's kernels,
#: and on the 2-core CI host beside a full image build that took over 90 s. A wait, not a speed
#: goal (those are measured and printed, never asserted).
RENDER_TIMEOUT_MS = 300_000

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-quic"]


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
