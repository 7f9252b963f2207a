#!/bin/sh
# start-streamlit: run the gallery, and let a balancer drain it before it stops.
#
# The entry is apps/gallery.py, which routes to every page with STREAMLIT_APP as the home page
# (apps/gallerykit/navigation.py). A folder of one's own mounted on /app/apps, without the
# entry file, runs STREAMLIT_APP alone. The entrypoint has checked STREAMLIT_APP (a page there)
# and the file watcher (one Streamlit knows: it would quietly watch nothing) by the shared rules
# (services/base/fractal_settings.py).
#
# Streamlit serves app/static/ready ("ok") from this file's folder when static serving is on
# (swarm/compose.yaml turns it on; the image links apps/static there, on the /tmp tmpfs).
# The balancer checks it with HAProxy's `http-check disable-on-404`: a 404 takes the replica
# out of the choice for new tabs, while tabs pinned to it keep reaching it.
#   SIGWINCH (Swarm's stop signal for this service): remove the file, keep serving. Swarm
#            kills the task stop_grace_period later; until then its open tabs work.
#   SIGTERM, SIGINT (Compose's stop, Ctrl-C): passed on to Streamlit, which shuts down.
set -eu
entry=apps/gallery.py
[ -f "$entry" ] || entry="apps/${STREAMLIT_APP:-branching_tree.py}"

ready=/tmp/streamlit-static/ready
mkdir -p "${ready%/*}"
printf 'ok\n' > "$ready"

# The traps first, so that no signal arrives unhandled. (With Compose's TINI_KILL_PROCESS_GROUP,
# Streamlit gets SIGTERM from the init as well: it stops on the first.)
pid=
trap 'rm -f "$ready"' WINCH
trap 'if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || :; else exit 143; fi' TERM INT
streamlit run "$entry" "$@" &
pid=$!
# `wait` returns early when a trapped signal arrives: wait again until Streamlit has exited.
while :; do
  status=0
  wait "$pid" || status=$?
  kill -0 "$pid" 2>/dev/null || exit "$status"
done
