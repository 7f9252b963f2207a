"""Fast checks of the Swarm stack file: rendered by swarm/deploy-swarm.sh, validated by the
Docker CLI's own `docker stack config` (no engine needed); swarm/compose.yaml's knobs."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import fractal_settings as fs
from utils.compose_config import config, needs_compose_cli
from utils.paths import ROOT

sys.path.insert(0, str(ROOT / "swarm"))
from stack_file import stack_file  # noqa: E402

pytestmark = needs_compose_cli

DEPLOY = ROOT / "swarm" / "deploy-swarm.sh"
SWARM_COMPOSE = ROOT / "swarm" / "compose.yaml"

ENV = {"JUPYTER_TOKEN": "config-check-" + "0" * 32, "STREAMLIT_REPLICAS": "4", "PROXY_HTTPS_PORT": "9443",
       "STREAMLIT_CPUS": "1.5", "GIT_SHA": "abc1234"}


def render(env=None, check=True, args=("--render",), script=DEPLOY) -> subprocess.CompletedProcess:
    knobs = {k for k in os.environ if k.isupper() and (k.startswith(("STREAMLIT_", "DOCS_", "PROXY_", "JUPYTER_")))}
    clean = {k: v for k, v in os.environ.items() if k not in knobs and k not in ("REGISTRY", "IMAGE_REPO")}
    out = subprocess.run(["bash", str(script), *args], capture_output=True, text=True,
                         env={**clean, **ENV, **(env or {})})
    if check:
        assert out.returncode == 0, out.stderr
    return out


@pytest.fixture(scope="module")
def stack():
    return json.loads(render().stdout)


def test_docker_stack_accepts_the_file_and_ignores_nothing(stack):
    out = subprocess.run(["docker", "stack", "config", "-c", "-"], input=json.dumps(stack), capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert "Ignoring" not in out.stderr and "unsupported" not in out.stderr, out.stderr
    assert set(stack["services"]) == {"streamlit", "jupyter", "docs", "proxy", "balancer"}  # no build-only base


def test_limits_and_healthchecks_are_compose_prods(stack):
    prod = json.loads(config("compose.yaml", "compose.prod.yaml",
                             env={**ENV, "COMPOSE_PROFILES": "proxy"}).stdout)["services"]
    for name, svc in stack["services"].items():
        src = prod[name]
        want = src["deploy"]["resources"]["limits"]
        got = svc["deploy"]["resources"]["limits"]
        assert (got["cpus"], got["memory"], got["pids"]) == (str(want["cpus"]), want["memory"], want["pids"]), name
        hc = dict(src["healthcheck"])
        hc.pop("start_interval", None)
        assert svc["healthcheck"] == hc, name
        assert svc["read_only"] is True and svc["cap_drop"] == ["ALL"] and svc["user"] == "app", name
        size = 16 if name in ("proxy", "balancer") else 256  # compose.prod.yaml: nginx and HAProxy keep no body
        assert {"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": size * 2**20, "mode": 0o1777}} in svc["volumes"]
        assert svc["deploy"]["update_config"]["failure_action"] == "rollback", name
    assert stack["services"]["streamlit"]["deploy"]["resources"]["limits"]["cpus"] == "1.5"


def test_replicas_ports_and_routing(stack):
    s = stack["services"]
    assert s["streamlit"]["deploy"]["replicas"] == 4 and s["streamlit"]["deploy"]["endpoint_mode"] == "dnsrr"
    assert s["docs"]["deploy"]["replicas"] == 2 and s["jupyter"]["deploy"]["replicas"] == 1
    assert s["balancer"]["deploy"]["replicas"] == 1  # with the proxy: losing a worker keeps both
    assert s["balancer"]["deploy"]["placement"]["constraints"] == ["node.role == manager"]
    assert s["jupyter"]["deploy"]["placement"]["constraints"] == ["node.labels.fractal-notebooks.notebooks == true"]
    assert s["proxy"]["ports"] == [{"target": 8443, "published": 9443, "protocol": "tcp", "mode": "host"}]
    assert all("ports" not in svc for name, svc in s.items() if name != "proxy")  # only the proxy is published
    assert s["balancer"]["environment"]["BALANCER_SERVERS"] == "tasks.streamlit:8501"  # every task's address
    assert s["balancer"]["command"] == ["start-balancer"] and s["balancer"]["networks"] == {"backend": None}
    assert s["streamlit"]["stop_signal"] == "SIGWINCH"  # draining: see swarm/compose.yaml
    assert all(n["driver"] == "overlay" and "name" not in n for n in stack["networks"].values())
    assert "name" not in stack


def _seconds(duration: str) -> float:
    """A Compose or HAProxy duration ("10s", "1m30s", "500ms") in seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    assert parts and "".join(n + u for n, u in parts) == duration, duration
    return sum(float(n) * units[u] for n, u in parts)


def test_a_stopping_replica_drains_through_the_balancer(stack):
    """The drain contract between swarm/compose.yaml, the Streamlit image and haproxy.cfg."""
    st = stack["services"]["streamlit"]
    haproxy = (ROOT / "services" / "proxy" / "haproxy.cfg").read_text()
    start = (ROOT / "services" / "streamlit" / "start.sh").read_text()
    dockerfile = (ROOT / "services" / "streamlit" / "Dockerfile").read_text()
    # Swarm's stop signal is the one the start script drains on, with static serving on ...
    assert st["stop_signal"] == "SIGWINCH" and "trap 'rm -f \"$ready\"' WINCH" in start
    assert st["environment"]["STREAMLIT_SERVER_ENABLE_STATIC_SERVING"] == "true"
    # ... the file it removes is the one Streamlit serves as app/static/ready ...
    ready = re.search(r"^ready=(\S+)$", start, re.M).group(1)
    link = re.search(r"^RUN ln -s (\S+) /app/apps/static$", dockerfile, re.M).group(1)
    assert ready == f"{link}/ready"
    assert re.search(r'^CMD \["start-streamlit"\]$', dockerfile, re.M)
    # ... the balancer's last check step asks for it, under Streamlit's base URL path, and a 404
    # drains ...
    base = st["environment"]["STREAMLIT_SERVER_BASE_URL_PATH"].strip("/")
    sends = re.findall(r"^\s*http-check send meth GET uri (\S+)$", haproxy, re.M)
    assert sends == [f"/{base}/_stcore/health", f"/{base}/app/static/ready"]
    assert re.search(r"^\s*http-check disable-on-404$", haproxy, re.M)
    # ... Swarm lets it drain for longer than the balancer may take to see that 404 (a check that
    # read the file just before it went, then `inter` and one more check of up to `timeout
    # check` on a busy process), with 5 s to spare: CI once saw no drain within a 10 s grace ...
    grace = _seconds(st["stop_grace_period"])
    inter = _seconds(re.search(r"^\s*default-server check inter (\S+)", haproxy, re.M).group(1))
    timeout = _seconds(re.search(r"^\s*timeout check (\S+)", haproxy, re.M).group(1))
    assert grace >= inter + timeout + 5, (grace, inter, timeout)
    # ... and the balancer keeps the task's address after it left DNS (Swarm signals it 2 s
    # later: moby's defaultGossipConvergeDelay) for longer than Swarm lets it drain, plus the
    # balancer's own DNS hold.
    hold = _seconds(re.search(r"^\s*hold obsolete (\S+)", haproxy, re.M).group(1))
    valid = _seconds(re.search(r"^\s*hold valid (\S+)", haproxy, re.M).group(1))
    assert hold > 2 + grace + valid, (hold, grace, valid)


def test_registry_images_are_the_published_names():
    s = json.loads(render({"REGISTRY": "127.0.0.1:5000/fractal", "APP_VERSION": "1.2.3"}).stdout)["services"]
    assert s["streamlit"]["image"] == "127.0.0.1:5000/fractal/streamlit:1.2.3-abc1234-prod"
    assert s["proxy"]["image"] == "127.0.0.1:5000/fractal/proxy:1.2.3-abc1234-prod"
    assert s["balancer"]["image"] == "127.0.0.1:5000/fractal/balancer:1.2.3-abc1234-prod"


def test_the_scripts_own_settings_are_read_from_dot_env_too(tmp_path):
    """REGISTRY (like STACK_NAME and SWARM_WAIT, read the same way) set in .env, not in the
    shell, names the deployed images, as a Compose setting in .env would (it once was ignored)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True)
    for name in filter(None, files.stdout.split("\0")):
        if (ROOT / name).is_file():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_bytes((ROOT / name).read_bytes())
    (tmp_path / ".env").write_text("REGISTRY=127.0.0.1:5000/from-env\n")
    deploy = tmp_path / "swarm" / "deploy-swarm.sh"
    s = json.loads(render({"APP_VERSION": "1.2.3"}, script=deploy).stdout)["services"]
    assert s["streamlit"]["image"] == "127.0.0.1:5000/from-env/streamlit:1.2.3-abc1234-prod"
    # the shell's value wins over .env's, as in Compose
    s = json.loads(render({"APP_VERSION": "1.2.3", "REGISTRY": "127.0.0.1:5000/shell"}, script=deploy).stdout)
    assert s["services"]["streamlit"]["image"] == "127.0.0.1:5000/shell/streamlit:1.2.3-abc1234-prod"


@pytest.mark.parametrize("env", [{"STREAMLIT_REPLICAS": "0"}, {"STREAMLIT_REPLICAS": "three"},
                                 {"STREAMLIT_REPLICAS": "65"}, {"DOCS_REPLICAS": "-1"}, {"DOCS_REPLICAS": "65"},
                                 {"STACK_NAME": "Fractal Notebooks"}, {"SWARM_WAIT": "soon"},
                                 {"JUPYTER_TOKEN": "short"}, {"JUPYTER_TOKEN": " " * 40},
                                 {"ALLOWED_HOSTS": "10.0.0.5"}, {"ALLOWED_HOSTS": "*.example.org"},
                                 {"BALANCER_COOKIE_KEY": "a b"}])
def test_bad_settings_are_refused_by_name(env):
    """Refused before the engine is asked anything (so also outside a swarm), naming the setting."""
    out = render(env, check=False)
    assert out.returncode != 0 and out.stdout == ""
    assert next(iter(env)) in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_the_settings_checks_secrets_stay_out_of_the_stack(stack):
    """compose.yaml's top-level secrets feed only the build-only settings check (Swarm has no
    `environment:` secrets): the stack file drops them."""
    assert "secrets" not in stack
    assert not any("secrets" in svc for svc in stack["services"].values())


def test_production_token_is_still_required():
    """An empty token is refused by the settings rule, with its one message, before Compose's
    `${JUPYTER_TOKEN:?}` or the stack file converter say anything."""
    out = render({"JUPYTER_TOKEN": ""}, check=False)
    assert out.returncode != 0 and "JUPYTER_TOKEN is set but empty" in out.stderr, out.stderr
    assert "stack_file" not in out.stderr and "must be set" not in out.stderr, out.stderr


@pytest.mark.parametrize("args", [("--bogus",), ("--render", "extra")])
def test_unknown_arguments_are_refused(args):
    out = render(check=False, args=args)
    assert out.returncode != 0 and out.stdout == "" and "argument" in out.stderr, out.stderr


def test_stack_file_converts_tmpfs_and_drops_what_swarm_refuses():
    cfg = {"name": "x", "services": {
        "base": {"image": "b", "scale": 0, "deploy": {"replicas": 0}},
        "a": {"image": "a", "build": {"context": "."}, "depends_on": {"b": {}}, "restart": "always",
              "entrypoint": None, "security_opt": ["no-new-privileges:true"], "tmpfs": ["/tmp:size=1m,mode=1777", "/run"],
              "healthcheck": {"test": ["CMD", "true"], "start_interval": "1s"},
              "ports": [{"target": 80, "published": "8080", "host_ip": "127.0.0.1"}],
              "networks": {"n": {"gw_priority": 1}}, "deploy": {"resources": {"limits": {"cpus": 0.5}}}}},
        "networks": {"n": {"name": "x_n"}}, "volumes": {"v": {"name": "x_v"}, "e": {"name": "ext", "external": True}}}
    out = stack_file(cfg)
    a = out["services"]["a"]
    assert set(out["services"]) == {"a"} and "name" not in out
    assert not {"build", "depends_on", "restart", "entrypoint", "security_opt", "tmpfs"} & set(a)
    assert a["volumes"] == [{"type": "tmpfs", "target": "/tmp", "tmpfs": {"size": 2**20, "mode": 0o1777}},
                            {"type": "tmpfs", "target": "/run", "tmpfs": {}}]
    assert a["healthcheck"] == {"test": ["CMD", "true"]} and a["networks"] == {"n": {}}
    assert a["ports"] == [{"target": 80, "published": 8080}] and a["deploy"]["resources"]["limits"]["cpus"] == "0.5"
    assert out["networks"] == {"n": {}} and out["volumes"] == {"v": {}, "e": {"name": "ext", "external": True}}
    assert cfg["services"]["a"]["tmpfs"], "the input is not modified"
    with pytest.raises(ValueError, match="no Swarm equivalent"):
        stack_file({"services": {"a": {"tmpfs": ["/tmp:uid=1000"]}}})
    with pytest.raises(ValueError, match="no service"):
        stack_file({"services": {"base": {"scale": 0, "deploy": {"replicas": 0}}}})
    with pytest.raises(ValueError, match="'docs' would run 0 replicas"):  # e.g. DOCS_REPLICAS=0 in .env
        stack_file({"services": {"docs": {"deploy": {"replicas": 0}}}})


def test_a_deploy_without_the_proxys_certificate_is_refused_before_the_engine_is_asked(tmp_path):
    """No tls.crt/tls.key in PROXY_TLS_DIR and no PROXY_SELF_SIGNED=true: the proxy would exit at
    every start. Refused first, so also on a machine that is not a swarm manager."""
    # No engine to reach (a swarm made by tests/swarm/test_swarm.py may be running beside this test)
    out = render({"PROXY_TLS_DIR": str(tmp_path), "DOCKER_HOST": "unix:///nonexistent"}, check=False, args=())
    assert out.returncode != 0 and "PROXY_TLS_DIR" in out.stderr and "PROXY_SELF_SIGNED" in out.stderr, out.stderr
    assert "swarm manager" not in out.stderr


def test_only_the_proxy_and_jupyters_egress_have_a_way_out(stack):
    """compose.prod.yaml keeps Streamlit off the internet with a no-masquerade bridge, which an
    overlay network cannot be: under Swarm, Streamlit is on the internal network only, and
    JupyterLab leaves only through egress (internal with JUPYTER_OFFLINE=true)."""
    s, nets = stack["services"], stack["networks"]
    assert set(s["streamlit"]["networks"]) == {"backend"}
    assert set(s["jupyter"]["networks"]) == {"backend", "egress"}
    assert nets["backend"]["internal"] is True
    outside = {n for n, net in nets.items() if not net.get("internal")}
    assert {name for name, svc in s.items() if outside & set(svc["networks"])} == {"proxy", "jupyter"}


def test_offline_jupyter_has_no_way_out_under_swarm():
    stack = json.loads(render({"JUPYTER_OFFLINE": "true"}).stdout)
    nets = stack["networks"]
    assert all(nets[n].get("internal") for n in stack["services"]["jupyter"]["networks"])


def test_every_default_is_the_knobs_and_documented():
    """swarm/compose.yaml's `${VAR:-default}`s: each a knob of fractal_settings with that default,
    in .env.example and in docs/configuration.md's table (tests/test_settings.py and
    tests/test_compose_config.py hold the single-server files to the same)."""
    text = SWARM_COMPOSE.read_text()
    found = re.findall(r"\$\{([A-Z][A-Z0-9_]*):?-([^}$]*)\}", text)
    assert found
    for name, default in found:
        assert name in fs.BY_NAME, f"swarm/compose.yaml: ${{{name}}} is no knob of fractal_settings"
        assert default == fs.BY_NAME[name].default, (name, default, fs.BY_NAME[name].default)
    used = set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", text))
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert used - documented == set(), f"undocumented knobs: {sorted(used - documented)}"
    table = (ROOT / "docs" / "configuration.md").read_text()
    assert [v for v in sorted(used) if f"`{v}`" not in table] == []
