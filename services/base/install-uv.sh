#!/bin/sh
# fractal-install-uv: install uv (the locker and installer, version FRACTAL_UV_VERSION) in its
# own venv, /opt/uv, in a build stage of its own. The images' `uv sync` steps mount that stage's
# /opt/uv (RUN --mount=type=bind,from=uv,...): uv is in no image, only in the build cache.
set -eu
python -m venv /opt/uv
/opt/uv/bin/pip install --no-cache-dir "uv==${FRACTAL_UV_VERSION:?}"
/opt/uv/bin/uv --version
