"""Jupyter Server settings of the fractal-notebooks JupyterLab image: token and Host check.

Installed as ``/etc/jupyter/jupyter_server_config.py`` (the place jupyter/docker-stacks uses),
so ``jupyter lab`` loads it before it binds its port. It keeps a web page from driving the
server (DNS rebinding) and keeps the token out of the repository:

- **Token.** ``JUPYTER_TOKEN`` from the environment (``.env``) wins and must be at least
  :data:`MIN_TOKEN_LENGTH` printable characters; an empty or short value stops the server with
  a message. Without it, the first start draws a random token from the OS's CSPRNG (256 bits),
  keeps it in the state volume (:data:`STATE_DIR`, so it survives ``down``/``up``) and every
  start prints the login URL to the log (``docker compose logs jupyter | grep 'login URL'``).
- **Saves.** Atomic: a file on the volume is always the old or the new one, whatever the moment
  the server is killed (``fractal_contents.AtomicContentsManager``).
- **Kernels.** A notebook that names a kernel the image lacks runs on its Python kernel, with a
  notice (``fractal_kernel_manager.FallbackMappingKernelManager``), instead of "kernel not available".
- **Host check.** Jupyter Server's own check (``ServerApp.allow_remote_access = False``):
  requests whose ``Host`` is neither a loopback address, ``localhost`` nor a name listed in
  ``ALLOWED_HOSTS`` get 403. Publishing on a non-loopback ``BIND_ADDRESS`` without naming the
  allowed hosts stops the server; there is no "allow every host" value.

The functions are importable without Jupyter (the fast tests use them); the settings are
applied only when Jupyter's config loader runs this file (it provides ``get_config``).
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

# The rules of every setting, shared by every service (services/base/fractal_settings.py).
from fractal_settings import MIN_TOKEN_LENGTH, SettingError, allowed_hosts, check_token, is_loopback

__all__ = ["MIN_TOKEN_LENGTH", "PORT", "SettingError", "allowed_hosts", "check_token", "configure", "is_loopback",
           "login_urls", "resolve_token"]

#: The port JupyterLab listens on inside its container, on every interface of the container.
#: (``JUPYTER_PORT`` is the other side: the host's port that Compose publishes it on.)
PORT = 8888
#: Where the generated token is kept: a named volume in compose.yaml (``jupyter-state``).
STATE_DIR = Path("/var/lib/fractal/jupyter")
#: Bytes drawn for a generated token (hex-encoded: 64 characters, 256 bits).
TOKEN_BYTES = 32


def resolve_token(environ: dict[str, str], state_dir: Path = STATE_DIR, variable: str = "JUPYTER_TOKEN",
                  volume: str = "jupyter-state") -> tuple[str, bool]:
    """Find the server's token: from the environment, else stored, else newly generated.

    Parameters
    ----------
    environ : dict of str to str
        The process environment; ``variable`` is read from it.
    state_dir : pathlib.Path
        Directory of the stored token (file ``token``, mode 0600). A new token is written
        there without ever replacing an existing file.
    variable : str
        The environment variable that sets the token (the IDE's start script passes
        ``IDE_PASSWORD``: code-server's password follows the same rules).
    volume : str
        The named volume mounted at ``state_dir``, for the error messages.

    Returns
    -------
    token : str
        The token.
    stored : bool
        True if the token comes from (or was just written to) ``state_dir``, False if it was
        given in ``JUPYTER_TOKEN``.

    Raises
    ------
    SettingError
        If ``variable``'s value is unacceptable (see :func:`check_token`), if the stored token is
        damaged (the file is left as it is), or if ``state_dir`` cannot hold a new token.
    """
    if variable in environ:
        return check_token(environ[variable], variable, variable), False
    path = state_dir / "token"
    if not os.path.lexists(path):
        tmp = state_dir / f".token.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(TOKEN_BYTES) + "\n")
                f.flush()
                os.fsync(f.fileno())
            try:
                os.link(tmp, path)  # atomic, and never replaces a token another start just wrote
            except FileExistsError:
                pass
        except OSError as exc:
            raise SettingError(f"{variable} is not set and no token can be stored in {state_dir} "
                               f"({exc.strerror}); mount a writable volume there (compose.yaml "
                               f"does: {volume}) or set {variable}") from exc
        finally:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
    try:
        stored = path.read_text(encoding="ascii").rstrip("\n")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingError(f"the stored token {path} cannot be read ({exc}); delete it (or the "
                           f"{volume} volume) to have a new one generated") from exc
    try:
        return check_token(stored, f"the stored token {path}", variable), True
    except SettingError as exc:
        raise SettingError(f"{exc} -- or delete {path} (the {volume} volume) to have a new "
                           f"one generated") from None


def login_urls(environ: dict[str, str], token: str, hosts: list[str]) -> list[str]:
    """The URLs, with token, at which JupyterLab is reached from the Docker host.

    Parameters
    ----------
    environ : dict of str to str
        ``JUPYTER_PUBLISHED_PORT`` (host port, default 8888), ``JUPYTER_BASE_URL`` (default
        ``/``) and ``BIND_ADDRESS`` (default 127.0.0.1).
    token : str
        The token to put in the URLs.
    hosts : list of str
        The allowed host names (see :func:`allowed_hosts`); one URL each.

    Returns
    -------
    list of str
        ``http://127.0.0.1:<port>/lab?token=...`` when the port is published on loopback or on
        every interface, then one URL per allowed host name.
    """
    port = environ.get("JUPYTER_PUBLISHED_PORT", "8888")
    base = "/" + environ.get("JUPYTER_BASE_URL", "/").strip("/")
    base = base.rstrip("/") + "/lab?token=" + token
    bind = environ.get("BIND_ADDRESS", "127.0.0.1").strip().strip("[]")
    local = []
    if is_loopback(bind) or bind in ("0.0.0.0", "::", ""):
        host = bind if is_loopback(bind) and bind.lower() != "localhost" else "127.0.0.1"
        local = [f"http://{f'[{host}]' if ':' in host else host}:{port}{base}"]
    return local + [f"http://{h}:{port}{base}" for h in hosts]


def configure(c, environ: dict[str, str] = os.environ, state_dir: Path = STATE_DIR) -> None:
    """Apply the address, token and Host-check settings to a Jupyter Server config object.

    Parameters
    ----------
    c : traitlets.config.Config
        The config being loaded (``get_config()``).
    environ : mapping of str to str
        The process environment.
    state_dir : pathlib.Path
        Directory of the stored token.

    Raises
    ------
    SystemExit
        With a one-line explanation, on any :class:`SettingError`: the server must not start.
        (Jupyter's config loader would only log an ordinary exception and go on.)
    """
    try:
        token, stored = resolve_token(environ, state_dir)
        hosts = allowed_hosts(environ)
    except SettingError as exc:
        raise SystemExit(f"fractal-notebooks: JupyterLab refuses to start: {exc}") from None
    c.ServerApp.ip = "0.0.0.0"
    c.ServerApp.port = PORT
    c.IdentityProvider.token = token
    c.ServerApp.contents_manager_class = "fractal_contents.AtomicContentsManager"
    c.ServerApp.kernel_manager_class = "fractal_kernel_manager.FallbackMappingKernelManager"
    c.ServerApp.allow_remote_access = False
    if environ.get("JUPYTER_BASE_URL", "/").strip("/"):  # production: /jupyter/; `/` says where it is
        c.ServerApp.jpserver_extensions = {**c.ServerApp.get("jpserver_extensions", {}), "fractal_root": True}
    c.ServerApp.local_hostnames = ["localhost", *hosts]
    urls = login_urls(environ, token, hosts)
    if urls:  # Jupyter's own startup lines then name the host's port too (token shown as "...")
        c.ServerApp.custom_display_url = urls[0].split("/lab?", 1)[0]
    if stored:
        lines = [f"JupyterLab login URL: {url}" for url in urls]
        lines.append("(token generated on first start and kept in the jupyter-state volume; "
                     "`docker compose down -v` discards it)")
    else:
        lines = ["JupyterLab uses the JUPYTER_TOKEN from the environment (.env)."]
    print("\n".join(f"[fractal-notebooks] {line}" for line in lines), flush=True)

if "get_config" in globals():  # run by Jupyter's config loader (traitlets), not on import
    configure(get_config())  # noqa: F821 (provided by the loader)
