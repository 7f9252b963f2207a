"""Visitors of a deployed gallery, as protocol-level tabs (tests/utils/streamlit_ws.py).

Used by the Swarm tests: tabs that upload a file to the box-counting page (sticky sessions),
and a steady stream of new tabs while the stack changes under them (rolling updates, lost
replicas, lost nodes). ``netns``: open the tabs from inside that network namespace.
"""
from __future__ import annotations

import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from utils.netns import enter, executor
from utils.streamlit_ws import SessionError, StreamlitSession

__all__ = ["png", "upload_tab", "home_tab", "tabs", "refused", "Visitors"]


def png() -> bytes:
    """A small image of an X: what a student uploads to the box-counting page."""
    im = Image.new("L", (96, 96), 0)
    for i in range(96):
        im.putpixel((i, i), 255)
        im.putpixel((95 - i, i), 255)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def upload_tab(base: str, ca: str, image: bytes) -> dict:
    """One tab: the box-counting page and its media, an upload, the analysis of it and its media.

    Returns
    -------
    dict
        ``errors`` (list of str), ``analysed`` (a metric was shown), ``media`` (files fetched),
        ``replica`` (the balancer's FRACTAL_REPLICA cookie), ``requests`` (method, path, status).
    """
    s = StreamlitSession(base, timeout=240, verify=ca)
    out: dict = {"errors": []}
    try:
        s.connect()
        runs = [s.run_page("box_counting"), s.run_page("box_counting", widgets={"b_source": "Upload"})]
        state = s.upload("b_upload", "x.png", image, "image/png")
        runs.append(s.run_page("box_counting", widgets={"b_source": "Upload", "b_upload": state}))
        out["errors"] = [e for r in runs for e in r.errors]
        out["analysed"] = any(el.WhichOneof("type") == "metric" for el in runs[-1].shown)
        out["media"] = sum(len(r.media) for r in runs)
    except SessionError as exc:
        out["errors"].append(str(exc))
    finally:
        out["replica"] = s.http.cookies.get("FRACTAL_REPLICA")
        out["requests"] = list(s.requests)
        s.close()
    return out


def home_tab(base: str, ca: str) -> str | None:
    """Open the home page in a new tab: None if it worked, else what went wrong."""
    try:
        with StreamlitSession(base, timeout=120, verify=ca) as s:
            r = s.run_page("")
            return None if r.ok else "; ".join(r.errors)
    except (SessionError, OSError) as exc:
        return f"{type(exc).__name__}: {exc}"


def tabs(n: int, fn, netns=None) -> list:
    """``fn()`` in ``n`` tabs at once (threads inside ``netns`` if given); their results."""
    with executor(netns, n) if netns else ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda _: fn(), range(n)))


def refused(results) -> list:
    """The requests of ``upload_tab`` results that got 400 or 404: (method, path or file, status)."""
    return [(m, path.split("/")[2] if m == "PUT" else path, st) for r in results for m, path, st in r["requests"]
            if st in (400, 404)]


class Visitors:
    """New tabs on the home page, one after another in ``threads`` threads, until the block ends.

    ``ok`` counts tabs that worked; ``failed`` lists (seconds since start, error) of the others.
    """

    def __init__(self, base: str, ca: str, netns=None, threads: int = 2):
        self.base, self.ca, self.netns = base, ca, netns
        self.ok, self.failed = 0, []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._loop, daemon=True) for _ in range(threads)]

    def _loop(self):
        if self.netns:
            enter(self.netns)
        while not self.stop.is_set():
            t = time.monotonic() - self.t0
            err = home_tab(self.base, self.ca)
            if err is None:
                self.ok += 1
            else:
                self.failed.append((round(t, 1), err))

    def __enter__(self):
        self.t0 = time.monotonic()
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=300)
