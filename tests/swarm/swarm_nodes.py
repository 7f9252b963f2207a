"""A Docker Swarm of several nodes on one host: one Docker engine per network namespace.

Each node is a real ``dockerd`` (the same binary as the host's engine) with its own data root,
exec root, API socket and hostname, started inside its own network namespace.
A veth pair joins each node to a bridge in a further namespace, the node's LAN (``10.77.0.0/24``,
which exists only inside those namespaces). The first node inits the swarm and the others join
it as workers, over that LAN: the overlay networks of a stack span them like separate machines.
The LAN namespace also holds a container registry at ``10.77.0.1:5000`` that the nodes pull from.

Nothing is changed on the host's own network; everything is removed on exit.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

from utils.netns import NetNS

__all__ = ["Node", "SwarmNodes", "LAN_GATEWAY", "dockerd_binary"]

LAN_PREFIX = "10.77.0"
LAN_GATEWAY = f"{LAN_PREFIX}.1"


def dockerd_binary() -> str | None:
    """The ``dockerd`` to start: the one .ci/docker-engine.sh unpacked ($DOCKER_PREFIX), else PATH's."""
    prefix = Path(os.environ.get("DOCKER_PREFIX", "/opt/docker-testing"))
    if (prefix / "usr/sbin/dockerd").is_file():
        return str(prefix / "usr/sbin/dockerd")
    return shutil.which("dockerd")


def _docker_path(dockerd: str) -> str:
    """PATH for dockerd: its containerd, shim and docker-init live beside it (prefix/usr/bin)."""
    sbin = Path(dockerd).parent
    return os.pathsep.join([str(sbin), str(sbin.parent / "bin"), os.environ.get("PATH", "")])


class Node:
    """One engine of the swarm; ``docker(...)`` runs the CLI against it."""

    def __init__(self, index: int, prefix: str, lan: NetNS, state: Path) -> None:
        self.index = index
        self.hostname = f"{prefix}-n{index}"
        self.addr = f"{LAN_PREFIX}.{10 + index}"
        self.ns = NetNS(self.hostname)
        lan.ip("link", "add", f"n{index}", "type", "veth", "peer", "name", "eth0", "netns", self.ns.name)
        lan.ip("link", "set", f"n{index}", "master", "br0", "up")
        self.ns.ip("addr", "add", f"{self.addr}/24", "dev", "eth0")
        self.ns.ip("link", "set", "eth0", "up")
        self.ns.ip("route", "add", "default", "via", LAN_GATEWAY)
        self.dir = state / f"n{index}"
        self.exec_root = Path("/run") / self.hostname
        self.socket = self.exec_root / "docker.sock"
        self.host = f"unix://{self.socket}"
        self.env = {**os.environ, "DOCKER_HOST": self.host}
        self.proc: subprocess.Popen | None = None

    def start(self, dockerd: str, registry: str) -> None:
        """Start the engine (no wait: see ``wait``)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        self.log = open(self.dir / "dockerd.log", "ab")
        cmd = self.ns.command(
            "unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', self.hostname,
            dockerd, "--data-root", str(self.dir / "data"), "--exec-root", str(self.exec_root),
            "--host", self.host, "--pidfile", str(self.exec_root / "docker.pid"), "--insecure-registry", registry)
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "PATH": _docker_path(dockerd)})

    def wait(self, timeout: float = 90) -> None:
        """Wait until the engine answers.

        Raises
        ------
        RuntimeError
            If it exits or does not answer within ``timeout`` s (with its log's tail).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.docker("info", check=False, timeout=30).returncode == 0:
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.5)
        raise RuntimeError(f"the engine of {self.hostname} did not start:\n{self.log_tail()}")

    def docker(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """``docker ARGS`` against this node's engine.

        Raises
        ------
        AssertionError
            If ``check`` and the command fails (with its output).
        """
        out = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, env=self.env)
        if check and out.returncode != 0:
            raise AssertionError(f"[{self.hostname}] docker {' '.join(args)} -> {out.returncode}\n"
                                 f"{out.stdout[-2000:]}\n{out.stderr[-3000:]}")
        return out

    def stop(self, timeout: float = 120) -> None:
        """Stop the engine as a shutdown does: SIGTERM; it stops its containers, then exits."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        if self.proc:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(30)

    def log_tail(self, lines: int = 30) -> str:
        path = self.dir / "dockerd.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def remove(self) -> None:
        """Stop the engine, kill what is left in its namespace, unmount and delete its state."""
        self.stop()
        self.ns.delete()
        for root in (self.dir, self.exec_root):
            mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()
                      if line.split()[1].startswith(str(root) + "/")]
            for m in sorted(mounts, key=len, reverse=True):
                subprocess.run(["umount", "-l", m], capture_output=True)
            shutil.rmtree(root, ignore_errors=True)
        if getattr(self, "log", None):
            self.log.close()


class SwarmNodes:
    """``with SwarmNodes(3) as nodes:`` a manager (``nodes.manager``) and two workers, joined.

    Parameters
    ----------
    count : int
        Number of nodes (>= 1); the first is the manager.
    state : Path, optional
        Where the engines keep their data (default: a new folder under /var/tmp).

    Raises
    ------
    RuntimeError
        If no ``dockerd`` is found or an engine does not start.
    """

    def __init__(self, count: int, state: Path | None = None) -> None:
        self.dockerd = dockerd_binary()
        if not self.dockerd:
            raise RuntimeError("no dockerd binary (run .ci/docker-engine.sh, or install Docker Engine)")
        self.prefix = f"fnt{uuid.uuid4().hex[:6]}"
        self.state = state or Path("/var/tmp") / self.prefix
        self.count = count
        self.nodes: list[Node] = []
        self.lan: NetNS | None = None
        self.registry = f"{LAN_GATEWAY}:5000"

    @property
    def manager(self) -> Node:
        return self.nodes[0]

    @property
    def workers(self) -> list[Node]:
        return self.nodes[1:]

    def __enter__(self) -> "SwarmNodes":
        try:
            self.lan = NetNS(f"{self.prefix}-lan")
            self.lan.ip("link", "add", "br0", "type", "bridge")
            self.lan.ip("addr", "add", f"{LAN_GATEWAY}/24", "dev", "br0")
            self.lan.ip("link", "set", "br0", "up")
            for i in range(self.count):
                self.nodes.append(Node(i, self.prefix, self.lan, self.state))
            for n in self.nodes:
                n.start(self.dockerd, self.registry)
            for n in self.nodes:
                n.wait()
            m = self.manager
            m.docker("swarm", "init", "--advertise-addr", m.addr, "--listen-addr", f"{m.addr}:2377")
            token = m.docker("swarm", "join-token", "-q", "worker").stdout.strip()
            for w in self.workers:
                w.docker("swarm", "join", "--token", token, "--advertise-addr", w.addr, f"{m.addr}:2377")
            return self
        except BaseException:
            self.__exit__()
            raise

    def node_ids(self) -> dict[str, str]:
        """Swarm node ID -> hostname, as the manager sees them."""
        out = self.manager.docker("node", "ls", "--format", "{{.ID}} {{.Hostname}}").stdout.split("\n")
        return dict(line.split() for line in out if line.strip())

    def __exit__(self, *exc) -> None:
        for n in self.nodes:  # all at once: each waits for its containers' stop grace periods
            if n.proc and n.proc.poll() is None:
                n.proc.send_signal(signal.SIGTERM)
        for n in reversed(self.nodes):
            n.remove()
        if self.lan:
            self.lan.delete()
        listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout.split("\n")
        for name in [line.split()[0] for line in listed if line.startswith(self.prefix + "-")]:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)  # a node that failed half-made
        shutil.rmtree(self.state, ignore_errors=True)
