"""Fixtures of the Swarm tests (the shared ones, and the helpers they use, are tests/conftest.py's
and tests/utils/'s; the multi-node harness is swarm_nodes.py here)."""
from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from utils.commands import free_port, run
from utils.git import GIT_ENV, commit_all
from utils.paths import VERSION
from utils.project import Project, project
from utils.registry import Registry
from utils.tls import self_signed


@dataclass
class Release(Project):
    """A project published by scripts/publish.sh to a registry, for swarm/deploy-swarm.sh.

    ``deploy_env`` is the environment of both scripts (REGISTRY, STACK_NAME...), ``registry``
    REGISTRY, ``registry_storage`` the registry's image store and ``https`` the proxy's address
    on a one-node swarm.
    """

    deploy_env: dict[str, str] = field(default_factory=dict)
    registry: str = ""
    registry_storage: Path | None = None
    https: str = ""

    def service(self, service: str) -> str:
        """The Swarm service's name: the stack's name (STACK_NAME, the project's) and the service."""
        return f"{self.name}_{service}"


@pytest.fixture(scope="session")
def swarm_release(docker_engine, python_image, scratch):
    """A :class:`Release` as scripts/publish.sh makes it, from a git checkout, in a registry on
    loopback (tests/utils/registry.py), for the Swarm tests to deploy with swarm/deploy-swarm.sh."""
    with project(scratch, python_image, "swarm", cls=Release, JUPYTER_TOKEN="e2e-" + uuid.uuid4().hex,
                 PROXY_HTTPS_PORT=str(free_port()), STREAMLIT_REPLICAS="3", DOCS_REPLICAS="2") as p:
        p.files = ["compose.yaml", "compose.prod.yaml"]
        p.env["STACK_NAME"] = p.name
        local = []
        try:
            sha = commit_all(p.dir)
            p.env.update(APP_VERSION=VERSION, GIT_SHA=sha, DEPLOY_ENV="prod")  # what the scripts work out
            p.ca = self_signed(p.dir / "certs" / "proxy")  # after the commit: a release does not carry its key
            p.https = f"https://127.0.0.1:{p.env['PROXY_HTTPS_PORT']}"
            with Registry() as reg:
                p.registry, p.registry_storage = f"{reg.host}/fractal-{p.name}", reg.storage
                local += [f"{p.registry}/{s}:{VERSION}-{sha}-prod{suffix}"
                          for s in ("base", "streamlit", "jupyter", "docs", "proxy", "balancer")
                          for suffix in ("", "-amd64")]
                env = {**os.environ, **GIT_ENV, **p.env, "REGISTRY": p.registry}
                for derived in ("APP_VERSION", "GIT_SHA", "DEPLOY_ENV"):
                    env.pop(derived)
                # The base image from .env, as docs/troubleshooting.md puts it (no registry here).
                (p.dir / ".env").write_text(f"PYTHON_IMAGE={env.pop('PYTHON_IMAGE')}\n")
                p.deploy_env = env
                t0 = time.monotonic()
                run(["bash", "scripts/publish.sh"], cwd=p.dir, env=env, timeout=2400)
                print(f"\npublish.sh {time.monotonic() - t0:.0f} s")
                yield p
        finally:  # the published images, then project()'s cleanup
            if local:
                run(["docker", "image", "rm", "-f", *local], check=False)
