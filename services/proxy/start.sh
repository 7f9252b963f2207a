#!/bin/sh
# Proxy entrypoint: render the nginx configuration from the .env size policy, then run nginx.
# MAX_UPLOAD_MB, PROXY_CONNECTIONS_PER_CLIENT, PROXY_APP_UPSTREAM: checked by the entrypoint
# (services/base/fractal_settings.py).
set -eu
# The certificate: PEM tls.crt/tls.key from PROXY_TLS_DIR; failing that, and only when asked
# (PROXY_SELF_SIGNED=true, off by default), a self-signed one generated once into the proxy-tls
# volume. Its fingerprint is logged so a browser's warning can be checked against it.
TLS_CRT=/etc/fractal-proxy/tls/tls.crt
TLS_KEY=/etc/fractal-proxy/tls/tls.key
for f in "$TLS_CRT" "$TLS_KEY"; do
  if [ -e "$f" ] && [ ! -r "$f" ]; then  # e.g. a key copied with openssl's mode 0600, another owner
    echo "ERROR: $(basename "$f") in PROXY_TLS_DIR is not readable by the proxy's user (UID $(id -u), GID $(id -g): HOST_UID/HOST_GID at build): chgrp $(id -g) and chmod 640 it, or chmod 644 it" >&2
    exit 64
  fi
done
if [ ! -s "$TLS_CRT" ] || [ ! -s "$TLS_KEY" ]; then
  if [ "${PROXY_SELF_SIGNED:-false}" != "true" ]; then
    echo "ERROR: no TLS certificate: put PEM files tls.crt and tls.key in PROXY_TLS_DIR (default ./certs/proxy), or set PROXY_SELF_SIGNED=true for a generated self-signed one" >&2
    exit 64
  fi
  TLS_CRT=/var/lib/fractal-proxy/tls.crt
  TLS_KEY=/var/lib/fractal-proxy/tls.key
  if [ ! -s "$TLS_CRT" ] || [ ! -s "$TLS_KEY" ]; then
    (umask 077 && openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=fractal-notebooks" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TLS_KEY" -out "$TLS_CRT" 2>/dev/null)
    echo "fractal-proxy: generated a self-signed certificate in the proxy-tls volume"
  fi
  echo "fractal-proxy: self-signed certificate $(openssl x509 -in "$TLS_CRT" -noout -fingerprint -sha256)"
fi
export MAX_UPLOAD_MB TLS_CRT TLS_KEY PROXY_APP_UPSTREAM PROXY_CONNECTIONS_PER_CLIENT
export PROXY_BODY_LIMIT="$((MAX_UPLOAD_MB + 1))m"
# Requests one client address may send at once: 20 per connection it may hold.
export PROXY_REQUEST_BURST="$((PROXY_CONNECTIONS_PER_CLIENT * 20))"
envsubst '${MAX_UPLOAD_MB} ${PROXY_BODY_LIMIT} ${TLS_CRT} ${TLS_KEY} ${PROXY_APP_UPSTREAM} ${PROXY_CONNECTIONS_PER_CLIENT} ${PROXY_REQUEST_BURST}' </etc/nginx/nginx.conf.template >/tmp/nginx.conf
exec nginx -c /tmp/nginx.conf -g 'daemon off;'
