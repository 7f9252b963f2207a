#!/usr/bin/env python3
"""Container healthcheck without curl: exit 0 if every URL answers 2xx and the scratch space is usable.

Usage: fractal-healthcheck URL [URL ...]

Each URL must answer within URL_TIMEOUT seconds: less than the shortest healthcheck ``timeout``
of the stack (3 s), so that the check always finishes, and decides, before Docker kills it.

``${VAR}`` in a URL is replaced from the environment (empty if unset) and repeated slashes
in the path are folded, so a base-path variable may be empty, "app" or "/app/".

Besides the URLs, what a user's next action needs is checked: every folder in
``FRACTAL_HEALTH_SCRATCH`` (space-separated; the base image sets ``/tmp``) must take a small
write. A full tmpfs makes new Jupyter kernels, matplotlib and Streamlit's uploads fail while
the server still answers; a restart empties it.

Self-healing without the Docker socket: ``FRACTAL_HEALTH_RESTART_AFTER`` (seconds; 0 or unset =
never, the dev stack) restarts the container when no check has passed for that long since the
last one that did. The check then kills every process of the container but the init (PID 1,
which then exits), and the restart policy (``restart: unless-stopped`` in production, Swarm's
``restart_policy``) starts it again. A frozen server (SIGSTOP, a deadlock) or a full scratch
space is thus replaced on a single server too, where Docker only reports "unhealthy". A
container that has not passed a check since it started is never restarted by this: a service
that cannot start is a configuration error that a restart would only repeat.

Busy is not frozen: a container whose processes used at least BUSY_CORES of a core since the
previous check is working (a class's page runs starving the server's answers on a loaded
machine), and is not restarted, which would only end every session it serves; it is restarted
once it fails its checks without using the CPU (SIGSTOP, a deadlock, a full scratch space
while idle). A process spinning forever without answering is thus never restarted by this.
"""
import os
import pwd
import re
import signal
import sys
import time
import urllib.parse
import urllib.request

#: Touched on every passing check: its mtime is the last time the container was healthy. On
#: /dev/shm (a tmpfs of its own): it stays writable when /tmp is full, and touching an existing
#: file needs no free space.
LAST_OK = "/dev/shm/fractal-health-ok"
#: Seconds a URL has to answer.
URL_TIMEOUT = 2
#: Bytes written (and synced) into each scratch folder.
PROBE_BYTES = 64 * 1024
#: The container's CPU time at the previous check: "<time> <CPU seconds>".
LAST_CPU = "/dev/shm/fractal-health-cpu"
#: Cores' worth of CPU since the previous check that make a failing container busy, not frozen
#: (the checks themselves use about 0.01).
BUSY_CORES = 0.2


def drop_root():
    """In development the container's user is root (for the entrypoint's one privileged step),
    and Docker runs healthchecks as that user: act as `app` (the entrypoint gave it the server's
    IDs) before touching the network or a folder."""
    if os.getuid() == 0:
        app = pwd.getpwnam("app")
        if app.pw_uid != 0:
            os.setgroups([])
            os.setgid(app.pw_gid)
            os.setuid(app.pw_uid)


def check_url(raw: str):
    """Return None if ``raw`` (with ``${VAR}`` expanded) answers 2xx within URL_TIMEOUT, else the reason."""
    url = re.sub(r"\$\{(\w+)\}", lambda m: os.environ.get(m.group(1), ""), raw)
    parts = urllib.parse.urlsplit(url)
    url = parts._replace(path=re.sub(r"/+", "/", "/" + parts.path)).geturl()
    try:
        with urllib.request.urlopen(url, timeout=URL_TIMEOUT) as r:  # noqa: S310 (loopback only)
            if not 200 <= r.status < 300:
                return f"{url}: HTTP {r.status}"
    except Exception as exc:  # any failure is unhealthy
        return f"{url}: {exc}"
    return None


def check_scratch(folder: str):
    """Return None if ``folder`` takes a write of PROBE_BYTES, else the reason."""
    path = os.path.join(folder, f".fractal-health.{os.getpid()}")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, b"\0" * PROBE_BYTES)
            os.fsync(fd)
        finally:
            os.close(fd)
            os.unlink(path)
    except OSError as exc:
        return f"{folder} cannot be written ({exc.strerror}): the service's scratch space is full or broken"
    return None


def init_started() -> float:
    """When PID 1 (the container's init) started, in seconds since the epoch."""
    ticks = int(open("/proc/1/stat").read().rsplit(")", 1)[1].split()[19])
    boot = next(float(line.split()[1]) for line in open("/proc/stat") if line.startswith("btime "))
    return boot + ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    """CPU time (user + system, seconds) the container's processes have used, this one's excepted."""
    tick, me, total = os.sysconf("SC_CLK_TCK"), os.getpid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me:
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:  # ended meanwhile
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (proc(5): fields 14, 15)
    return total / tick


def cores_since_last_check() -> float | None:
    """Cores' worth of CPU the container used since the previous check (None at the first);
    records this check's sample for the next."""
    now, used = time.time(), cpu_seconds()
    try:
        then, before = map(float, open(LAST_CPU).read().split())
    except (OSError, ValueError):
        then = before = None
    try:
        with open(LAST_CPU, "w") as f:
            f.write(f"{now} {used}")
    except OSError:
        pass
    if then is None or now - then <= 0:
        return None
    return max(used - before, 0.0) / (now - then)


def restart_container(reason: str, unhealthy_for: float):
    """Kill every process of the container but PID 1 and this one, so that the init exits and
    the restart policy starts the container again. The reason goes to the container's log."""
    message = (f"fractal-healthcheck: unhealthy for {unhealthy_for:.0f} s (FRACTAL_HEALTH_RESTART_AFTER="
               f"{os.environ['FRACTAL_HEALTH_RESTART_AFTER']}): {reason}; restarting the container\n")
    try:
        with open("/proc/1/fd/1", "w") as log:
            log.write(message)
    except OSError:
        pass
    sys.stderr.write(message)
    try:
        os.kill(1, signal.SIGCONT)  # an init stopped with the rest must run to exit
    except OSError:
        pass
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in (1, me):
            try:
                os.kill(int(entry), signal.SIGKILL)
            except OSError:
                pass


def main(urls) -> int:
    drop_root()
    cores = cores_since_last_check()
    failures = [f for f in (check_url(u) for u in urls) if f]
    failures += [f for f in (check_scratch(d) for d in os.environ.get("FRACTAL_HEALTH_SCRATCH", "").split()) if f]
    if not failures:
        try:
            with open(LAST_OK, "a"):
                pass
            os.utime(LAST_OK)
        except OSError:
            pass
        return 0
    reason = "; ".join(failures)
    limit = float(os.environ.get("FRACTAL_HEALTH_RESTART_AFTER") or 0)
    if limit > 0:
        try:
            last_ok = os.stat(LAST_OK).st_mtime
        except OSError:
            last_ok = None
        # Only a container that was healthy since its init started (the file can outlive a
        # restart of the same container).
        if last_ok is not None and last_ok >= init_started() - 1 and time.time() - last_ok >= limit:
            if cores is not None and cores >= BUSY_CORES:
                reason += f" (busy, not frozen: {cores:.2f} cores since the last check; not restarted)"
            else:
                restart_container(reason, time.time() - last_ok)
    sys.stderr.write(reason + "\n")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
