"""Fast checks of the Compose files with the Compose CLI's own `config` (no engine needed)."""
from __future__ import annotations

import json
import re
import subprocess
import tomllib

import pytest

from utils.compose_config import config, needs_compose_cli
from utils.paths import ROOT

pytestmark = needs_compose_cli


def test_dev_config_defaults():
    cfg = json.loads(config("compose.yaml").stdout)
    assert cfg["name"] == "fractal-notebooks-dev"  # production: fractal-notebooks, so both can run
    svcs = cfg["services"]
    assert set(svcs) == {"base", "settings", "uv", "notebook", "streamlit", "jupyter", "docs"}
    assert svcs["settings"]["scale"] == 0 and svcs["settings"]["pull_policy"] == "build"  # built at every up
    assert svcs["base"]["scale"] == 0
    ports = {s: svcs[s]["ports"][0] for s in ("streamlit", "jupyter", "docs")}
    assert {s: p["published"] for s, p in ports.items()} == {"streamlit": "8501", "jupyter": "8888", "docs": "8000"}
    assert all(p["host_ip"] == "127.0.0.1" for p in ports.values())
    # No token in the configuration: unset in the container, which then generates one.
    assert svcs["jupyter"]["environment"]["JUPYTER_TOKEN"] is None
    assert {"type": "volume", "source": "jupyter-state", "target": "/var/lib/fractal/jupyter",
            "volume": {}} in svcs["jupyter"]["volumes"]
    assert svcs["jupyter"]["environment"]["ALLOWED_HOSTS"] == ""
    assert svcs["jupyter"]["environment"]["BIND_ADDRESS"] == "127.0.0.1"
    assert svcs["streamlit"]["environment"]["STREAMLIT_SERVER_ALLOWED_HOSTS"].split() == ["localhost", "127.0.0.1", "::1"]
    assert svcs["streamlit"]["environment"]["STREAMLIT_APP"] == "branching_tree.py"
    for s in ("streamlit", "jupyter", "docs"):
        assert svcs[s]["init"] is True
        # The build graph is explicit (the family: tests/test_dockerfiles.py), not a depends_on.
        assert "depends_on" not in svcs[s] or "base" not in svcs[s]["depends_on"]
    assert svcs["base"]["build"]["args"]["PYTHON_IMAGE"] == "python:3.11-slim"


#: Named volumes whose mount point is an empty folder in every image: the engine copies nothing
#: into them, so containers that mount one may be created at once.
EMPTY_IN_THE_IMAGES = {"numba-cache"}


@pytest.mark.parametrize("files,profile,expected", [
    (("compose.yaml",), "ide", {"user-packages": ["ide", "jupyter"]}),
    (("compose.yaml", "compose.prod.yaml"), "proxy", {})])
def test_services_sharing_a_filled_volume_are_created_one_after_the_other(files, profile, expected):
    """The engine fills a new named volume from the image at the first mount, and two containers
    created at once race there ("file exists", moby/moby#43068): one must depend on the other."""
    svcs = json.loads(config(*files, env={"JUPYTER_TOKEN": "t" * 40, "COMPOSE_PROFILES": profile}).stdout)["services"]
    users = {}
    for name, svc in svcs.items():
        for v in svc.get("volumes", []):
            if v["type"] == "volume" and v["source"] not in EMPTY_IN_THE_IMAGES:
                users.setdefault(v["source"], []).append(name)
    shared = {vol: names for vol, names in users.items() if len(names) > 1}
    assert shared == expected
    for vol, names in shared.items():
        for a in names:
            for b in names:
                if a < b:
                    assert b in svcs[a].get("depends_on", {}) or a in svcs[b].get("depends_on", {}), (vol, a, b)


@pytest.mark.parametrize("files,profile", [(("compose.yaml",), "ide"), (("compose.yaml", "compose.prod.yaml"), "proxy")])
def test_every_service_that_runs_checks_the_settings_first(files, profile):
    """`docker compose up <service>` builds the settings check too (a dependency of every service
    that runs, directly or through another), so a named service's `up` stops on a bad .env value
    before its running container is replaced."""
    svcs = json.loads(config(*files, env={"JUPYTER_TOKEN": "t" * 40, "COMPOSE_PROFILES": profile}).stdout)["services"]

    def needs(name, seen=()):
        deps = svcs[name].get("depends_on", {})
        return "settings" in deps or any(needs(d, (*seen, name)) for d in deps if d not in seen and d in svcs)

    running = [name for name, svc in svcs.items() if svc.get("scale") != 0]
    assert {"streamlit", "jupyter", "docs"} <= set(running)
    assert [name for name in running if not needs(name)] == []
    assert svcs["streamlit"]["depends_on"]["settings"] == {"condition": "service_started", "required": False}


@pytest.mark.parametrize("value", ["", "x" * 40])
def test_jupyter_token_is_passed_through_as_given(value):
    # Empty stays empty (the server refuses it with a message), never a default.
    cfg = json.loads(config("compose.yaml", env={"JUPYTER_TOKEN": value}).stdout)
    assert cfg["services"]["jupyter"]["environment"]["JUPYTER_TOKEN"] == value


def test_allowed_hosts_reach_jupyter_and_streamlit():
    env = {"ALLOWED_HOSTS": "ws.lan notebooks.example.org", "BIND_ADDRESS": "0.0.0.0"}
    svcs = json.loads(config("compose.yaml", env=env).stdout)["services"]
    assert svcs["jupyter"]["environment"]["ALLOWED_HOSTS"] == "ws.lan notebooks.example.org"
    assert svcs["jupyter"]["environment"]["BIND_ADDRESS"] == "0.0.0.0"
    assert svcs["streamlit"]["environment"]["STREAMLIT_SERVER_ALLOWED_HOSTS"].split() == [
        "localhost", "127.0.0.1", "::1", "ws.lan", "notebooks.example.org"]


TOKEN_FILES = ("compose.yaml", "compose.prod.yaml", ".env.example")


@pytest.mark.parametrize("secret", ["JUPYTER_TOKEN", "IDE_PASSWORD"])
def test_no_token_literal_in_compose_files_or_env_example(secret):
    # Any value given to a secret (JupyterLab's token, code-server's password) must be a
    # reference to the variable itself, with no default ("${JUPYTER_TOKEN:?...}" in production);
    # the old public token is gone everywhere.
    for name in TOKEN_FILES:
        for n, line in enumerate((ROOT / name).read_text().splitlines(), 1):
            m = re.match(rf"^\s*#?\s*{secret}\s*[:=]\s*(.*)$", line)
            if m:
                value = m.group(1).split(" #")[0].strip()
                assert value == "" or value.startswith(f"${{{secret}:?"), f"{name}:{n}: {line}"
        assert not re.search(rf"\$\{{{secret}:?-", (ROOT / name).read_text()), name
    git = subprocess.run(["git", "-C", str(ROOT), "rev-parse"], capture_output=True, text=True)
    if git.returncode != 0:  # not a checkout, or git refuses it (another owner: safe.directory)
        pytest.skip(f"git grep unavailable: {git.stderr.strip().splitlines()[0] if git.stderr.strip() else 'git failed'}")
    old = "fractal-dev-" + "token"
    out = subprocess.run(["git", "-C", str(ROOT), "grep", "-n", "-e", old, "--", *TOKEN_FILES,
                          "README.md", "docs", "services", "tests"], capture_output=True, text=True)
    assert out.returncode == 1, f"the old public token is still written down:\n{out.stdout}"
    out = subprocess.run(["git", "-C", str(ROOT), "grep", "-n", "-E", rf"(^|[^{{A-Z_]){secret} *[:=] *[^ $#]", "--",
                          *TOKEN_FILES], capture_output=True, text=True)
    assert out.returncode == 1, f"a token literal in the configuration:\n{out.stdout}"


def test_knobs_are_applied():
    env = {"STREAMLIT_PORT": "9501", "BIND_ADDRESS": "0.0.0.0", "STREAMLIT_APP": "julia.py",
           "PYTHON_IMAGE": "example/python:3.11", "HOST_UID": "4242"}
    cfg = json.loads(config("compose.yaml", env=env).stdout)["services"]
    assert cfg["streamlit"]["ports"][0]["published"] == "9501"
    assert cfg["streamlit"]["ports"][0]["host_ip"] == "0.0.0.0"
    assert cfg["streamlit"]["environment"]["STREAMLIT_APP"] == "julia.py"
    # Development: the same images for any owner; HOST_UID/HOST_GID are read at start, not built in.
    assert cfg["base"]["build"]["args"] == {"PYTHON_IMAGE": "example/python:3.11"}
    for s in ("streamlit", "jupyter", "docs"):
        assert cfg[s]["environment"]["HOST_UID"] == "4242" and cfg[s]["environment"]["HOST_GID"] == ""
        assert cfg[s]["user"] == "root"  # only for the entrypoint's one privileged step


def test_env_example_documents_every_variable():
    used = set()
    for f in ("compose.yaml", "compose.prod.yaml"):  # swarm/compose.yaml: tests/swarm/test_swarm_config.py
        if (ROOT / f).exists():
            used |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (ROOT / f).read_text()))
    documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.M))
    assert used - documented == set(OLD_NAMES), f"undocumented knobs: {sorted(used - documented)}"
    table = (ROOT / "docs" / "configuration.md").read_text()  # the knobs' table (README links it)
    assert [v for v in sorted(used) if f"`{v}`" not in table] == []


#: Knobs renamed, still read: old name -> new name.
OLD_NAMES = {"BASE_IMAGE": "PYTHON_IMAGE"}


@pytest.mark.parametrize("old,new", OLD_NAMES.items())
def test_a_renamed_knob_is_still_read_and_the_new_name_wins(old, new):
    args = lambda env: json.loads(config("compose.yaml", env=env).stdout)["services"]["base"]["build"]["args"]  # noqa: E731
    assert args({old: "example/old"})[new] == "example/old"
    assert args({old: "example/old", new: "example/new"})[new] == "example/new"


PROD = ("compose.yaml", "compose.prod.yaml")


def prod_config(profile=True):
    files = list(PROD)
    env = {"JUPYTER_TOKEN": "config-check", "COMPOSE_PROFILES": "proxy" if profile else ""}
    return json.loads(config(*files, env=env).stdout)["services"]


def test_prod_limits_healthchecks_and_hardening_on_every_service():
    svcs = prod_config()
    assert set(svcs) == {"base", "settings", "uv", "notebook", "web", "streamlit", "balancer", "jupyter", "docs", "proxy"}
    for name in ("base", "settings", "uv", "notebook", "web"):  # build-only, and hardened so that nothing runs with defaults
        assert svcs[name]["scale"] == 0 and svcs[name]["network_mode"] == "none" and svcs[name]["read_only"], name
    for name in ("streamlit", "balancer", "jupyter", "docs", "proxy"):
        s = svcs[name]
        limits = s["deploy"]["resources"]["limits"]
        assert {"cpus", "memory", "pids"} <= set(limits), name
        assert "test" not in s["healthcheck"], name  # the image's HEALTHCHECK, written once
        assert s["healthcheck"]["start_period"]
        assert s["restart"] == "unless-stopped"
        assert s["read_only"] is True and s["cap_drop"] == ["ALL"]
        assert "no-new-privileges:true" in s["security_opt"]
        assert s["logging"]["driver"] == "json-file" and s["logging"]["options"]["max-size"]
        assert s["build"].get("target", "prod") == "prod"
    assert svcs["streamlit"]["deploy"]["resources"]["limits"]["memory"] == "2147483648"
    assert "STREAMLIT_SERVER_ENABLE_XSRF_PROTECTION" not in svcs["streamlit"]["environment"]  # on: the file's
    assert STREAMLIT_CONFIG["server"]["enableXsrfProtection"] is True
    assert svcs["proxy"]["profiles"] == ["proxy"]


def _seconds(duration: str) -> float:
    return sum(float(n) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3}[u] for n, u in re.findall(r"([\d.]+)(ms|h|m|s)", duration))


def test_every_healthcheck_can_restart_its_container():
    """Production restarts a container whose checks fail for FRACTAL_HEALTH_RESTART_AFTER
    seconds (services/base/healthcheck.py): every running service has it, and every healthcheck
    timeout (Compose's and the images') leaves the check time to decide before Docker kills it."""
    url_timeout = int(re.search(r"^URL_TIMEOUT = (\d+)$", (ROOT / "services/base/healthcheck.py").read_text(), re.M)[1])
    svcs = prod_config()
    timeouts = {}
    for name in ("streamlit", "balancer", "jupyter", "docs", "proxy"):
        hc = svcs[name]["healthcheck"]
        assert svcs[name]["environment"]["FRACTAL_HEALTH_RESTART_AFTER"] == "30", name
        timeouts[f"compose {name}"] = _seconds(hc["timeout"])
    for dockerfile in (ROOT / "services").glob("*/Dockerfile"):
        for t in re.findall(r"HEALTHCHECK .*--timeout=(\S+)", dockerfile.read_text()):
            timeouts[str(dockerfile.relative_to(ROOT))] = _seconds(t)
    assert len(timeouts) >= 9 and all(t >= url_timeout + 1 for t in timeouts.values()), timeouts


STREAMLIT_CONFIG = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


def _streamlit_env_name(section: str, key: str) -> str:
    """The environment variable of a config.toml option: server.runOnSave -> STREAMLIT_SERVER_RUN_ON_SAVE."""
    return f"STREAMLIT_{section}_{re.sub(r'(?<!^)(?=[A-Z])', '_', key)}".upper()


def test_streamlit_settings_have_one_home():
    """.streamlit/config.toml holds Streamlit's settings; an environment variable would win over it,
    so no Compose file and no Dockerfile sets one again. The exceptions are stated: Compose extends
    the Host allow-list with ALLOWED_HOSTS (starting from the file's list), the production image
    turns runOnSave off."""
    options = {_streamlit_env_name(sec, k): v for sec, opts in STREAMLIT_CONFIG.items() for k, v in opts.items()}
    assert "STREAMLIT_SERVER_RUN_ON_SAVE" in options and "STREAMLIT_CLIENT_TOOLBAR_MODE" in options
    for files in (("compose.yaml",), PROD):
        env = json.loads(config(*files, env={"JUPYTER_TOKEN": "t" * 40}).stdout)["services"]["streamlit"]["environment"]
        for name, value in options.items():
            if name == "STREAMLIT_SERVER_ALLOWED_HOSTS":
                assert env[name].split()[:len(value)] == value, env[name]
            else:
                assert name not in env, (files, name)
    dockerfile = (ROOT / "services" / "streamlit" / "Dockerfile").read_text()
    set_there = set(re.findall(r"\b(STREAMLIT_[A-Z_]+)=", dockerfile)) & set(options)
    assert set_there == {"STREAMLIT_SERVER_RUN_ON_SAVE"}, set_there
    prod_stage = dockerfile.split("AS prod")[1]
    assert "STREAMLIT_SERVER_RUN_ON_SAVE=false" in prod_stage and options["STREAMLIT_SERVER_RUN_ON_SAVE"] is True


def test_the_gallerys_path_is_streamlits_base_url_path_everywhere():
    """One fact, tested from its home (STREAMLIT_SERVER_BASE_URL_PATH in compose.prod.yaml): the
    healthcheck asks there, the TLS proxy forwards it (the balancer's checks: tests/swarm/test_swarm_config.py)."""
    svcs = prod_config()
    base = svcs["streamlit"]["environment"]["STREAMLIT_SERVER_BASE_URL_PATH"].strip("/")
    # The image's healthcheck (compose.prod.yaml tunes only its timing) asks under that path.
    dockerfile = (ROOT / "services" / "streamlit" / "Dockerfile").read_text()
    assert '"http://127.0.0.1:8501/${STREAMLIT_SERVER_BASE_URL_PATH}/_stcore/health"' in dockerfile
    nginx = (ROOT / "services" / "proxy" / "nginx.conf.template").read_text()
    assert re.findall(r"^\s*location = /(\w+) \{ return 301 /(\w+)/; \}\n\s*location /(\w+)/ \{\n[^}]*proxy_pass \$streamlit;",
                      nginx, re.M) == [(base, base, base)]


def test_prod_has_no_source_bind_mounts():
    for name, s in prod_config().items():
        for v in s.get("volumes", []):
            if v["type"] == "bind":
                assert name == "proxy" and v["read_only"] and v["target"].startswith("/etc/fractal-proxy/"), (name, v)
            else:
                assert v["type"] == "volume", (name, v)


@pytest.mark.parametrize("env", [{}, {"IMAGE_REPO": "registry.test/fractal", "IMAGE_TAG": "1.2.3-abc1234-staging"}])
def test_images_are_named_by_one_tag_distinct_for_dev_and_prod(env):
    """Both files name every image ${IMAGE_REPO}/<service>:${IMAGE_TAG}; unset, the tags differ
    (dev, prod), so a production build on the dev machine replaces none of the dev images."""
    dev = json.loads(config("compose.yaml", env={"COMPOSE_PROFILES": "ide", **env}).stdout)["services"]
    prod = json.loads(config(*PROD, env={"JUPYTER_TOKEN": "t", "COMPOSE_PROFILES": "proxy", **env}).stdout)["services"]
    repo = env.get("IMAGE_REPO", "fractal-notebooks")
    for svcs, default in ((dev, "dev"), (prod, "prod")):
        named = {name: s["image"] for name, s in svcs.items() if "image" in s}
        assert set(named) >= {"base", "streamlit", "jupyter", "docs"}
        assert named == {name: f"{repo}/{name}:{env.get('IMAGE_TAG', default)}" for name in named}
    assert "proxy" in prod and "ide" in dev


def test_prod_labels_carry_version_and_revision():
    env = {"JUPYTER_TOKEN": "t", "APP_VERSION": "1.2.3", "GIT_SHA": "abc1234"}
    labels = json.loads(config(*PROD, env=env).stdout)["services"]["base"]["build"]["labels"]
    assert labels["org.opencontainers.image.version"] == "1.2.3"
    assert labels["org.opencontainers.image.revision"] == "abc1234"


def test_prod_refuses_to_load_without_token():
    out = config(*PROD, check=False)
    assert out.returncode != 0
    assert "JUPYTER_TOKEN must be set for production" in out.stderr


def test_prod_limits_come_from_env():
    env = {"JUPYTER_TOKEN": "t", "STREAMLIT_MEMORY": "3g", "STREAMLIT_CPUS": "1.5", "STREAMLIT_PIDS": "99"}
    limits = json.loads(config(*PROD, env=env).stdout)["services"]["streamlit"]["deploy"]["resources"]["limits"]
    assert limits["memory"] == str(3 * 1024 ** 3) and float(limits["cpus"]) == 1.5 and limits["pids"] == 99


@pytest.mark.parametrize("files", [("compose.yaml",), PROD])
def test_one_size_policy_from_env(files):
    """MAX_UPLOAD_MB reaches Streamlit, JupyterLab and (production) the proxy as one figure."""
    env = {"JUPYTER_TOKEN": "t", "COMPOSE_PROFILES": "proxy", "MAX_UPLOAD_MB": "7", "MAX_MESSAGE_MB": "70"}
    svcs = json.loads(config(*files, env=env).stdout)["services"]
    st_env = svcs["streamlit"]["environment"]
    assert st_env["STREAMLIT_SERVER_MAX_UPLOAD_SIZE"] == "7"
    assert st_env["STREAMLIT_SERVER_MAX_MESSAGE_SIZE"] == "70"
    assert svcs["jupyter"]["environment"]["MAX_UPLOAD_MB"] == "7"
    if "proxy" in svcs:
        assert svcs["proxy"]["environment"]["MAX_UPLOAD_MB"] == "7"


def test_prod_plain_http_stays_on_loopback_when_the_proxy_serves_the_network():
    env = {"JUPYTER_TOKEN": "t", "COMPOSE_PROFILES": "proxy", "BIND_ADDRESS": "0.0.0.0"}
    svcs = json.loads(config(*PROD, env=env).stdout)["services"]
    assert [p["host_ip"] for p in svcs["proxy"]["ports"]] == ["0.0.0.0"]
    for name in ("balancer", "jupyter"):
        assert [p["host_ip"] for p in svcs[name]["ports"]] == ["127.0.0.1"], name
    assert not svcs["docs"].get("ports") and not svcs["streamlit"].get("ports")


@pytest.mark.parametrize("offline", ["false", "true"])
def test_prod_networks_isolate_docs_and_proxy(offline):
    env = {"JUPYTER_TOKEN": "t", "COMPOSE_PROFILES": "proxy", "JUPYTER_OFFLINE": offline}
    cfg = json.loads(config(*PROD, env=env).stdout)
    nets, svcs = cfg["networks"], cfg["services"]
    assert nets["backend"]["internal"] is True
    assert nets["frontend"]["driver_opts"]["com.docker.network.bridge.enable_ip_masquerade"] == "false"
    assert nets["egress"].get("internal", False) is (offline == "true")
    assert set(svcs["docs"]["networks"]) == {"backend"}
    assert set(svcs["proxy"]["networks"]) == {"frontend", "backend"}
    assert set(svcs["streamlit"]["networks"]) == {"backend"}  # reached through the balancer only
    assert set(svcs["balancer"]["networks"]) == {"frontend", "backend"}
    assert set(svcs["jupyter"]["networks"]) == {"frontend", "backend", "egress"}
    assert svcs["jupyter"]["networks"]["egress"]["gw_priority"] > 0  # its default route


@pytest.mark.parametrize("conf", ["services/proxy/nginx.conf.template", "services/docs/nginx.conf"])
def test_nginx_security_headers_are_not_shadowed_in_locations(conf):
    """nginx drops every inherited add_header in a block that has one of its own: headers
    belong at server level only."""
    text = re.sub(r"#.*", "", (ROOT / conf).read_text())
    locations = re.findall(r"location[^{]*\{([^{}]*)\}", text)
    assert locations and not [b for b in locations if "add_header" in b]
    assert "absolute_redirect off;" in text


def test_prod_self_signed_certificate_is_off_by_default():
    svcs = prod_config()
    assert svcs["proxy"]["environment"]["PROXY_SELF_SIGNED"] == "false"
    targets = {v["target"]: v for v in svcs["proxy"]["volumes"]}
    assert targets["/var/lib/fractal-proxy"]["type"] == "volume"
    assert targets["/etc/fractal-proxy/tls"]["read_only"] is True
