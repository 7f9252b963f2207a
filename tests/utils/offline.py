"""A browser tour of every page a visitor can open, recording anything fetched from elsewhere.

Used by the production edge test (through the TLS proxy) and the dev-stack browser test: no
page of the gallery, JupyterLab or the docs may make the visitor's browser contact a host
other than the server's own (a font host, a CDN: an offline machine breaks, and a third party
learns of every visit).
"""
from __future__ import annotations

import re
import urllib.parse

__all__ = ["watch", "tour", "TourTimeout", "wait_shown"]

from .browser import FIGURE, RENDER_TIMEOUT_MS


def watch(page, local_host: str) -> None:
    """Record on ``page`` every request to a host other than ``local_host`` (``page.foreign``),
    console errors about CSP or refusals (``page.console_bad``) and 403 answers (``page.forbidden``)."""
    page.foreign, page.console_bad, page.forbidden = [], [], []
    page.on("request", lambda r: urllib.parse.urlsplit(r.url).hostname not in (local_host, None)
            and urllib.parse.urlsplit(r.url).scheme not in ("data", "blob") and page.foreign.append(r.url))
    page.on("console", lambda m: m.type == "error" and re.search(r"Content Security Policy|Refused to|403", m.text)
            and page.console_bad.append(m.text))
    page.on("response", lambda r: r.status == 403 and page.forbidden.append(r.url))


class TourTimeout(AssertionError):
    """A page of the tour did not show what it waits for; the message has what it showed instead."""


def wait_shown(page, selector: str, timeout_ms: int, reload_after_ms: int | None = None, **kw) -> None:
    """Wait for ``selector`` on ``page``; on a timeout, raise :class:`TourTimeout` with the page's
    URL and visible text (a Streamlit exception, "Connecting", an error page).

    ``reload_after_ms``: if nothing is shown by then, reload the page once (what a visitor does)
    and say so on stdout, then wait for the rest of ``timeout_ms``. CI's dev-stack browser tests
    saw a page's first run never show about once a run: Chromium aborted requests when the host's
    Docker changed its networks (utils.browser.chromium_env now prevents it); the printed notice
    keeps any recurrence visible."""
    if reload_after_ms is not None and reload_after_ms < timeout_ms:
        try:
            page.locator(selector).first.wait_for(timeout=reload_after_ms, **kw)
            return
        except Exception as e:
            if type(e).__name__ != "TimeoutError":
                raise
            print(f"\nRELOADED: {selector!r} not shown within {reload_after_ms / 1000:.0f} s at {page.url}")
            page.reload(wait_until="domcontentloaded")
            timeout_ms -= reload_after_ms
    try:
        page.locator(selector).first.wait_for(timeout=timeout_ms, **kw)
    except Exception as e:
        if type(e).__name__ != "TimeoutError":
            raise
        try:
            text = page.locator("body").inner_text(timeout=5_000)
        except Exception as inner:  # the page itself is gone
            text = f"(no text: {inner})"
        raise TourTimeout(f"{selector!r} not shown within {timeout_ms / 1000:.0f} s at {page.url}; "
                          f"the page showed:\n{text[-2000:]}") from e


def tour(page, *, gallery: str, jupyterlab: str, docs: str, local_host: str) -> set[str]:
    """Open every gallery page, JupyterLab and every docs page reachable from ``docs``.

    Parameters
    ----------
    page : playwright.sync_api.Page
        A page prepared with :func:`watch`.
    gallery : str
        URL of the gallery's home page (ending in ``/``).
    jupyterlab : str
        URL of JupyterLab, with the login token.
    docs : str
        Origin (and base path) of the docs site, without a trailing slash.
    local_host : str
        The host name the server is reached by; favicons elsewhere are recorded as foreign.

    Returns
    -------
    set of str
        The docs paths visited.

    Raises
    ------
    TourTimeout
        A page did not show its figure, heading or file list in time (the message has its text).
    """
    page.goto(gallery, wait_until="domcontentloaded")
    wait_shown(page, FIGURE, RENDER_TIMEOUT_MS)
    links = page.locator("[data-testid='stSidebarNav'] a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert len(hrefs) >= 9, hrefs
    for href in hrefs:
        page.goto(urllib.parse.urljoin(gallery, href), wait_until="domcontentloaded")
        wait_shown(page, "h1", RENDER_TIMEOUT_MS)
        wait_shown(page, FIGURE, RENDER_TIMEOUT_MS, state="visible")
        page.wait_for_load_state("networkidle", timeout=60_000)
        # The favicon is fetched by the browser, not the page (no request event): check its URL.
        icon = page.evaluate("[...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
        page.foreign += [u for u in icon if urllib.parse.urlsplit(u).hostname not in (local_host, None)]
    page.goto(jupyterlab, wait_until="domcontentloaded")
    wait_shown(page, ".jp-DirListing-item", 180_000)
    page.wait_for_load_state("networkidle", timeout=60_000)
    todo, done = ["/"], set()
    base = urllib.parse.urlsplit(docs)
    while todo:
        path = todo.pop()
        if path in done:
            continue
        done.add(path)
        page.goto(docs + path, wait_until="networkidle")
        for a in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            u = urllib.parse.urlsplit(a)
            if u.netloc == base.netloc and u.path.endswith(".html") and "/_" not in u.path:
                todo.append(u.path)
    assert len(done) >= 10, done
    return done
