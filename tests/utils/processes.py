"""Processes of running containers, seen from the host."""
from __future__ import annotations

import subprocess

__all__ = ["main_pid"]


def main_pid(container: str) -> int:
    """Host PID of a container's main process: the child of its init (tini, ``init: true``).

    Raises
    ------
    StopIteration
        If the container has no init or the init has no child.
    subprocess.CalledProcessError
        If ``docker top`` fails (no such container, not running).
    """
    out = subprocess.run(["docker", "top", container, "-eo", "pid,ppid,args"], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    procs = [r.split(None, 2) for r in out.splitlines()[1:]]
    init_pid = next(int(pid) for pid, ppid, args in procs if "docker-init" in args or "tini" in args)
    return next(int(pid) for pid, ppid, args in procs if int(ppid) == init_pid)
