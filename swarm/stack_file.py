#!/usr/bin/env python3
"""Turn a merged Compose configuration into a file ``docker stack deploy`` accepts.

Reads ``docker compose ... config --format json`` on stdin and writes the stack file (JSON, which
is YAML) on stdout. Python's standard library only: it runs wherever the Docker CLI does.

``docker stack deploy`` reads the Compose file format version 3 and refuses or ignores parts of
the Compose Specification that our files use. Each change below says why:

- the top-level ``name`` and the ``name`` of networks and volumes: the stack's name (the
  argument of ``docker stack deploy``) prefixes every object instead;
- the build-only services (``scale: 0``: the parents the others start FROM, the settings
  check) and the top-level secrets only the settings check reads (Swarm has no ``environment:``
  secrets);
- ``build``, ``profiles``, ``depends_on``, ``scale``: no build in Swarm, no profiles, no start
  order (a service waits for its upstreams itself: nginx and HAProxy re-resolve);
- ``restart``: Swarm restarts by ``deploy.restart_policy`` (swarm/compose.yaml);
- ``security_opt``: a service cannot set it (``docker stack deploy`` would say "Ignoring
  unsupported options"); ``no-new-privileges`` for every container is the engine's own setting
  (``"no-new-privileges": true`` in daemon.json, docs/swarm.md);
- ``healthcheck.start_interval``: not in the format; Swarm checks every ``interval`` from start;
- a port's ``host_ip``: Swarm publishes on all of the node's addresses; ``published`` and CPU
  limits as the types the format wants (number, string);
- a network's ``gw_priority``: no gateway choice in Swarm;
- ``tmpfs`` (short syntax): Swarm ignores it, so each becomes a ``type: tmpfs`` mount with its
  size and mode (without this, the read-only root has no writable /tmp);
- keys set to null (``entrypoint: null``): the image's own.

Everything else is passed through; ``docker stack deploy`` validates it and names any key it
does not know.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "services" / "base"))
import fractal_settings  # noqa: E402  (the rules every service applies)

__all__ = ["stack_file"]

#: Task slots of the balancer (services/proxy/haproxy.cfg, server-template).
MAX_REPLICAS = 64
DROPPED_SERVICE_KEYS = ("build", "profiles", "depends_on", "scale", "restart", "security_opt")


def stack_file(config: dict) -> dict:
    """Convert a merged Compose configuration into a ``docker stack deploy`` file.

    Parameters
    ----------
    config : dict
        The output of ``docker compose -f ... config --format json`` (interpolated, merged).

    Returns
    -------
    dict
        A new configuration; ``config`` is not modified.

    Raises
    ------
    ValueError
        If no service is left to deploy, a service would run fewer than 1 or more than
        ``MAX_REPLICAS`` replicas, a tmpfs option has no Swarm equivalent, or a setting would
        stop a service at start (a service's environment that ``fractal_settings.check`` refuses:
        the rules its entrypoint applies, e.g. a short JUPYTER_TOKEN, a wildcard in ALLOWED_HOSTS,
        a BALANCER_COOKIE_KEY with other characters than letters, digits, ``.``, ``_``, ``-``).
    """
    out = json.loads(json.dumps(config))  # a deep copy
    out.pop("name", None)
    services = {}
    for name, svc in out.get("services", {}).items():
        replicas = (svc.get("deploy") or {}).get("replicas", 1)
        if svc.get("scale") == 0:  # build-only (a parent image, the .env check): never runs
            continue
        if not 1 <= replicas <= MAX_REPLICAS:
            raise ValueError(f"service {name!r} would run {replicas} replicas: STREAMLIT_REPLICAS and "
                             f"DOCS_REPLICAS must be whole numbers from 1 to {MAX_REPLICAS}")
        for key in DROPPED_SERVICE_KEYS:
            svc.pop(key, None)
        for key in [k for k, v in svc.items() if v is None]:
            del svc[key]
        (svc.get("healthcheck") or {}).pop("start_interval", None)
        tmpfs = svc.pop("tmpfs", None) or []
        svc.setdefault("volumes", []).extend(_tmpfs_mount(t) for t in ([tmpfs] if isinstance(tmpfs, str) else tmpfs))
        if not svc["volumes"]:
            del svc["volumes"]
        for port in svc.get("ports") or []:
            port.pop("host_ip", None)
            if "published" in port:
                port["published"] = int(port["published"])
        for net in (svc.get("networks") or {}).values():
            if net:
                net.pop("gw_priority", None)
        limits = ((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}
        if "cpus" in limits:
            limits["cpus"] = str(limits["cpus"])
        services[name] = svc
    if not services:
        raise ValueError("no service to deploy: every service has deploy.replicas 0")
    _check_settings(services)
    out["services"] = services
    # Top-level secrets only a build-only service reads (the settings check's): Swarm has no
    # `environment:` secrets, and nothing deployed needs them.
    used = {s if isinstance(s, str) else s.get("source") for svc in services.values() for s in svc.get("secrets") or []}
    secrets = {k: v for k, v in (out.pop("secrets", None) or {}).items() if k in used}
    if secrets:
        out["secrets"] = secrets
    for section in ("networks", "volumes"):
        for obj in (out.get(section) or {}).values():
            if obj and not obj.get("external"):
                obj.pop("name", None)
    return out


def _check_settings(services: dict) -> None:
    """Refuse now what a service would refuse at start (Swarm would restart it again and again):
    each service's environment by the rules its entrypoint applies (fractal_settings.py)."""
    for name, svc in services.items():
        problems = fractal_settings.check(svc.get("environment") or {}, service=name)
        if problems:
            raise ValueError(f"the {name} service would refuse to start: " + "; ".join(problems))


def _tmpfs_mount(spec: str) -> dict:
    """``/tmp:size=256m,mode=1777`` -> a ``type: tmpfs`` mount (size in bytes, mode octal)."""
    target, _, opts = spec.partition(":")
    mount: dict = {"type": "tmpfs", "target": target, "tmpfs": {}}
    units = {"k": 2**10, "m": 2**20, "g": 2**30}
    for opt in filter(None, opts.split(",")):
        key, _, value = opt.partition("=")
        if key == "size":
            n, unit = (value[:-1], value[-1].lower()) if value[-1:].isalpha() else (value, "")
            mount["tmpfs"]["size"] = int(n) * units.get(unit, 1)
        elif key == "mode":
            mount["tmpfs"]["mode"] = int(value, 8)
        else:
            raise ValueError(f"tmpfs option {opt!r} of {spec!r} has no Swarm equivalent")
    return mount


if __name__ == "__main__":
    try:
        json.dump(stack_file(json.load(sys.stdin)), sys.stdout, indent=1)
    except (ValueError, json.JSONDecodeError) as exc:
        sys.exit(f"stack_file: {exc}")
