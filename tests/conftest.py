"""Shared fixtures.

Fast tests (kernels, apps, compose config, Dockerfile lint) need no engine. Tests marked
``e2e``/``browser`` build the real images and start the real stack; they skip when no
Docker engine answers, unless FRACTAL_REQUIRE_E2E=1 (set by .ci/run), where they fail.
"""
from __future__ import annotations

import os
import platform
import re
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
LOCAL_BASE = "fractal-notebooks/python:3.11-bookworm"
LOCAL_BASE_ARM64 = "fractal-notebooks/python:3.11-bookworm-arm64"
DEFAULT_BASE = "python:3.11-slim"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-quic"]
# What the tests copy of the repository into a scratch project (the host tree is never touched).
PROJECT_FILES = ["compose.yaml", "compose.prod.yaml", "compose.swarm.yaml", "pyproject.toml", "uv.lock",
                 ".dockerignore", "apps", "src", "docs", "services", "certs", "scripts"]


def require_e2e() -> bool:
    return os.environ.get("FRACTAL_REQUIRE_E2E") == "1"


def run(cmd, *, check=True, timeout=1800, **kw) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and out.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} -> {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
    return out


def docker_available() -> str | None:
    """None if a Docker engine and Compose v2 answer, else the reason."""
    if not shutil.which("docker"):
        return "docker CLI not found"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=60).returncode != 0:
        return "no Docker engine answers (docker info failed)"
    if subprocess.run(["docker", "compose", "version"], capture_output=True, timeout=60).returncode != 0:
        return "the Compose v2 plugin is missing"
    if require_e2e() and subprocess.run(["docker", "buildx", "version"], capture_output=True,
                                        timeout=60).returncode != 0:
        return "the buildx plugin is missing: Compose would not build through Bake, as users' Docker does"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def docker_engine():
    reason = docker_available()
    if reason:
        if require_e2e():
            pytest.fail(f"end-to-end tests are required (FRACTAL_REQUIRE_E2E=1) but {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def base_image(docker_engine) -> str:
    """BASE_IMAGE for the builds: $BASE_IMAGE, else python:3.11-slim if it can be pulled,
    else the image from scripts/build-local-base.sh (built here if missing)."""
    if os.environ.get("BASE_IMAGE"):
        return os.environ["BASE_IMAGE"]
    if run(["docker", "image", "inspect", DEFAULT_BASE], check=False).returncode == 0:
        return DEFAULT_BASE
    if run(["docker", "pull", DEFAULT_BASE], check=False, timeout=180).returncode == 0:
        return DEFAULT_BASE
    if run(["docker", "image", "inspect", LOCAL_BASE], check=False).returncode != 0:
        run(["bash", str(ROOT / "scripts" / "build-local-base.sh"), LOCAL_BASE], timeout=1500)
    return LOCAL_BASE


def arm64_unavailable() -> str | None:
    """None if this host runs linux/arm64 programs (natively or under emulation), else why not."""
    if platform.machine() in ("aarch64", "arm64"):
        return None
    handler = Path("/proc/sys/fs/binfmt_misc/qemu-aarch64")
    if not handler.exists() or handler.read_text().splitlines()[0] != "enabled":
        return ("this host cannot run linux/arm64 programs: no enabled binfmt_misc handler qemu-aarch64 "
                "(as root: apt-get install qemu-user-static && scripts/enable-emulation.sh arm64)")
    return None


@pytest.fixture(scope="session")
def arm64_base(docker_engine, base_image) -> str:
    """BASE_IMAGE for linux/arm64 builds: $BASE_IMAGE_ARM64; python:3.11-slim where the registry
    answers (a multi-platform image); else scripts/build-local-base.sh --arch arm64 (built here)."""
    reason = arm64_unavailable()
    if reason:
        if require_e2e():
            pytest.fail(f"end-to-end tests are required (FRACTAL_REQUIRE_E2E=1) but {reason}")
        pytest.skip(reason)
    if os.environ.get("BASE_IMAGE_ARM64"):
        return os.environ["BASE_IMAGE_ARM64"]
    if base_image == DEFAULT_BASE:
        return DEFAULT_BASE
    if run(["docker", "image", "inspect", LOCAL_BASE_ARM64], check=False).returncode != 0:
        # --if-missing: a build already running (.ci/run starts one early) is waited for and reused.
        run(["bash", str(ROOT / "scripts" / "build-local-base.sh"), "--arch", "arm64", "--if-missing",
             LOCAL_BASE_ARM64], timeout=2400)
    return LOCAL_BASE_ARM64


@dataclass
class Project:
    """A scratch copy of the repository with its own Compose project name, ports and images."""

    dir: Path
    name: str
    env: dict[str, str]
    files: list[str] = field(default_factory=lambda: ["compose.yaml"])

    def compose(self, *args, check=True, timeout=1800, env=None):
        cmd = ["docker", "compose", "--project-directory", str(self.dir), "-p", self.name]
        for f in self.files:
            cmd += ["-f", str(self.dir / f)]
        host = {k: v for k, v in os.environ.items() if k not in ("JUPYTER_TOKEN", "ALLOWED_HOSTS")}
        return run([*cmd, *args], check=check, timeout=timeout, env={**host, **self.env, **(env or {})})

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

    def container(self, service: str) -> str:
        return self.compose("ps", "-q", service).stdout.strip()

    def images(self) -> list[str]:
        """base, streamlit, jupyter, docs (and proxy in production) image names."""
        repo = self.env["IMAGE_REPO"]
        if "compose.prod.yaml" in self.files:
            tag = f"{self.env['APP_VERSION']}-{self.env['GIT_SHA']}-{self.env['DEPLOY_ENV']}"
            return [f"{repo}/{s}:{tag}" for s in ("base", "streamlit", "jupyter", "docs", "proxy")]
        return [f"{repo}/{s}:{self.env['IMAGE_TAG']}" for s in ("base", "streamlit", "jupyter", "docs")]

    def cleanup(self):
        self.compose("down", "--volumes", "--remove-orphans", "--timeout", "5", check=False, timeout=300)
        run(["docker", "image", "rm", "-f", *self.images()], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)


HOST_UID = os.getuid() if os.getuid() != 0 else 1000
HOST_GID = os.getgid() if os.getuid() != 0 else 1000


def make_project(tmp_root: Path, base: str, label: str, *, owner: tuple[int, int] | None = None,
                 **extra) -> Project:
    """A scratch copy of the repository. ``owner=(uid, gid)`` makes the copy belong to that
    owner and leaves HOST_UID/HOST_GID unset, as on a machine with no .env (needs root)."""
    name = f"fnt-{label}-{uuid.uuid4().hex[:8]}"
    d = tmp_root / name
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
    ids = {} if owner else {"HOST_UID": str(HOST_UID), "HOST_GID": str(HOST_GID)}
    env = {
        "BASE_IMAGE": base, **ids,
        "IMAGE_REPO": "fractal-notebooks-test", "IMAGE_TAG": name,
        "STREAMLIT_PORT": str(free_port()), "JUPYTER_PORT": str(free_port()), "DOCS_PORT": str(free_port()),
        "BIND_ADDRESS": "127.0.0.1",  # no JUPYTER_TOKEN: the stack generates one (like no .env)
        **extra,
    }
    return Project(d, name, env)


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


@pytest.fixture(scope="session")
def scratch(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("projects")


@pytest.fixture(scope="session")
def dev_stack(docker_engine, base_image, scratch):
    """The dev stack, built and started once with `up --build --wait`; always torn down."""
    p = make_project(scratch, base_image, "dev")
    try:
        t0 = time.monotonic()
        p.compose("up", "--build", "--wait", "--detach", timeout=2400)
        p.up_seconds = time.monotonic() - t0
        yield p
    finally:
        if os.environ.get("FRACTAL_KEEP_STACK") != "1":
            p.cleanup()


@pytest.fixture(scope="session")
def swarm_release(docker_engine, base_image, scratch):
    """A release as scripts/publish.sh makes it, from a git checkout, in a registry on loopback
    (tests/utils/registry.py), for the Swarm tests to deploy with scripts/deploy-swarm.sh.

    The project has ``deploy_env`` (the environment of both scripts: REGISTRY, STACK_NAME...),
    ``registry`` (REGISTRY), ``registry_storage`` (the registry's image store), ``ca`` (the
    proxy's self-signed certificate) and ``https`` (the proxy's address on a one-node swarm).
    """
    from utils.git import GIT_ENV, commit_all
    from utils.registry import Registry
    from utils.tls import self_signed

    p = make_project(scratch, base_image, "swarm", JUPYTER_TOKEN="e2e-" + uuid.uuid4().hex,
                     PROXY_HTTPS_PORT=str(free_port()), STREAMLIT_REPLICAS="3", DOCS_REPLICAS="2")
    p.files = ["compose.yaml", "compose.prod.yaml"]
    p.env["STACK_NAME"] = p.name
    p.service = lambda s: f"{p.name}_{s}"
    local = []
    try:
        sha = commit_all(p.dir)
        p.env.update(APP_VERSION="0.1.0", GIT_SHA=sha, DEPLOY_ENV="prod")  # what the scripts work out
        p.ca = self_signed(p.dir / "certs" / "proxy")  # after the commit: a release does not carry its key
        p.https = f"https://127.0.0.1:{p.env['PROXY_HTTPS_PORT']}"
        with Registry() as reg:
            p.registry, p.registry_storage = f"{reg.host}/fractal-{p.name}", reg.storage
            local += [f"{p.registry}/{s}:0.1.0-{sha}-prod{suffix}" for s in ("base", "streamlit", "jupyter", "docs",
                                                                             "proxy") for suffix in ("", "-amd64")]
            env = {**os.environ, **GIT_ENV, **p.env, "REGISTRY": p.registry}
            for derived in ("APP_VERSION", "GIT_SHA", "DEPLOY_ENV"):
                env.pop(derived)
            # The base image from .env, as the README's troubleshooting puts it (no registry here).
            (p.dir / ".env").write_text(f"BASE_IMAGE={env.pop('BASE_IMAGE')}\n")
            p.deploy_env = env
            t0 = time.monotonic()
            run(["bash", "scripts/publish.sh"], cwd=p.dir, env=env, timeout=2400)
            print(f"\npublish.sh {time.monotonic() - t0:.0f} s")
            yield p
    finally:
        run(["docker", "image", "rm", "-f", *local], check=False)
        p.cleanup()


@pytest.fixture(scope="session")
def browser(docker_engine):
    """Headless Chromium from the system (Debian's package), driven by Playwright."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        if require_e2e():
            pytest.fail("headless Chromium is required but not installed (apt-get install chromium)")
        pytest.skip("chromium not installed")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser):
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = ctx.new_page()
    try:
        yield pg
    finally:
        ctx.close()


def jupyter_session(project: Project) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"token {project.token}"
    return s
