"""Network namespaces for tests: create them, and reach addresses inside them from this process.

A Linux network namespace belongs to a thread, not to a process: a thread that calls
``setns(2)`` opens its sockets inside that namespace while the rest of the test process stays on
the host's network. The tests use this to talk HTTP and websockets to a stack whose only
addresses are inside namespaces they created; the host's own network is never changed.
"""
from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

__all__ = ["NetNS", "enter", "call_in", "executor", "hosts"]

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def enter(path: str | Path) -> None:
    """Move the calling thread into the network namespace at ``path`` (e.g. ``/run/netns/x``).

    Raises
    ------
    OSError
        If ``setns(2)`` refuses (not root, or no such namespace).
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        if _libc.setns(fd, _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def call_in(path: str | Path, fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` in a new thread inside the namespace at ``path``; its result.

    Raises
    ------
    Exception
        Whatever ``fn`` raised, re-raised here.
    """
    out: dict = {}

    def target():
        try:
            enter(path)
            out["value"] = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            out["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def executor(path: str | Path, workers: int) -> ThreadPoolExecutor:
    """A thread pool whose threads all live in the namespace at ``path``."""
    return ThreadPoolExecutor(max_workers=workers, initializer=enter, initargs=(str(path),))


@contextlib.contextmanager
def hosts(names: dict[str, str]):
    """Within the block, this process resolves each name of ``names`` to its address, as lines
    in /etc/hosts would (the host's own /etc/hosts is shared and left alone). Other names resolve
    as usual. For servers that, like ours, answer only to the host names they are given
    (ALLOWED_HOSTS): the clients send that name as Host, and verify certificates for it.
    """
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        key = host.decode() if isinstance(host, bytes) else host
        return real(names.get(key, host), *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


class NetNS:
    """A named network namespace (``ip netns add``) with its loopback up; removed on ``delete``.

    Parameters
    ----------
    name : str
        The namespace's name; its path is ``/run/netns/<name>``.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.path = Path("/run/netns") / name
        self.ip("link", "set", "lo", "up", create=True)

    def ip(self, *args: str, create: bool = False) -> None:
        """``ip -n <name> ARGS`` (and ``ip netns add`` first when ``create``).

        Raises
        ------
        subprocess.CalledProcessError
            If ``ip`` fails.
        """
        if create:
            subprocess.run(["ip", "netns", "add", self.name], check=True, capture_output=True, text=True)
        subprocess.run(["ip", "-n", self.name, *args], check=True, capture_output=True, text=True)

    def command(self, *cmd: str) -> list[str]:
        """``cmd`` run inside this namespace's network only.

        ``nsenter --net``, not ``ip netns exec``: the latter also remounts /sys, which hides the
        host's cgroup hierarchy from a Docker engine started that way.
        """
        return ["nsenter", f"--net={self.path}", *cmd]

    def delete(self) -> None:
        """Kill what still runs in the namespace, then remove it (its veths go with it)."""
        pids = subprocess.run(["ip", "netns", "pids", self.name], capture_output=True, text=True).stdout.split()
        if pids:
            subprocess.run(["kill", "-KILL", *pids], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True)
