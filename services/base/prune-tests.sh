#!/bin/sh
# fractal-prune-tests: delete the test suites that packages ship inside site-packages.
#
# Run after every `uv sync` of the images, in the same RUN, so that no layer keeps them: pandas,
# numba, scipy, numpy, pyarrow and matplotlib alone bring ~125 MB of tests (with their
# bytecode), which nothing imports at run time. uv reads a package's dist-info, not its files,
# so a later `uv sync --extra ...` does not bring them back.
set -eu
find "${VIRTUAL_ENV:?}/lib" -path '*/site-packages/*' -type d -name tests -prune -exec rm -rf {} +
