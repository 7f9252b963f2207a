"""End-to-end: the dev stack, started with no .env, is not a remote shell for a web page (issue 15).

A DNS-rebinding page reaches 127.0.0.1:<port> with its own domain in the Host header; the
servers must refuse that Host even with the right token, and the token must not be public.
"""
from __future__ import annotations

import re

import pytest
import requests
import websocket

from utils.commands import run
from utils.project import project

pytestmark = pytest.mark.e2e

FOREIGN = "evil.example"


def _api(project, host: str | None, token: str):
    """A session whose requests carry ``token`` and, if given, ``Host: <host>:<port>``."""
    s = requests.Session()
    s.headers["Authorization"] = f"token {token}"
    if host:
        s.headers["Host"] = f"{host}:{project.env['JUPYTER_PORT']}"
    return s


def _kernels(project, token):
    return {k["id"] for k in _api(project, None, token).get(project.url("jupyter", "/api/kernels"), timeout=10).json()}


def test_login_url_is_logged_with_a_random_token(dev_stack):
    url = dev_stack.login_url()
    m = re.fullmatch(rf"http://127\.0\.0\.1:{dev_stack.env['JUPYTER_PORT']}/lab\?token=([0-9a-f]+)", url)
    assert m and len(m.group(1)) >= 32, url  # ≥ 128 bits (64 hex digits are generated)
    assert "JUPYTER_TOKEN" not in dev_stack.env
    assert requests.get(url, timeout=20).status_code == 200  # the URL logs in as it is


def test_foreign_host_is_refused_for_contents_kernels_and_terminals(dev_stack):
    token = dev_stack.token
    evil = _api(dev_stack, FOREIGN, token)
    before = _kernels(dev_stack, token)
    assert evil.get(dev_stack.url("jupyter", "/api/contents"), timeout=10).status_code == 403
    assert evil.post(dev_stack.url("jupyter", "/api/kernels"), json={"name": "python3"}, timeout=30).status_code == 403
    assert evil.get(dev_stack.url("jupyter", "/api/terminals"), timeout=10).status_code == 403
    assert evil.post(dev_stack.url("jupyter", "/api/terminals"), timeout=10).status_code == 403
    assert _kernels(dev_stack, token) == before  # nothing was started
    # The kernel websocket (code execution) is refused the same way.
    with pytest.raises(websocket.WebSocketBadStatusException) as exc:
        websocket.create_connection(
            dev_stack.url("jupyter", f"/api/kernels/{'0' * 8}/channels?token={token}").replace("http", "ws", 1),
            host=f"{FOREIGN}:{dev_stack.env['JUPYTER_PORT']}", timeout=10)
    assert exc.value.status_code == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_local_host_names_work_for_contents_kernels_and_terminals(dev_stack, host):
    s = _api(dev_stack, host, dev_stack.token)
    assert s.get(dev_stack.url("jupyter", "/api/contents"), timeout=10).status_code == 200
    r = s.post(dev_stack.url("jupyter", "/api/kernels"), json={"name": "python3"}, timeout=30)
    assert r.status_code == 201, r.text
    assert s.delete(dev_stack.url("jupyter", f"/api/kernels/{r.json()['id']}"), timeout=30).status_code == 204
    assert s.get(dev_stack.url("jupyter", "/api/terminals"), timeout=10).status_code == 200
    r = s.post(dev_stack.url("jupyter", "/api/terminals"), timeout=10)
    assert r.status_code == 200, r.text
    assert s.delete(dev_stack.url("jupyter", f"/api/terminals/{r.json()['name']}"), timeout=10).status_code == 204


def test_streamlit_refuses_the_app_connection_for_a_foreign_host(dev_stack):
    url = dev_stack.url("streamlit", "/_stcore/stream").replace("http", "ws", 1)
    port = dev_stack.env["STREAMLIT_PORT"]
    # As a browser sends it: Origin and Host name the same site (for a rebinding page, its own).
    ws = websocket.create_connection(url, host=f"localhost:{port}", origin=f"http://localhost:{port}",
                                     subprotocols=["streamlit"], timeout=20)
    assert ws.connected
    ws.close()
    with pytest.raises(websocket.WebSocketBadStatusException):
        websocket.create_connection(url, host=f"{FOREIGN}:{port}", origin=f"http://{FOREIGN}:{port}",
                                    subprotocols=["streamlit"], timeout=20)


@pytest.fixture(scope="module")
def second(dev_stack, scratch):
    """A second, fresh project running only jupyter, on the dev stack's images (not rebuilt,
    not removed: they belong to dev_stack), with an allowed host name."""
    with project(scratch, dev_stack.env["PYTHON_IMAGE"], "token", keep_images=True,
                 IMAGE_TAG=dev_stack.env["IMAGE_TAG"], ALLOWED_HOSTS="notebooks.test") as p:
        try:
            p.compose("up", "--no-build", "--wait", "--detach", "jupyter", timeout=600)
            yield p
        finally:  # before project()'s cleanup (down --volumes, the scratch copy; not dev_stack's images)
            left = run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={p.name}"],
                       check=False).stdout.split()
            if left:  # one-off `run` containers too
                run(["docker", "rm", "-f", *left], check=False)


def test_two_fresh_stacks_get_different_tokens(dev_stack, second):
    assert second.token != dev_stack.token
    assert _api(second, None, dev_stack.token).get(second.url("jupyter", "/api/contents"),
                                                  timeout=10).status_code in (401, 403)


def test_allowed_hosts_knob(second):
    port = second.env["JUPYTER_PORT"]
    url = second.url("jupyter", "/api/contents")
    assert _api(second, "notebooks.test", second.token).get(url, timeout=10).status_code == 200
    assert _api(second, FOREIGN, second.token).get(url, timeout=10).status_code == 403
    assert _api(second, "x.notebooks.test", second.token).get(url, timeout=10).status_code == 403
    assert f"http://notebooks.test:{port}/lab?token={second.token}" in second.compose(
        "logs", "--no-log-prefix", "jupyter").stdout


def test_token_survives_down_and_up_but_not_down_v(second):
    token = second.token
    second.compose("down", "--timeout", "5")
    second.compose("up", "--no-build", "--wait", "--detach", "jupyter", timeout=600)
    assert second.token == token  # read from the new container's log
    assert _api(second, None, token).get(second.url("jupyter", "/api/contents"), timeout=10).status_code == 200
    second.compose("down", "--volumes", "--timeout", "5")
    second.compose("up", "--no-build", "--wait", "--detach", "jupyter", timeout=600)
    assert second.token != token


@pytest.mark.parametrize("env,message", [
    ({"JUPYTER_TOKEN": ""}, "JUPYTER_TOKEN is set but empty"),
    ({"JUPYTER_TOKEN": "short-token"}, "JUPYTER_TOKEN is too short (11 characters, at least 32"),
    ({"BIND_ADDRESS": "0.0.0.0", "ALLOWED_HOSTS": ""}, "set ALLOWED_HOSTS"),
    ({"ALLOWED_HOSTS": "*"}, "is a wildcard"),
])
def test_bad_settings_stop_jupyter_with_a_clear_message(second, env, message):
    # `run` publishes no port (nothing is exposed even for BIND_ADDRESS=0.0.0.0); `timeout`
    # ends a server that wrongly starts, and the test then fails on the missing message.
    out = second.compose("run", "--rm", "--no-deps", "jupyter", "timeout", "300", "start-jupyter",
                         check=False, timeout=420, env=env)
    assert out.returncode != 0
    # (the entrypoint of every service refuses first, by the same rules: fractal_settings.py)
    refusal = [line for line in out.stderr.splitlines() if "refuses to start: " in line]
    assert refusal and message in refusal[0], out.stderr[-2000:]


@pytest.mark.parametrize("service", ["streamlit", "docs"])
def test_beyond_loopback_without_allowed_hosts_no_service_starts(second, service):
    """Not only JupyterLab: a gallery or docs server published on every interface with no
    ALLOWED_HOSTS would answer any Host, so its entrypoint refuses before the server starts."""
    out = second.compose("run", "--rm", "--no-deps", service, "timeout", "60", "sleep", "30", check=False,
                         timeout=300, env={"BIND_ADDRESS": "0.0.0.0", "ALLOWED_HOSTS": ""})
    assert out.returncode == 64, (out.returncode, out.stderr[-2000:])
    assert f"{service} refuses to start: BIND_ADDRESS=0.0.0.0 publishes the ports beyond this machine" in out.stderr
