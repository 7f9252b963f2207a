"""Run a notebook that names a kernel this image lacks on the image's Python kernel, with a notice.

Notebooks brought from other projects often name a project-specific kernel in their metadata
(``conda-env-myproject-py``, ``venv-analysis``...). Jupyter's clients then stop with
``NoSuchKernel``. This module, installed in every image with the notebook layer (JupyterLab and
the docs), makes every client fall back to :data:`FALLBACK` instead and say so:

- **Jupyter Server** (JupyterLab, the REST API): its kernel manager starts the fallback for an
  unknown name and logs the notice (services/jupyter/fractal_kernel_manager.py).
- **nbclient** (``NotebookClient(nb, kernel_manager_class=FallbackKernelManager)``) and
  ``jupyter nbconvert --execute`` (services/notebook/jupyter_nbconvert_config.py).
- **The docs build**: :func:`kernel_aliases` is MyST-NB's ``nb_kernel_rgx_aliases``; the build
  logs the notice (docs/_ext/build_report.py).
- **In the notebook itself**: the IPython extension (:func:`load_ipython_extension`, loaded in
  every kernel by services/notebook/ipython_kernel_config.py) prints the notice under the first
  cell that runs, whichever client chose the fallback (JupyterLab picks it by language).
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpecManager, NoSuchKernel
from jupyter_client.manager import AsyncKernelManager

__all__ = ["FALLBACK", "REQUESTED_ENV", "FallbackKernelManager", "FallbackKernelSpecManager", "fallback_notice",
           "installed_kernels", "is_installed", "kernel_aliases", "requested_kernel", "load_ipython_extension"]

#: The kernel every unknown name falls back to: ipykernel's Python 3, with the image's packages.
FALLBACK = NATIVE_KERNEL_NAME
#: Environment variable through which a fallback kernel learns the name the notebook asked for.
REQUESTED_ENV = "FRACTAL_KERNEL_REQUESTED"


def installed_kernels() -> set[str]:
    """Names of the kernels installed here (the image's and any the user added).

    Returns
    -------
    set of str
        Kernel names as Jupyter lists them (``jupyter kernelspec list``).
    """
    return set(KernelSpecManager().find_kernel_specs()) | {FALLBACK}


def is_installed(name: str, installed: set[str] | None = None) -> bool:
    """Whether a kernel name names an installed kernel, as Jupyter matches them (any case).

    Parameters
    ----------
    name : str
        A kernel name (``metadata.kernelspec.name``).
    installed : set of str, optional
        The installed names; default :func:`installed_kernels`.

    Returns
    -------
    bool
    """
    return name.lower() in {n.lower() for n in (installed if installed is not None else installed_kernels())}


def fallback_notice(requested: str, fallback: str = FALLBACK) -> str:
    """The notice shown when a notebook asking for ``requested`` runs on ``fallback``.

    Parameters
    ----------
    requested : str
        The kernel name in the notebook's metadata (``metadata.kernelspec.name``).
    fallback : str
        The kernel it runs on instead.

    Returns
    -------
    str
        One sentence for a log line, a cell's output or a build log.
    """
    return (f"this notebook names the kernel {requested!r}, which this image does not have: it runs on "
            f"{fallback!r} (Python 3 with the image's packages) instead. Saving it from JupyterLab "
            f"records {fallback!r} in the notebook.")


class FallbackKernelSpecManager(KernelSpecManager):
    """A kernel spec manager that answers an unknown kernel name with :data:`FALLBACK`'s spec.

    The returned spec is a copy of the fallback's with :data:`REQUESTED_ENV` in its environment,
    so the kernel can show the notice to the user; the server logs it too.
    """

    def get_kernel_spec(self, kernel_name: str):
        """The spec of ``kernel_name``, or of :data:`FALLBACK` when it is not installed.

        Parameters
        ----------
        kernel_name : str
            A kernel name, as in a notebook's ``metadata.kernelspec.name``.

        Returns
        -------
        jupyter_client.kernelspec.KernelSpec

        Raises
        ------
        jupyter_client.kernelspec.NoSuchKernel
            If neither ``kernel_name`` nor the fallback is installed.
        """
        try:
            return super().get_kernel_spec(kernel_name)
        except NoSuchKernel:
            if kernel_name == FALLBACK:
                raise
        spec = super().get_kernel_spec(FALLBACK)
        self.log.warning("fractal-notebooks: %s", fallback_notice(kernel_name))
        spec.env = {**spec.env, REQUESTED_ENV: kernel_name}
        return spec


class FallbackKernelManager(AsyncKernelManager):
    """nbclient's default kernel manager (async), resolving names by :class:`FallbackKernelSpecManager`.

    ``nbclient.NotebookClient(nb, kernel_manager_class=FallbackKernelManager).execute()`` runs a
    notebook that names a missing kernel on :data:`FALLBACK`.
    """

    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return FallbackKernelSpecManager(data_dir=self.data_dir)


def kernel_aliases() -> dict[str, str]:
    """MyST-NB's ``nb_kernel_rgx_aliases``: every name not installed here maps to :data:`FALLBACK`.

    Returns
    -------
    dict of str to str
        One regular expression (matched in full against the notebook's kernel name) and the
        fallback's name.
    """
    known = "|".join(re.escape(name) for name in sorted(installed_kernels()))
    return {f"(?i)(?!(?:{known})$).*": FALLBACK}  # any case, as is_installed


def requested_kernel(notebook: dict | str | os.PathLike) -> str | None:
    """The kernel a notebook asks for, if this image does not have it.

    Parameters
    ----------
    notebook : dict, str or path-like
        The notebook as parsed JSON, or the path of an ``.ipynb`` file.

    Returns
    -------
    str or None
        ``metadata.kernelspec.name`` when it names a kernel that is not installed; None when
        it is installed, absent, or the file cannot be read as a notebook.
    """
    if not isinstance(notebook, dict):
        try:
            notebook = json.loads(Path(notebook).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
    name = ((notebook.get("metadata") or {}).get("kernelspec") or {}).get("name")
    return name if isinstance(name, str) and name and not is_installed(name) else None


def _session_notebook() -> Path | None:
    """The notebook a Jupyter Server session started this kernel for (``JPY_SESSION_NAME``)."""
    name = os.environ.get("JPY_SESSION_NAME", "")
    if not name.endswith(".ipynb"):
        return None
    path = Path(name)
    return path if path.is_absolute() else Path(os.environ.get("JUPYTER_ROOT", ".")) / path


def load_ipython_extension(ip) -> None:
    """IPython extension: print the fallback notice under the first cell this kernel runs.

    The requested name comes from :data:`REQUESTED_ENV` (set by :class:`FallbackKernelSpecManager`
    and the server's kernel manager)
    or, when the client itself chose the fallback (JupyterLab matches kernels by language), from
    the session's notebook file. Nothing happens for a notebook whose kernel is installed.

    Parameters
    ----------
    ip : IPython.core.interactiveshell.InteractiveShell
        The kernel's shell.
    """
    import sys

    def notice(*_):
        ip.events.unregister("pre_run_cell", notice)
        requested = os.environ.get(REQUESTED_ENV)
        if not requested and (path := _session_notebook()) is not None:
            requested = requested_kernel(path)
        if requested:
            print(f"fractal-notebooks: {fallback_notice(requested)}", file=sys.stderr, flush=True)

    ip.events.register("pre_run_cell", notice)
