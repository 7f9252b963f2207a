"""Tell the JupyterLab user, in JupyterLab itself, when its notebook folders cannot be written.

JupyterLab shows the result of ``LabApp.check_for_updates_class`` as a notification when it
starts (``/lab/api/update``). This image uses that hook, and never asks the internet for a new
version: the only message is ours, when the notebooks folder is read-only for the user the
server runs as (see services/base/entrypoint.sh, which also says so in the log).
"""
from __future__ import annotations

import os

from jupyterlab.handlers.announcements import CheckForUpdateABC

__all__ = ["WritableRootCheck"]


class WritableRootCheck(CheckForUpdateABC):
    """A JupyterLab update checker that reports unwritable notebook folders instead.

    The folders are ``$FRACTAL_WRITABLE_DIRS`` (space-separated; the workspace and the docs in
    development, the notebooks volume in production), else ``$JUPYTER_ROOT``. They are checked
    on every call (each JupyterLab page load), so fixing an owner removes the message without a
    restart.
    """

    async def __call__(self) -> str | None:
        folders = os.environ.get("FRACTAL_WRITABLE_DIRS", "").split() or [os.environ.get("JUPYTER_ROOT", os.getcwd())]
        locked = [(d, os.stat(d)) for d in folders if os.path.isdir(d) and not os.access(d, os.W_OK)]
        if not locked:
            return None
        if os.environ.get("HOST_UID") or os.environ.get("HOST_GID"):
            ids = f"{os.getuid()}:{os.getgid()}"
            fix = (f"HOST_UID/HOST_GID in .env chose {ids}: give the folder to {ids} on the host, "
                   "or empty HOST_UID/HOST_GID to run as the checkout's owner")
        else:
            fix = "Fix the folder's owner on the host, or set HOST_UID/HOST_GID in .env"
        return " ".join(f"{d} is not writable by UID {os.getuid()}: notebooks there open read-only. "
                        f"It belongs to {st.st_uid}:{st.st_gid}." for d, st in locked) + \
            f" {fix} (see docker compose logs jupyter)."
