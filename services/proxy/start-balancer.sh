#!/bin/sh
# Balancer entrypoint (Swarm): check the configuration, then run HAProxy in the foreground.
set -eu
case "${BALANCER_COOKIE_KEY:-}" in
  ''|*[!A-Za-z0-9._-]*)
    echo "ERROR: BALANCER_COOKIE_KEY must be letters, digits, '.', '_' or '-', got '${BALANCER_COOKIE_KEY:-}'" >&2
    exit 64;;
esac
haproxy -c -q -f /etc/haproxy/fractal-balancer.cfg
exec haproxy -db -f /etc/haproxy/fractal-balancer.cfg
