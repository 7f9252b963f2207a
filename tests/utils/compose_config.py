"""`docker compose config` of the checkout's Compose files, for the fast tier (no engine needed)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from .paths import ROOT

__all__ = ["config", "needs_compose_cli"]

#: Skips a module when the Docker CLI with its Compose plugin is not installed.
needs_compose_cli = pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="docker compose CLI not installed")


def config(*files, env=None, check=True) -> subprocess.CompletedProcess:
    """`docker compose -f FILE... config --format json` with the files' defaults and ``env``.

    ``--env-file /dev/null`` and an environment without the project's knobs: the defaults of the
    files, not the settings of a .env in the checkout or of the shell running the tests.
    """
    cmd = ["docker", "compose", "--project-directory", str(ROOT), "--env-file", "/dev/null"]
    for f in files:
        cmd += ["-f", str(ROOT / f)]
    knobs = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    clean = {k: v for k, v in os.environ.items() if k not in knobs and not k.startswith("COMPOSE_")}
    out = subprocess.run([*cmd, "config", "--format", "json"], capture_output=True, text=True,
                         env={**clean, **(env or {})}, cwd="/")
    if check:
        assert out.returncode == 0, out.stderr
    return out
