"""A way in at ``/`` when JupyterLab lives under a path prefix (production: ``/jupyter/``).

Production serves JupyterLab at ``JUPYTER_BASE_URL`` (``/jupyter/``, the TLS proxy's path), so
its plain-HTTP port would answer a bare 404 at ``/``. This Jupyter Server extension redirects
``/`` to the base URL. ``jupyter_server_config.py`` enables it only when the base URL is not
``/`` (in development JupyterLab itself answers at ``/``).
"""
from __future__ import annotations

from tornado.web import RedirectHandler

__all__ = []


def _jupyter_server_extension_points():
    return [{"module": __name__}]


def _load_jupyter_server_extension(serverapp) -> None:
    """Answer ``GET /`` with a redirect to the base URL (tornado's handler keeps the query string,
    so ``/?token=...`` still logs in)."""
    serverapp.web_app.add_handlers(".*$", [(r"/", RedirectHandler, {"url": serverapp.base_url, "permanent": False})])
