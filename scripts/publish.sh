#!/usr/bin/env bash
# Build the production images and push them to a registry, one image index per service.
#
#   REGISTRY=registry.example.org/fractal scripts/publish.sh [--platform linux/amd64,linux/arm64]
#
# Services: streamlit, jupyter, docs, proxy, balancer (compose.yaml + compose.prod.yaml, profile proxy).
# Each is pushed with three tags that all name the same image index:
#   $REGISTRY/<service>:$APP_VERSION   the version in pyproject.toml unless APP_VERSION is set
#   $REGISTRY/<service>:$GIT_SHA       `git rev-parse --short HEAD` of this checkout (never "local")
#   $REGISTRY/<service>:$DEPLOY_ENV    prod unless set
#   $REGISTRY/<service>:$APP_VERSION-$GIT_SHA-$DEPLOY_ENV   the same index under the name
#                                      compose.prod.yaml gives the image (IMAGE_REPO=$REGISTRY,
#                                      IMAGE_TAG: scripts/release.sh), which swarm/deploy-swarm.sh
#                                      deploys
# The index lists one image per platform; each is also pushed as
# $REGISTRY/<service>:$APP_VERSION-$GIT_SHA-$DEPLOY_ENV-<arch> (what the index points at).
# The images carry the OCI labels of compose.prod.yaml (version, revision, title, source).
# The docs site (which executes the notebooks) is built once, on this machine's platform when it
# is one of those asked for, and copied into the other platforms' docs images.
#
# --platform: comma-separated, default this machine's (linux/amd64 or linux/arm64). Another
# architecture builds under emulation (scripts/enable-emulation.sh on Linux; built into
# Docker Desktop). Python image per architecture: PYTHON_IMAGE_AMD64 / PYTHON_IMAGE_ARM64, else
# PYTHON_IMAGE (python:3.11-slim by default, a multi-platform image on Docker Hub); each from the
# environment, else from .env.
#
# Why per-platform builds joined by `docker buildx imagetools create`, and not one
# `docker buildx bake --push --platform a,b`: a multi-platform build in one go needs the
# containerd image store or a docker-container builder (an image from a registry); this way
# works with every Docker Engine 28 setup, including the default one and offline hosts.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "publish: $*" >&2; exit 1; }

platforms=
while [ $# -gt 0 ]; do
  case "$1" in
    --platform) platforms=${2:?--platform needs a value}; shift 2 ;;
    --platform=*) platforms=${1#*=}; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

. scripts/release.sh
# The registry and the Python images: from the environment, else from .env (where
# docs/troubleshooting.md says to put PYTHON_IMAGE). BASE_IMAGE: PYTHON_IMAGE's old name.
compose_settings REGISTRY PYTHON_IMAGE PYTHON_IMAGE_AMD64 PYTHON_IMAGE_ARM64 BASE_IMAGE
[ -n "${REGISTRY:-}" ] || die "set REGISTRY, e.g. REGISTRY=registry.example.org/fractal"
docker info >/dev/null 2>&1 || die "no Docker engine answers"
docker buildx version >/dev/null 2>&1 || die "the buildx plugin is missing (needed for image indexes)"

if [ -z "$platforms" ]; then
  case "$(uname -m)" in x86_64) platforms=linux/amd64 ;; aarch64|arm64) platforms=linux/arm64 ;;
    *) die "unsupported machine $(uname -m)" ;; esac
fi

# GIT_SHA, APP_VERSION, DEPLOY_ENV and the tag that joins them (IMAGE_TAG), checked.
release_names --clean
tag=$IMAGE_TAG
services=(streamlit jupyter docs proxy balancer)
# The token is read when JupyterLab starts, never at build; the production file requires one.
export JUPYTER_TOKEN=${JUPYTER_TOKEN:-not-used-at-build-time-0000000000000000}

case "$(uname -m)" in x86_64) native=linux/amd64 ;; aarch64|arm64) native=linux/arm64 ;; *) native= ;; esac
ordered=()   # this machine's platform first: the others reuse its docs site (below)
for platform in ${platforms//,/ }; do
  case "$platform" in linux/amd64|linux/arm64) ;; *) die "unsupported platform '$platform' (linux/amd64, linux/arm64)" ;; esac
  if [ "$platform" = "$native" ]; then ordered=("$platform" "${ordered[@]}"); else ordered+=("$platform"); fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
compose_files=(-f compose.yaml -f compose.prod.yaml)
for platform in "${ordered[@]}"; do
  arch=${platform#linux/}
  base_var=PYTHON_IMAGE_${arch^^}
  base=${!base_var:-${PYTHON_IMAGE:-${BASE_IMAGE:-python:3.11-slim}}}
  echo "publish: building $platform on $base" >&2
  PYTHON_IMAGE=$base DOCKER_DEFAULT_PLATFORM=$platform \
    docker compose "${compose_files[@]}" --profile proxy build "${services[@]}" >&2
  if [ "$platform" = "$native" ] && [ ${#ordered[@]} -gt 1 ]; then
    # The docs site is the same HTML on every platform, and building it executes every notebook:
    # minutes natively, far longer under emulation. The other platforms' docs images take the
    # site built here, as a named context that replaces their Dockerfile's `build` stage.
    mkdir -p "$work/site/app"
    cid=$(docker create "$REGISTRY/docs:$tag")
    docker cp -q "$cid:/usr/share/fractal-docs" "$work/site/app/site"
    docker rm "$cid" >/dev/null
    printf 'services:\n  docs:\n    build:\n      additional_contexts:\n        build: %s\n' "$work/site" \
      > "$work/compose.site.yaml"
    compose_files+=(-f "$work/compose.site.yaml")
  fi
  for s in "${services[@]}"; do
    image=$REGISTRY/$s:$tag
    got=$(docker image inspect -f '{{.Os}}/{{.Architecture}}' "$image")
    [ "$got" = "$platform" ] || die "$image was built for $got, not $platform"
    docker tag "$image" "$image-$arch"
    docker push --quiet "$image-$arch" >/dev/null
    echo "publish: pushed $image-$arch" >&2
  done
done

for s in "${services[@]}"; do
  parts=()
  for platform in "${ordered[@]}"; do parts+=("$REGISTRY/$s:$tag-${platform#linux/}"); done
  docker buildx imagetools create --progress quiet \
    -t "$REGISTRY/$s:$APP_VERSION" -t "$REGISTRY/$s:$GIT_SHA" -t "$REGISTRY/$s:$DEPLOY_ENV" -t "$REGISTRY/$s:$tag" \
    "${parts[@]}"
  digest=$(docker buildx imagetools inspect --format '{{json .Manifest.Digest}}' "$REGISTRY/$s:$GIT_SHA" | tr -d '"')
  echo "$REGISTRY/$s@$digest  ($APP_VERSION, $GIT_SHA, $DEPLOY_ENV; ${platforms})"
done
