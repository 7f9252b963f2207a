"""Sphinx configuration: MyST-NB renders Markdown pages and Jupyter notebooks."""
import os
import sys

import fractal_kernels  # the notebook layer of the image (services/notebook/)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "_ext"))

project = "fractal-notebooks"
author = "fractal-notebooks contributors"
copyright = "2026, " + author
extensions = ["myst_nb", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx.ext.mathjax",
              "sphinx.ext.viewcode",
              # MathJax served from this site (_static/mathjax), not from a CDN: a reader's browser
              # fetches nothing from a third party, and the math renders offline.
              "sphinx-mathjax-offline",
              # The state of the last build: a banner on the live server, a summary in the log.
              "build_report"]
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
# `page.md#a-heading` links: anchors for headings down to level 3 (checked: -n -W).
myst_heading_anchors = 3
# Never pages: the build's own folders, and what editors and JupyterLab leave beside the sources:
# hidden files and folders (.ipynb_checkpoints, .Trash-<uid> of a delete, .virtual_documents,
# .~lock files), untitled new notebooks, backups. .gitignore ignores the same names.
exclude_patterns = ["_build", "jupyter_execute", "_ext", ".*", "**/.*", "Untitled*", "**/Untitled*", "*~", "**/*~"]
# The live server (services/docs/Dockerfile, dev) shows a failing build on every page.
build_report_banner = os.environ.get("DOCS_LIVE") == "1"
html_theme = "sphinx_book_theme"
html_title = "fractal-notebooks"
html_theme_options = {"show_toc_level": 2}
napoleon_numpy_docstring = True
napoleon_use_ivar = True  # NamedTuple fields are documented once, by autodoc
autodoc_typehints = "none"
# Nitpicky for cross-references (a broken :func: link fails the build), but numpy-style type
# descriptions ("array_like, shape (m, 6)") are prose, not classes.
nitpicky = True
nitpick_ignore_regex = [(r"py:class", r".*"), (r"py:exc", r"numpy\..*")]  # no intersphinx: offline builds

# Notebooks: executed on build, outputs cached, so an unchanged notebook is not re-run.
nb_execution_mode = os.environ.get("NB_EXECUTION_MODE", "cache")
# The cache keys on the notebooks' code cells only; the kernels they import are part of the
# key here (a hash of fractalkit's source in the path), so editing src/fractalkit re-executes
# the notebooks instead of serving outputs of the old code. The changed path also changes the
# configuration, which makes Sphinx re-read every document.
def _fractalkit_source_hash() -> str:
    import hashlib
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("fractalkit")
    h = hashlib.sha256()
    if spec is not None and spec.submodule_search_locations:
        for p in sorted(Path(list(spec.submodule_search_locations)[0]).glob("*.py")):
            h.update(p.name.encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


# Under DOCS_OUT in the images; beside the sources (docs/_build, git-ignored) from a checkout,
# whatever the directory sphinx-build was started in.
nb_execution_cache_path = os.path.join(os.environ.get("DOCS_OUT", os.path.join(os.path.dirname(__file__), "_build")),
                                       "jupyter-cache",
                                       f"fractalkit-{_fractalkit_source_hash()}")
nb_execution_timeout = 300
# A failing cell does not stop the build: build_report names the notebook, the cell and the error
# (a banner on the live server); the production build treats it as an error (-W).
nb_execution_raise_on_error = False
# A notebook naming a kernel the image lacks runs on its Python kernel (the log says so).
nb_kernel_rgx_aliases = fractal_kernels.kernel_aliases()
nb_merge_streams = True
# No third-party scripts in a reader's browser: myst-nb would load require.js and the widget
# manager from CDNs to replay saved ipywidgets state. A static page cannot run the widgets'
# kernel callbacks anyway; the notebooks are live in JupyterLab.
nb_ipywidgets_js = {}
