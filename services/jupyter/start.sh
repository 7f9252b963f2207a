#!/bin/sh
# Start JupyterLab; refuse to run without a token (an empty token disables authentication).
set -eu
if [ -z "${JUPYTER_TOKEN:-}" ]; then
  echo "ERROR: JUPYTER_TOKEN is empty; set it in .env (an empty token would disable authentication)" >&2
  exit 64
fi
# First start of a production volume: seed it with the bundled notebooks (never overwrite).
if [ -d /opt/fractal/notebooks-seed ] && [ -z "$(ls -A "${JUPYTER_ROOT}" 2>/dev/null)" ]; then
  cp -R /opt/fractal/notebooks-seed/. "${JUPYTER_ROOT}/"
fi
# UID 0 only by design (a root-owned checkout, or a rootless engine's user namespace), and
# then without any capability: see services/base/entrypoint.sh.
if [ "$(id -u)" = 0 ]; then set -- --ServerApp.allow_root=True "$@"; fi
exec jupyter lab \
  --ServerApp.ip=0.0.0.0 \
  --ServerApp.port="${JUPYTER_PORT}" \
  --ServerApp.base_url="${JUPYTER_BASE_URL}" \
  --ServerApp.root_dir="${JUPYTER_ROOT}" \
  --ServerApp.open_browser=False \
  --ServerApp.allow_remote_access=True \
  "$@"
