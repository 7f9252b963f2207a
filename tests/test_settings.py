"""services/base/fractal_settings.py: every knob's rule, and the places that must hold its default.

The rules run in every entry point (the settings service at `up`, each container's entrypoint,
JupyterLab's config, the IDE, the Swarm deployment): the end-to-end tests see them there
(tests/stack/test_dev_stack.py, test_docker_run.py, test_jupyter_security.py; tests/swarm/test_swarm.py).
"""
from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

import fractal_settings as fs
from utils.paths import ROOT, VERSION

SETTINGS = ROOT / "services" / "base" / "fractal_settings.py"
APPS = ROOT / "apps"


def test_the_defaults_pass():
    assert fs.check({}) == []
    assert fs.check({}, apps=APPS) == []
    for service in ("streamlit", "jupyter", "docs", "ide", "proxy", "balancer"):
        assert fs.check({}, service=service, apps=APPS) == [], service


@pytest.mark.parametrize("name, value, reason", [
    ("HOST_UID", "me", "must be a whole number from 0 to 2147483647 (a user ID)"),
    ("HOST_GID", "-20", "must be a whole number from 0 to 2147483647 (a group ID)"),
    ("BIND_ADDRESS", "my-laptop", "must be an IP address of this machine"),
    ("ALLOWED_HOSTS", "*.lan", "is a wildcard"),
    ("ALLOWED_HOSTS", "a.lan,b.lan", "separate host names with spaces, not commas"),
    ("ALLOWED_HOSTS", "10.0.0.5", "is an IP address"),
    ("ALLOWED_HOSTS", "http://a.lan:8501", "is not a host name"),
    ("STREAMLIT_PORT", "eighty", "must be a whole number from 1 to 65535"),
    ("JUPYTER_PORT", "70000", "must be a whole number from 1 to 65535"),
    ("MAX_UPLOAD_MB", "0", "must be a whole number of at least 1 (MB)"),
    ("MAX_UPLOAD_MB", "2.5", "must be a whole number of at least 1 (MB)"),
    ("MAX_MESSAGE_MB", "", "must be a whole number of at least 1 (MB)"),
    ("STREAMLIT_APP", "nope.py", "is not a page under"),
    ("STREAMLIT_APP", "../src/fractalkit/__init__.py", "is not a page under"),
    ("STREAMLIT_APP", "gallery.py", "is not a page under"),  # the entry file routes; it is no page
    ("STREAMLIT_FILE_WATCHER", "polling", "must be auto, watchdog, poll or none"),
    ("STREAMLIT_DISCONNECTED_SESSION_TTL", "2m", "must be a whole number of at least 0 (seconds)"),
    ("DOCS_FILE_WATCHER", "watchdog", "must be auto or poll"),
    ("NB_EXECUTION_MODE", "auto", "must be cache, force or off"),
    ("NUMBA_NUM_THREADS", "0", "must be a whole number of at least 1 (threads)"),
    ("JUPYTER_OFFLINE", "yes", "must be true or false"),
    ("PROXY_SELF_SIGNED", "1", "must be true or false"),
    ("PROXY_CONNECTIONS_PER_CLIENT", "unlimited", "must be a whole number of at least 1"),
    ("JUPYTER_CULL_INTERVAL", "0", "must be a whole number of at least 1 (seconds)"),
    ("STREAMLIT_REPLICAS", "65", "must be a whole number from 1 to 64"),
    ("DOCS_REPLICAS", "0", "must be a whole number from 1 to 64"),
    ("BALANCER_COOKIE_KEY", "a b", "must be letters, digits, '.', '_' or '-'"),
    ("IMAGE_TAG", "v1:2", "must be a valid image tag"),
    ("IMAGE_REPO", "Fractal", "must be an image repository"),
    ("STACK_NAME", "Fractal Notebooks", "must be lower-case letters"),
    ("SWARM_WAIT", "soon", "must be a whole number of at least 1 (seconds)"),
    ("REGISTRY", "registry.example.org/", "must be host[:port]/path"),
    ("PROXY_APP_UPSTREAM", "streamlit", "must be host:port"),
])
def test_a_bad_value_is_refused_by_name_with_its_rule(name, value, reason):
    problems = fs.check({name: value}, apps=APPS)
    assert len(problems) == 1, problems
    shown = value if re.fullmatch(r"[^ ]+", value) else repr(value)
    assert re.match(rf"{re.escape(name)}={re.escape(shown)}:? ", problems[0]), problems
    assert reason in problems[0], problems


def test_one_message_per_rule_and_every_problem_at_once():
    problems = fs.check({"HOST_UID": "me", "MAX_UPLOAD_MB": "0", "BIND_ADDRESS": "0.0.0.0"}, apps=APPS)
    assert [p.split("=", 1)[0] for p in problems] == ["MAX_UPLOAD_MB", "HOST_UID", "BIND_ADDRESS"], problems
    assert "publishes the ports beyond this machine: set ALLOWED_HOSTS" in problems[-1]
    # A bad ALLOWED_HOSTS is named for what it is, not also as "ALLOWED_HOSTS missing".
    problems = fs.check({"BIND_ADDRESS": "0.0.0.0", "ALLOWED_HOSTS": "*"})
    assert len(problems) == 1 and "wildcard" in problems[0], problems
    assert fs.check({"BIND_ADDRESS": "0.0.0.0", "ALLOWED_HOSTS": "workstation.lan"}) == []


def test_a_close_page_name_gets_a_suggestion():
    [problem] = fs.check({"STREAMLIT_APP": "julia"}, apps=APPS)
    assert problem.endswith("did you mean STREAMLIT_APP=julia.py?") and "mandelbrot.py" in problem, problem


def test_in_a_container_the_service_names_its_own_variable_and_the_env_one():
    [problem] = fs.check({"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "polling"}, service="streamlit")
    assert problem == ("STREAMLIT_SERVER_FILE_WATCHER_TYPE=polling must be auto, watchdog, poll or none "
                       "(STREAMLIT_FILE_WATCHER in .env)")
    assert fs.check({"STREAMLIT_SERVER_FILE_WATCHER_TYPE": "polling"}, service="jupyter") == []  # not its knob
    assert fs.check({"BALANCER_COOKIE_KEY": "a b"}, service="balancer")


@pytest.mark.parametrize("token, reason", [
    ("", "is set but empty"), (" " * 40, "is set but empty"), ("abc12", "is too short (5 characters, at least 32"),
    ("a passphrase with spaces that is long enough", "contains whitespace"),
])
def test_a_secret_is_checked_where_it_is_used_and_never_shown(token, reason):
    for service, var in (("jupyter", "JUPYTER_TOKEN"), ("ide", "IDE_PASSWORD")):
        [problem] = fs.check({var: token}, service=service)
        assert problem.startswith(f"{var} {reason}") and "openssl rand -hex 24" in problem, problem
        if token.strip():
            assert token not in problem
    assert fs.check({"JUPYTER_TOKEN": "x" * 32}, service="jupyter") == []
    assert fs.check({}, service="jupyter") == []  # unset: generated at start


def test_the_command_line_exits_64_with_every_problem_on_stderr():
    env = {"PATH": "/usr/bin:/bin", "HOST_UID": "me", "NB_EXECUTION_MODE": "sometimes"}
    out = subprocess.run([sys.executable, "-S", str(SETTINGS), "check", "--apps", str(APPS)], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 64 and out.stdout == "", out
    lines = out.stderr.splitlines()
    assert lines[:2] == ["fractal-notebooks: a setting in .env (or the shell) is wrong: HOST_UID=me must be a whole "
                         "number from 0 to 2147483647 (a user ID)",
                         "fractal-notebooks: a setting in .env (or the shell) is wrong: NB_EXECUTION_MODE=sometimes "
                         "must be cache, force or off"], lines
    assert "nothing was started or changed" in lines[2]
    good = subprocess.run([sys.executable, "-S", str(SETTINGS), "check", "--environ", "-"], input="HOST_UID=501\n",
                          capture_output=True, text=True)
    assert good.returncode == 0 and good.stderr == "", good


# --- the places that must hold the same values ----------------------------------------------

def _env_example() -> dict[str, str]:
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", (ROOT / ".env.example").read_text(), re.M))


def test_env_example_holds_every_knob_with_its_default():
    text = (ROOT / ".env.example").read_text()
    values = _env_example()
    for name, value in values.items():
        assert name in fs.BY_NAME, f".env.example sets {name}, which fractal_settings.KNOBS does not know"
        assert value == fs.BY_NAME[name].default, (name, value, fs.BY_NAME[name].default)
    for knob in fs.KNOBS:
        if knob.env_file:
            assert re.search(rf"\b{knob.name}\b", text), f"{knob.name} is not in .env.example"


# swarm/compose.yaml's defaults: tests/swarm/test_swarm_config.py.
@pytest.mark.parametrize("path", ["compose.yaml", "compose.prod.yaml", ".devcontainer/compose.yaml"])
def test_every_compose_default_is_the_knobs(path):
    text = (ROOT / path).read_text()
    found = re.findall(r"\$\{([A-Z][A-Z0-9_]*):?-([^}$]*)\}", text)
    assert found or path.startswith(".devcontainer"), path
    for name, default in found:
        knob = fs.BY_NAME.get(name)
        assert knob is not None, f"{path}: ${{{name}}} is no knob of fractal_settings"
        expected = knob.prod if path == "compose.prod.yaml" and knob.prod is not None else knob.default
        assert default == expected, (path, name, default, expected)
    assert "${PYTHON_IMAGE:-${BASE_IMAGE:-%s}}" % fs.BY_NAME["PYTHON_IMAGE"].default in (ROOT / "compose.yaml").read_text()


def test_the_version_is_pyprojects():
    """The release version's home is pyproject.toml (fractalkit reads it at run time); the image
    tag's default is tested against it."""
    import fractalkit
    assert fractalkit.__version__ == VERSION == fs.BY_NAME["APP_VERSION"].default


def test_the_configuration_table_holds_the_defaults():
    rows = re.findall(r"^\| `([A-Z][A-Z0-9_]*)`(?:, `([A-Z][A-Z0-9_]*)`)? \| ([^|]*) \|", (ROOT / "docs" / "configuration.md").read_text(), re.M)
    assert len(rows) > 20
    for *names, cell in rows:
        for name in filter(None, names):
            assert name in fs.BY_NAME, f"docs/configuration.md documents {name}, which KNOBS does not know"
        literals = re.findall(r"`([^`]*)`", cell.split(" (")[0])
        for name, literal in zip(filter(None, names), literals or [None] * 2):
            if literal is None:  # "(empty)", "(unset: ...)"
                assert fs.BY_NAME[name].default == "", (name, cell)
            else:
                assert literal == fs.BY_NAME[name].default, (name, cell)


def test_every_published_port_is_a_knob_the_settings_check_refuses_when_wrong():
    """Ports in Compose's long syntax: Compose passes `published: eighty` on (the short syntax
    stops at "invalid hostPort: eighty", naming no variable), so the settings service names it."""
    ports = re.findall(r'published: "\$\{([A-Z_]+):-(\d+)\}"', "".join(
        (ROOT / f).read_text() for f in ("compose.yaml", "compose.prod.yaml")))
    assert {name for name, _ in ports} == {"STREAMLIT_PORT", "JUPYTER_PORT", "DOCS_PORT", "IDE_PORT", "PROXY_HTTPS_PORT"}
    for name, _ in ports:
        assert name in fs.BUILD_CHECKED
        assert fs.check({name: "eighty"}) == [f"{name}=eighty must be a whole number from 1 to 65535"]
    assert not re.search(r'^\s*- "\$\{[A-Z_]+:-[^}]*\}:\$\{', (ROOT / "compose.yaml").read_text(), re.M)


def test_the_settings_service_checks_every_knob_at_each_up():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    settings = compose["services"]["settings"]
    assert settings["pull_policy"] == "build" and settings["scale"] == 0
    args = settings["build"]["args"]
    flags = {f"{name}_SET": f"${{{name}+yes}}" for name in fs.BUILD_SECRETS}
    assert [a for a in args if a not in ("PYTHON_IMAGE", "SOURCE_DATE_EPOCH", *flags)] == list(fs.BUILD_CHECKED)
    assert args["SOURCE_DATE_EPOCH"] == "0"  # one image for every check (test_dev_stack: none left untagged)
    assert all(args[a] is None for a in fs.BUILD_CHECKED)  # the shell's or .env's value; unset stays unset
    # The secrets: BuildKit secrets read from the environment, never arguments; rebuilt every time.
    assert fs.BUILD_SECRETS == ("JUPYTER_TOKEN", "IDE_PASSWORD")
    assert {a: args[a] for a in flags} == flags and settings["build"]["no_cache"] is True
    assert settings["build"]["secrets"] == [name.lower() for name in fs.BUILD_SECRETS]
    assert compose["secrets"] == {name.lower(): {"environment": name} for name in fs.BUILD_SECRETS}
    dockerfile = (ROOT / "services" / "base" / "Dockerfile").read_text()
    stage = dockerfile[dockerfile.index("AS settings"):dockerfile.index("AS os")]
    declared = re.search(r"^ARG ((?:.|\\\n)*?)\n(?!\s)", stage, re.M)[1]
    assert declared.replace("\\\n", " ").split() == list(fs.BUILD_CHECKED)
    assert f"\nARG {' '.join(flags)}\n" in stage
    for name in fs.BUILD_SECRETS:  # a file (the env= form needs Dockerfile 1.10: Engine 27.3+)
        assert f"--mount=type=secret,id={name.lower()} " in stage
        assert (f'if [ "${name}_SET" = yes ]; then {name}=$(cat /run/secrets/{name.lower()}) '
                f'&& export {name}; fi') in stage
