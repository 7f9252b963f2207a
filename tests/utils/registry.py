"""A real container registry on loopback for push/pull tests: Debian's ``docker-registry``.

That package is the CNCF Distribution registry (the one behind Docker Hub's API); Docker
Engine talks plain HTTP to registries on 127.0.0.0/8 without further configuration.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import requests

from .commands import free_port
from .netns import NetNS, call_in

__all__ = ["Registry"]


class Registry:
    """Start with ``with Registry() as reg:``; ``reg.host`` is ``127.0.0.1:<port>``.

    Parameters
    ----------
    host : str, optional
        ``address:port`` to listen on (default: a free port on 127.0.0.1).
    storage : Path, optional
        The image store, e.g. another registry's ``storage`` to serve the same images elsewhere
        (default: a new folder, deleted on exit).
    netns : NetNS, optional
        The network namespace to listen in (default: the host's network).

    Raises
    ------
    RuntimeError
        If the ``docker-registry`` program is missing or the registry does not answer.
    """

    def __init__(self, host: str | None = None, storage: Path | None = None, netns: NetNS | None = None) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="fractal-registry-"))
        if host is None:  # a port of this pytest-xdist worker's share (free_port)
            host = f"127.0.0.1:{free_port()}"
        self.host = host
        self.storage = storage or self.dir / "data"
        self.netns = netns
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "Registry":
        exe = shutil.which("docker-registry")
        if not exe:
            raise RuntimeError("docker-registry is not installed (apt-get install docker-registry)")
        config = self.dir / "config.yml"
        config.write_text(
            "version: 0.1\nlog: {level: warn}\n"
            f"storage:\n  filesystem: {{rootdirectory: {self.storage}}}\n  delete: {{enabled: true}}\n"
            f"http:\n  addr: {self.host}\n")
        self.log = open(self.dir / "registry.log", "w")
        cmd = [exe, "serve", str(config)]
        self.proc = subprocess.Popen(self.netns.command(*cmd) if self.netns else cmd,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self._get("/v2/").status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.__exit__()
        raise RuntimeError(f"docker-registry did not answer on {self.host}")

    def tags(self, repository: str) -> list[str]:
        r = self._get(f"/v2/{repository}/tags/list")
        r.raise_for_status()
        return sorted(r.json()["tags"] or [])

    def _get(self, path: str) -> requests.Response:
        url = f"http://{self.host}{path}"
        return call_in(self.netns.path, requests.get, url, timeout=10) if self.netns else requests.get(url, timeout=10)

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
