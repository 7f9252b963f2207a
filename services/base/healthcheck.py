#!/usr/bin/env python3
"""Container healthcheck without curl: exit 0 if every URL answers 2xx.

Usage: fractal-healthcheck URL [URL ...]
``${VAR}`` in a URL is replaced from the environment (empty if unset) and repeated slashes
in the path are folded, so a base-path variable may be empty, "app" or "/app/".
"""
import os
import pwd
import re
import sys
import urllib.parse
import urllib.request

# In development the container's user is root (for the entrypoint's one privileged step), and
# Docker runs healthchecks as that user: drop to `app` (the entrypoint gave it the server's IDs)
# before touching the network.
if os.getuid() == 0:
    app = pwd.getpwnam("app")
    if app.pw_uid != 0:
        os.setgroups([])
        os.setgid(app.pw_gid)
        os.setuid(app.pw_uid)

for raw in sys.argv[1:]:
    url = re.sub(r"\$\{(\w+)\}", lambda m: os.environ.get(m.group(1), ""), raw)
    parts = urllib.parse.urlsplit(url)
    url = parts._replace(path=re.sub(r"/+", "/", "/" + parts.path)).geturl()
    try:
        with urllib.request.urlopen(url, timeout=4) as r:  # noqa: S310 (loopback only)
            if not 200 <= r.status < 300:
                sys.exit(f"{url}: HTTP {r.status}")
    except Exception as exc:  # any failure is unhealthy
        sys.exit(f"{url}: {exc}")
