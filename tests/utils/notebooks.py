"""Notebooks the tests write: small, fast, and each with a purpose (a raising cell, a foreign kernel)."""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["FOREIGN_KERNEL", "KERNEL_NOTICE", "notebook", "write_notebook", "editor_droppings"]

#: A kernel name our images do not have, as notebooks from other projects carry (nb_conda_kernels).
FOREIGN_KERNEL = "conda-env-myproject-py"
#: What every client says when such a notebook runs on the image's Python kernel instead.
KERNEL_NOTICE = f"names the kernel '{FOREIGN_KERNEL}', which this image does not have"


def notebook(title: str, *code: str, kernel: str = "python3") -> dict:
    """An nbformat-4 notebook: a ``# title`` cell, then one code cell per string in ``code``."""
    cells = [{"cell_type": "markdown", "metadata": {}, "source": f"# {title}"}]
    cells += [{"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": src}
              for src in code]
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 5,
            "metadata": {"kernelspec": {"name": kernel, "display_name": kernel, "language": "python"},
                         "language_info": {"name": "python"}}}


def write_notebook(path: Path, nb: dict, owner: Path | None = None) -> Path:
    """Write ``nb`` to ``path`` (owned like ``owner``, the checkout, when given)."""
    import os

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb))
    if owner is not None and os.getuid() == 0:
        st = owner.stat()
        for p in (path, path.parent):
            os.chown(p, st.st_uid, st.st_gid)
    return path


def editor_droppings(docs: Path, marker: str) -> list[Path]:
    """What JupyterLab and editors leave beside the docs' sources, each a notebook that would fail
    the docs build if Sphinx read it: an untitled notebook, a checkpoint, the trash of a delete,
    a language server's copy, a backup. Returns the files written."""
    bad = notebook("Never a page", f"raise RuntimeError('{marker}')")
    return [write_notebook(docs / rel, bad) for rel in (
        "notebooks/Untitled.ipynb", "notebooks/Untitled1.ipynb",
        "notebooks/.ipynb_checkpoints/01-escape-time-checkpoint.ipynb",
        ".Trash-1000/files/deleted.ipynb", "notebooks/.virtual_documents/lsp.ipynb",
        "notebooks/02-trees-and-lsystems.ipynb~")]
