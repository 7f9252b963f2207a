"""End-to-end under a ROOTLESS Docker engine (the situation of rootless Docker and Podman users).

There the engine runs as an unprivileged host user, the container's root IS that user, and the
bind-mounted checkout (owned by that user on the host) appears owned by UID 0 inside. The
entrypoint then runs the servers as container-UID 0 without any capability: on the host they
are the unprivileged user, and what they write belongs to that user.

The fixture below (needs root on the test host) makes a dedicated unprivileged user with
subordinate ID ranges, starts a rootless dockerd for it (dockerd-rootless.sh: RootlessKit,
slirp4netns, the builtin port driver) with its runtime dir, data root and Unix API socket in a
private temp dir, and always stops it and deletes that dir. The rootful engine on
/var/run/docker.sock is only read from (`docker save` of the base image).
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from utils.commands import run
from utils.engine import require_e2e
from utils.project import jupyter_session

pytestmark = [pytest.mark.e2e, pytest.mark.root]

USER = os.environ.get("FRACTAL_ROOTLESS_USER", "fnt-rootless")
WANTED_UID = 2720  # not 0, not 1000 (the image default), not an owner of test_ownership's matrix
SUBID_COUNT = 65536
# Where dockerd + dockerd-rootless.sh live: .ci/docker-engine.sh's prefix (Engine 28), else the
# system's docker.io package.
PREFIXES = [os.environ.get("DOCKER_PREFIX", "/opt/docker-testing"), "/"]
TUN = Path("/dev/net/tun")
NOTEBOOK = {"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}}


class Unavailable(Exception):
    """This host cannot run a rootless engine; the message says exactly why."""


@dataclass
class RootlessEngine:
    user: str
    uid: int
    gid: int
    subuids: tuple[int, int]  # (first, count)
    dir: Path
    env: dict[str, str]  # DOCKER_HOST (and a private DOCKER_CONFIG) for the docker CLI
    log: Path

    def docker(self, *args, check=True, timeout=600, **kw):
        return run(["docker", *args], check=check, timeout=timeout, env={**os.environ, **self.env}, **kw)

    def host_uid_ok(self, uid: int) -> bool:
        first, count = self.subuids
        return uid == self.uid or first <= uid < first + count


def _subid_range(path: str, user: str, uid: int) -> tuple[int, int] | None:
    for line in Path(path).read_text().splitlines() if Path(path).exists() else []:
        parts = line.strip().split(":")
        if len(parts) == 3 and parts[0] in (user, str(uid)):
            return int(parts[1]), int(parts[2])
    return None


def _free_subid_start() -> int:
    end = 100000
    for path in ("/etc/subuid", "/etc/subgid"):
        if Path(path).exists():
            for line in Path(path).read_text().splitlines():
                parts = line.strip().split(":")
                if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
                    end = max(end, int(parts[1]) + int(parts[2]))
    return end


def _ensure_user() -> tuple[int, int, tuple[int, int]]:
    """The dedicated unprivileged user, with /etc/subuid and /etc/subgid ranges (created if missing)."""
    try:
        pw = pwd.getpwnam(USER)
    except KeyError:
        uid_args = []
        try:
            pwd.getpwuid(WANTED_UID)
        except KeyError:
            uid_args = ["--uid", str(WANTED_UID)]
        run(["useradd", *uid_args, "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", "--comment", "fractal-notebooks rootless-engine tests", USER])
        pw = pwd.getpwnam(USER)
    for path, flag in (("/etc/subuid", "--add-subuids"), ("/etc/subgid", "--add-subgids")):
        if _subid_range(path, USER, pw.pw_uid) is None:
            start = _free_subid_start()
            run(["usermod", flag, f"{start}-{start + SUBID_COUNT - 1}", USER])
    return pw.pw_uid, pw.pw_gid, _subid_range("/etc/subuid", USER, pw.pw_uid)


def _find_engine() -> tuple[Path, Path, list[str]]:
    """(dockerd-rootless.sh, dockerd, PATH entries) from the first prefix that has both."""
    for prefix in map(Path, PREFIXES):
        script = prefix / "usr/share/docker.io/contrib/dockerd-rootless.sh"
        dockerd = prefix / "usr/sbin/dockerd" if (prefix / "usr/sbin/dockerd").exists() else prefix / "usr/bin/dockerd"
        if script.exists() and dockerd.exists():
            return script, dockerd, [str(prefix / "usr/sbin"), str(prefix / "usr/bin")]
    raise Unavailable(f"no dockerd + dockerd-rootless.sh under {PREFIXES} (run .ci/docker-engine.sh)")


def _check_host_tools():
    missing = [t for t in ("rootlesskit", "newuidmap", "newgidmap", "slirp4netns") if not shutil.which(t)]
    if missing:
        raise Unavailable(f"missing {', '.join(missing)} (apt-get install rootlesskit uidmap slirp4netns)")
    for t in ("newuidmap", "newgidmap"):
        st = os.stat(shutil.which(t))
        if not st.st_mode & stat.S_ISUID and not _has_file_caps(shutil.which(t)):
            raise Unavailable(f"{t} is neither setuid root nor has file capabilities")
    limit = Path("/proc/sys/user/max_user_namespaces")
    if limit.exists() and limit.read_text().strip() == "0":
        raise Unavailable("user namespaces are disabled (user.max_user_namespaces = 0)")


def _has_file_caps(path: str) -> bool:
    try:
        return bool(os.getxattr(path, "security.capability"))
    except OSError:
        return False


def _grant_tun(gid: int):
    """slirp4netns needs a tap device, made through /dev/net/tun inside the user's namespace.
    udev makes it 0666 on a normal Debian host; a host without udev (this CI VM) leaves the
    devtmpfs default 0600 root:root and the engine fails with `open: Permission denied` at
    `ip tuntap add`. Give the test user's group access for the run; returns the undo."""
    if not TUN.exists():
        raise Unavailable("/dev/net/tun is missing: rootless networking (slirp4netns) needs the TUN device")
    st = TUN.stat()
    if st.st_mode & 0o006 == 0o006:
        return lambda: None
    os.chown(TUN, -1, gid)
    os.chmod(TUN, stat.S_IMODE(st.st_mode) | 0o060)

    def undo():
        os.chown(TUN, -1, st.st_gid)
        os.chmod(TUN, stat.S_IMODE(st.st_mode))
    return undo


def _user_pids(uid: int) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if d.stat().st_uid == uid:
                    pids.append(int(d.name))
            except FileNotFoundError:
                pass
    return pids


def _stop(proc: subprocess.Popen, engine: RootlessEngine | None, uid: int):
    """Containers first (through the engine's own API), then RootlessKit (it stops dockerd and
    containerd), then anything still running as the dedicated test user (ours by construction)."""
    if engine is not None and proc.poll() is None:
        ids = engine.docker("ps", "-aq", check=False, timeout=60).stdout.split()
        if ids:
            engine.docker("rm", "-f", *ids, check=False, timeout=120)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    deadline = time.monotonic() + 30
    while (left := _user_pids(uid)) and time.monotonic() < deadline:
        for pid in left:
            try:
                os.kill(pid, signal.SIGKILL if time.monotonic() > deadline - 20 else signal.SIGTERM)
            except ProcessLookupError:
                pass
        time.sleep(1)


@pytest.fixture(scope="module")
def rootless_engine(docker_engine):
    """A rootless dockerd for a dedicated unprivileged user, started here and always removed."""
    undo_tun, proc, engine, uid, tmp = (lambda: None), None, None, None, None
    try:
        try:
            _check_host_tools()
            script, dockerd, prefix_path = _find_engine()
            uid, gid, subuids = _ensure_user()
            undo_tun = _grant_tun(gid)
            tmp = Path(tempfile.mkdtemp(prefix="fnt-rootless-", dir="/tmp"))
            home, runtime, data, config = tmp / "home", tmp / "run", tmp / "data", tmp / "docker-config"
            for d in (home, runtime, data):
                d.mkdir(mode=0o700)
            for d in (tmp, home, runtime, data):
                os.chown(d, uid, gid)
            # root's docker CLI talks to the rootless engine; a private DOCKER_CONFIG keeps the
            # buildx/compose state of this engine out of root's ~/.docker (others are using it).
            (config / "cli-plugins").mkdir(parents=True)
            for plugins in (Path.home() / ".docker/cli-plugins", Path("/usr/local/lib/docker/cli-plugins"),
                            Path("/usr/libexec/docker/cli-plugins")):
                for plugin in sorted(plugins.glob("docker-*")) if plugins.is_dir() else []:
                    link = config / "cli-plugins" / plugin.name
                    if not link.exists():
                        link.symlink_to(plugin.resolve())
            sock = runtime / "docker.sock"  # a Unix socket only: no TCP listener at all
            log = tmp / "dockerd.log"
            env = {"HOME": str(home), "XDG_RUNTIME_DIR": str(runtime), "LANG": "C.UTF-8",
                   "PATH": ":".join([*prefix_path, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
                                     "/sbin", "/bin"]),
                   "DOCKERD": str(dockerd)}
            with open(log, "wb") as out:
                proc = subprocess.Popen(
                    ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--init-groups",
                     str(script), f"--data-root={data}", f"--host=unix://{sock}"],
                    cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True)
            engine = RootlessEngine(USER, uid, gid, subuids, tmp,
                                    {"DOCKER_HOST": f"unix://{sock}", "DOCKER_CONFIG": str(config),
                                     "DOCKER_CONTEXT": "default"}, log)
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    tail = "\n".join(line for line in log.read_text(errors="replace").splitlines()
                                     if not line.startswith("+"))[-3000:]
                    raise Unavailable(f"the rootless dockerd exited ({proc.returncode}):\n{tail}")
                info = engine.docker("info", "--format", "{{json .SecurityOptions}}", check=False, timeout=30)
                if info.returncode == 0:
                    assert "rootless" in info.stdout, info.stdout
                    # Compose builds through Bake when the buildx plugin is there (as on Engine 28).
                    engine.docker("buildx", "version", timeout=60)
                    break
                if time.monotonic() > deadline:
                    raise Unavailable(f"the rootless dockerd did not answer on {sock}:\n{log.read_text()[-3000:]}")
                time.sleep(1)
        except Unavailable as exc:
            if require_e2e():
                pytest.fail(f"end-to-end tests are required (FRACTAL_REQUIRE_E2E=1) but no rootless engine: {exc}")
            pytest.skip(f"no rootless Docker engine on this host: {exc}")
        yield engine
    finally:
        if proc is not None:
            _stop(proc, engine, uid)
        undo_tun()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)  # data root (files of subordinate UIDs), socket, config


@pytest.fixture(scope="module")
def rootless_base(rootless_engine, python_image) -> str:
    """The base image, copied from the rootful engine (no registry needed)."""
    save = subprocess.Popen(["docker", "save", python_image], stdout=subprocess.PIPE,
                            env={k: v for k, v in os.environ.items() if k not in ("DOCKER_HOST", "DOCKER_CONTEXT")})
    try:
        load = subprocess.run(["docker", "load", "-q"], stdin=save.stdout, capture_output=True, text=True,
                              timeout=900, env={**os.environ, **rootless_engine.env})
    finally:
        save.stdout.close()
        save.wait(timeout=60)
    assert save.returncode == 0 and load.returncode == 0, load.stderr
    return python_image


def _processes(engine: RootlessEngine, container: str) -> list[dict]:
    """Real/effective/saved/fs UIDs, GIDs and CapEff of a container's processes, read from the
    HOST's /proc. (`docker top` cannot work here: runc lists a container's processes from its
    cgroup, and a rootless engine on cgroup v1 has none. The engine shares the host's PID
    namespace, so the container's init PID from `docker inspect` is a host PID: walk its tree.)"""
    init = int(engine.docker("inspect", container, "--format", "{{.State.Pid}}").stdout)
    parent = {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                parent[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    tree, grown = {init}, True
    while grown:
        new = {pid for pid, ppid in parent.items() if ppid in tree and pid not in tree}
        tree |= new
        grown = bool(new)
    procs = []
    for pid in sorted(tree):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            uid_map = Path(f"/proc/{pid}/uid_map").read_text().splitlines()[0].split()
        except (FileNotFoundError, ProcessLookupError):  # a short-lived process ended meanwhile
            continue
        f = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        procs.append({"pid": pid, "cmd": cmd, "uids": [int(x) for x in f["Uid"].split()],
                      "gids": [int(x) for x in f["Gid"].split()], "capeff": int(f["CapEff"].strip(), 16),
                      "uid_map": [int(x) for x in uid_map]})
    return procs


def test_rootless_engine_files_belong_to_the_host_user_and_nothing_runs_as_root(rootless_engine, rootless_base,
                                                                                new_project):
    engine = rootless_engine
    # The checkout belongs to the engine's user, no .env: inside, it appears owned by UID 0.
    # (keep_images: its images are the rootless engine's, whose data root rootless_engine deletes.)
    p = new_project("rootless", tmp_root=engine.dir, python_image=rootless_base, owner=(engine.uid, engine.gid),
                    keep_images=True, **engine.env)
    p.compose("up", "--build", "--wait", "--detach", timeout=3000)

    # A notebook saved through Jupyter's API belongs to the host user (not root, not 1000).
    r = jupyter_session(p).put(p.url("jupyter", "/api/contents/notebooks/rootless.ipynb"), json=NOTEBOOK, timeout=30)
    assert r.status_code in (200, 201), r.text
    st = (p.dir / "notebooks" / "rootless.ipynb").stat()
    assert (st.st_uid, st.st_gid) == (engine.uid, engine.gid)

    assert requests.get(p.url("streamlit", "/_stcore/health"), timeout=10).text == "ok"
    assert requests.get(p.url("docs", "/"), timeout=30).status_code == 200

    # On the host, every process of every service is the user or its subordinate range:
    # never real root. The servers are exactly the user (container UID 0), with no capability.
    for svc in ("streamlit", "jupyter", "docs"):
        procs = _processes(engine, p.container(svc))
        servers = [x for x in procs if "docker-init" not in x["cmd"]]
        assert servers, (svc, procs)
        for proc in procs:
            # In the engine's user namespace: its root is the host user.
            assert proc["uid_map"] == [0, engine.uid, 1], (svc, proc)
            assert 0 not in proc["uids"] and 0 not in proc["gids"], (svc, proc)
            assert all(engine.host_uid_ok(u) for u in proc["uids"]), (svc, proc)
        for proc in servers:
            assert proc["uids"] == [engine.uid] * 4 and proc["capeff"] == 0, (svc, proc)

    logs = p.compose("logs", "jupyter").stdout
    assert "running as UID 0 with no capabilities" in logs, logs
    assert "user namespace: rootless engine" in logs, logs
    assert "not writable" not in logs, logs
