"""Jupyter Server's kernel manager, starting the image's Python kernel for a kernel name it lacks.

A client that asks for the kernel a notebook names (the REST API, Notebook 7, VS Code; JupyterLab
when the notebook gives no language) would get "kernel not available" for a name from another
project. :class:`FallbackMappingKernelManager` (``ServerApp.kernel_manager_class``,
/etc/jupyter/jupyter_server_config.py) starts ``python3`` instead and logs the notice; the kernel
is reported as ``python3``, so JupyterLab shows it and a save records it, and the kernel prints the
notice under the first cell (fractal_kernels, the notebook layer).
"""
from __future__ import annotations

import os

from fractal_kernels import FALLBACK, REQUESTED_ENV, fallback_notice, is_installed
from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager

__all__ = ["FallbackMappingKernelManager"]


class FallbackMappingKernelManager(AsyncMappingKernelManager):
    """Jupyter Server's default kernel manager, with :data:`fractal_kernels.FALLBACK` for unknown names."""

    async def start_kernel(self, *, kernel_id=None, path=None, **kwargs):
        """Start a kernel, as Jupyter Server does, on the fallback when its name is not installed.

        Parameters
        ----------
        kernel_id : str, optional
            An existing kernel's id: it is returned as it is.
        path : str, optional
            The API path of the notebook (the kernel's working directory).
        **kwargs
            As for :meth:`AsyncMappingKernelManager.start_kernel`: ``kernel_name``, ``env``...

        Returns
        -------
        str
            The kernel's id.
        """
        name = kwargs.get("kernel_name")
        if (kernel_id is None or kernel_id not in self) and name \
                and not is_installed(name, set(self.kernel_spec_manager.find_kernel_specs())):
            self.log.warning("fractal-notebooks: %s", fallback_notice(name))
            kwargs.update(kernel_name=FALLBACK, env={**(kwargs.get("env") or os.environ), REQUESTED_ENV: name})
        return await super().start_kernel(kernel_id=kernel_id, path=path, **kwargs)
