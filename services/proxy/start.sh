#!/bin/sh
# Proxy entrypoint: render the nginx configuration from the .env size policy, then run nginx.
set -eu
case "${MAX_UPLOAD_MB:-}" in ''|*[!0-9]*|0)
  echo "ERROR: MAX_UPLOAD_MB must be a positive whole number of megabytes, got '${MAX_UPLOAD_MB:-}'" >&2
  exit 64;;
esac
export MAX_UPLOAD_MB
export PROXY_BODY_LIMIT="$((MAX_UPLOAD_MB + 1))m"
envsubst '${MAX_UPLOAD_MB} ${PROXY_BODY_LIMIT}' </etc/nginx/nginx.conf.template >/tmp/nginx.conf
exec nginx -c /tmp/nginx.conf -g 'daemon off;'
