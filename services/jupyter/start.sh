#!/bin/sh
# Start JupyterLab. Token and Host check: /etc/jupyter/jupyter_server_config.py (refuses to
# start on an empty or short JUPYTER_TOKEN, generates and keeps one when it is unset).
# MAX_UPLOAD_MB and the culling times are checked by the entrypoint (fractal_settings.py).
set -eu
# Idle-kernel culling (0 = off, the dev default; compose.prod.yaml sets 3600 s). A kernel with
# no execution for that long is shut down even with its notebook open (the notebook file is
# untouched): a class leaving tabs open must not pin a kernel's memory each.
: "${JUPYTER_CULL_IDLE_TIMEOUT:=0}" "${JUPYTER_CULL_INTERVAL:=60}"
# First start of a production volume: seed it with the bundled notebooks (never overwrite).
if [ -d /app/notebooks-seed ] && [ -z "$(ls -A "${JUPYTER_ROOT}" 2>/dev/null)" ]; then
  cp -R /app/notebooks-seed/. "${JUPYTER_ROOT}/"
fi
# UID 0 only by design (a root-owned checkout, or a rootless engine's user namespace), and
# then without any capability: see services/base/entrypoint.sh.
if [ "$(id -u)" = 0 ]; then set -- --ServerApp.allow_root=True "$@"; fi
# Address and port (8888 in the container; JUPYTER_PORT is the host's): jupyter_server_config.py.
exec jupyter lab \
  --ServerApp.base_url="${JUPYTER_BASE_URL}" \
  --ServerApp.root_dir="${JUPYTER_ROOT}" \
  --ContentsManager.preferred_dir="${JUPYTER_PREFERRED_DIR:-}" \
  --ServerApp.open_browser=False \
  --LabApp.check_for_updates_class=fractal_notice.WritableRootCheck \
  --ServerApp.max_body_size="$(( (${MAX_UPLOAD_MB:-25} + 1) * 1048576 ))" \
  --MappingKernelManager.cull_idle_timeout="${JUPYTER_CULL_IDLE_TIMEOUT}" \
  --MappingKernelManager.cull_interval="${JUPYTER_CULL_INTERVAL}" \
  --MappingKernelManager.cull_connected=True \
  "$@"
