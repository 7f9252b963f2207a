#!/bin/sh
# Start JupyterLab; refuse to run without a token (an empty token disables authentication).
set -eu
if [ -z "${JUPYTER_TOKEN:-}" ]; then
  echo "ERROR: JUPYTER_TOKEN is empty; set it in .env (an empty token would disable authentication)" >&2
  exit 64
fi
case "${MAX_UPLOAD_MB:-25}" in ''|*[!0-9]*|0)
  echo "ERROR: MAX_UPLOAD_MB must be a positive whole number of megabytes, got '${MAX_UPLOAD_MB}'" >&2
  exit 64;;
esac
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
  --ServerApp.max_body_size="$(( (${MAX_UPLOAD_MB:-25} + 1) * 1048576 ))" \
  --LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate \
  "$@"
