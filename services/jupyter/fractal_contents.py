"""JupyterLab's file saves, made atomic: a file on the volume is always the old or the new one.

Jupyter Server's own "atomic writing" (``jupyter_server.services.contents.fileio``) copies the
old file to ``.~name``, then truncates the file itself and writes it in place; a server killed
in between (OOM, ``kill -9``, a power cut) leaves a truncated or empty notebook behind, repaired
only if Jupyter later opens it and finds the copy. This contents manager writes the new content
to a temporary file beside the target, syncs it, and renames it over the target (POSIX
``rename(2)`` replaces atomically within one file system), then syncs the folder. The file's
permission bits are kept; ownership is the server's user, as before.

Configured in ``/etc/jupyter/jupyter_server_config.py`` (``ServerApp.contents_manager_class``).
A temporary file left by a kill is named ``.~<name>.<random>.saving`` (hidden in JupyterLab).
"""
from __future__ import annotations

import os
import stat
import tempfile
from contextlib import contextmanager

from jupyter_server.services.contents.largefilemanager import AsyncLargeFileManager

__all__ = ["AtomicContentsManager", "replace_atomically"]


@contextmanager
def replace_atomically(path, text=True, encoding="utf-8", log=None, **kwargs):
    """Open a temporary file beside ``path``; on success, sync it and rename it over ``path``.

    Parameters
    ----------
    path : str
        The file to write. A symbolic link is followed (its target is replaced), as Jupyter does.
    text : bool
        Text mode (Unix line endings) if True, binary otherwise.
    encoding : str
        Encoding in text mode.
    log : logging.Logger, optional
        Unused; accepted for Jupyter's call signature.
    **kwargs
        Passed to :func:`open`.

    Yields
    ------
    file object
        The temporary file. If the block raises, it is removed and ``path`` is untouched.

    Raises
    ------
    OSError
        If the folder cannot hold the temporary file (no space, no permission); ``path`` is
        untouched.
    """
    if os.path.islink(path):
        path = os.path.join(os.path.dirname(path), os.readlink(path))
    folder = os.path.dirname(path) or os.getcwd()
    fd, tmp = tempfile.mkstemp(prefix=f".~{os.path.basename(path)}.", suffix=".saving", dir=folder)
    try:
        try:
            mode = stat.S_IMODE(os.stat(path).st_mode)
        except FileNotFoundError:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.fchmod(fd, mode)
        if text:
            kwargs.setdefault("newline", "\n")
            f = os.fdopen(fd, "w", encoding=encoding, **kwargs)
        else:
            f = os.fdopen(fd, "wb", **kwargs)
        with f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass  # the rename is done; a folder that cannot be synced is only less durable


class AtomicContentsManager(AsyncLargeFileManager):
    """Jupyter Server's default contents manager, with saves by :func:`replace_atomically`.

    A folder the server may not write (where no temporary file can be made) but whose file it
    may, falls back to Jupyter's own in-place write, as Jupyter does.
    """

    @contextmanager
    def atomic_writing(self, os_path, *args, **kwargs):
        folder = os.path.dirname(os_path) or os.getcwd()
        if not self.use_atomic_writing or (os.path.isfile(os_path) and not os.access(folder, os.W_OK)):
            with super().atomic_writing(os_path, *args, **kwargs) as f:
                yield f
            return
        with self.perm_to_403(os_path), replace_atomically(os_path, *args, **kwargs) as f:
            yield f
