"""Processes of running containers, seen from the host."""
from __future__ import annotations

import subprocess

__all__ = ["main_pid"]


def main_pid(container: str) -> int:
    """Host PID of a container's server process: the child of its init (tini, ``init: true``),
    or, when that child is a shell start script waiting on the server (the Streamlit image's
    ``start-streamlit``), the script's only child.

    Raises
    ------
    StopIteration
        If the container has no init or the init has no child.
    subprocess.CalledProcessError
        If ``docker top`` fails (no such container, not running).
    """
    out = subprocess.run(["docker", "top", container, "-eo", "pid,ppid,args"], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    procs = [(int(pid), int(ppid), args) for pid, ppid, args in (r.split(None, 2) for r in out.splitlines()[1:])]
    init_pid = next(pid for pid, ppid, args in procs if "docker-init" in args or "tini" in args)
    pid, args = next((pid, args) for pid, ppid, args in procs if ppid == init_pid)
    while args.split()[0] in ("sh", "/bin/sh"):
        children = [(p, a) for p, pp, a in procs if pp == pid]
        if len(children) != 1:
            break
        pid, args = children[0]
    return pid
