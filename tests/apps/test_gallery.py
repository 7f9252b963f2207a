"""Every gallery page under Streamlit's AppTest: defaults, navigation, and each page's own behaviour.

Every control at its min and max is in test_gallery_controls.py (its cases are found by running each
page at collection time, which this module must not pay: the arm64 test runs a few of its cases).
"""
from __future__ import annotations

import gc
import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from fractalkit import Viewport, julia
from utils.gallery import APPS, APPS_DIR, ENTRY, HOME, PAGE_FILES, TIMEOUT, assert_ok, start


@pytest.mark.parametrize("app", APPS)
def test_defaults_render(app):
    at = start(app)
    assert at.title, f"{app} shows no title"
    assert not at.error, [e.value for e in at.error]


def test_every_file_under_apps_is_a_page_of_the_navigation():
    files = {p.name for p in APPS_DIR.glob("*.py")} - {ENTRY}
    assert files == set(PAGE_FILES), "add the page to apps/gallerykit/navigation.py PAGES, or remove the file"


def test_home_page_navigates_to_every_app():
    at = start(ENTRY)
    assert at.title[0].value == "Branching tree"
    for app in APPS:
        if app == HOME:
            continue
        at.switch_page(app)
        at.run()
        assert_ok(at)
        assert at.title, app


@pytest.mark.parametrize("home", ["julia.py", "knobs.py"])
def test_streamlit_app_picks_the_home_page_and_keeps_the_navigation(home, monkeypatch, tmp_path):
    """STREAMLIT_APP: a gallery page, or the user's own page beside them, served at / with the sidebar."""
    apps = tmp_path / "apps"
    apps.mkdir()
    for f in APPS_DIR.glob("*.py"):
        (apps / f.name).write_text(f.read_text())
    (apps / "knobs.py").write_text("import streamlit as st\nst.title('Knobs')\n")
    monkeypatch.setenv("STREAMLIT_APP", home)
    at = start(str(apps / ENTRY))
    assert at.title[0].value == {"julia.py": "Julia sets", "knobs.py": "Knobs"}[home]
    at.switch_page(HOME).run()
    assert_ok(at)
    assert at.title[0].value == "Branching tree"


@pytest.mark.parametrize("bad", ["nope.py", "julia", "../pyproject.toml"])
def test_an_unknown_streamlit_app_is_a_clear_error(bad, monkeypatch):
    monkeypatch.setenv("STREAMLIT_APP", bad)
    at = AppTest.from_file(str(APPS_DIR / ENTRY), default_timeout=TIMEOUT).run()
    assert at.exception and "is not a page under" in at.exception[0].message, at.exception
    assert HOME in at.exception[0].message


def test_tree_3d_view():
    at = start(HOME)
    at.radio(key="tree_mode").set_value("3D").run()
    assert_ok(at)
    assert at.get("plotly_chart")


#: Pages with a 3-D plotly view and a colour choice: (page, widgets that show the 3-D view, colour key).
VIEWS_3D = [("branching_tree.py", {"tree_mode": "3D"}, "cmap"), ("fbm.py", {"f_3d": True, "f_size": 64}, "f_cmap")]


@pytest.mark.parametrize("page,setup,colour", VIEWS_3D, ids=[v[0] for v in VIEWS_3D])
def test_3d_views_use_the_chosen_colours(page, setup, colour):
    """Every colour choice reaches the 3-D view as that matplotlib map (plotly knows only a few by name)."""
    import json

    from gallerykit import plotly_colorscale

    at = start(page)
    for key, value in setup.items():
        at.session_state[key] = value
    scales = {}
    for cmap in at.selectbox(key=colour).options:
        at.selectbox(key=colour).set_value(cmap).run()
        assert_ok(at)
        charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        traces = [t for c in charts for t in c["data"] if t["type"] in ("scatter3d", "surface")]
        assert len(traces) == 1, (cmap, [t["type"] for c in charts for t in c["data"]])
        trace = traces[0]
        scales[cmap] = trace.get("colorscale") or trace["line"]["colorscale"]
        assert scales[cmap] == plotly_colorscale(cmap), cmap
    assert len({json.dumps(v) for v in scales.values()}) == len(scales), "two colour choices look the same"


def test_huge_mandelbrot_request_is_refused_clearly():
    at = start("mandelbrot.py")
    at.toggle(key="m_auto").set_value(False).run()
    at.number_input(key="m_iter").set_value(10 ** 6)
    at.selectbox(key="m_res").set_value("1920 × 1080")
    at.run()
    assert_ok(at)
    assert any("too large" in e.value for e in at.error)


def test_mandelbrot_zoom_buttons_and_presets_keep_exact_decimals():
    at = start("mandelbrot.py")
    at.button[1].click().run()  # zoom in x4
    assert at.text_input(key="m_width").value == "0.75" and at.text_input(key="m_re").value == "-0.5"
    at.button[2].click().run()  # and out again
    assert at.text_input(key="m_width").value == "3"
    at.selectbox(key="m_preset").set_value("Seahorse valley, 1e-10")
    at.button[0].click().run()
    assert at.text_input(key="m_re").value == "-0.743643887037158704752191506114774"  # all 33 digits
    at.selectbox(key="m_preset").set_value("Spirals at M(18,10), 1e-100")
    at.button[0].click().run()
    assert_ok(at)
    assert len(at.text_input(key="m_re").value) > 110 and at.text_input(key="m_width").value == "1e-100"
    assert [m.value for m in at.metric][1:4] == ["10^100.5", "6,129 (auto)", "perturbation"]
    at.button[1].click().run()
    assert at.text_input(key="m_width").value == "2.5e-101" and at.query_params["width"] == "2.5e-101"


def test_mandelbrot_opens_a_shared_link_exactly_and_refuses_a_bad_one():
    re_ = "-0.77467280917512970011114632736940367956" + "3" * 60
    at = AppTest.from_file(str(APPS_DIR / "mandelbrot.py"), default_timeout=TIMEOUT)
    at.query_params.update(re=re_, im="-0.137418401737248557731458541510653911", width="1e-60", iter="5000")
    at.run()
    assert_ok(at)
    assert at.text_input(key="m_re").value == re_ and at.query_params["re"] == re_
    assert at.toggle(key="m_auto").value is False and at.number_input(key="m_iter").value == 5000
    assert [m.value for m in at.metric][2:4] == ["5,000", "perturbation"] and not at.error
    at.text_input(key="m_width").set_value("-1e-5").run()
    assert_ok(at)
    assert [e.value for e in at.error] == ["Invalid input: Width must be positive, got -0.00001"]
    assert at.query_params["width"] == "1e-60"  # the link still holds the last good view,
    assert at.get("plotly_chart") and at.metric[0].value == "1e-60"  # and the page still shows it
    bad = AppTest.from_file(str(APPS_DIR / "mandelbrot.py"), default_timeout=TIMEOUT)
    bad.query_params.update(re="nan", width="3", iter="5000000")
    bad.run()
    assert_ok(bad)
    assert any("Centre, real part must be a finite decimal number" in e.value for e in bad.error)
    assert [w.value for w in bad.warning] == ["The link's iter=5000000 is outside 16…1,000,000: using 1,000,000."]


def test_mandelbrot_raises_automatic_iterations_when_every_pixel_stays_inside():
    """A new-user trial found the "Seahorse valley, 1e-10" preset all black: its pixels need over
    1 000 iterations where the depth's rule gives 730."""
    at = start("mandelbrot.py")
    at.selectbox(key="m_preset").set_value("Seahorse valley, 1e-10")
    at.button[0].click().run()
    assert_ok(at)
    assert [i.value for i in at.info] == ["At 730 iterations 99% or more of the pixels stayed inside, so the "
                                          "automatic count went up to 2,920."]
    assert at.metric[2].value == "2,920 (auto)"
    inside = float(at.caption[-1].value.split("%")[0]) / 100
    assert inside < 0.99


def test_mandelbrot_explorer_shows_the_julia_set_of_its_centre_at_any_depth():
    """The toggle turns the view into the filled Julia set of c = the centre (same inside fraction as
    fractalkit.julia computes), a link carries c exactly, deep views use perturbation, a bad c is named,
    and switching back returns to the Mandelbrot set at c."""
    at = start("mandelbrot.py")
    at.text_input(key="m_re").set_value("-0.123")
    at.text_input(key="m_im").set_value("0.745")
    at.toggle(key="m_julia").set_value(True).run()
    assert_ok(at)
    assert (at.text_input(key="m_c_re").value, at.text_input(key="m_c_im").value) == ("-0.123", "0.745")
    assert [at.text_input(key=k).value for k in ("m_re", "m_im", "m_width")] == ["0", "0", "4"]
    assert (at.query_params["c_re"], at.query_params["c_im"], at.query_params["width"]) == ("-0.123", "0.745", "4")
    nx, ny = 800, 600
    want = np.isnan(julia(complex(-0.123, 0.745), Viewport(0.0, 0.0, 4.0, nx, ny), 256)).mean()
    assert at.caption[-1].value.startswith(f"{want:.1%} of pixels inside"), (want, at.caption[-1].value)
    assert 0.05 < want < 0.5  # the rabbit: a real filled Julia set, not all inside or outside
    at.text_input(key="m_c_re").set_value("abc").run()
    assert [e.value for e in at.error] == ["Invalid input: c, real part must be a finite decimal number such as "
                                           "'-0.75' or '1e-300', got 'abc'"]
    assert at.query_params["c_re"] == "-0.123" and at.get("plotly_chart")  # the last good view stays
    at.toggle(key="m_julia").set_value(False).run()
    assert_ok(at)
    assert [at.text_input(key=k).value for k in ("m_re", "m_im", "m_width")] == ["-0.123", "0.745", "3"]
    assert "c_re" not in at.query_params

    beta = ("1.30024259022012041915890982074952138854853282", "-0.62481053384382658687960444744285144400523446")
    deep = AppTest.from_file(str(APPS_DIR / "mandelbrot.py"), default_timeout=TIMEOUT)
    deep.query_params.update(c_re="0", c_im="1", re=beta[0], im=beta[1], width="1e-40")
    deep.run()
    assert_ok(deep)
    assert not deep.error and deep.toggle(key="m_julia").value is True
    assert [m.value for m in deep.metric][3] == "perturbation"
    png = next(d for d in deep.get("download_button") if d.proto.label == "Download PNG")
    assert png is not None
    assert deep.query_params["re"] == beta[0] and deep.query_params["c_im"] == "1"
    assert not deep.info  # a window on the boundary: varied counts
    beside = AppTest.from_file(str(APPS_DIR / "mandelbrot.py"), default_timeout=TIMEOUT)
    beside.query_params.update(c_re="0", c_im="1", re=beta[0], im=beta[1], width="1e-100")  # 44 digits, 1e-100 wide
    beside.run()
    assert_ok(beside)
    assert [i.value.split(":")[0] for i in beside.info] == ["Every pixel escapes after the same number of iterations"]
    deep.selectbox(key="m_preset").set_value("Seahorse valley")
    deep.button[0].click().run()  # a preset is a place in the Mandelbrot set
    assert deep.toggle(key="m_julia").value is False and "c_re" not in deep.query_params
    assert deep.text_input(key="m_width").value == "0.003" and not deep.error


def test_julia_gif():
    at = start("julia.py")
    at.slider(key="j_frames").set_value(4)
    at.slider(key="j_gsize").set_value(64)
    at.button(key="j_make").click().run()
    assert_ok(at)
    assert len(at.get("image")) == 2 and at.get("download_button")


def _upload(at, name, data, mime="image/png"):
    at.radio(key="b_source").set_value("Upload").run()
    at.file_uploader(key="b_upload").set_value((name, data, mime))
    at.run()
    assert_ok(at)


def test_box_counting_upload_good_image():
    i = np.arange(512)
    img = ((i[:, None] & i[None, :]) == 0).astype(np.uint8) * 255
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    at = start("box_counting.py")
    _upload(at, "sierpinski.png", buf.getvalue())
    assert not at.error, [e.value for e in at.error]
    assert float(at.metric[0].value) == pytest.approx(1.585, abs=0.01)


def test_box_counting_upload_never_counts_nan_pixels():
    """A float TIFF with NaN rows, dark pixels as the set: the NaN rows are not set (fractalkit's rule)."""
    import tifffile

    z = np.ones((256, 256), dtype=np.float32)
    z[:, 128] = 0.0             # one dark line: D = 1
    z[:64, :] = np.nan          # NaN rows, which a uint8 conversion would make dark
    buf = io.BytesIO()
    tifffile.imwrite(buf, z)
    at = start("box_counting.py")
    at.checkbox(key="b_invert").set_value(True)
    _upload(at, "holes.tif", buf.getvalue(), "image/tiff")
    assert not at.error, [e.value for e in at.error]
    assert float(at.metric[0].value.split()[0]) == pytest.approx(1.0, abs=0.05)


def test_box_counting_says_how_a_large_image_was_downscaled():
    """A pixel budget, not a side: 5000 x 4500 becomes 4317 x 3885, wider than 4096, and the page says so."""
    from gallerykit.data import downscaled_note

    img = np.zeros((4500, 5000), np.uint8)
    img[::9, :] = 255
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    at = start("box_counting.py")
    _upload(at, "wide.png", buf.getvalue())
    assert not at.error, [e.value for e in at.error]
    assert [i.value for i in at.info] == [downscaled_note((4500, 5000), (3885, 4317))]
    assert "5000 × 4500" in at.info[0].value and "16.8 megapixels" in at.info[0].value


def test_box_counting_rejects_non_image():
    at = start("box_counting.py")
    _upload(at, "notes.png", b"this is not an image at all")
    assert any("not an image" in e.value for e in at.error)


@pytest.mark.parametrize("limit_mb", [1, 3])
def test_box_counting_limit_is_streamlits_max_upload_size(limit_mb):
    """The page refuses what Streamlit's server.maxUploadSize (MAX_UPLOAD_MB) refuses, and says so."""
    from streamlit import config

    before = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", limit_mb)
    try:
        at = start("box_counting.py")
        _upload(at, "big.png", b"\x89PNG" + b"0" * (limit_mb * 1024 * 1024))
        assert any(f"the limit is {limit_mb} MB" in e.value for e in at.error), [e.value for e in at.error]
        at = start("box_counting.py")  # just under the limit: decoded (and refused as not an image)
        _upload(at, "small.png", b"\x89PNG" + b"0" * (limit_mb * 1024 * 1024 - 8))
        assert any("not an image" in e.value for e in at.error), [e.value for e in at.error]
    finally:
        config.set_option("server.maxUploadSize", before)


RACE = """
import sys, threading
sys.path.append(sys.argv[1])
import gallerykit  # what every session imports first (the entry file)
import plotly.graph_objects as go
go.Figure().add_scatter(x=[0.0, 1.0], y=[0.0, 1.0], marker=dict(color="lightgray", size=8))  # plotly warm
other = threading.Thread(target=lambda: __import__("pandas"))  # another session's page (ifs.py) ...
other.start()
while "pandas" not in sys.modules:
    pass
# ... and this session's figure while that import may still run
go.Figure().add_scatter(x=[0.0, 1.0], y=[0.0, 1.0], marker=dict(color="lightgray", size=8))
other.join()
print("ok")
"""


def test_a_session_never_sees_a_library_another_session_is_still_importing():
    """Seen with 20 sessions on a freshly started server: plotly reads sys.modules["pandas"]
    as it finds it, and failed on another session's half-done import (gallerykit/__init__.py).
    In a fresh interpreter, so that pandas is not imported yet."""
    out = subprocess.run([sys.executable, "-c", RACE, str(APPS_DIR)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr[-3000:]


FREEZE = """
import ast, gc, importlib, sys
from pathlib import Path
apps = Path(sys.argv[1])
sys.path.append(str(apps))
import gallerykit  # what every session imports first (the entry file)
assert gallerykit.freeze_startup_heap() is True
assert gallerykit.freeze_startup_heap() is False
frozen = gc.get_freeze_count()
# every module a page imports at its top, as its first run does after the freeze
for page in apps.glob("*.py"):
    for node in ast.parse(page.read_text()).body:
        if isinstance(node, ast.Import):
            for alias in node.names:
                importlib.import_module(alias.name)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            importlib.import_module(node.module)
import fractalkit
fractalkit.box_counts(__import__("numpy").ones((64, 64), bool))  # a first kernel call
gc.collect()
print(frozen, len(gc.get_objects()))
"""


def test_runs_are_followed_by_at_most_one_full_collection_a_second(monkeypatch):
    """Streamlit's collection after every run is off (.streamlit/config.toml); the entry file
    collects instead, at most once per interval: a reference cycle left by a run is freed by the
    next collection, and a run within the interval of the last one does not pay for another."""
    import tomllib
    import weakref

    import gallerykit
    from gallerykit import page as page_module

    assert tomllib.loads((APPS_DIR.parent / ".streamlit" / "config.toml").read_text())["runner"]["postScriptGC"] is False

    class Node:
        pass

    def cycle():
        node = Node()
        node.me = node
        return weakref.ref(node)

    gc.disable()  # only our collections free cycles here
    try:
        first = cycle()
        assert gallerykit.collect_garbage(interval=0) is True and first() is None
        second = cycle()
        assert gallerykit.collect_garbage(interval=3600) is False and second() is not None
        before = page_module._last_collect
        monkeypatch.setattr(page_module, "COLLECT_INTERVAL", 0.0)
        start(ENTRY)  # a run of the entry file collects after the page
        assert page_module._last_collect > before
    finally:
        gc.enable()
    assert second() is None


def test_the_collection_after_each_run_skips_what_the_pages_import():
    """Streamlit collects garbage after every run (gc.collect(2)): over the gallery's libraries
    that was ~0.1 s per run holding the interpreter lock. After the entry file's
    freeze_startup_heap, every page's imports and a first kernel call (numba builds its
    compiler contexts then), what a collection still walks is under a tenth of what was frozen.
    In a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", FREEZE, str(APPS_DIR)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    frozen, walked = map(int, out.stdout.split())
    assert frozen > 100_000 and walked < 0.1 * frozen, (frozen, walked)


@pytest.mark.parametrize("name, stem", [("my scan_01.tif", "my-scan_01"), ("../../etc/passwd", "passwd"),
                                        ('a"\r\nb.png', "a-b"), ("...", "input"), ("C:\\data\\x.png", "x"),
                                        ("Sierpinski triangle", "Sierpinski-triangle"),
                                        ("Ünïcode näme.png", "Unicode-name"), ("ﬁle².png", "file2")])
def test_downloads_are_named_after_their_input_safely(name, stem):
    from gallerykit.data import file_stem

    assert file_stem(name) == stem
    assert len(file_stem("x" * 300 + ".png")) == 60
