#!/usr/bin/env bash
# Build a Python 3.11 Debian (bookworm) image equivalent to python:3.11-slim, from Debian
# packages only, for hosts that cannot pull from a container registry.
#
#   scripts/build-python-image.sh [--arch ARCH] [--if-missing] [TAG]
#
# ARCH is a Debian architecture: amd64 or arm64 (default: this host's). The default TAG is
# fractal-notebooks/python:3.11-bookworm for the host's architecture and
# fractal-notebooks/python:3.11-bookworm-ARCH for another one, so the two never share a tag.
# Another architecture runs under QEMU user emulation: on Linux hosts register it first with
# scripts/enable-emulation.sh (Docker Desktop has it built in).
#
# The Debian mirror is read from this host's own apt configuration at run time; no mirror
# host name is written into this repository. Needs root, debootstrap and a Docker engine.
# Then build the stack with:  PYTHON_IMAGE=<TAG> docker compose build
# Builds of one TAG wait for each other; --if-missing then reuses an image already there.
set -euo pipefail

die() { echo "build-python-image: $*" >&2; exit 1; }
host_arch=$(dpkg --print-architecture)
arch=$host_arch
if_missing=0
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) arch=${2:?--arch needs a value}; shift 2 ;;
    --if-missing) if_missing=1; shift ;;
    -*) die "unknown option '$1'" ;;
    *) break ;;
  esac
done
case "$arch" in
  amd64|arm64) ;;
  *) die "--arch must be amd64 or arm64, got '$arch'" ;;
esac
platform=linux/$arch
if [ "$arch" = "$host_arch" ]; then default_tag=fractal-notebooks/python:3.11-bookworm
else default_tag=fractal-notebooks/python:3.11-bookworm-$arch; fi
tag=${1:-$default_tag}
suite=${DEBIAN_SUITE:-bookworm}

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap needs it)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
docker info >/dev/null 2>&1 || die "no Docker engine answers"
if [ "$arch" != "$host_arch" ]; then
  qemu=$(case "$arch" in arm64) echo aarch64;; amd64) echo x86_64;; esac)
  grep -qx enabled "/proc/sys/fs/binfmt_misc/qemu-$qemu" 2>/dev/null \
    || die "cannot run $arch programs on this $host_arch host: no enabled binfmt_misc handler qemu-$qemu (run scripts/enable-emulation.sh)"
fi

# One build per tag at a time: CI starts the arm64 Python image early, in the background, and the tests
# may ask for it before it is done; they wait here, then take it (--if-missing).
exec 9>"/tmp/fractal-build-python-image.${tag//[^A-Za-z0-9]/_}.lock"
flock 9
if [ "$if_missing" = 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "build-python-image: $tag is there already" >&2
  echo "$tag"
  exit 0
fi

# First Debian archive URI of this host's apt sources (deb822 *.sources or one-line *.list).
mirror=$(
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/{print $2}';
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '/^deb /{for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}';
  } | grep -v -- '-security' | grep -i debian | head -n 1
) || true
[ -n "$mirror" ] || die "no Debian mirror found in this host's apt sources"

work=$(mktemp -d /var/tmp/fractal-python.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
echo "build-python-image: debootstrap $suite ($arch) into $root" >&2
debootstrap --variant=minbase --arch="$arch" \
  --include=python3,python3-venv,python3-pip,python-is-python3,ca-certificates \
  "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 \
  || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

# Use the host's own apt sources inside the image (only the Debian ones; keys are in the rootfs).
rm -f "$root/etc/apt/sources.list"
for f in /etc/apt/sources.list.d/*.sources; do
  [ -f "$f" ] && grep -q debian-archive-keyring "$f" && cp "$f" "$root/etc/apt/sources.list.d/"
done
if [ -s /etc/apt/sources.list ] && grep -q '^deb .*debian' /etc/apt/sources.list; then
  grep '^deb .*debian' /etc/apt/sources.list > "$root/etc/apt/sources.list"
fi
# Slim like the official image: no apt lists, caches, docs or man pages.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb \
       "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/var/log/*.log

tar -C "$root" -c . | docker import --platform "$platform" \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  --message "Python 3.11 on Debian $suite from Debian packages (scripts/build-python-image.sh)" \
  - "$tag" >/dev/null
docker run --rm --platform "$platform" "$tag" python -c 'import platform, sys, venv, ssl; assert sys.version_info[:2] == (3, 11), sys.version; print("build-python-image: ok", sys.version.split()[0], platform.machine())' >&2
echo "$tag"
