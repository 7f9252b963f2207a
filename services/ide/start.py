#!/opt/venv/bin/python
"""Start code-server, the IDE service: password, preset settings, then exec the server.

- **Password.** The same rules as JupyterLab's token, from the same code
  (``/etc/jupyter/jupyter_server_config.py``, which this image inherits): ``IDE_PASSWORD`` from
  the environment (``.env``) wins and must be at least 32 printable characters; empty or short
  stops the service with a message. Unset, the first start generates one (256 bits), keeps it
  in the ``ide-state`` volume and every start logs it. code-server takes it from ``PASSWORD``
  and removes it from its own environment, so terminals do not see it.
- **Settings.** The Python extension's interpreter is preset to the kernels' environment
  (``/opt/venv/bin/python``) as *machine* settings in code-server's user-data folder; the
  user's own settings are left alone.
"""
from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

STATE_DIR = Path("/var/lib/fractal/ide")
MACHINE_SETTINGS = {
    "python.defaultInterpreterPath": "/opt/venv/bin/python",
    "python.terminal.activateEnvironment": False,  # /opt/venv is already first on PATH
    "jupyter.askForKernelRestart": False,
    "telemetry.telemetryLevel": "off",
}


def _server_config():
    spec = importlib.util.spec_from_file_location("jupyter_server_config", "/etc/jupyter/jupyter_server_config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    cfg = _server_config()
    try:
        password, stored = cfg.resolve_token(os.environ, STATE_DIR, variable="IDE_PASSWORD", volume="ide-state")
    except cfg.SettingError as exc:
        sys.exit(f"ERROR: code-server refuses to start: {exc}")
    path = STATE_DIR / "data" / "Machine" / "settings.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        settings = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        settings = {}
    path.write_text(json.dumps({**settings, **MACHINE_SETTINGS}, indent=2) + "\n")
    port = os.environ.get("IDE_PUBLISHED_PORT", "8080")
    if stored:
        print(f"[fractal-notebooks] code-server: http://127.0.0.1:{port}/ password: {password} "
              "(generated on first start and kept in the ide-state volume; set IDE_PASSWORD in .env "
              "to choose one)", flush=True)
    else:
        print(f"[fractal-notebooks] code-server: http://127.0.0.1:{port}/ with the IDE_PASSWORD from "
              "the environment (.env)", flush=True)
    env = {k: v for k, v in os.environ.items() if k != "IDE_PASSWORD"}
    env["PASSWORD"] = password
    os.execvpe("code-server", ["code-server", "--config", "/etc/code-server/config.yaml", *sys.argv[1:], "/app"], env)


if __name__ == "__main__":
    main()
