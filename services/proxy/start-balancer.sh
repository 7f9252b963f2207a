#!/bin/sh
# Balancer entrypoint (compose.prod.yaml, swarm/compose.yaml): check the configuration, then run HAProxy in the foreground.
set -eu
python -S /usr/local/lib/fractal/fractal_settings.py check --service balancer
haproxy -c -q -f /etc/haproxy/fractal-balancer.cfg
exec haproxy -db -f /etc/haproxy/fractal-balancer.cfg
