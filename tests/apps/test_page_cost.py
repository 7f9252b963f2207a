"""What a warm page run costs the server: a second session asking for what a first one was shown
gets it without any image encoded or figure built again (issue 29: the per-run work that a class
of 50 queues for under one interpreter lock)."""
from __future__ import annotations

import dataclasses
import io
import sys

import matplotlib.figure
import numpy as np
import pandas
import plotly.basedatatypes
import pytest
from PIL import Image
from streamlit.elements.lib.image_utils import MAXIMUM_CONTENT_WIDTH
from streamlit.testing.v1 import AppTest

from utils.gallery import APPS, APPS_DIR, TIMEOUT, start  # puts the apps' folder on the path, as Streamlit does

from gallerykit import MAX_DISPLAY_WIDTH, display_png, loglog_figure  # noqa: E402  isort: skip
from fractalkit import box_counting_dimension, colorize_png  # noqa: E402  isort: skip


class Calls:
    """Counts calls of methods, wrapped in place for the duration of a test."""

    def __init__(self, monkeypatch, **targets):
        self.counts = dict.fromkeys(targets, 0)
        for name, (owner, attr) in targets.items():
            original = getattr(owner, attr)

            def counted(*args, _name=name, _original=original, **kwargs):
                self.counts[_name] += 1
                return _original(*args, **kwargs)

            monkeypatch.setattr(owner, attr, counted)


@pytest.mark.parametrize("app", APPS)
def test_a_second_session_gets_the_page_without_new_encoding_or_figures(app, monkeypatch):
    start(app)  # the first session: computes, encodes, builds, caches
    calls = Calls(monkeypatch, png=(Image.Image, "save"), plotly=(plotly.basedatatypes.BaseFigure, "__init__"),
                  matplotlib=(matplotlib.figure.Figure, "__init__"),
                  plotly_dict=(plotly.basedatatypes.BaseFigure, "to_dict"),  # st.plotly_chart's deep copy
                  dataframe=(pandas.DataFrame, "__init__"))  # tables and reports
    second = start(app)
    assert calls.counts == {"png": 0, "plotly": 0, "matplotlib": 0, "plotly_dict": 0, "dataframe": 0}, calls.counts
    assert second.get("image") or second.get("plotly_chart"), "the page showed no image or figure"


@pytest.mark.parametrize("app", APPS)
def test_cache_keys_never_deep_copy_a_result(app, monkeypatch):
    """Streamlit hashes a dataclass argument of a cached function through dataclasses.asdict, a
    deep copy: ~20 ms of the interpreter lock per run of the analyse page before figures keyed
    fractalkit's results by gallerykit.result_digest."""
    start(app)
    original, copied = dataclasses.asdict, []

    def asdict(obj, *args, **kwargs):
        if "caching" in sys._getframe(1).f_code.co_filename:  # called by Streamlit's cache hashing
            copied.append(type(obj).__name__)
        return original(obj, *args, **kwargs)

    monkeypatch.setattr(dataclasses, "asdict", asdict)
    start(app)
    assert copied == [], f"cache keys deep-copied {len(copied)} results: {sorted(set(copied))}"


def _png(width: int, height: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.arange(width * height, dtype=np.uint32).reshape(height, width).astype(np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def test_display_width_is_streamlits():
    """Wider images Streamlit resizes and re-encodes on every run (its MAXIMUM_CONTENT_WIDTH)."""
    assert MAX_DISPLAY_WIDTH == MAXIMUM_CONTENT_WIDTH


def test_a_wide_image_is_scaled_once_to_the_display_width():
    wide = _png(1920, 1080)
    shown = display_png(wide)
    assert Image.open(io.BytesIO(shown)).size == (MAX_DISPLAY_WIDTH, 821)
    assert display_png(wide) is shown or display_png(wide) == shown  # from the cache
    narrow = _png(MAX_DISPLAY_WIDTH, 10)
    assert display_png(narrow) is narrow
    indexed = Image.open(io.BytesIO(display_png(colorize_png(np.random.default_rng(1).random((540, 1920))))))
    assert indexed.size == (MAX_DISPLAY_WIDTH, 411) and indexed.mode == "RGB"  # scaled as colours, not indices


def test_equal_fits_share_one_figure():
    """Equal results from separate computations (as each session gets from st.cache_data) key one
    figure; a different result another."""
    rng = np.random.default_rng(0)
    a = box_counting_dimension(rng.random((128, 128)) > 0.5)
    b = box_counting_dimension(np.random.default_rng(0).random((128, 128)) > 0.5)  # equal content, new object
    c = box_counting_dimension(rng.random((128, 128)) > 0.3)
    assert loglog_figure(a, "s", "N", "t") is loglog_figure(b, "s", "N", "t")
    assert loglog_figure(a, "s", "N", "t") is not loglog_figure(c, "s", "N", "t")


UPLOADERS = {"analyse.py": ("a_source", "a_upload", "a_thr_method"),  # page: source, uploader, a control to move
             "box_counting.py": ("b_source", "b_upload", "b_invert")}


@pytest.mark.parametrize("app", sorted(UPLOADERS))
def test_an_upload_is_hashed_once_per_session_and_decoded_once_per_server(app, monkeypatch):
    """Each run of a page (each control moved) used to read, hash (~2 ms per MB) and, on the box-counting
    page, decode the uploaded file again."""
    import hashlib

    from gallerykit import data

    source, uploader, control = UPLOADERS[app]
    i = np.arange(512)
    sierpinski = ((i[:, None] & i[None, :]) == 0).astype(np.uint8) * 255
    sierpinski[-1, :32] = np.random.default_rng().integers(0, 2, 32) * 255  # a file no other test uploaded
    picture = _png_of(sierpinski)
    calls = Calls(monkeypatch, decoded=(data, "read_image"))
    sha256, hashed = hashlib.sha256, []
    monkeypatch.setattr(hashlib, "sha256", lambda *a, **k: (hashed.extend(x for x in a if len(x) == len(picture)),
                                                            sha256(*a, **k))[1])

    def open_and_upload():
        at = AppTest.from_file(str(APPS_DIR / app), default_timeout=TIMEOUT)
        at.session_state[source] = "Upload"
        at.run()
        at.file_uploader(key=uploader).set_value((f"{app}.png", picture, "image/png"))
        at.run()
        assert not at.exception and not at.error, [e.value for e in (*at.exception, *at.error)]
        return at

    first = open_and_upload()  # hashed for the session, and the bytes decoded checked against it
    assert (len(hashed), calls.counts["decoded"]) == (2, 1)
    moved = first.radio(key=control) if control == "a_thr_method" else first.checkbox(key=control)
    moved.set_value("Mean" if control == "a_thr_method" else True).run()
    first.run()
    assert not first.exception and not first.error, [e.value for e in (*first.exception, *first.error)]
    assert (len(hashed), calls.counts["decoded"]) == (2, 1), "reruns hashed or decoded the file again"
    open_and_upload()  # another session, the same file: hashed for that session, decoded by no one
    assert (len(hashed), calls.counts["decoded"]) == (3, 1)


def test_new_bytes_under_an_uploads_id_are_refused_not_shared_under_the_old_digest():
    """A client can upload other bytes under an upload's id (Streamlit replaces them), so the session's
    digest of that id goes stale: what the pages make from the bytes they read (and share with every
    session under the digest) must come from the bytes that digest names."""
    i = np.arange(256)
    honest = _png_of(((i[:, None] & i[None, :]) == 0).astype(np.uint8) * 255)
    forged = _png_of(np.full((256, 256), 255, np.uint8))
    at = AppTest.from_function(_digest_then_read, args=(honest, forged), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["honest_read"] is True
    assert [e.value for e in at.error] == ["Invalid input: the uploaded file changed while it was being read: "
                                           "upload it again"]
    assert at.session_state["_upload_digests"] == {}, "the stale digest was kept"


def _digest_then_read(honest: bytes, forged: bytes) -> None:
    """A page: hash an upload, then read it back as it was, then as other bytes under its id."""
    import streamlit as st
    from streamlit.runtime.uploaded_file_manager import UploadedFile, UploadedFileRec

    from gallerykit import data, guarded

    def upload(content: bytes) -> UploadedFile:
        return UploadedFile(UploadedFileRec("the-id", "x.png", "image/png", content), None)

    digest = data.upload_digest(upload(honest))
    st.session_state["honest_read"] = data.read_upload(upload(honest), digest) == honest
    with guarded():
        data.read_upload(upload(forged), digest)


def _png_of(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()
