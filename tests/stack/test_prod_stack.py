"""End-to-end: the merged production configuration on a real engine (the ``prod`` stack of
conftest.py, shared with test_prod_hostile.py)."""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import time
import uuid

import pytest
import requests

from utils.commands import run, wait_for
from utils.paths import ROOT
from utils.project import streamlit_options
from utils.jupyter_ws import execute
from utils.processes import credentials, main_pid

pytestmark = pytest.mark.e2e
SERVICES = ("streamlit", "jupyter", "docs")


def test_the_workspace_and_editor_droppings_never_reach_the_production_docs(prod):
    """The prod fixture's checkout has Untitled notebooks, a checkpoint, a trash folder... beside
    the docs, each failing if executed, and a failing notebook in the workspace: the build passed
    (warnings are errors), and the site has the curated notebooks and none of those."""
    assert (prod.dir / "docs" / "notebooks" / "Untitled.ipynb").exists()
    assert (prod.dir / "notebooks" / "scratch.ipynb").exists()
    files = run(["docker", "run", "--rm", "--entrypoint", "find", prod.images()[3], "/usr/share/fractal-docs",
                 "-name", "*.html"]).stdout.split()
    pages = {f.removeprefix("/usr/share/fractal-docs/") for f in files}
    assert {f"notebooks/{nb.stem}.html" for nb in (ROOT / "docs" / "notebooks").glob("*.ipynb")} <= pages
    strays = [p for p in pages if re.search(r"Untitled|checkpoint|Trash|virtual_documents|scratch", p)]
    assert not strays, strays


def test_images_carry_version_and_revision_labels(prod):
    for image in prod.images():
        labels = json.loads(run(["docker", "image", "inspect", image]).stdout)[0]["Config"]["Labels"]
        assert labels["org.opencontainers.image.version"] == "9.9.9"
        assert labels["org.opencontainers.image.revision"] == prod.env["GIT_SHA"]


@pytest.mark.parametrize("service", [*SERVICES, "balancer", "proxy"])
def test_limits_user_and_read_only_root(prod, service):
    containers = prod.containers(service)
    assert len(containers) == (2 if service == "streamlit" else 1)  # STREAMLIT_REPLICAS's default
    for container in containers:
        _assert_limited_and_unprivileged(json.loads(run(["docker", "inspect", container]).stdout)[0], service)


def _assert_limited_and_unprivileged(info: dict, service: str) -> None:
    hc = info["HostConfig"]
    assert hc["Memory"] > 0 and hc["NanoCpus"] > 0 and hc["PidsLimit"] and hc["PidsLimit"] > 0
    assert hc["ReadonlyRootfs"] is True
    assert hc["CapDrop"] == ["ALL"] and "no-new-privileges:true" in hc["SecurityOpt"]
    assert hc["RestartPolicy"]["Name"] == "unless-stopped"
    assert hc["LogConfig"]["Type"] == "json-file" and hc["LogConfig"]["Config"]["max-size"]
    # The image's user, built as the Mac's 501:20 (the prod fixture): every process, none root.
    assert info["Config"]["User"] == "app"
    procs = credentials(info["Id"])
    assert procs and all((p["uid"], p["gid"]) == ("501", "20") for p in procs), procs
    assert all(m["Type"] == "volume" or m["Destination"].startswith("/etc/fractal-proxy/")
               for m in info["Mounts"]), info["Mounts"]
    if service == "streamlit":
        assert hc["Memory"] == 2 * 1024 ** 3 and hc["NanoCpus"] == 2 * 10 ** 9


def test_a_notebook_saved_in_jupyterlab_belongs_to_the_build_user(prod):
    """What JupyterLab writes into the notebooks volume is the image user's: 501:20 here."""
    r = requests.put(prod.url("jupyter", "/jupyter/api/contents/prod-owned.ipynb"), timeout=30,
                     headers={"Authorization": f"token {prod.env['JUPYTER_TOKEN']}"},
                     json={"type": "notebook", "content": {"cells": [], "metadata": {}, "nbformat": 4,
                                                           "nbformat_minor": 5}})
    assert r.status_code in (200, 201), r.text
    owner = prod.compose("exec", "-T", "jupyter", "stat", "-c", "%u:%g", "/srv/notebooks/prod-owned.ipynb").stdout
    assert owner.strip() == "501:20"


def test_streamlit_settings_in_effect(prod):
    """XSRF on (.streamlit/config.toml), no re-run on save (the prod image), nothing watched, /app."""
    assert streamlit_options(prod) == {
        "server.headless": True, "browser.gatherUsageStats": False, "server.enableXsrfProtection": True,
        "server.runOnSave": False, "client.toolbarMode": "viewer", "server.fileWatcherType": "none",
        "server.baseUrlPath": "app"}


def test_endpoints_direct_and_through_the_tls_proxy(prod):
    token = prod.env["JUPYTER_TOKEN"]
    assert requests.get(prod.url("streamlit", "/app/_stcore/health"), timeout=10).text == "ok"
    assert requests.get(prod.url("jupyter", "/jupyter/api/contents"), timeout=10).status_code in (401, 403)
    # The gallery's plain-HTTP port (the balancer) says where it is at `/` (services/proxy/haproxy.cfg) ...
    for query in ("", "?embed=true"):
        r = requests.get(prod.url("streamlit", f"/{query}"), timeout=10, allow_redirects=False)
        assert r.status_code == 302 and r.headers["Location"] == f"/app/{query}", (r.status_code, r.headers)
    # ... and JupyterLab's (services/jupyter/fractal_root.py)
    r = requests.get(prod.url("jupyter", f"/?token={token}"), timeout=10, allow_redirects=False)
    assert r.status_code == 302 and r.headers["Location"] == f"/jupyter/?token={token}", (r.status_code, r.headers)
    base = f"https://127.0.0.1:{prod.env['PROXY_HTTPS_PORT']}"
    # docs publishes no port in production: its nginx (gzip, cache headers) is read through the proxy
    docs = requests.get(f"{base}/", headers={"Accept-Encoding": "gzip"}, verify=prod.ca, timeout=10)
    assert docs.status_code == 200 and docs.headers.get("Content-Encoding") == "gzip"
    assert "nginx" in docs.headers.get("Server", "")
    css = requests.get(f"{base}/_static/pygments.css", verify=prod.ca, timeout=10)
    assert "max-age" in css.headers.get("Cache-Control", "")
    assert requests.get(f"{base}/app/_stcore/health", verify=prod.ca, timeout=10).text == "ok"
    assert "fractal-notebooks" in requests.get(f"{base}/", verify=prod.ca, timeout=10).text
    r = requests.get(f"{base}/jupyter/api/contents", headers={"Authorization": f"token {token}"},
                     verify=prod.ca, timeout=10)
    assert r.status_code == 200 and any(i["name"].endswith(".ipynb") for i in r.json()["content"])


def test_jupyter_host_check_through_the_proxy(prod):
    # The proxy forwards the browser's Host: only loopback, localhost and ALLOWED_HOSTS pass.
    port = prod.env["PROXY_HTTPS_PORT"]

    def status(host):
        return requests.get(f"https://127.0.0.1:{port}/jupyter/api/contents", verify=prod.ca, timeout=10,
                            headers={"Authorization": f"token {prod.token}", "Host": f"{host}:{port}"}).status_code

    assert status("evil.example") == 403
    assert status("notebooks.test") == 200
    assert status("127.0.0.1") == 200


def test_websockets_through_the_proxy(prod):
    import websocket

    token = prod.env["JUPYTER_TOKEN"]
    port = prod.env["PROXY_HTTPS_PORT"]
    s = requests.Session()  # verify= per request: REQUESTS_CA_BUNDLE would override Session.verify
    s.headers["Authorization"] = f"token {token}"
    kid = s.post(f"https://127.0.0.1:{port}/jupyter/api/kernels", json={"name": "python3"},
                 verify=prod.ca, timeout=30).json()["id"]
    try:
        out = execute(f"https://127.0.0.1:{port}/jupyter", token, kid, "print(6 * 7)",
                      sslopt={"ca_certs": prod.ca})
        assert out.strip() == "42"
    finally:
        s.delete(f"https://127.0.0.1:{port}/jupyter/api/kernels/{kid}", verify=prod.ca, timeout=30)
    ws = websocket.create_connection(f"wss://127.0.0.1:{port}/app/_stcore/stream",
                                     sslopt={"ca_certs": prod.ca}, timeout=20,
                                     subprotocols=["streamlit"])
    assert ws.connected
    ws.close()


def test_compose_lint_has_no_unjustified_finding(prod):
    merged = prod.compose("--profile", "proxy", "config").stdout
    path = prod.dir / "merged.yaml"
    path.write_text(merged)
    lint = shutil.which("compose-lint")
    assert lint, "compose-lint not installed (uv sync --group test)"
    out = run([lint, "check", "--strict-config", "--config", str(ROOT / ".compose-lint.yml"),
               "--fail-on", "low", str(path)], check=False)
    assert out.returncode == 0, out.stdout[-4000:]


@pytest.mark.parametrize("service", SERVICES)
def test_kill_9_heals_within_30s(prod, service):
    before = prod.inspect(service)["RestartCount"]
    subprocess.run(["kill", "-9", str(main_pid(prod.container(service)))], check=True)
    t0 = time.monotonic()
    wait_for(lambda: prod.inspect(service)["RestartCount"] > before, timeout=30, what=f"{service} restart")
    wait_for(lambda: prod.health(service) == "healthy", timeout=60, interval=1, what=f"{service} healthy")
    took = time.monotonic() - t0
    print(f"\n{service}: healthy again {took:.1f} s after kill -9")
    assert took <= 30


def test_huge_render_stays_within_memory_limit(prod):
    code = ("from streamlit.testing.v1 import AppTest\n"
            "at = AppTest.from_file('apps/mandelbrot.py', default_timeout=300).run()\n"
            "at.toggle(key='m_auto').set_value(False).run(); at.number_input(key='m_iter').set_value(10**6)\n"
            "at.selectbox(key='m_res').set_value('1920 × 1080'); at.run()\n"
            "assert not at.exception and any('too large' in e.value for e in at.error)\n"
            "at = AppTest.from_file('apps/dla.py', default_timeout=300).run()\n"
            "at.slider(key='d_particles').set_value(50000); at.run()\n"
            "assert not at.exception\n"
            "at = AppTest.from_file('apps/ifs.py', default_timeout=300).run()\n"
            "at.slider(key='i_points').set_value(5000000); at.slider(key='i_size').set_value(1600); at.run()\n"
            "assert not at.exception\n"
            "print('CAPPED-OK')\n")
    out = prod.compose("exec", "-T", "streamlit", "python", "-c", code, timeout=900)
    assert "CAPPED-OK" in out.stdout
    info = prod.inspect("streamlit")
    assert info["State"]["OOMKilled"] is False
    assert prod.health("streamlit") == "healthy"


#: What a user sets in JupyterLab, through its own REST API: a setting (the theme) and a workspace.
THEME = ("/jupyter/lab/api/settings/@jupyterlab/apputils-extension:themes", {"raw": '{"theme": "JupyterLab Dark"}'})
WORKSPACE = ("/jupyter/lab/api/workspaces/fractal-check", {"data": {"kept": 1}, "metadata": {"id": "fractal-check"}})


def _jupyterlab_state(prod, s) -> tuple:
    theme = s.get(prod.url("jupyter", THEME[0]), timeout=20).json()["raw"]
    workspace = s.get(prod.url("jupyter", WORKSPACE[0]), timeout=20).json()["data"]
    return json.loads(theme).get("theme"), workspace


def test_notebook_and_jupyterlab_settings_survive_restart_and_down_up(prod):
    s = requests.Session()
    s.headers["Authorization"] = f"token {prod.env['JUPYTER_TOKEN']}"
    api = prod.url("jupyter", "/jupyter/api/contents/persist-check.ipynb")
    nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": f"kept {uuid.uuid4()}", "id": "a1"}],
          "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    assert s.put(api, json={"type": "notebook", "content": nb}, timeout=20).status_code in (200, 201)
    for path, body in (THEME, WORKSPACE):
        assert s.put(prod.url("jupyter", path), json=body, timeout=20).status_code == 204
    assert _jupyterlab_state(prod, s) == ("JupyterLab Dark", {"kept": 1})

    def digest():
        raw = prod.compose("exec", "-T", "jupyter", "cat", "/srv/notebooks/persist-check.ipynb").stdout
        return hashlib.sha256(raw.encode()).hexdigest()

    before = digest()
    prod.compose("restart", "jupyter", timeout=120)
    wait_for(lambda: prod.health("jupyter") == "healthy", timeout=120, interval=1, what="jupyter healthy")
    assert _jupyterlab_state(prod, s) == ("JupyterLab Dark", {"kept": 1}), "lost on a restart"
    prod.compose("--profile", "proxy", "down", "--timeout", "5")
    prod.compose("--profile", "proxy", "up", "--wait", "--detach", timeout=600)
    assert digest() == before
    assert _jupyterlab_state(prod, s) == ("JupyterLab Dark", {"kept": 1}), "lost on down/up"


def test_prod_refuses_to_start_without_token(prod):
    out = prod.compose("config", "-q", check=False, env={"JUPYTER_TOKEN": ""})
    assert out.returncode != 0 and "JUPYTER_TOKEN must be set for production" in out.stderr
