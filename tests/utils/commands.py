"""Running commands and waiting for conditions, as the end-to-end tests do everywhere."""
from __future__ import annotations

import os
import socket
import subprocess
import time

__all__ = ["run", "wait_for", "free_port"]


def run(cmd, *, check=True, timeout=1800, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} -> {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
    return out


def free_port() -> int:
    """A TCP port that is free on loopback now.

    Under pytest-xdist each worker takes only ports whose remainder modulo the number of workers
    (``PYTEST_XDIST_WORKER_COUNT``) is its own index (``PYTEST_XDIST_WORKER``, ``gw<index>``), so
    two workers never pick the same port between choosing it and binding it.

    Returns
    -------
    int
        The port number.
    """
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port % workers == worker:
            return port


def wait_for(fn, timeout=60.0, interval=0.5, what="condition"):
    """Poll ``fn`` until it returns a truthy value; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = fn()
            if v:
                return v
        except Exception as exc:  # keep polling through connection errors
            last = exc
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what} (last error: {last!r})")
