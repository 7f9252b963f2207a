"""Running commands and waiting for conditions, as the end-to-end tests do everywhere."""
from __future__ import annotations

import os
import random
import socket
import subprocess
import time

__all__ = ["run", "failed", "wait_for", "free_port"]

#: Where free_port draws from: below Linux's default ephemeral range.
PORTS = range(20000, 32768)
_random = random.SystemRandom()  # not the global generator a test may seed


def run(cmd, *, check=True, timeout=1800, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and out.returncode != 0:
        raise failed(out)
    return out


def failed(out: subprocess.CompletedProcess) -> AssertionError:
    """The error for a command that failed: the command, its exit code, its output's ends."""
    return AssertionError(f"{' '.join(map(str, out.args))} -> {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")


#: Ports free_port() has handed out in this process.
_GIVEN: set[int] = set()


def free_port() -> int:
    """A TCP port that is free on loopback now.

    Drawn at random from 20000-32767, below Linux's ephemeral range (32768-60999), so no client
    socket takes it in the meantime. Under pytest-xdist that range is split between the workers
    (``PYTEST_XDIST_WORKER`` ``gw<index>`` of ``PYTEST_XDIST_WORKER_COUNT``), so two workers never
    pick the same port between choosing it and binding it. (Not by parity: Linux gives
    ``bind(("", 0))`` odd ports only, leaving even ones to ``connect``.) A port is handed out
    once per process: two draws for one project (its Jupyter and IDE ports) were once equal, and
    nothing binds a port between its draw and the project's `up`.

    Returns
    -------
    int
        The port number.

    Raises
    ------
    RuntimeError
        If no port of this worker's share could be bound in 1000 tries.
    """
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = (PORTS.stop - PORTS.start) // workers
    first = PORTS.start + worker * share
    for _ in range(1000):
        port = _random.randrange(first, first + share)
        if port in _GIVEN:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _GIVEN.add(port)
        return port
    raise RuntimeError(f"no free port in {first}-{first + share - 1} on 127.0.0.1")


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
