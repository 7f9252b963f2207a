"""A self-signed certificate for the TLS proxy under test."""
from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["self_signed"]


def self_signed(directory: Path, names: tuple[str, ...] = ("DNS:localhost", "IP:127.0.0.1")) -> str:
    """Write PEM ``tls.crt`` and ``tls.key`` (RSA 2048, valid one day) into ``directory``.

    The key is made world-readable: the proxy's non-root user reads it through a bind mount.

    Parameters
    ----------
    directory : Path
        Created if missing (the project's ``PROXY_TLS_DIR``).
    names : tuple of str
        The subjectAltName entries, e.g. ``("DNS:localhost", "IP:127.0.0.1")``.

    Returns
    -------
    str
        The certificate's path: what clients verify the proxy against.

    Raises
    ------
    subprocess.CalledProcessError
        If ``openssl`` fails.
    """
    directory.mkdir(parents=True, exist_ok=True)
    crt, key = directory / "tls.crt", directory / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=" + ",".join(names), "-keyout", str(key), "-out", str(crt)],
                   check=True, capture_output=True, timeout=120)
    key.chmod(0o644)
    return str(crt)
