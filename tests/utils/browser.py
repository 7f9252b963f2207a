"""Headless Chromium as the browser tests start it (Debian's package, never a downloaded one)."""
from __future__ import annotations

__all__ = ["CHROMIUM_FLAGS"]

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-quic"]
