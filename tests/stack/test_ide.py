"""End-to-end: the development container (issue 12).

- The ``ide`` profile: code-server on the JupyterLab image, password-protected, the checkout at
  /app with the host's UID/GID; a headless Chromium logs in, sees the workspace and saves a new
  file, which lands on the host owned by HOST_UID.
- Packages that survive: ``%pip install`` in a notebook's kernel goes to the user-packages
  volume (the venv stays read-only), new kernels and the IDE import it, and it is still there
  after ``down``/``up``.
- ``.devcontainer/devcontainer.json`` with the reference CLI (``@devcontainers/cli``):
  ``devcontainer up`` and ``devcontainer exec ... python -c "import fractalkit"``.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from utils.commands import free_port, run, wait_for
from utils.engine import require_e2e
from utils.paths import ARTIFACTS, ROOT
from utils.project import HOST_GID, HOST_UID, Project, jupyter_session, project
from utils.jupyter_ws import execute

pytestmark = pytest.mark.e2e

PACKAGE, VERSION = "tinydb", "4.8.0"  # small, pure Python, not in the lock
ROOT_PACKAGE, ROOT_VERSION = "humanize", "4.9.0"  # another one, installed as UID 0


def _password(p) -> str:
    logs = p.compose("logs", "--no-log-prefix", "ide").stdout
    found = re.findall(r"code-server: http://\S+ password: (\S+)", logs)
    assert found, logs[-3000:]
    return found[-1]


@dataclass
class IdeProject(Project):
    """A checkout with the ide profile: ``ide_url``, code-server's address."""

    ide_url: str = ""


@pytest.fixture(scope="module")
def ide(docker_engine, python_image, scratch):
    """jupyter and the ide profile of one scratch checkout (with .devcontainer), up --wait."""
    with project(scratch, python_image, "ide", cls=IdeProject, IDE_PORT=str(free_port())) as p:
        shutil.copytree(ROOT / ".devcontainer", p.dir / ".devcontainer")
        if os.getuid() == 0:
            for q in [p.dir / ".devcontainer", *(p.dir / ".devcontainer").rglob("*")]:
                os.chown(q, HOST_UID, HOST_GID)
        p.files = ["compose.yaml"]
        try:
            p.compose("--profile", "ide", "up", "--build", "--wait", "--detach", "jupyter", "ide", timeout=2400)
            p.ide_url = f"http://127.0.0.1:{p.env['IDE_PORT']}"
            yield p
        finally:  # the ide profile's container and image, then project()'s cleanup
            p.compose("--profile", "ide", "down", "--volumes", "--remove-orphans", "--timeout", "5",
                      check=False, timeout=300)
            run(["docker", "image", "rm", "-f", f"{p.env['IMAGE_REPO']}/ide:{p.env['IMAGE_TAG']}"], check=False)


def _login(p) -> requests.Session:
    s = requests.Session()
    r = s.post(p.ide_url + "/login", data={"password": _password(p)}, allow_redirects=False, timeout=30)
    assert r.status_code == 302 and s.cookies, (r.status_code, r.text[:300])
    return s


def test_ide_refuses_requests_without_the_password(ide):
    r = requests.get(ide.ide_url + "/?folder=/app", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and "login" in r.headers["Location"], (r.status_code, r.headers)
    bad = requests.Session()
    r = bad.post(ide.ide_url + "/login", data={"password": "x" * 40}, allow_redirects=False, timeout=30)
    assert r.status_code != 302 and "Incorrect password" in r.text, (r.status_code, r.text[:300])
    assert bad.get(ide.ide_url + "/?folder=/app", allow_redirects=False, timeout=30).status_code == 302
    good = _login(ide)
    assert good.get(ide.ide_url + "/?folder=/app", allow_redirects=False, timeout=30).status_code == 200


@pytest.mark.parametrize("value, message", [
    ("", "IDE_PASSWORD is set but empty"),
    ("short", "IDE_PASSWORD is too short"),
    ("a passphrase with spaces that is long enough", "IDE_PASSWORD contains whitespace"),
])
def test_ide_refuses_to_start_with_a_bad_password(ide, value, message):
    out = ide.compose("--profile", "ide", "run", "--rm", "--no-deps", "-T", "-e", f"IDE_PASSWORD={value}", "ide",
                      check=False, timeout=300)
    assert out.returncode != 0
    assert f"ide refuses to start: {message}" in out.stderr + out.stdout, out.stderr[-2000:]


def test_ide_has_the_kernels_python_and_preset_interpreter(ide):
    out = ide.compose("exec", "-T", "ide", "python", "-c",
                      "import fractalkit, ipykernel, sys; print(sys.executable, fractalkit.__file__)").stdout
    assert out.split() == ["/opt/venv/bin/python", "/app/src/fractalkit/__init__.py"], out
    settings = json.loads(ide.compose("exec", "-T", "ide", "cat",
                                      "/var/lib/fractal/ide/data/Machine/settings.json").stdout)
    assert settings["python.defaultInterpreterPath"] == "/opt/venv/bin/python"


def test_streamlit_through_the_ide_proxy(ide):
    """The documented way to see an app run from the IDE's terminal: code-server's /absproxy/."""
    ide.compose("exec", "-d", "-T", "ide", "streamlit", "run", "apps/gallery.py", "--server.port", "8502",
                "--server.baseUrlPath", "/absproxy/8502")
    s = _login(ide)
    wait_for(lambda: s.get(ide.ide_url + "/absproxy/8502/_stcore/health", timeout=10).text == "ok",
             timeout=120, what="streamlit behind code-server's proxy")
    assert requests.get(ide.ide_url + "/absproxy/8502/_stcore/health", allow_redirects=False,
                        timeout=10).status_code in (302, 401)


@pytest.mark.browser
def test_chromium_logs_in_sees_the_workspace_and_saves_a_file(ide, page):
    name = "saved-in-the-ide.txt"
    page.goto(ide.ide_url + "/?folder=/app", wait_until="domcontentloaded")
    page.locator("input[type=password]").fill(_password(ide))
    page.keyboard.press("Enter")
    explorer = page.locator(".explorer-folders-view")
    explorer.get_by_text("compose.yaml").wait_for(timeout=120_000)
    explorer.get_by_text("services").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "ide-workspace.png"))
    # A new file through VS Code's own UI: the explorer's "New File..." box, type, save.
    try:
        explorer.hover()
        page.locator(".pane-header .action-label[aria-label^='New File']").first.click()
        box = page.locator(".explorer-folders-view .monaco-inputbox input")
        box.wait_for(timeout=30_000)
        box.fill(name)
        box.press("Enter")
        page.locator(f".tab[aria-label^='{name}']").wait_for(timeout=30_000)
        page.locator(".editor-instance .monaco-editor .view-lines").first.click()
        page.keyboard.type("written in code-server")
        page.keyboard.press("Control+S")
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "ide-new-file-failed.png"))
        raise
    saved = ide.dir / name
    wait_for(lambda: saved.exists() and "written in code-server" in saved.read_text(), timeout=60,
             what=f"{name} on the host")
    st = saved.stat()
    assert (st.st_uid, st.st_gid) == (HOST_UID, HOST_GID), (st.st_uid, st.st_gid)


def test_pip_install_in_a_notebook_survives_down_and_up(ide):
    s = jupyter_session(ide)
    api = ide.url("jupyter", "")

    def kernel_runs(code: str) -> str:
        kid = s.post(api + "/api/kernels", json={"name": "python3"}, timeout=60).json()["id"]
        try:
            return execute(api, ide.token, kid, code, timeout=300)
        finally:
            s.delete(f"{api}/api/kernels/{kid}", timeout=30)

    out = kernel_runs(f"%pip install --no-cache-dir {PACKAGE}=={VERSION}\n"
                      f"import {PACKAGE}, os, site, sysconfig; print('AT', os.path.relpath({PACKAGE}.__file__, site.getusersitepackages()), site.USER_BASE)\n"
                      "print('VENV_WRITABLE', os.access(sysconfig.get_path('purelib'), os.W_OK))")
    assert f"Successfully installed {PACKAGE}-{VERSION}" in out, out
    assert f"AT {PACKAGE}/__init__.py /home/app/.local" in out, out  # in the user site
    assert "VENV_WRITABLE False" in out, out
    check = f"import {PACKAGE}; print('VERSION', {PACKAGE}.__version__)"
    assert f"VERSION {VERSION}" in kernel_runs(check)  # a new kernel
    assert f"VERSION {VERSION}" in ide.compose("exec", "-T", "ide", "python", "-c", check).stdout
    # The venv belongs to root; pip in the IDE's terminal uses the same user location.
    pip = ide.compose("exec", "-T", "-u", "app", "ide", "pip", "install", "--no-cache-dir", f"{PACKAGE}=={VERSION}").stdout
    assert "Requirement already satisfied" in pip and "/home/app/.local" in pip, pip
    # As UID 0 (`docker compose exec` without -u, or a root-owned checkout) the venv would be
    # writable: pip still installs to the volume, or the package would vanish with the container.
    root = ide.compose("exec", "-T", "jupyter", "sh", "-c",
                       f"id -u && pip install --no-cache-dir {ROOT_PACKAGE}=={ROOT_VERSION}").stdout
    assert root.startswith("0\n") and f"Successfully installed {ROOT_PACKAGE}-{ROOT_VERSION}" in root, root
    check += f"; import {ROOT_PACKAGE.replace('-', '_')} as r; print('ROOT', r.__file__)"
    ide.compose("--profile", "ide", "down", "--timeout", "5")
    ide.compose("--profile", "ide", "up", "--wait", "--detach", "jupyter", "ide", timeout=600)
    s = jupyter_session(ide)
    out = kernel_runs(check)
    assert f"VERSION {VERSION}" in out, out
    assert re.search(rf"ROOT /home/app/\.local/lib/python3\.\d+/site-packages/{ROOT_PACKAGE.replace('-', '_')}/", out), out


def _compose_error(cli_stdout: str, env: dict) -> str:
    """Compose's own output for the command a failed `devcontainer up` reports (run again)."""
    m = re.search(r'"message":"Command failed: (docker compose [^"]+)"', cli_stdout)
    if not m:
        return f"\nno Compose command in the CLI's report: {cli_stdout[-1000:]}"
    again = subprocess.run(m.group(1).split(), capture_output=True, text=True, env=env, timeout=600)
    return f"\n{m.group(1)} (again) -> {again.returncode}\n{again.stdout[-2000:]}{again.stderr[-3000:]}"


def _engine_state() -> str:
    out = [run(cmd, check=False, timeout=60) for cmd in (["docker", "ps", "-a"], ["docker", "network", "ls"],
                                                          ["docker", "system", "df"], ["df", "-h", "/", "/var/lib"])]
    return "".join(f"\n{o.args}\n{o.stdout[-3000:]}{o.stderr[-1000:]}" for o in out)


def _devcontainer_cli() -> str | None:
    return shutil.which("devcontainer") or next(
        (str(c) for c in [Path("/opt/devcontainers-cli/node_modules/.bin/devcontainer")] if c.exists()), None)


def test_devcontainer_cli_up_and_exec_from_nothing(ide):
    """As documented: `up` with no container of the project running, then `exec` by folder."""
    cli = _devcontainer_cli()
    if cli is None:
        if require_e2e():
            pytest.fail("@devcontainers/cli is required (.ci/run installs it with npm)")
        pytest.skip("@devcontainers/cli not installed")
    name = f"{ide.name}-dc"
    ports = {k: str(free_port()) for k in ("IDE_PORT", "JUPYTER_PORT", "STREAMLIT_PORT", "DOCS_PORT")}
    env = {**os.environ, **ide.env, **ports, "COMPOSE_PROJECT_NAME": name}
    env.pop("JUPYTER_TOKEN", None)
    try:
        up = subprocess.run([cli, "up", "--workspace-folder", str(ide.dir)], capture_output=True, text=True,
                            env=env, timeout=1800)
        # The CLI reports a failed `docker compose up` without Compose's own message: run the
        # command it names again for that, and show the engine's state.
        assert up.returncode == 0, (up.stdout[-3000:] + up.stderr[-3000:] + _compose_error(up.stdout, env)
                                    + _engine_state())
        result = json.loads(up.stdout.strip().splitlines()[-1])
        assert result["outcome"] == "success", result
        ex = subprocess.run([cli, "exec", "--workspace-folder", str(ide.dir), "python", "-c",
                             "import fractalkit, os; print('IMPORTED', fractalkit.__file__, os.getuid())"],
                            capture_output=True, text=True, env=env, timeout=300)
        assert ex.returncode == 0, ex.stdout[-3000:] + ex.stderr[-3000:]
        assert f"IMPORTED /app/src/fractalkit/__init__.py {HOST_UID}" in ex.stdout, ex.stdout
    finally:
        run(["docker", "compose", "--project-directory", str(ide.dir), "-p", name, "-f", str(ide.dir / "compose.yaml"),
             "-f", str(ide.dir / ".devcontainer" / "compose.yaml"), "--profile", "ide", "down", "--volumes",
             "--remove-orphans", "--timeout", "5"], env=env, check=False, timeout=300)
