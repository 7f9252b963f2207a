"""Fast checks of the JupyterLab image's server config (services/jupyter/jupyter_server_config.py):
token generation and validation, the allowed-hosts knob, and the file as Jupyter's config
loader (traitlets) runs it. The running server is tested in tests/stack/test_jupyter_security.py."""
from __future__ import annotations

import importlib.util
import re
import stat

import pytest
from traitlets.config.loader import PyFileConfigLoader

from utils.paths import ROOT

CONFIG_FILE = ROOT / "services" / "jupyter" / "jupyter_server_config.py"
_spec = importlib.util.spec_from_file_location("fractal_jupyter_server_config", CONFIG_FILE)
cfg = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cfg)

GOOD = "0123456789abcdef" * 2  # 32 characters, the minimum


def test_without_jupyter_token_a_random_token_is_generated_and_kept(tmp_path):
    token, stored = cfg.resolve_token({}, tmp_path)
    assert stored and re.fullmatch(r"[0-9a-f]{64}", token)  # 256 bits, hex
    path = tmp_path / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cfg.resolve_token({}, tmp_path) == (token, True)  # kept: the next start reuses it
    assert [p.name for p in tmp_path.iterdir()] == ["token"]  # no temporary file left


def test_two_fresh_state_dirs_get_different_tokens(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert cfg.resolve_token({}, tmp_path / "a")[0] != cfg.resolve_token({}, tmp_path / "b")[0]


def test_jupyter_token_from_env_wins_and_is_not_stored(tmp_path):
    assert cfg.resolve_token({"JUPYTER_TOKEN": GOOD}, tmp_path) == (GOOD, False)
    assert not (tmp_path / "token").exists()


@pytest.mark.parametrize("value,message", [
    ("", "set but empty"),
    ("   ", "set but empty"),
    ("fractal-dev-" + "token", "too short (17 characters, at least 32"),
    (GOOD[:-1], "too short (31 characters"),
    (GOOD + " x", "whitespace"),
])
def test_bad_jupyter_token_is_refused_with_a_clear_message(tmp_path, value, message):
    with pytest.raises(cfg.SettingError, match=re.escape(message)) as exc:
        cfg.resolve_token({"JUPYTER_TOKEN": value}, tmp_path)
    assert "openssl rand -hex 24" in str(exc.value)
    assert not (tmp_path / "token").exists()


def test_damaged_stored_token_is_refused_and_left_alone(tmp_path):
    (tmp_path / "token").write_text("short\n")
    with pytest.raises(cfg.SettingError, match="stored token .* is too short"):
        cfg.resolve_token({}, tmp_path)
    assert (tmp_path / "token").read_text() == "short\n"


def test_missing_state_dir_is_a_clear_error(tmp_path):
    with pytest.raises(cfg.SettingError, match="no token can be stored in .*jupyter-state"):
        cfg.resolve_token({}, tmp_path / "absent")


@pytest.mark.parametrize("env,expected", [
    ({}, []),
    ({"BIND_ADDRESS": "127.0.0.1", "ALLOWED_HOSTS": ""}, []),
    ({"BIND_ADDRESS": "::1"}, []),
    ({"BIND_ADDRESS": "0.0.0.0", "ALLOWED_HOSTS": "Workstation.LAN. notebooks.example.org"},
     ["workstation.lan", "notebooks.example.org"]),
])
def test_allowed_hosts(env, expected):
    assert cfg.allowed_hosts(env) == expected


@pytest.mark.parametrize("env,message", [
    ({"BIND_ADDRESS": "0.0.0.0"}, "BIND_ADDRESS=0.0.0.0 publishes the ports beyond this machine"),
    ({"BIND_ADDRESS": "192.168.1.5", "ALLOWED_HOSTS": " "}, "set ALLOWED_HOSTS"),
    ({"ALLOWED_HOSTS": "*"}, "wildcard"),
    ({"ALLOWED_HOSTS": "*.example.org"}, "wildcard"),
    ({"ALLOWED_HOSTS": "a.example.org,b.example.org"}, "spaces, not commas"),
    ({"ALLOWED_HOSTS": "192.168.1.5"}, "is an IP address"),
    ({"ALLOWED_HOSTS": "http://a.example.org"}, "not a host name"),
    ({"ALLOWED_HOSTS": "a.example.org:8888"}, "not a host name"),
])
def test_bad_allowed_hosts_are_refused(env, message):
    with pytest.raises(cfg.SettingError, match=re.escape(message)):
        cfg.allowed_hosts(env)


def test_login_urls():
    t = GOOD
    assert cfg.login_urls({"JUPYTER_PUBLISHED_PORT": "18888"}, t, []) == [f"http://127.0.0.1:18888/lab?token={t}"]
    assert cfg.login_urls({"BIND_ADDRESS": "0.0.0.0", "JUPYTER_BASE_URL": "/jupyter/"}, t, ["ws.lan"]) == [
        f"http://127.0.0.1:8888/jupyter/lab?token={t}", f"http://ws.lan:8888/jupyter/lab?token={t}"]
    assert cfg.login_urls({"BIND_ADDRESS": "192.168.1.5"}, t, ["ws.lan"]) == [f"http://ws.lan:8888/lab?token={t}"]


def load_with_traitlets(tmp_path, monkeypatch, env):
    """Run the config file the way Jupyter does (traitlets' loader), with ``env`` as the
    environment and the state dir redirected to ``tmp_path``."""
    for k in ("JUPYTER_TOKEN", "ALLOWED_HOSTS", "BIND_ADDRESS", "JUPYTER_PUBLISHED_PORT", "JUPYTER_BASE_URL", "JUPYTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    text = CONFIG_FILE.read_text()
    assert text.count('STATE_DIR = Path("/var/lib/fractal/jupyter")') == 1
    (tmp_path / "jupyter_server_config.py").write_text(
        text.replace('STATE_DIR = Path("/var/lib/fractal/jupyter")', f"STATE_DIR = Path({str(tmp_path)!r})"))
    return PyFileConfigLoader("jupyter_server_config.py", path=str(tmp_path)).load_config()


def test_loaded_by_traitlets_sets_token_and_host_check_and_prints_the_url(tmp_path, monkeypatch, capsys):
    c = load_with_traitlets(tmp_path, monkeypatch, {"JUPYTER_PUBLISHED_PORT": "18888",
                                                    "ALLOWED_HOSTS": "ws.lan"})
    token = (tmp_path / "token").read_text().strip()
    assert c.IdentityProvider.token == token
    assert c.ServerApp.allow_remote_access is False
    assert c.ServerApp.local_hostnames == ["localhost", "ws.lan"]
    out = capsys.readouterr().out
    assert f"[fractal-notebooks] JupyterLab login URL: http://127.0.0.1:18888/lab?token={token}\n" in out
    assert f"[fractal-notebooks] JupyterLab login URL: http://ws.lan:18888/lab?token={token}\n" in out
    assert c.ServerApp.custom_display_url == "http://127.0.0.1:18888"


def test_the_container_port_is_fixed_whatever_the_host_port(tmp_path, monkeypatch):
    """JUPYTER_PORT names the host's port only: even if it reaches the container, the server
    listens on the container port that the Compose files publish (``...:${JUPYTER_PORT}:8888``)."""
    c = load_with_traitlets(tmp_path, monkeypatch, {"JUPYTER_PORT": "9999", "JUPYTER_PUBLISHED_PORT": "9999"})
    assert c.ServerApp.port == cfg.PORT == 8888 and c.ServerApp.ip == "0.0.0.0"


def test_under_a_base_url_the_root_redirects_to_jupyterlab(tmp_path, monkeypatch):
    """Production (JUPYTER_BASE_URL=/jupyter/) enables services/jupyter/fractal_root.py, so the
    plain-HTTP port says where JupyterLab is instead of a bare 404 at `/`; development does not
    (JupyterLab itself answers at `/`)."""
    c = load_with_traitlets(tmp_path, monkeypatch, {"JUPYTER_BASE_URL": "/jupyter/"})
    assert c.ServerApp.jpserver_extensions == {"fractal_root": True}
    (tmp_path / "dev").mkdir()
    c = load_with_traitlets(tmp_path / "dev", monkeypatch, {"JUPYTER_BASE_URL": "/"})
    assert "fractal_root" not in c.ServerApp.get("jpserver_extensions", {})


def test_token_from_env_is_not_printed(tmp_path, monkeypatch, capsys):
    c = load_with_traitlets(tmp_path, monkeypatch, {"JUPYTER_TOKEN": GOOD})
    assert c.IdentityProvider.token == GOOD
    assert GOOD not in capsys.readouterr().out


def test_bad_setting_stops_the_loader(tmp_path, monkeypatch):
    # SystemExit, not an ordinary exception: Jupyter's loader would log that and start anyway.
    with pytest.raises(SystemExit, match="JupyterLab refuses to start: JUPYTER_TOKEN is set but empty"):
        load_with_traitlets(tmp_path, monkeypatch, {"JUPYTER_TOKEN": ""})
    assert not (tmp_path / "token").exists()
    with pytest.raises(SystemExit, match="ALLOWED_HOSTS"):
        load_with_traitlets(tmp_path, monkeypatch, {"BIND_ADDRESS": "0.0.0.0"})


def test_state_dir_matches_the_image_and_the_compose_volume():
    dockerfile = (ROOT / "services" / "jupyter" / "Dockerfile").read_text()
    compose = (ROOT / "compose.yaml").read_text()
    assert str(cfg.STATE_DIR) == "/var/lib/fractal/jupyter"
    assert f"install -d -o app -g app -m 700 {cfg.STATE_DIR}" in dockerfile
    assert f"jupyter-state:{cfg.STATE_DIR}" in compose
    assert "COPY services/jupyter/jupyter_server_config.py /etc/jupyter/jupyter_server_config.py" in dockerfile
