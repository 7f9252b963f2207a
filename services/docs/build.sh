#!/bin/sh
# fractal-docs-build SOURCE OUTPUT: the static site, as the production image builds it: warnings
# are errors, cross-references are checked. When it fails, its last lines name every failing file,
# the notebook cell and the error (docs/_ext/build_report.py; Sphinx's full log is above them).
set -u
src=$1 out=$2
sphinx-build -W --keep-going -n -b html -d "${DOCS_DOCTREES:-/tmp/doctrees}" "$src" "$out"
status=$?
if [ "$status" -eq 0 ]; then
  rm -f "$out/_build-report.json"  # the live server's; not part of the static site
  exit 0
fi
python "$src/_ext/build_report.py" "$out/_build-report.json" >&2
exit "$status"
