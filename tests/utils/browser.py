"""Headless Chromium as the browser tests start it (Debian's package, never a downloaded one)."""
from __future__ import annotations

__all__ = ["CHROMIUM_FLAGS", "wait_until_streamlit_is_idle"]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-quic"]


def wait_until_streamlit_is_idle(page, timeout_ms: float = 120_000) -> None:
    """Wait until the open Streamlit page has finished its run (its status widget is gone).

    Under ``st.navigation`` Streamlit watches a page's file from the end of the page's first
    run: an edit saved before that is not seen.
    """
    page.wait_for_function("!document.querySelector(\"[data-testid='stStatusWidget']\")", timeout=timeout_ms)
