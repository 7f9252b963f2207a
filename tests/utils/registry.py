"""A real container registry on loopback for push/pull tests: Debian's ``docker-registry``.

That package is the CNCF Distribution registry (the one behind Docker Hub's API); Docker
Engine talks plain HTTP to registries on 127.0.0.0/8 without further configuration.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import requests

__all__ = ["Registry"]


class Registry:
    """Start with ``with Registry() as reg:``; ``reg.host`` is ``127.0.0.1:<port>``.

    Raises
    ------
    RuntimeError
        If the ``docker-registry`` program is missing or the registry does not answer.
    """

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="fractal-registry-"))
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.host = f"127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Registry":
        exe = shutil.which("docker-registry")
        if not exe:
            raise RuntimeError("docker-registry is not installed (apt-get install docker-registry)")
        config = self.dir / "config.yml"
        config.write_text(
            "version: 0.1\nlog: {level: warn}\n"
            f"storage:\n  filesystem: {{rootdirectory: {self.dir / 'data'}}}\n  delete: {{enabled: true}}\n"
            f"http:\n  addr: {self.host}\n")
        self.log = open(self.dir / "registry.log", "w")
        self.proc = subprocess.Popen([exe, "serve", str(config)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://{self.host}/v2/", timeout=2).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"docker-registry did not answer on {self.host}")

    def tags(self, repository: str) -> list[str]:
        r = requests.get(f"http://{self.host}/v2/{repository}/tags/list", timeout=10)
        r.raise_for_status()
        return sorted(r.json()["tags"] or [])

    def __exit__(self, *exc) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if getattr(self, "log", None):
            self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
