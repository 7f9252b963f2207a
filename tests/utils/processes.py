"""Processes of running containers, seen from the host."""
from __future__ import annotations

import os
import re
import subprocess
import threading

__all__ = ["credentials", "main_pid", "MemoryPeak"]


def credentials(container: str) -> list[dict[str, str]]:
    """Every process of a container: its command line, real UID and GID and effective
    capabilities (hex), read from the host's /proc.

    Returns
    -------
    list of dict
        ``{"cmd", "uid", "gid", "capeff"}`` per process (str values); a process that ended
        between ``docker top`` and the read is left out.
    """
    pids = subprocess.run(["docker", "top", container, "-o", "pid"], check=True, capture_output=True, text=True,
                          timeout=60).stdout.split()[1:]
    procs = []
    for pid in pids:
        try:
            status = open(f"/proc/{pid}/status").read()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode().strip()
        except FileNotFoundError:
            continue
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        procs.append({"cmd": cmd, "uid": fields["Uid"].split()[0], "gid": fields["Gid"].split()[0],
                      "capeff": fields["CapEff"].strip()})
    return procs


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


class MemoryPeak:
    """The highest memory use of a container while the ``with`` block runs, in ``peak_mb``.

    Read from the container's cgroup on this host (v1 ``memory.usage_in_bytes`` or v2
    ``memory.current``: what the kernel's OOM killer compares with the limit, tmpfs pages
    included), polled every 20 ms by a thread; ``docker stats`` where no cgroup file is found.
    """

    def __init__(self, container: str):
        cid = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", container], check=True, capture_output=True,
                             text=True, timeout=60).stdout.strip()
        candidates = [f"/sys/fs/cgroup/memory/docker/{cid}/memory.usage_in_bytes",
                      f"/sys/fs/cgroup/system.slice/docker-{cid}.scope/memory.current"]
        self.path = next((p for p in candidates if os.path.exists(p)), None)
        self.container = cid
        self.peak_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def read_mb(self) -> float:
        if self.path:
            with open(self.path) as f:
                return int(f.read()) / 2**20
        out = subprocess.run(["docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", self.container],
                             check=True, capture_output=True, text=True, timeout=60).stdout
        num, unit = re.match(r"([\d.]+)\s*(\w+)", out).groups()
        return float(num) * {"B": 2**-20, "KiB": 2**-10, "MiB": 1, "GiB": 2**10}[unit]

    def _poll(self):
        while not self._stop.is_set():
            try:
                self.peak_mb = max(self.peak_mb, self.read_mb())
            except (OSError, subprocess.SubprocessError, AttributeError):
                pass  # the container went away: what was read stands
            self._stop.wait(0.02)

    def __enter__(self) -> "MemoryPeak":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(60)
