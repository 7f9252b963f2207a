"""What the end-to-end tests need of this host: a Docker engine with Compose and buildx, the
Python images (PYTHON_IMAGE), and linux/arm64 emulation."""
from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

__all__ = ["LOCAL_PYTHON_IMAGE", "LOCAL_PYTHON_IMAGE_ARM64", "DEFAULT_PYTHON_IMAGE", "require_e2e", "docker_available", "arm64_unavailable"]

LOCAL_PYTHON_IMAGE = "fractal-notebooks/python:3.11-bookworm"
LOCAL_PYTHON_IMAGE_ARM64 = "fractal-notebooks/python:3.11-bookworm-arm64"
DEFAULT_PYTHON_IMAGE = "python:3.11-slim"


def require_e2e() -> bool:
    return os.environ.get("FRACTAL_REQUIRE_E2E") == "1"


def docker_available() -> str | None:
    """None if a Docker engine and Compose v2 answer, else the reason."""
    if not shutil.which("docker"):
        return "docker CLI not found"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        return "no Docker engine answers (docker info failed)"
    if subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60).returncode != 0:
        return "the Compose v2 plugin is missing"
    if require_e2e() and subprocess.run(["docker", "buildx", "version"], capture_output=True,
                                        timeout=60).returncode != 0:
        return "the buildx plugin is missing: Compose would not build through Bake, as users' Docker does"
    return None


def arm64_unavailable() -> str | None:
    """None if this host runs linux/arm64 programs (natively or under emulation), else why not."""
    if platform.machine() in ("aarch64", "arm64"):
        return None
    handler = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if not handler.exists() or handler.read_text().splitlines()[0] != "enabled":
        return ("this host cannot run linux/arm64 programs: no enabled binfmt_misc handler qemu-aarch64 "
                "(as root: apt-get install qemu-user-static && scripts/enable-emulation.sh arm64)")
    return None
