"""Where the repository and the tests' artifacts (screenshots, reports) are."""
from __future__ import annotations

from pathlib import Path

__all__ = ["ROOT", "ARTIFACTS"]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
