"""Sphinx extension: what the last build got wrong, where the author will see it.

Every build, incremental or full, ends by writing ``_build-report.json`` into the output folder
and, when something failed, a summary at the end of the log: one line per problem, naming the
file, the notebook cell and the error.

- **Live docs server** (``build_report_banner = True``: the dev image sets ``DOCS_LIVE=1``):
  every page loads ``build-report.js``, which reads the report, shows a banner while the build
  is failing, and reloads the page when a newer build has finished. The banner appears with the
  failure and goes away by itself once the file is fixed: no page is served as if it were
  current when it is not.
- **Production build** (``fractal-docs-build``, services/docs/build.sh): warnings are errors,
  and the script prints the summary as its last lines.

A notebook whose cell raises does not stop the build (``nb_execution_raise_on_error = False``):
MyST-NB records the failure with the document (it stays until the notebook is read again, i.e.
changed), which is where the report reads it, so an unchanged failing notebook keeps its banner
across rebuilds of other pages. The page of a deleted document is deleted too (Sphinx would
leave it online). Notebooks that name a kernel the image lacks get a notice in the log (they
run on the image's Python kernel: fractal_kernels, the notebook layer).
"""
from __future__ import annotations

import copy
import json
import logging
import os
import re
import time
import uuid
from pathlib import Path

from sphinx.util import logging as sphinx_logging

__all__ = ["setup", "problems_of_execution", "summary"]

REPORT = "_build-report.json"
_STATIC = Path(__file__).with_name("build_report_static")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FAILED_CELL = re.compile(r"An error occurred while executing the following cell:\n-+\n(.*?)\n-+\n", re.S)
logger = sphinx_logging.getLogger(__name__)


def problems_of_execution(traceback: str, notebook: dict) -> tuple[str, str]:
    """Where a notebook's execution failed and with what error, from nbclient's traceback.

    Parameters
    ----------
    traceback : str
        The text MyST-NB keeps for a failed execution (``exec_data["traceback"]``: nbclient's
        ``CellExecutionError`` or ``CellTimeoutError``, formatted).
    notebook : dict
        The notebook as parsed JSON (nbformat 4), to number the failing cell.

    Returns
    -------
    where : str
        ``"cell N"`` (1-based, counting every cell as JupyterLab shows them), or ``""`` if the
        cell cannot be found.
    error : str
        The error's last line, e.g. ``"ZeroDivisionError: division by zero"``, or the timeout.
    """
    text = _ANSI.sub("", traceback)
    where = ""
    if m := _FAILED_CELL.search(text):
        source = m.group(1).strip()
        for i, cell in enumerate(notebook.get("cells", []), 1):
            src = cell.get("source", "")
            if cell.get("cell_type") == "code" and ("".join(src) if isinstance(src, list) else src).strip() == source:
                where = f"cell {i}"
                break
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    timeout = [ln for ln in lines if "timed out" in ln]
    error = timeout[0] if timeout else (lines[-1] if lines else "the notebook failed to execute")
    return where, error


def _cell_traceback(traceback: str) -> str:
    """The failing cell and the kernel's traceback, without nbclient's own frames before them."""
    text = _ANSI.sub("", traceback)
    for exc in ("CellExecutionError: ", "CellTimeoutError: "):
        if exc in text:
            text = text.split(exc, 1)[1]
    return text.strip()[-4000:]


def summary(report: dict) -> str:
    """The report as text: one line per problem (what the build log and fractal-docs-build print).

    Parameters
    ----------
    report : dict
        The content of ``_build-report.json``.

    Returns
    -------
    str
        Empty when the build succeeded.
    """
    if report["ok"]:
        return ""
    lines = ["The documentation build failed:"]
    for p in report["problems"]:
        where = f", {p['where']}" if p.get("where") else ""
        lines.append(f"  {p['source'] or '(the build)'}{where}: {p['error']}")
    return "\n".join(lines)


class _Collector(logging.Handler):
    """Keeps the warnings and errors of this build (copies: Sphinx's own handlers are untouched)."""

    def __init__(self, app):
        super().__init__(logging.WARNING)
        self.app, self.records = app, []

    def emit(self, record):
        if (getattr(record, "type", ""), getattr(record, "subtype", "")) == ("mystnb", "exec"):
            return  # a failed execution: reported from MyST-NB's execution data instead
        record = copy.copy(record)
        sphinx_logging.WarningLogRecordTranslator(self.app).filter(record)
        self.records.append(record)


def _doc_of(app, location: str) -> tuple[str, str]:
    """(source path relative to the docs, page URI) of a warning's ``path:line`` location."""
    path = location.split(":", 1)[0] if location else ""
    try:
        rel = Path(path).resolve().relative_to(Path(app.srcdir).resolve()).as_posix()
    except ValueError:
        return path, ""
    docname = app.env.path2doc(path)
    return rel, app.builder.get_target_uri(docname) if docname else ""


def _builder_inited(app):
    app._build_report = _Collector(app)
    logging.getLogger("sphinx").addHandler(app._build_report)
    if app.config.build_report_banner and app.builder.format == "html":
        app.add_js_file("build-report.js", defer="defer")


def _config_inited(app, config):
    if config.build_report_banner:
        config.html_static_path.append(str(_STATIC))


def _source_read(app, docname, source):
    """Log the kernel fallback of a notebook that names a kernel the image lacks."""
    import fractal_kernels

    if app.env.doc2path(docname).suffix != ".ipynb":
        return
    try:
        requested = fractal_kernels.requested_kernel(json.loads(source[0]))
    except ValueError:
        return  # not JSON: MyST-NB reports that
    if requested:
        logger.info(f"{app.env.doc2path(docname, False)}: {fractal_kernels.fallback_notice(requested)}")


def _forget_removed(app, env, added, changed, removed):
    """Delete the pages of removed documents: Sphinx leaves them, and they would still be served."""
    if app.builder.format == "html":
        for docname in removed:
            Path(app.builder.get_outfilename(docname)).unlink(missing_ok=True)
    return []


def _build_finished(app, exception):
    from myst_nb.sphinx_ import NbMetadataCollector

    handler = getattr(app, "_build_report", None)
    logging.getLogger("sphinx").removeHandler(handler)
    problems = []
    for docname, data in sorted(NbMetadataCollector.get_doc_data(app.env).items()):
        exec_data = data.get("exec_data") or {}
        if exec_data.get("succeeded", True) or docname not in app.env.all_docs:
            continue
        path = app.env.doc2path(docname)
        try:
            notebook = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            notebook = {}
        where, error = problems_of_execution(exec_data.get("traceback") or exec_data.get("error") or "", notebook)
        problems.append({"source": app.env.doc2path(docname, False).as_posix(), "where": where, "error": error,
                         "page": app.builder.get_target_uri(docname),
                         "detail": _cell_traceback(exec_data.get("traceback") or "")})
    for record in handler.records if handler else []:
        source, page = _doc_of(app, getattr(record, "location", "") or "")
        problems.append({"source": source, "where": "", "error": _ANSI.sub("", record.getMessage()).strip(),
                         "page": page, "detail": ""})
    if exception is not None:
        docname = app.env.temp_data.get("docname")
        problems.append({"source": app.env.doc2path(docname, False).as_posix() if docname else "", "where": "",
                         "error": f"{type(exception).__name__}: {exception}", "page": "", "detail": ""})
    report = {"ok": not problems, "build": uuid.uuid4().hex,
              "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "problems": problems}
    out = Path(app.outdir)
    if out.is_dir():
        tmp = out / f".{REPORT}.{os.getpid()}"
        tmp.write_text(json.dumps(report, indent=1), encoding="utf-8")
        tmp.replace(out / REPORT)  # atomic: a page never reads half a report
    if problems:
        logger.warning(summary(report), type="build_report")


def setup(app):
    app.add_config_value("build_report_banner", False, "html", bool)
    app.connect("config-inited", _config_inited)
    app.connect("builder-inited", _builder_inited)
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _forget_removed)
    app.connect("build-finished", _build_finished)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


if __name__ == "__main__":  # fractal-docs-build: print a failed build's summary last
    import sys

    try:
        print("\n" + summary(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))))
    except (OSError, ValueError):
        print("\nThe documentation build failed before it finished: see the error above.")
