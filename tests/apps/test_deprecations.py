"""No page of the gallery triggers a Streamlit deprecation warning.

Streamlit reports deprecations three ways: its ``streamlit.deprecation_util`` logger (always),
an ``st.warning`` in the page (when ``client.showErrorDetails`` is ``full``) and, for some
APIs, Python ``DeprecationWarning``s. All three are collected while every page runs with its
defaults and with every toggle and checkbox switched on (the branches they guard run too).
"""
from __future__ import annotations

import logging
import warnings

import pytest
from streamlit import deprecation_util
from streamlit.testing.v1 import AppTest

from utils.gallery import APPS, APPS_DIR, ENTRY, TIMEOUT


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.mark.parametrize("app", [*APPS, ENTRY])
def test_page_has_no_streamlit_deprecation(app, monkeypatch):
    deprecation_util._shown_warnings.clear()  # "show once" warnings must show again here
    handler = _Collect()
    logger = logging.getLogger("streamlit.deprecation_util")  # propagate=False: attach directly
    logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            at = AppTest.from_file(str(APPS_DIR / app), default_timeout=TIMEOUT)
            at.run()
            on = [w for w in (*at.toggle, *at.checkbox) if not w.value]
            for w in on:
                w.set_value(True)
            if on:
                at.run()
    finally:
        logger.removeHandler(handler)
    assert not at.exception, [e.value for e in at.exception]
    shown = [w.value for w in at.warning if "deprecat" in str(w.value).lower()]
    python = [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught
              if issubclass(w.category, (DeprecationWarning, FutureWarning))
              and ("streamlit" in w.filename or str(APPS_DIR) in w.filename or "streamlit" in str(w.message))]
    assert handler.messages == [] and shown == [] and python == [], (handler.messages, shown, python)
