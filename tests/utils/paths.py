"""Where the repository and the tests' artifacts (screenshots, reports) are."""
from __future__ import annotations

import tomllib
from pathlib import Path

__all__ = ["ROOT", "ARTIFACTS", "VERSION"]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
#: The project's version: pyproject.toml's, its one home (publish.sh tags releases with it).
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
