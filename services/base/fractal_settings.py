"""fractal-notebooks' settings: every knob of ``.env``, its default and its rule, written once.

Every entry point checks its settings here, with one message per rule:

- ``docker compose up`` (dev and production): the build-only ``settings`` service runs
  ``check`` at build time with the knobs as build arguments, so a bad value stops ``up`` in the
  user's terminal, before any image is replaced or any running container is taken down;
- every container at start (``services/base/entrypoint.sh``: ``check --service <name>``), for
  ``docker run`` and Swarm, under the names the service reads (``STREAMLIT_SERVER_*`` …);
- JupyterLab's config file and the IDE (token rules, allowed hosts), the Swarm deployment
  (``swarm/deploy-swarm.sh``, ``swarm/stack_file.py``).

``.env.example``, ``docs/configuration.md`` and the ``${VAR:-default}`` defaults of the Compose
files are tested to hold the same values as :data:`KNOBS` (``tests/test_settings.py``).

Standard library only: it runs on the bare Python image (``python -S``) before anything else.
"""
from __future__ import annotations

import argparse
import ipaddress
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

__all__ = ["KNOBS", "Knob", "SettingError", "allowed_hosts", "check", "check_token", "is_loopback", "main"]

#: Shortest token or password accepted from ``JUPYTER_TOKEN`` / ``IDE_PASSWORD``.
MIN_TOKEN_LENGTH = 32
#: Exit status of a refused setting (``EX_USAGE``, sysexits.h).
EX_USAGE = 64

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$")


class SettingError(ValueError):
    """A setting (environment variable or stored state) that a service must not start with."""


# --- rules: each takes the value and returns it, or raises SettingError with the reason -------

def _whole(low: int, high: int | None = None, unit: str = "") -> Callable[[str], str]:
    span = f"from {low} to {high}" if high is not None else f"of at least {low}"
    what = f"a whole number {span}" + (f" ({unit})" if unit else "")

    def rule(value: str) -> str:
        if not re.fullmatch(r"[0-9]+", value) or int(value) < low or (high is not None and int(value) > high):
            raise SettingError(f"must be {what}")
        return value
    rule.__doc__ = what
    return rule


def _optional(rule: Callable[[str], str]) -> Callable[[str], str]:
    def optional(value: str) -> str:
        return value if value == "" else rule(value)
    optional.__doc__ = f"empty, or {rule.__doc__}"
    return optional


def _choice(*options: str) -> Callable[[str], str]:
    listed = ", ".join(options[:-1]) + " or " + options[-1]

    def rule(value: str) -> str:
        if value not in options:
            raise SettingError(f"must be {listed}")
        return value
    rule.__doc__ = listed
    return rule


def _pattern(regex: str, what: str) -> Callable[[str], str]:
    def rule(value: str) -> str:
        if not re.fullmatch(regex, value):
            raise SettingError(f"must be {what}")
        return value
    rule.__doc__ = what
    return rule


def _address(value: str) -> str:
    """an IP address or localhost"""
    if value.lower() == "localhost":
        return value
    try:
        ipaddress.ip_address(value.strip("[]"))
    except ValueError:
        raise SettingError("must be an IP address of this machine (127.0.0.1, 0.0.0.0, ::1, …) or localhost") from None
    return value


def _host_names(value: str) -> str:
    """space-separated host names"""
    for entry in value.split():
        name = entry.lower().rstrip(".")
        if "*" in name:
            raise SettingError(f"{entry!r} is a wildcard; name each host the browser will use (allowing "
                               "every host would let any web page drive the servers through DNS rebinding)")
        if "," in name:
            raise SettingError(f"{entry!r}: separate host names with spaces, not commas")
        try:
            ipaddress.ip_address(name.strip("[]"))
        except ValueError:
            pass
        else:
            raise SettingError(f"{entry!r} is an IP address; JupyterLab's Host check accepts IP addresses "
                               "only on loopback, so give a name that resolves to this machine (DNS or "
                               "/etc/hosts) or use an SSH tunnel")
        if not _HOSTNAME.match(name):
            raise SettingError(f"{entry!r} is not a host name (no scheme, port or path; e.g. "
                               "ALLOWED_HOSTS=workstation.lan notebooks.example.org)")
    return value


def _advice(variable: str) -> str:
    return (f"set one of at least {MIN_TOKEN_LENGTH} characters in .env, e.g. paste the output of "
            f"`openssl rand -hex 24` (.env does not run commands); in development you may instead remove "
            f"{variable} to have a random one generated and kept (production requires one)")


def check_token(token: str, source: str = "JUPYTER_TOKEN", variable: str = "JUPYTER_TOKEN") -> str:
    """Return ``token`` if it may protect a server (JupyterLab's token, code-server's password).

    Parameters
    ----------
    token : str
        The candidate.
    source : str
        Where it came from, named in the message (a variable, a stored file).
    variable : str
        The environment variable that sets it, named in the advice.

    Returns
    -------
    str
        ``token``, unchanged.

    Raises
    ------
    SettingError
        If it is empty or blank (no authentication at all), shorter than
        :data:`MIN_TOKEN_LENGTH` characters, or holds whitespace or non-printable characters.
        The message never contains the token.
    """
    if not token.strip():
        raise SettingError(f"{source} is set but empty; an empty token would turn authentication "
                           f"off, so the server does not start: {_advice(variable)}")
    if len(token) < MIN_TOKEN_LENGTH:
        raise SettingError(f"{source} is too short ({len(token)} characters, at least "
                           f"{MIN_TOKEN_LENGTH} needed): {_advice(variable)}")
    if not token.isprintable() or any(ch.isspace() for ch in token):
        raise SettingError(f"{source} contains whitespace or non-printable characters: {_advice(variable)}")
    return token


def _page(value: str, apps: Path | None) -> str:
    if "/" in value or not value.endswith(".py") or value == "gallery.py" or (apps and not (apps / value).is_file()):
        pages = sorted(p.name for p in apps.glob("*.py") if p.name != "gallery.py") if apps else []
        hint = f"; did you mean STREAMLIT_APP={value}.py?" if apps and (apps / f"{value}.py").is_file() else ""
        raise SettingError(f"is not a page under {apps or 'apps/'}; the pages there: {' '.join(pages)}{hint}")
    return value


@dataclass(frozen=True)
class Knob:
    """One setting of ``.env``.

    Attributes
    ----------
    name : str
        The variable in ``.env`` and the shell.
    default : str
        Its value when unset (what ``.env.example`` and the Compose files write).
    rule : callable or None
        ``rule(value) -> value``, raising :class:`SettingError`; None: Compose itself checks it.
    services : dict of str to str
        Service name -> the variable the service's container reads it as.
    secret : bool
        Never passed to a build (it would stay in the image's history): checked at start only.
    prod : str or None
        Its value when unset in production (compose.prod.yaml), if that differs from ``default``.
    env_file : bool
        A setting Compose reads (from the shell or ``.env``); False: a script's own or inside an image.
    """

    name: str
    default: str
    rule: Callable[[str], str] | None = None
    services: Mapping[str, str] = ()  # type: ignore[assignment]
    secret: bool = False
    prod: str | None = None
    env_file: bool = True

    def __post_init__(self):
        object.__setattr__(self, "services", dict(self.services))


_ALL = ("streamlit", "jupyter", "docs", "ide", "proxy")
_SECONDS = _whole(0, unit="seconds")
_TAG = _pattern(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", "a valid image tag (letters, digits, '_', '.', '-')")
_HOST_PORT = _pattern(r"[A-Za-z0-9][A-Za-z0-9._-]*:[0-9]{1,5}", "host:port")

#: Every knob, in the order of ``.env.example``.
KNOBS: tuple[Knob, ...] = (
    Knob("BIND_ADDRESS", "127.0.0.1", _address, {s: "BIND_ADDRESS" for s in _ALL}),
    Knob("ALLOWED_HOSTS", "", _host_names, {s: "ALLOWED_HOSTS" for s in _ALL}),
    Knob("STREAMLIT_PORT", "8501", _whole(1, 65535)),
    Knob("JUPYTER_PORT", "8888", _whole(1, 65535), {"jupyter": "JUPYTER_PUBLISHED_PORT"}),
    Knob("DOCS_PORT", "8000", _whole(1, 65535)),
    Knob("IDE_PORT", "8080", _whole(1, 65535), {"ide": "IDE_PUBLISHED_PORT"}),
    Knob("APP_BIND_ADDRESS", "127.0.0.1", _address),
    Knob("JUPYTER_OFFLINE", "false", _choice("true", "false")),
    Knob("MAX_UPLOAD_MB", "25", _whole(1, unit="MB"),
         {"jupyter": "MAX_UPLOAD_MB", "proxy": "MAX_UPLOAD_MB", "streamlit": "STREAMLIT_SERVER_MAX_UPLOAD_SIZE"}),
    Knob("MAX_MESSAGE_MB", "200", _whole(1, unit="MB"), {"streamlit": "STREAMLIT_SERVER_MAX_MESSAGE_SIZE"}),
    Knob("HOST_UID", "", _optional(_whole(0, 2**31 - 1, "a user ID")), {s: "HOST_UID" for s in _ALL}, prod="1000"),
    Knob("HOST_GID", "", _optional(_whole(0, 2**31 - 1, "a group ID")), {s: "HOST_GID" for s in _ALL}, prod="1000"),
    Knob("JUPYTER_TOKEN", "", check_token, {"jupyter": "JUPYTER_TOKEN"}, secret=True),
    Knob("IDE_PASSWORD", "", check_token, {"ide": "IDE_PASSWORD"}, secret=True),
    Knob("STREAMLIT_APP", "branching_tree.py", None, {"streamlit": "STREAMLIT_APP"}),  # _page, with the folder
    Knob("STREAMLIT_FILE_WATCHER", "auto", _choice("auto", "watchdog", "poll", "none"),
         {"streamlit": "STREAMLIT_SERVER_FILE_WATCHER_TYPE"}),
    Knob("STREAMLIT_DISCONNECTED_SESSION_TTL", "120", _SECONDS,
         {"streamlit": "STREAMLIT_SERVER_DISCONNECTED_SESSION_TTL"}),
    Knob("DOCS_FILE_WATCHER", "auto", _choice("auto", "poll"), {"docs": "DOCS_FILE_WATCHER"}),
    Knob("NB_EXECUTION_MODE", "cache", _choice("cache", "force", "off"), {"docs": "NB_EXECUTION_MODE"}),
    Knob("NUMBA_NUM_THREADS", "", _optional(_whole(1, unit="threads")), {s: "NUMBA_NUM_THREADS" for s in _ALL}),
    Knob("NOTEBOOKS_DIR", "./notebooks"),
    Knob("DOCS_DIR", "./docs"),
    Knob("PYTHON_IMAGE", "python:3.11-slim"),
    Knob("BASE_IMAGE", "python:3.11-slim"),  # PYTHON_IMAGE's old name, still read
    Knob("IMAGE_REPO", "fractal-notebooks", _pattern(r"[a-z0-9][a-z0-9._/:-]*", "an image repository "
                                                     "(lower-case letters, digits, '.', '_', '-', '/', host:port)")),
    Knob("IMAGE_TAG", "dev", _TAG, prod="prod"),
    Knob("APP_VERSION", "0.1.0", _TAG),
    Knob("GIT_SHA", "local", _TAG),
    Knob("DEPLOY_ENV", "prod", _TAG),
    Knob("NOTEBOOKS_VOLUME", "notebooks"),
    Knob("STREAMLIT_CPUS", "2"), Knob("STREAMLIT_MEMORY", "2g"), Knob("STREAMLIT_PIDS", "256"),
    Knob("JUPYTER_CPUS", "2"), Knob("JUPYTER_MEMORY", "4g"), Knob("JUPYTER_PIDS", "512"),
    Knob("JUPYTER_CULL_IDLE_TIMEOUT", "3600", _SECONDS, {"jupyter": "JUPYTER_CULL_IDLE_TIMEOUT"}),
    Knob("JUPYTER_CULL_INTERVAL", "60", _whole(1, unit="seconds"), {"jupyter": "JUPYTER_CULL_INTERVAL"}),
    Knob("DOCS_CPUS", "0.5"), Knob("DOCS_MEMORY", "128m"), Knob("DOCS_PIDS", "64"),
    Knob("PROXY_CPUS", "0.5"), Knob("PROXY_MEMORY", "128m"), Knob("PROXY_PIDS", "64"),
    Knob("LOG_MAX_SIZE", "10m"), Knob("LOG_MAX_FILE", "5"),
    Knob("PROXY_HTTPS_PORT", "8443", _whole(1, 65535)),
    Knob("PROXY_TLS_DIR", "./certs/proxy"),
    Knob("PROXY_SELF_SIGNED", "false", _choice("true", "false"), {"proxy": "PROXY_SELF_SIGNED"}),
    Knob("PROXY_CONNECTIONS_PER_CLIENT", "256", _whole(1), {"proxy": "PROXY_CONNECTIONS_PER_CLIENT"}),
    Knob("STREAMLIT_REPLICAS", "2", _whole(1, 64)),
    Knob("DOCS_REPLICAS", "2", _whole(1, 64)),
    Knob("BALANCER_COOKIE_KEY", "fractal-notebooks", _pattern(r"[A-Za-z0-9._-]+", "letters, digits, '.', '_' or '-'"),
         {"balancer": "BALANCER_COOKIE_KEY"}),
    # Inside the proxy image only: where nginx sends /app/, and the balancer's Streamlit servers
    # (a DNS name with one address per process; swarm/compose.yaml gives Swarm's).
    Knob("PROXY_APP_UPSTREAM", "balancer:8501", _HOST_PORT, {"proxy": "PROXY_APP_UPSTREAM"}, env_file=False),
    Knob("BALANCER_SERVERS", "streamlit:8501", _HOST_PORT, {"balancer": "BALANCER_SERVERS"}, env_file=False),
    # scripts/publish.sh and swarm/deploy-swarm.sh read these themselves (the shell's, else .env's).
    Knob("REGISTRY", "", _optional(_pattern(r"[a-z0-9][a-z0-9.-]*(:[0-9]+)?(/[a-z0-9][a-z0-9._-]*)+",
                                             "host[:port]/path, lower-case (e.g. registry.example.org/fractal)")),
         env_file=False),
    Knob("STACK_NAME", "fractal-notebooks", _pattern(r"[a-z0-9][a-z0-9_-]{0,62}", "lower-case letters, digits, "
                                                     "'-' and '_' (at most 63)"), env_file=False),
    Knob("SWARM_WAIT", "600", _whole(1, unit="seconds"), env_file=False),
)
#: What the build-only ``settings`` service checks at every ``up`` (compose.yaml passes each as a
#: build argument, the Dockerfile's settings stage declares each): no secret, nothing inside an image.
BUILD_CHECKED = tuple(k.name for k in KNOBS if k.env_file and not k.secret and (k.rule or k.name == "STREAMLIT_APP"))
#: The secrets the ``settings`` service checks too: BuildKit secrets (``secrets:`` in compose.yaml,
#: ids in lower case), never build arguments, so no value reaches an image, its history or the
#: cache; the build argument ``<NAME>_SET`` (``${NAME+yes}``) tells an unset secret from an empty one.
BUILD_SECRETS = tuple(k.name for k in KNOBS if k.env_file and k.secret)
BY_NAME = {k.name: k for k in KNOBS}


def _shown(value: str) -> str:
    return value if re.fullmatch(r"[^\s'\"]+", value) else repr(value)


def is_loopback(address: str) -> bool:
    """Whether a ``BIND_ADDRESS`` value publishes to this machine only.

    Parameters
    ----------
    address : str
        An IP address (IPv6 with or without brackets) or ``localhost``.

    Returns
    -------
    bool
        True for loopback addresses (127.0.0.0/8, ::1) and ``localhost``; False for everything
        else, including ``0.0.0.0`` and host names.
    """
    address = address.strip().strip("[]")
    if address.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def allowed_hosts(environ: Mapping[str, str]) -> list[str]:
    """The host names, besides ``localhost`` and loopback addresses, the servers answer to.

    Parameters
    ----------
    environ : mapping of str to str
        ``ALLOWED_HOSTS`` (space-separated host names) and ``BIND_ADDRESS`` (default 127.0.0.1).

    Returns
    -------
    list of str
        The names from ``ALLOWED_HOSTS``, lower-cased, without a trailing dot.

    Raises
    ------
    SettingError
        The first problem :func:`check` finds with these two settings.
    """
    problems = check({k: environ[k] for k in ("ALLOWED_HOSTS", "BIND_ADDRESS") if k in environ},
                     names=("ALLOWED_HOSTS", "BIND_ADDRESS"))
    if problems:
        raise SettingError(problems[0])
    return [entry.lower().rstrip(".") for entry in environ.get("ALLOWED_HOSTS", "").split()]


def check(environ: Mapping[str, str], service: str | None = None, names=None, apps: Path | None = None) -> list[str]:
    """Every problem with a set of settings, one message each (empty: all good).

    Parameters
    ----------
    environ : mapping of str to str
        The variables, unset ones taking their :attr:`Knob.default`.
    service : str, optional
        Check the knobs of this service under the names its container reads (``entrypoint.sh``);
        by default every knob under its ``.env`` name (Compose, Swarm).
    names : iterable of str, optional
        Only these knobs (by ``.env`` name).
    apps : pathlib.Path, optional
        The gallery's pages folder: ``STREAMLIT_APP`` must name a page there.

    Returns
    -------
    list of str
        ``"NAME=value <reason>"`` per refused value (a secret's value is never shown); in a
        container, the variable that carried it, then the ``.env`` name.
    """
    values: dict[str, str] = {}
    problems = []
    for knob in KNOBS:
        if names is not None and knob.name not in names:
            continue
        if service is None:
            var = knob.name
        elif service in knob.services:
            var = knob.services[service]
        else:
            continue
        value = environ.get(var, knob.default)
        values[knob.name] = value
        rule = (lambda v: _page(v, apps)) if knob.name == "STREAMLIT_APP" else knob.rule
        # A secret only when it is set (an unset JUPYTER_TOKEN is generated); its value never shown.
        if rule is None or (knob.secret and var not in environ):
            continue
        try:
            if knob.secret:  # named, never shown
                check_token(value, var, knob.name)
            else:
                rule(value)
        except SettingError as exc:
            told = "" if var == knob.name else f" ({knob.name} in .env)"
            sep = ": " if str(exc).startswith("'") else " "  # a reason that quotes one entry of the value
            problems.append(f"{exc}{told}" if knob.secret else f"{var}={_shown(value)}{sep}{exc}{told}")
    bind = values.get("BIND_ADDRESS")
    if bind is not None and "ALLOWED_HOSTS" in values and not is_loopback(bind) and not values["ALLOWED_HOSTS"].split():
        if not any(p.startswith(("BIND_ADDRESS=", "ALLOWED_HOSTS=")) for p in problems):
            problems.append(f"BIND_ADDRESS={bind} publishes the ports beyond this machine: set ALLOWED_HOSTS "
                            "to the host names you will browse to (space-separated, e.g. "
                            "ALLOWED_HOSTS=workstation.lan); requests for any other Host are refused")
    return problems


def main(argv: list[str] | None = None, environ: Mapping[str, str] = os.environ) -> int:
    """``fractal_settings.py check [--service NAME] [--apps DIR] [--environ FILE]``: print every problem.

    Parameters
    ----------
    argv : list of str, optional
        The command line (default ``sys.argv[1:]``).
    environ : mapping of str to str
        The variables to check.

    Returns
    -------
    int
        0 if every setting is good, :data:`EX_USAGE` (64) otherwise.
    """
    parser = argparse.ArgumentParser(prog="fractal-settings", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["check"])
    parser.add_argument("--service", help="check under the names this service's container reads")
    parser.add_argument("--apps", type=Path, help="the gallery's pages folder, for STREAMLIT_APP")
    parser.add_argument("--environ", type=argparse.FileType(), metavar="FILE",
                        help="read NAME=value lines (`docker compose config --environment`; - for stdin) "
                             "instead of the environment")
    args = parser.parse_args(argv)
    if args.environ:
        environ = dict(line.rstrip("\n").split("=", 1) for line in args.environ if "=" in line)
    problems = check(environ, args.service, apps=args.apps)
    where = f"{args.service} refuses to start" if args.service else "a setting in .env (or the shell) is wrong"
    for problem in problems:
        print(f"fractal-notebooks: {where}: {problem}", file=sys.stderr)
    if problems and not args.service:
        print("fractal-notebooks: nothing was started or changed; every setting: docs/configuration.md", file=sys.stderr)
    return EX_USAGE if problems else 0


if __name__ == "__main__":
    sys.exit(main())
