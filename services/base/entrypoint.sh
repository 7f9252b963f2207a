#!/bin/sh
# fractal-entrypoint: run the service's command as the owner of the checkout.
#
# The one privileged step of the stack, in the style of jupyter/docker-stacks' start.sh but with
# no numbers to pass. Started as root (the dev services set `user: root`), it
#   1. picks the user: HOST_UID/HOST_GID if set, else the owner of the bind-mounted checkout
#      folder $FRACTAL_OWNER_DIR (default /app/src), read from the mount;
#   2. gives the image's `app` account that UID/GID (so names, HOME and `exec -u app` agree);
#   3. hands the named volumes in $FRACTAL_STATE_DIRS to that user (usable after an owner change);
#   4. drops to that user with setpriv (no capabilities, no_new_privs) and execs the command,
#      so no root shell stays behind; PID 1 is still the tiny init (Compose `init: true`).
# An owner of UID 0 (a checkout cloned as root, or any checkout under rootless Docker/Podman,
# where the host user IS the container's root) is run as UID 0 *without any capability*: files
# it writes belong to the checkout's owner, but it has none of root's powers. This is logged.
# Started as any other user (production, plain `docker run`), it only checks and execs.
set -eu

log() { printf 'fractal-entrypoint: %s\n' "$*" >&2; }

# Give a folder's tree to $uid:$gid. Mount points below it (the bind-mounted checkout under
# HOME, say) and their contents are left alone: -xdev alone would still chown the mount point.
hand_over() {
  find "$1" -xdev \( -type d ! -path "$1" -exec mountpoint -q {} \; -prune \) -o \
    \( ! -user "$uid" -o ! -group "$gid" \) -exec chown -h "$uid:$gid" {} +
}

# Report folders the service must write but cannot (the log; JupyterLab shows it too), with
# the folder's owner, and advice that fits: when HOST_UID/HOST_GID chose the user, setting them
# is not the fix.
check_writable() {
  for d in ${FRACTAL_WRITABLE_DIRS:-}; do
    [ -d "$d" ] || continue
    if ! "$@" test -w "$d"; then
      if [ -n "${HOST_UID:-}${HOST_GID:-}" ]; then
        fix="HOST_UID/HOST_GID in .env chose $uid:$gid: give the folder to $uid:$gid on the host"
        fix="$fix (chown -R $uid:$gid), or empty HOST_UID/HOST_GID to run as the checkout's owner."
      else
        fix="Fix the folder's owner on the host, or set HOST_UID/HOST_GID in .env."
      fi
      log "WARNING: $d is not writable by UID $uid (GID $gid): files there are read-only." \
          "It belongs to $(stat -c %u:%g "$d"). $fix"
    fi
  done
}

# The service's settings, by the rules every entry point shares (fractal_settings.py: a bad
# HOST_UID, BIND_ADDRESS beyond loopback without ALLOWED_HOSTS, a short token, ...): all problems
# at once, exit 64, before anything else. `docker compose up` has checked the .env already
# (compose.yaml's settings service); this is for `docker run`, Swarm and a changed image.
if [ -n "${FRACTAL_SERVICE:-}" ]; then
  python -S /usr/local/lib/fractal/fractal_settings.py check --service "$FRACTAL_SERVICE" --apps "${APP_DIR:-/app}/apps"
fi

if [ "$(id -u)" != 0 ]; then
  uid=$(id -u) gid=$(id -g)
  check_writable
  exec "$@"
fi

owner_dir=${FRACTAL_OWNER_DIR:-/app/src}
uid=${HOST_UID:-$(stat -c %u "$owner_dir")}
gid=${HOST_GID:-$(stat -c %g "$owner_dir")}
if [ -n "${HOST_UID:-}" ]; then src="HOST_UID/HOST_GID"; else src="owner of $owner_dir"; fi

userns=""
if [ "$(awk 'NR == 1 {print $1, $2, $3}' /proc/self/uid_map)" != "0 0 4294967295" ]; then
  userns=" (user namespace: rootless engine, container root is an unprivileged host user)"
fi

if [ "$uid" = 0 ]; then
  log "running as UID 0 with no capabilities ($src is root$userns); set HOST_UID/HOST_GID to choose another user"
  home=/root
else
  log "running as UID $uid, GID $gid ($src$userns)"
  # The image's `app` account takes the IDs (in this container's own /etc files only).
  # (Not usermod: it would chown files in HOME, crossing into the bind-mounted checkout.)
  [ "$(id -g app)" = "$gid" ] || groupmod --non-unique --gid "$gid" app
  sed -i "s/^app:x:[0-9]*:[0-9]*:/app:x:$uid:$gid:/" /etc/passwd
  home=/home/app
  # HOME lives in the image: hand it over (not the bind mounts below it).
  hand_over "$home"
fi
for d in ${FRACTAL_STATE_DIRS:-}; do
  [ -d "$d" ] || continue
  hand_over "$d"
done

drop() {
  setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    --inh-caps=-all --bounding-set=-all --no-new-privs "$@"
}
check_writable drop
export HOME="$home" USER="$(drop id -un 2>/dev/null || echo "$uid")"
exec setpriv --reuid="$uid" --regid="$gid" --clear-groups \
  --inh-caps=-all --bounding-set=-all --no-new-privs "$@"
