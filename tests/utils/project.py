"""Scratch copies of the repository, each its own Compose project (name, ports, images)."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import requests

from .commands import failed, free_port, run
from .paths import ROOT

__all__ = ["PROJECT_FILES", "PROD_CONNECTIONS_PER_CLIENT", "HOST_UID", "HOST_GID", "Project", "make_project",
           "project", "jupyter_session", "streamlit_options"]

# What the tests copy of the repository into a scratch project (the host tree is never touched).
PROJECT_FILES = ["compose.yaml", "compose.prod.yaml", "pyproject.toml", "uv.lock", "README.md",
                 ".streamlit", ".dockerignore", ".gitignore", "apps", "src", "docs", "notebooks", "services", "certs",
                 "scripts", "swarm"]

#: The knobs that publish a port on the host (free_port() draws each project's).
PUBLISHED_PORTS = ("STREAMLIT_PORT", "JUPYTER_PORT", "DOCS_PORT", "IDE_PORT", "PROXY_HTTPS_PORT")

#: PROXY_CONNECTIONS_PER_CLIENT of the ``prod`` stack (conftest.py): not the default, to see the
#: knob work.
PROD_CONNECTIONS_PER_CLIENT = 64


@dataclass
class Project:
    """A scratch copy of the repository with its own Compose project name, ports and images."""

    dir: Path
    name: str
    env: dict[str, str]
    files: list[str] = field(default_factory=lambda: ["compose.yaml"])
    #: seconds the first `up --build --wait` took (the dev_stack fixture)
    up_seconds: float | None = None
    #: the TLS proxy's self-signed certificate (a file), for clients to verify it against
    ca: str = ""

    def compose(self, *args, check=True, timeout=1800, env=None):
        """``docker compose <args>`` in this project, with its environment (the host's but for
        JUPYTER_TOKEN and ALLOWED_HOSTS). An ``up`` that finds one of the project's ports taken
        since it was drawn (Docker: "port is already allocated") draws them again, once."""
        cmd = ["docker", "compose", "--project-directory", str(self.dir), "-p", self.name]
        for f in self.files:
            cmd += ["-f", str(self.dir / f)]
        host = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_TOKEN", "ALLOWED_HOSTS")}
        out = run([*cmd, *args], check=False, timeout=timeout, env={**host, **self.env, **(env or {})})
        if args[:1] == ("up",) and out.returncode and "port is already allocated" in out.stderr:
            print(f"{self.name}: a port was taken since it was drawn ({out.stderr.strip().splitlines()[-1]}); "
                  "drawing the ports again")
            self.env.update({k: str(free_port()) for k in PUBLISHED_PORTS if k in self.env})
            out = run([*cmd, *args], check=False, timeout=timeout, env={**host, **self.env, **(env or {})})
        if check and out.returncode:
            raise failed(out)
        return out

    def login_url(self) -> str:
        """The newest JupyterLab login URL (with token) that the jupyter service logged."""
        logs = self.compose("logs", "--no-log-prefix", "jupyter").stdout
        urls = re.findall(r"^\[fractal-notebooks\] JupyterLab login URL: (http://\S+/lab\?token=\S+)$", logs, re.M)
        assert urls, f"no login URL in the jupyter log:\n{logs[-3000:]}"
        return urls[-1]

    @property
    def token(self) -> str:
        """JupyterLab's token: JUPYTER_TOKEN if the project sets one, else the logged one."""
        return self.env.get("JUPYTER_TOKEN") or self.login_url().rsplit("token=", 1)[1]

    def url(self, service: str, path: str = "/") -> str:
        port = self.env[{"streamlit": "STREAMLIT_PORT", "jupyter": "JUPYTER_PORT", "docs": "DOCS_PORT"}[service]]
        return f"http://127.0.0.1:{port}{path}"

    def containers(self, service: str) -> list[str]:
        """IDs of the service's containers (running or not): several for a service with replicas
        (production's Streamlit processes, STREAMLIT_REPLICAS)."""
        return self.compose("ps", "-a", "-q", service).stdout.split()

    def container(self, service: str, index: int = 1) -> str:
        """The ID of the service's container number ``index`` (the one `compose exec` picks by default)."""
        return run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={self.name}",
                    "--filter", f"label=com.docker.compose.service={service}",
                    "--filter", f"label=com.docker.compose.container-number={index}"],
                   env={**os.environ, **self.env}).stdout.strip()  # the project's engine (DOCKER_HOST)

    def inspect(self, service: str) -> dict:
        """``docker inspect`` of the service's container."""
        return json.loads(run(["docker", "inspect", self.container(service)]).stdout)[0]

    def health(self, service: str) -> str:
        """The service container's health: starting, healthy, unhealthy (or none)."""
        return self.inspect(service)["State"].get("Health", {}).get("Status", "none")

    def images(self) -> list[str]:
        """base, streamlit, jupyter, docs (and proxy, balancer in production) image names."""
        services = ("base", "streamlit", "jupyter", "docs", *(("proxy", "balancer") if "compose.prod.yaml" in self.files else ()))
        return [f"{self.env['IMAGE_REPO']}/{s}:{self.env['IMAGE_TAG']}" for s in services]

    def cleanup(self, *, keep_images: bool = False):
        """`down --volumes`, the project's images (all but the service images another project
        shares when ``keep_images``) and its scratch copy."""
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False, timeout=300)
        # and the build-only images, which Compose names <project>-<service> (settings, uv, notebook, web)
        built_only = run(["docker", "image", "ls", "-q", "--filter", f"reference={self.name}-*"], check=False).stdout.split()
        images = built_only if keep_images else [*self.images(), *built_only]
        if images:
            run(["docker", "image", "rm", "-f", *images], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


#: Whom a project's checkout belongs to and production images are built for: the user running the
#: tests, or as root (CI) a Mac's first user, 501:20 (GID 20 is Debian's dialout), the IDs most of
#: our researchers have. One pair for every project: their production builds share the cache.
HOST_UID, HOST_GID = (os.getuid(), os.getgid()) if os.getuid() != 0 else (501, 20)

P = TypeVar("P", bound=Project)


def _new_project(tmp_root: Path, python_image: str, label: str, owner: tuple[int, int] | None, extra: dict,
                 cls: type[P]) -> P:
    """A project's name, ports and environment: nothing on disk yet."""
    name = f"fnt-{label}-{uuid.uuid4().hex[:8]}"
    ids = {} if owner else {"HOST_UID": str(HOST_UID), "HOST_GID": str(HOST_GID)}
    env = {
        "PYTHON_IMAGE": python_image, **ids,
        "IMAGE_REPO": "fractal-notebooks-test", "IMAGE_TAG": name,
        "STREAMLIT_PORT": str(free_port()), "JUPYTER_PORT": str(free_port()), "DOCS_PORT": str(free_port()),
        "BIND_ADDRESS": "127.0.0.1",  # no JUPYTER_TOKEN: the stack generates one (like no .env)
        **extra,
    }
    return cls(dir=tmp_root / name, name=name, env=env)


def _copy_checkout(d: Path, owner: tuple[int, int] | None):
    d.mkdir(parents=True)
    for item in PROJECT_FILES:
        src = ROOT / item
        if src.is_dir():
            shutil.copytree(src, d / item, ignore=shutil.ignore_patterns("__pycache__", "_build",
                                                                        ".ipynb_checkpoints", "jupyter_execute"))
        elif src.exists():
            shutil.copy2(src, d / item)
    if os.getuid() == 0:  # act like the host user who owns the checkout
        uid, gid = owner or (HOST_UID, HOST_GID)
        for p in [d, *d.rglob("*")]:
            os.chown(p, uid, gid, follow_symlinks=False)


def make_project(tmp_root: Path, python_image: str, label: str, *, cls: type[P] = Project,
                 owner: tuple[int, int] | None = None, **extra) -> P:
    """A scratch copy of the repository (a ``cls``), which the caller must clean up
    (:meth:`Project.cleanup`): tests use :func:`project` or conftest's ``new_project``, which do.
    ``owner=(uid, gid)`` makes the copy belong to that owner and leaves HOST_UID/HOST_GID unset,
    as on a machine with no .env (needs root)."""
    p = _new_project(tmp_root, python_image, label, owner, extra, cls)
    _copy_checkout(p.dir, owner)
    return p


@contextlib.contextmanager
def project(tmp_root: Path, python_image: str, label: str, *, cls: type[P] = Project,
            owner: tuple[int, int] | None = None, keep_images: bool = False, keep: bool = False,
            **extra) -> Iterator[P]:
    """A scratch project (:func:`make_project`) that is cleaned up however the block ends.

    A fixture builds, starts and yields inside the ``with``; a test uses conftest's
    ``new_project`` factory instead.

    Parameters
    ----------
    tmp_root : pathlib.Path
        Where the copy of the checkout is made (``<tmp_root>/fnt-<label>-<8 hex>``).
    python_image : str
        ``PYTHON_IMAGE`` of its builds.
    label : str
        Part of its Compose project name, image tag and folder.
    cls : type, optional
        :class:`Project` or a dataclass subclass of it whose extra fields have defaults.
    owner : (int, int), optional
        UID and GID that own the copy; HOST_UID/HOST_GID are then left unset (needs root).
    keep_images : bool, optional
        Leave the service images another project shares (the build-only ones still go).
    keep : bool, optional
        Leave everything (containers, volumes, images, the copy) for a look afterwards.
    **extra : str
        More variables of its environment (``.env`` knobs).

    Yields
    ------
    Project
        The project, an instance of ``cls``. On exit (an exception, a failed copy, Ctrl+C
        included) ``cleanup(keep_images=keep_images)`` runs unless ``keep``.
    """
    p = _new_project(tmp_root, python_image, label, owner, extra, cls)
    try:
        _copy_checkout(p.dir, owner)
        yield p
    finally:
        if not keep:
            p.cleanup(keep_images=keep_images)


def jupyter_session(project: Project) -> requests.Session:
    """A requests session that sends JupyterLab's token."""
    s = requests.Session()
    s.headers["Authorization"] = f"token {project.token}"
    return s


#: The Streamlit settings the stack tests compare (streamlit_options).
STREAMLIT_OPTIONS = ("server.headless", "browser.gatherUsageStats", "server.enableXsrfProtection", "server.runOnSave",
                     "client.toolbarMode", "server.fileWatcherType", "server.baseUrlPath")


def streamlit_options(project: Project, service: str = "streamlit") -> dict:
    """Streamlit's settings in effect in the running ``service``: ``streamlit config show`` there.

    That command reads what ``streamlit run`` reads (the config file in the working directory
    and STREAMLIT_* variables); options at their default are printed commented out.
    """
    out = project.compose("exec", "-T", service, "streamlit", "config", "show").stdout
    found, section = {}, ""
    for line in out.splitlines():
        if m := re.match(r"^\[(\w+)\]$", line):
            section = m.group(1)
        elif (m := re.match(r"^(# )?(\w+) = (.+)$", line)) and f"{section}.{m.group(2)}" in STREAMLIT_OPTIONS:
            name = f"{section}.{m.group(2)}"
            if not m.group(1) or name not in found:  # a value set wins over the default printed before it
                found[name] = tomllib.loads(f"v = {m.group(3)}")["v"]
    return {n: found.get(n) for n in STREAMLIT_OPTIONS}
