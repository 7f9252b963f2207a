#!/usr/bin/env bash
# Let this Linux host run programs (and so build and run images) of another CPU architecture,
# through QEMU user emulation registered with the kernel's binfmt_misc.
#
#   scripts/enable-emulation.sh [ARCH ...]      (default: arm64; also amd64)
#
# Uses Debian's qemu-user-static (its statically linked emulators and its binfmt.d entries, whose
# F flag makes the kernel keep the emulator open, so it works inside containers and chroots).
# Docker Desktop (macOS, Windows) ships this already; nothing to do there. Needs root.
# Undo: echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64
set -euo pipefail
die() { echo "enable-emulation: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (it registers a kernel handler)"
[ $# -gt 0 ] || set -- arm64
binfmt=/proc/sys/fs/binfmt_misc
if [ ! -e "$binfmt/register" ]; then
  mount -t binfmt_misc binfmt_misc "$binfmt" 2>/dev/null \
    || die "binfmt_misc is not available here and cannot be mounted (a container without privileges?)"
fi
for arch in "$@"; do
  case "$arch" in
    arm64) qemu=aarch64 ;;
    amd64) qemu=x86_64 ;;
    *) die "unknown architecture '$arch' (arm64 or amd64)" ;;
  esac
  if grep -qx enabled "$binfmt/qemu-$qemu" 2>/dev/null; then
    echo "enable-emulation: $arch already enabled" >&2; continue
  fi
  conf=/usr/lib/binfmt.d/qemu-$qemu.conf
  [ -f "$conf" ] || die "$conf missing: apt-get install qemu-user-static"
  [ -e "$binfmt/qemu-$qemu" ] && echo -1 > "$binfmt/qemu-$qemu"   # registered but disabled
  cat "$conf" > "$binfmt/register" || die "the kernel refused the qemu-$qemu handler"
  echo "enable-emulation: $arch enabled ($(sed -n 2p "$binfmt/qemu-$qemu"))" >&2
done
