#!/usr/bin/env bash
# Deploy (or update) the production stack on Docker Swarm. Run it on a manager node.
#
#   JUPYTER_TOKEN=... REGISTRY=registry.example.org/fractal swarm/deploy-swarm.sh
#
# The images are the ones scripts/publish.sh pushed, by the same names:
#   $REGISTRY/<service>:$APP_VERSION-$GIT_SHA-$DEPLOY_ENV, each variable resolved as publish.sh does
#   (scripts/release.sh: GIT_SHA from git, APP_VERSION from pyproject.toml, DEPLOY_ENV prod).
# Without REGISTRY, the images of this machine (built with `docker compose -f compose.yaml
# -f compose.prod.yaml --profile proxy build`, IMAGE_REPO, IMAGE_TAG), which only a one-node swarm can run.
#
# Settings come from the environment, else .env, as for Compose (.env.example), among them:
#   STREAMLIT_REPLICAS  Streamlit tasks behind the sticky balancer (default 2)
#   DOCS_REPLICAS       docs tasks (default 2)
# and this script's own (no Compose file reads them):
#   REGISTRY            as above
#   STACK_NAME          the stack's name (default fractal-notebooks)
#   SWARM_WAIT          seconds to wait for every service to converge, healthy (default 600)
# --render: print the stack file instead of deploying it.
#
# What it does: `docker compose config` merges compose.yaml, compose.prod.yaml and
# swarm/compose.yaml (compose.yaml first: every relative path, swarm/compose.yaml's too, resolves
# against its folder, the checkout's root); swarm/stack_file.py removes what `docker stack deploy`
# does not accept (it says what and why); `docker stack deploy` creates or updates the services
# (a rolling update when an image changed) and waits until they have converged.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "deploy-swarm: $*" >&2; exit 1; }

render=false
case "${1:-}" in
  --render) render=true ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  '') ;;
  *) die "unknown argument '$1' (see --help)" ;;
esac
[ $# -le 1 ] || die "unexpected argument '$2' (see --help)"

# Every setting (the shell's over .env's, as Compose resolves them) by the rules the services
# apply (services/base/fractal_settings.py), before anything else. The gallery's pages are the
# image's, not this checkout's: STREAMLIT_APP is checked by the streamlit tasks at start.
. scripts/release.sh
compose_settings REGISTRY STACK_NAME SWARM_WAIT   # this script's own, from the shell or .env
printf '%s\n' "$compose_environment" | python3 services/base/fractal_settings.py check --environ - || exit 1
STACK_NAME=${STACK_NAME:-fractal-notebooks}
if [ -n "${REGISTRY:-}" ]; then
  release_names   # the names publish.sh gave the images (IMAGE_REPO, IMAGE_TAG)
fi

# The merged configuration first: a missing JUPYTER_TOKEN or a bad value is named before anything
# else (stack_file.py also refuses values the services would refuse at start).
merged=$(docker compose -f compose.yaml -f compose.prod.yaml -f swarm/compose.yaml --profile proxy \
  config --format json) || die "the Compose configuration does not load (above)"
stack=$(printf '%s\n' "$merged" | python3 swarm/stack_file.py) || exit 1
if $render; then printf '%s\n' "$stack"; exit 0; fi

# What the services read on this node: the names they answer to, the proxy's certificate (its
# key must be readable by the image's user, HOST_UID/HOST_GID at build).
tls_problem=$(printf '%s\n' "$merged" | python3 -c '
import json, os, stat, sys
s = json.load(sys.stdin)["services"]
proxy = s["proxy"]
if proxy.get("environment", {}).get("PROXY_SELF_SIGNED", "false") == "true":
    sys.exit()
tls = [v["source"] for v in proxy.get("volumes", []) if v.get("target") == "/etc/fractal-proxy/tls"]
d = tls[0] if tls else "-"
args = s.get("base", {}).get("build", {}).get("args", {})  # the shared image that creates the user
uid, gid = int(args.get("HOST_UID", 1000)), int(args.get("HOST_GID", 1000))
try:
    st = [os.stat(os.path.join(d, f)) for f in ("tls.crt", "tls.key")]
except OSError:
    sys.exit(f"no TLS certificate for the proxy: put PEM files tls.crt and tls.key in {d} (PROXY_TLS_DIR), "
             "or set PROXY_SELF_SIGNED=true for a generated self-signed one (docs/swarm.md)")
for f, m in zip(("tls.crt", "tls.key"), st):
    if not (m.st_mode & stat.S_IROTH or (m.st_uid == uid and m.st_mode & stat.S_IRUSR)
            or (m.st_gid == gid and m.st_mode & stat.S_IRGRP)):
        sys.exit(f"{os.path.join(d, f)} is not readable by the proxy (UID {uid}, GID {gid}: HOST_UID/HOST_GID): "
                 f"chgrp {gid} and chmod 640 it, or chmod 644 it")
' 2>&1) || die "$tls_problem"
allowed=$(printf '%s\n' "$stack" | python3 -c 'import json, sys
print("yes" if json.load(sys.stdin)["services"]["jupyter"].get("environment", {}).get("ALLOWED_HOSTS") else "-")')
if [ "$allowed" = - ]; then
  echo "deploy-swarm: ALLOWED_HOSTS is empty: the gallery and JupyterLab answer only to localhost;" \
       "set it to the host names visitors browse to (docs/swarm.md)" >&2
fi
state=$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}' 2>/dev/null) \
  || die "no Docker engine answers"
[ "$state" = "active true" ] || die "this engine is not a swarm manager (state: $state): run 'docker swarm init' first, or run this on a manager"

# JupyterLab's notebooks volume lives on one node: the one labelled for it. None yet: this one.
if [ -z "$(docker node ls -q --filter node.label=fractal-notebooks.notebooks=true)" ]; then
  docker node update --label-add fractal-notebooks.notebooks=true "$(docker info --format "{{.Swarm.NodeID}}")" >/dev/null
  echo "deploy-swarm: labelled this node for JupyterLab's notebooks (fractal-notebooks.notebooks=true)" >&2
fi
# Each service's last update, to tell this deploy's rollbacks from older ones.
updates() {
  docker service ls -q --filter "label=com.docker.stack.namespace=$STACK_NAME" | xargs -r docker service inspect \
    --format '{{.Spec.Name}} {{if .UpdateStatus}}{{.UpdateStatus.State}} {{.UpdateStatus.StartedAt}}{{end}}'
}
before=$(updates)
resolve=always
[ -n "${REGISTRY:-}" ] || resolve=never   # local images: nothing to ask a registry
# Tasks that failed (exited) so far, to tell this deploy's failures from older ones.
failed_tasks() {
  docker stack ps "$STACK_NAME" --no-trunc --format '{{.ID}}|{{.Name}}|{{.CurrentState}}' 2>/dev/null \
    | awk -F'|' '$3 ~ /^Failed/ {sub(/^\\_ /, "", $2); sub(/\.[0-9]+$/, "", $2); print $1, $2}' || true
}
old_failures=$(failed_tasks)
# --detach=false: wait until every service has converged (its tasks running and healthy). A
# service whose new tasks keep exiting (a setting it refuses at start) never converges on a first
# deploy, where there is nothing to roll back to: after 3 such exits, stop waiting and say why.
printf '%s\n' "$stack" | timeout "${SWARM_WAIT:-600}" docker stack deploy --detach=false --quiet \
  --with-registry-auth --prune --resolve-image "$resolve" -c - "$STACK_NAME" &
deploy=$!
crashing=
while kill -0 "$deploy" 2>/dev/null; do
  sleep 3
  crashing=$(failed_tasks | grep -vxF -f <(printf '%s\n' "$old_failures") | awk '{n[$2]++} n[$2] == 3 {print $2; exit}' || true)
  [ -z "$crashing" ] || break
done
if [ -n "$crashing" ]; then
  kill "$deploy" 2>/dev/null || true
  wait "$deploy" 2>/dev/null || true
  echo "deploy-swarm: $crashing keeps exiting at start (3 tasks since this deploy began); its last log lines:" >&2
  docker service logs --raw --tail 5 "$crashing" 2>&1 | tail -n 10 | sed 's/^/  /' >&2
  exit 1
fi
status=0
wait "$deploy" || status=$?
if [ "$status" != 0 ]; then
  if [ "$status" = 124 ]; then
    echo "deploy-swarm: the stack did not converge within ${SWARM_WAIT:-600} s (SWARM_WAIT); tasks not running:" >&2
  else
    echo "deploy-swarm: docker stack deploy failed (above); tasks not running:" >&2
  fi
  docker stack ps "$STACK_NAME" --no-trunc --format '{{.Name}}|{{.Image}}|{{.DesiredState}}|{{.CurrentState}}|{{.Error}}' \
    | awk -F'|' '($3 == "Running" && $4 !~ /^Running/) || $5 != "" {print "  " $1, $2, $4, $5}' | head -n 20 >&2 || true
  exit 1
fi
# A new task that fails makes Swarm roll its service back, and the stack converges on the old
# settings: that is a failed deploy.
rolled_back=$(updates | while read -r name state started; do
  case "$state" in rollback_*|paused)
    grep -qxF "$name $state $started" <<<"$before" || echo "$name"
  esac
done)
if [ -n "$rolled_back" ]; then
  for name in $rolled_back; do
    echo "deploy-swarm: $name was rolled back to its previous settings; its new tasks failed:" >&2
    docker service ps "$name" --no-trunc --filter desired-state=shutdown \
      --format '  {{.Name}} {{.CurrentState}} {{.Error}}' | head -n 3 >&2
  done
  echo "deploy-swarm: see 'docker service logs <service>' for why" >&2
  exit 1
fi
docker stack services "$STACK_NAME"
