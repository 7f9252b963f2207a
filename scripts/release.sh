# Sourced by scripts/publish.sh and swarm/deploy-swarm.sh: the names of a release, the one home
# of how they are worked out, and how the scripts read their own settings (compose_settings).
# Each release name comes from the environment when set (never from .env), else:
#   GIT_SHA      `git rev-parse --short HEAD` of this checkout
#   APP_VERSION  `version` in pyproject.toml
#   DEPLOY_ENV   prod
# and the tag that joins them, which the compose files read as IMAGE_TAG:
#   IMAGE_TAG=$APP_VERSION-$GIT_SHA-$DEPLOY_ENV   IMAGE_REPO=$REGISTRY
# All are checked by the rules every entry point shares (services/base/fractal_settings.py) and
# exported. `release_names --clean` also refuses a checkout with uncommitted changes when GIT_SHA
# comes from git (an image must be what its revision says). Needs die() and python3.

release_names() {
  local clean=false
  [ "${1:-}" != --clean ] || clean=true
  if [ -z "${GIT_SHA:-}" ]; then
    GIT_SHA=$(git rev-parse --short HEAD 2>&1) \
      || die "not a git checkout: set GIT_SHA to the revision these images are built from (git: ${GIT_SHA%%$'\n'*})"
    if $clean && [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
      die "the checkout has uncommitted changes: commit them, or set GIT_SHA to say what is built"
    fi
  fi
  APP_VERSION=${APP_VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)}
  DEPLOY_ENV=${DEPLOY_ENV:-prod}
  command -v python3 >/dev/null || die "python3 is needed (it checks the settings: services/base/fractal_settings.py)"
  printf '%s\n' "REGISTRY=${REGISTRY:-}" "APP_VERSION=$APP_VERSION" "GIT_SHA=$GIT_SHA" "DEPLOY_ENV=$DEPLOY_ENV" \
    | python3 services/base/fractal_settings.py check --environ - || exit 1
  IMAGE_TAG=$APP_VERSION-$GIT_SHA-$DEPLOY_ENV
  IMAGE_REPO=$REGISTRY
  export GIT_SHA APP_VERSION DEPLOY_ENV IMAGE_TAG IMAGE_REPO
}

# compose_settings NAME...: each NAME the environment leaves unset takes its value as Compose
# resolves it (`docker compose config --environment`: the shell's, else .env's), for the
# settings no Compose file reads (REGISTRY, STACK_NAME, SWARM_WAIT, PYTHON_IMAGE_AMD64...): a
# setting in .env counts for the scripts as it does for Compose. Keeps that whole environment in
# compose_environment, for the settings check.
compose_settings() {
  local name
  compose_environment=$(docker compose -f compose.yaml config --environment) \
    || die "the Compose configuration does not load (above)"
  for name in "$@"; do
    [ -n "${!name+set}" ] || printf -v "$name" '%s' "$(printf '%s\n' "$compose_environment" | sed -n "s/^$name=//p" | tail -n 1)"
  done
}
