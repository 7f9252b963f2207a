"""The "Analyse your data" page under Streamlit's AppTest: exact inputs measured right, reports, hostile files.

Every input is built here from its definition (a Sierpinski triangle from ``i & j == 0``, a plane,
exact fBm from the ``fbm`` oracle library), written with Pillow or tifffile, and uploaded the way
a browser would; the page must report intervals that cover the exact values, download the same
numbers it shows, and answer every bad file with one clear message.
"""
from __future__ import annotations

import io
import json
import math
import re
import struct
import zlib

import fbm as fbm_oracle  # the oracle package (test-only group), not the gallery page apps/fbm.py
import numpy as np
import pandas as pd
import pytest
import tifffile
from PIL import Image
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest
from utils.gallery import APPS_DIR, TIMEOUT

SHOWN = re.compile(r"`(?P<symbol>[^\s`]+) = (?P<value>-?[\d.]+) ± (?P<half>[\d.]+) "
                   r"\((?P<scale>\S+) = (?P<lo>[\d.e+-]+)…(?P<hi>[\d.e+-]+)(?: (?P<unit>[^)]*))?\)`")


def start() -> AppTest:
    at = AppTest.from_file(str(APPS_DIR / "analyse.py"), default_timeout=TIMEOUT)
    at.run()
    assert_ok(at)
    return at


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def upload(name: str, data: bytes, mime: str = "application/octet-stream") -> AppTest:
    at = AppTest.from_file(str(APPS_DIR / "analyse.py"), default_timeout=TIMEOUT)
    at.session_state["a_source"] = "Upload"  # straight to the uploader, without measuring an example first
    at.run()
    at.file_uploader(key="a_upload").set_value((name, data, mime))
    at.run()
    assert_ok(at)
    return at


def errors(at: AppTest) -> list[str]:
    return [e.value for e in at.error]


def shown(at: AppTest) -> dict[str, dict]:
    """Every estimate the page shows, by the title of its section (and "title: symbol" for a second
    one, e.g. D_1 after D_0): symbol, value, interval, range and the text."""
    out, title = {}, None
    for el in at.main:
        title = el.value if el.type == "subheader" else title
        m = SHOWN.match(str(el.value)) if el.type == "markdown" else None
        if m:
            v, h = float(m["value"]), float(m["half"])
            est = {"symbol": m["symbol"], "value": v, "ci": (v - h, v + h), "lo": float(m["lo"]),
                   "hi": float(m["hi"]), "text": m.group(0).strip("`")}
            out.setdefault(title, est)
            out[f"{title}: {m['symbol']}"] = est
    return out


def png(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def tiff(a: np.ndarray, **kw) -> bytes:
    buf = io.BytesIO()
    tifffile.imwrite(buf, a, **kw)
    return buf.getvalue()


def sierpinski_triangle(k: int) -> np.ndarray:
    i = np.arange(2 ** k)
    return ((i[:, None] & i[None, :]) == 0).astype(np.uint8) * 255


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A valid-looking PNG of a few hundred bytes whose header declares width x height pixels."""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + _chunk(b"IEND", b""))


# --- hostile and malformed files: one clear message each, never a crash ----------------------------

def _hostile_cases():
    tri = png(sierpinski_triangle(8))
    surface = tiff(np.random.default_rng(0).random((128, 128)).astype(np.float32))
    return [
        pytest.param("empty.png", b"", "the file is empty", id="empty-image"),
        pytest.param("empty.csv", b"", "the file is empty", id="empty-csv"),
        pytest.param("notes.png", b"x,y\n1,2\n3,4\n", "not an image", id="text-named-png"),
        pytest.param("picture.csv", tri, "not a text CSV", id="png-named-csv"),
        pytest.param("truncated.png", tri[: len(tri) // 2], "truncated or corrupt", id="truncated-png"),
        pytest.param("truncated.tif", surface[: len(surface) // 2], "truncated or corrupt", id="truncated-tiff"),
        pytest.param("bomb.png", png_declaring(100_000, 100_000), "refused before decoding", id="bomb-png"),
        pytest.param("big.png", png_declaring(10_000, 9_000), "the limit is 64 megapixels", id="bomb-png-small"),
        pytest.param("stack.tif", tiff(np.zeros((3, 64, 64), np.float32), photometric="minisblack"),
                     "upload a single 2-D image", id="multipage-tiff"),
        pytest.param("volume.tif", tiff(np.zeros((4, 32, 32), np.uint16), photometric="minisblack",
                                        metadata={"axes": "ZYX"}), "upload a single 2-D image", id="volume-tiff"),
        pytest.param("planes.tif", tiff(np.zeros((2, 3, 32, 32), np.uint8), photometric="rgb", planarconfig="separate"),
                     "upload a single 2-D image", id="rgb-stack-tiff"),
        pytest.param("complex.tif", tiff(np.zeros((64, 64), np.complex64)), "complex numbers", id="complex-tiff"),
        pytest.param("text.csv", b"x\n1\n2\nhello\n" + b"3\n" * 100, "holds text, not numbers", id="csv-text"),
        pytest.param("nan.csv", b"x\n1\n2\nnan\n" + b"3\n" * 100, "1 missing value (", id="csv-nan"),
        pytest.param("blank.csv", b"t,x\n1,2\n2,\n" + b"3,4\n" * 100, "1 missing value (", id="csv-blank"),
        pytest.param("inf.csv", b"x\n1\n2\ninf\n" + b"3\n" * 100, "1 infinite value (", id="csv-inf"),
        pytest.param("one.csv", b"3.5\n", "has 1 value", id="csv-one-value"),
        pytest.param("flat.csv", b"3.5\n" * 1000, "is constant", id="csv-constant"),
        pytest.param("long.csv", b"1\n" * 10**7, "the limit is 4,194,304 samples", id="csv-10M-rows"),
        pytest.param("ragged.csv", b"1,2\n3,4,5,6\n" * 50, "the CSV is malformed", id="csv-ragged"),
    ]


@pytest.mark.parametrize("name,data,expected", _hostile_cases())
def test_a_bad_file_gets_one_clear_message(name, data, expected):
    at = upload(name, data)
    assert len(at.error) == 1 and expected in at.error[0].value, errors(at)
    assert not at.get("download_button")


def test_a_file_over_the_upload_limit_is_refused_before_reading():
    from streamlit import config

    before = config.get_option("server.maxUploadSize")
    config.set_option("server.maxUploadSize", 1)
    try:
        at = upload("big.csv", b"1\n" * (2**20))
        assert any("the limit is 1 MB" in e for e in errors(at)), errors(at)
    finally:
        config.set_option("server.maxUploadSize", before)


# --- exact inputs, measured right ------------------------------------------------------------------

@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """The files of the page's download buttons, by file name and by extension, the latest of each
    (AppTest keeps them in a media store)."""
    files: dict[str, bytes] = {}
    keep = MemoryMediaFileStorage.load_and_get_id

    def record(self, path_or_data, mimetype, kind, filename=None):
        if filename:
            files[filename] = files[filename.rpartition(".")[2]] = path_or_data
        return keep(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record)
    return files


def covers(est: dict, truth: float) -> bool:
    return est["ci"][0] <= truth <= est["ci"][1]


def test_sierpinski_triangle_png_box_counting_interval_covers_log3_log2(downloads):
    at = upload("sierpinski.png", png(sierpinski_triangle(9)), "image/png")
    assert not at.error, errors(at)
    est = shown(at)
    box = est["Box-counting dimension"]
    assert box["symbol"] == "D" and covers(box, math.log(3) / math.log(2)), box
    assert "±" in box["text"] and re.search(r"\(s = \d+…\d+ px\)$", box["text"]), box["text"]
    for q in (0, 1, 2):  # the uniform measure on the triangle: D_q = log 3 / log 2 for every q
        dq = est[f"Generalized dimensions D_q and f(α): D_{q}"]
        assert abs(dq["value"] - math.log2(3)) < 0.01, dq
    # the reports hold the numbers shown
    report = json.loads(downloads["json"])
    table = pd.read_csv(io.BytesIO(downloads["csv"]))
    row = table[table.measure == "Box-counting dimension"].iloc[0]
    assert f"{row.value:.3f}" == f"{box['value']:.3f}"
    assert f"{0.5 * (row.ci_high - row.ci_low):.3f}" == f"{0.5 * (box['ci'][1] - box['ci'][0]):.3f}"
    assert (row.range_low, row.range_high) == (box["lo"], box["hi"]) and row.unit == "px"
    fit = report["fits"]["Box-counting dimension"]
    assert fit["value"] == pytest.approx(row.value, rel=1e-12) and fit["ci_low"] == pytest.approx(row.ci_low)
    assert report["fractalkit_version"] and report["input"]["file"] == "sierpinski.png"
    assert report["input"]["analysed_as"] == "Binary set" and report["parameters"]["threshold_method"] == "Otsu"
    assert {r["measure"] for r in report["summary"]} == set(table.measure)
    assert set(table.input) == {"sierpinski.png"}  # the reports say what they measured, and are named after it
    assert {"fractal-report-sierpinski.json", "fractal-report-sierpinski.csv"} <= set(downloads)


def test_sessions_uploading_the_same_file_each_see_their_own_file_name(downloads):
    """The decoded image is shared by content; what each user called the file is theirs alone."""
    data = png(sierpinski_triangle(7))
    for name in ("mine.png", "yours.png"):
        at = upload(name, data, "image/png")
        assert not at.error, errors(at)
        assert json.loads(downloads["json"])["input"]["file"] == name
        assert json.loads(at.json[0].value)["file"] == name


def test_16bit_tiff_plane_is_a_smooth_surface(downloads):
    """z = a x + b y: D = 2 by differential box counting, H = 1 by the variogram; the spectrum says why it has none."""
    y, x = np.mgrid[0:256, 0:256]
    plane = (100 * x + 130 * y + 1000).astype(np.uint16)
    at = upload("plane.tif", tiff(plane), "image/tiff")
    report = json.loads(downloads["json"])
    assert report["input"]["dtype"] == "uint16" and report["input"]["analysed_as"] == "Grey-level surface"
    est = shown(at)
    assert est["Differential box counting"]["value"] == pytest.approx(2.0, abs=0.02)
    assert est["Hurst exponent: variogram"]["value"] == pytest.approx(1.0, abs=0.02)
    assert est["Hurst exponent: variogram: D"]["value"] == pytest.approx(2.0, abs=0.02)  # D = 3 - H
    assert errors(at) == ["Hurst exponent: power spectrum: nothing is left after removing the best-fit plane: "
                          "x is smooth (H = 1), not rough"]


def test_int16_tiff_with_a_range_past_int16_is_a_measure_of_its_heights():
    """Heights above the minimum of an int16 raster spanning -30000…30000 (wider than int16) stay positive."""
    y, x = np.mgrid[0:128, 0:128]
    z = (np.sin(x / 9.0) * np.cos(y / 7.0) * 30000).astype(np.int16)
    at = upload("dem.tif", tiff(z), "image/tiff")
    assert not at.error, errors(at)
    assert "Generalized dimensions" in " ".join(shown(at))


def test_white_noise_surface_says_its_3_minus_h_is_no_dimension(downloads):
    """White noise has a flat spectrum (spectral H near -1) and a flat variogram (H near 0): D = 3 - H
    would exceed 3, which the page and the report say is not a fractal dimension."""
    z = np.random.default_rng(4).random((256, 256)).astype(np.float32)
    at = upload("noise.tif", tiff(z), "image/tiff")
    est = shown(at)
    spectral = est["Hurst exponent: power spectrum"]
    assert spectral["value"] < 0 and est["Hurst exponent: power spectrum: D"]["value"] > 3, spectral
    assert any(w.value.startswith(f"H = {spectral['value']:.3f} lies outside 0 < H < 1") for w in at.warning), \
        [w.value for w in at.warning]
    row = next(r for r in json.loads(downloads["json"])["summary"]
               if r["measure"] == "Hurst exponent: power spectrum → D = 3 − H")
    assert "is not a fractal dimension" in row["notes"]
    z = fbm_surface_exact_of(0.5)  # inside 0 < H < 1: no such warning
    at = upload("fbm.tif", tiff(z), "image/tiff")
    assert not [w.value for w in at.warning if "lies outside" in w.value]


def fbm_surface_exact_of(h: float) -> np.ndarray:
    from fractalkit.surfaces import fbm_surface_exact

    return fbm_surface_exact(128, h, seed=2).astype(np.float32)


def test_float32_tiff_fbm_surface_hurst_intervals():
    """An exact fBm surface, H = 0.5 (D = 2.5), as float32: the H intervals are sane and D = 3 - H follows."""
    from fractalkit.surfaces import fbm_surface_exact

    z = fbm_surface_exact(128, 0.5, seed=2).astype(np.float32)
    at = upload("surface.tif", tiff(z), "image/tiff")
    assert not at.error, errors(at)
    est = shown(at)
    for title in ("Hurst exponent: variogram", "Hurst exponent: power spectrum"):
        h, d = est[title], est[f"{title}: D"]
        assert h["symbol"] == "H" and 0 < h["ci"][0] < h["ci"][1] < 1, h
        assert h["ci"][1] - h["ci"][0] < 0.4 and abs(h["value"] - 0.5) < 0.1, h
        assert d["value"] == pytest.approx(3 - h["value"], abs=1e-3)
    assert 2 < est["Differential box counting"]["value"] < 3


@pytest.mark.parametrize("kind", ["fgn", "fbm"])
def test_csv_series_of_exact_fbm_dfa_interval_covers_h(kind, downloads):
    """Exact fGn (a noise) or fBm (its path) from the fbm library, H = 0.7: DFA's interval covers H."""
    np.random.seed(7)
    gen = fbm_oracle.FBM(n=2**12, hurst=0.7, method="daviesharte")
    series = gen.fgn() if kind == "fgn" else gen.fbm()
    text = "t,x\n" + "\n".join(f"{i},{v:.17g}" for i, v in enumerate(series))
    at = upload("series.csv", text.encode(), "text/csv")
    assert not [e for e in errors(at) if "Correlation" not in e], errors(at)
    assert at.radio[-1].value == kind  # detected: a noise or a path
    est = shown(at)
    dfa = est["Hurst exponent: detrended fluctuation analysis"]
    assert dfa["symbol"] == "H" and covers(dfa, 0.7), dfa
    assert re.search(r"\(s = \d+…\d+ samples\)$", dfa["text"]), dfa["text"]
    table = pd.read_csv(io.BytesIO(downloads["csv"]))
    row = table[table.measure == "Hurst exponent: detrended fluctuation analysis"].iloc[0]
    assert f"{row.value:.3f}" == f"{dfa['value']:.3f}" and row.unit == "samples"
    report = json.loads(downloads["json"])
    assert report["input"]["column"] == "x" and report["input"]["samples"] == series.size
    assert report["parameters"]["series_kind"] == kind and report["parameters"]["dfa_order"] == 1


def test_dfa_order_and_embedding_controls_rerun_their_measures_only():
    np.random.seed(3)
    text = "\n".join(f"{v:.17g}" for v in fbm_oracle.FBM(n=2**11, hurst=0.3, method="daviesharte").fgn())
    at = upload("noise.txt", text.encode(), "text/plain")
    before = shown(at)
    at.number_input(key="a_dfa_order").set_value(3).run()
    at.slider(key="a_m").set_value(2).run()
    assert_ok(at)
    after = shown(at)
    assert after["Hurst exponent: variogram"] == before["Hurst exponent: variogram"]
    assert after["Hurst exponent: detrended fluctuation analysis"] != before["Hurst exponent: detrended fluctuation analysis"]
    corr = "Correlation dimension of the delay embedding"
    assert corr not in after or after[corr] != before.get(corr)


def test_a_surface_analysed_as_a_set_never_counts_nan_or_inf(downloads):
    z = np.linspace(0, 1, 128 * 128, dtype=np.float32).reshape(128, 128)
    z[:16, :] = np.nan
    z[16:24, :] = np.inf
    at = upload("holes.tif", tiff(z), "image/tiff")
    assert any("NaN or infinite heights" in e for e in errors(at)), errors(at)
    kind = next(s for s in at.selectbox if s.label == "Analyse as")
    kind.set_value("Binary set").run()
    at.radio(key="a_thr_method").set_value("Manual").run()
    assert_ok(at)
    report = json.loads(downloads["json"])
    t = report["parameters"]["threshold"]
    finite = np.isfinite(z)
    assert report["parameters"]["set_pixels"] == int(np.count_nonzero(finite & (z > t)))
    at.checkbox(key="a_invert").set_value(True).run()
    report = json.loads(downloads["json"])
    assert report["parameters"]["set_pixels"] == int(np.count_nonzero(finite & (z < t)))


def test_a_huge_image_is_downscaled_and_says_so():
    img = np.zeros((4200, 4200), np.uint8)
    img[::7, :] = 255
    at = upload("lines.png", png(img), "image/png")
    assert [i.value for i in at.info if "downscaled" in i.value] == [
        "The image is 4200 × 4200 pixels: it was downscaled to 4096 × 4096 for the analysis (images of more than "
        "16.8 megapixels (4096 × 4096) are downscaled to that many pixels, keeping their shape)."]


def test_the_manual_threshold_of_an_8_bit_image_moves_by_whole_grey_levels(downloads):
    """0.01 steps over 0...255 moved the set only every hundredth step (a new-user trial)."""
    y, x = np.mgrid[0:256, 0:256]
    photo = ((x + y) // 2).astype(np.uint8)  # a ramp: 256 grey levels, not two
    at = upload("ramp.png", png(photo), "image/png")
    next(s for s in at.selectbox if s.label == "Analyse as").set_value("Binary set").run()
    at.radio(key="a_thr_method").set_value("Manual").run()
    slider = next(s for s in at.slider if s.label == "Threshold level")
    assert (slider.min, slider.max, slider.step) == (0, 255, 1) and isinstance(slider.value, int)
    counts = []
    for t in (100, 101):
        slider.set_value(t).run()
        assert_ok(at)
        counts.append(json.loads(downloads["json"])["parameters"]["set_pixels"])
    assert counts == [int(np.count_nonzero(photo > 100)), int(np.count_nonzero(photo > 101))]
    assert counts[0] > counts[1]


def test_a_one_level_image_and_a_formula_like_file_name_get_clear_answers(downloads):
    """One grey level: no threshold makes a set, and the page says that (not 'move the threshold').
    A file name a spreadsheet would run as a formula is quoted in the CSV report."""
    at = upload("flat.png", png(np.full((64, 64), 7, np.uint8)), "image/png")
    assert errors(at) == ["Invalid input: every pixel of the image has the value 7: no threshold splits it into a set"]
    at = upload("=HYPERLINK(1).png", png(sierpinski_triangle(7)), "image/png")
    assert not at.error, errors(at)
    assert set(pd.read_csv(io.BytesIO(downloads["csv"])).input) == {"'=HYPERLINK(1).png"}
    assert json.loads(downloads["json"])["input"]["file"] == "=HYPERLINK(1).png"
