#!/bin/sh
# Start JupyterLab; refuse to run without a token (an empty token disables authentication).
set -eu
if [ -z "${JUPYTER_TOKEN:-}" ]; then
  echo "ERROR: JUPYTER_TOKEN is empty; set it in .env (an empty token would disable authentication)" >&2
  exit 64
fi
# Idle-kernel culling (0 = off, the dev default; compose.prod.yaml sets 3600 s). A kernel with
# no execution for that long is shut down even with its notebook open (the notebook file is
# untouched): a class leaving tabs open must not pin a kernel's memory each.
for v in "JUPYTER_CULL_IDLE_TIMEOUT=${JUPYTER_CULL_IDLE_TIMEOUT:=0}" "JUPYTER_CULL_INTERVAL=${JUPYTER_CULL_INTERVAL:=60}"; do
  case "${v#*=}" in ''|*[!0-9]*) echo "ERROR: ${v%%=*} must be a number of seconds, got '${v#*=}'" >&2; exit 64;; esac
done
# First start of a production volume: seed it with the bundled notebooks (never overwrite).
if [ -d /opt/fractal/notebooks-seed ] && [ -z "$(ls -A "${JUPYTER_ROOT}" 2>/dev/null)" ]; then
  cp -R /opt/fractal/notebooks-seed/. "${JUPYTER_ROOT}/"
fi
exec jupyter lab \
  --ServerApp.ip=0.0.0.0 \
  --ServerApp.port="${JUPYTER_PORT}" \
  --ServerApp.base_url="${JUPYTER_BASE_URL}" \
  --ServerApp.root_dir="${JUPYTER_ROOT}" \
  --ServerApp.open_browser=False \
  --ServerApp.allow_remote_access=True \
  --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
  --MappingKernelManager.cull_idle_timeout="${JUPYTER_CULL_IDLE_TIMEOUT}" \
  --MappingKernelManager.cull_interval="${JUPYTER_CULL_INTERVAL}" \
  --MappingKernelManager.cull_connected=True \
  "$@"
