#!/usr/bin/env bash
# Build a Python 3.11 Debian (bookworm) image equivalent to python:3.11-slim, from Debian
# packages only, for hosts that cannot pull from a container registry.
#
#   scripts/build-local-base.sh [TAG]        (default tag: fractal-notebooks/python:3.11-bookworm)
#
# The Debian mirror is read from this host's own apt configuration at run time; no mirror
# host name is written into this repository. Needs root, debootstrap and a Docker engine.
# Then build the stack with:  BASE_IMAGE=<TAG> docker compose build
set -euo pipefail

tag=${1:-fractal-notebooks/python:3.11-bookworm}
suite=${DEBIAN_SUITE:-bookworm}

die() { echo "build-local-base: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap needs it)"
command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
docker info >/dev/null 2>&1 || die "no Docker engine answers"

# First Debian archive URI of this host's apt sources (deb822 *.sources or one-line *.list).
mirror=$(
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/{print $2}';
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '/^deb /{for(i=2;i<=NF;i++) if ($i ~ /^[a-z]+:\/\//) {print $i; break}}';
  } | grep -v -- '-security' | grep -i debian | head -n 1
) || true
[ -n "$mirror" ] || die "no Debian mirror found in this host's apt sources"

work=$(mktemp -d /var/tmp/fractal-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
echo "build-local-base: debootstrap $suite into $root" >&2
debootstrap --variant=minbase \
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

tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  --message "Python 3.11 on Debian $suite from Debian packages (scripts/build-local-base.sh)" \
  - "$tag" >/dev/null
docker run --rm "$tag" python -c 'import sys, venv, ssl; assert sys.version_info[:2] == (3, 11), sys.version; print("build-local-base: ok", sys.version.split()[0])' >&2
echo "$tag"
