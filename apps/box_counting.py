"""Box-counting analysis of an uploaded image: the dimension with its interval and range, log-log plot, local slopes, CSV."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from gallerykit import cache_data, cache_resource, guarded, local_slopes_figure, loglog_figure, shared_results, show_png
from gallerykit.data import (IMAGE_TYPES, downscale, downscaled_note, file_stem, read_image, read_upload, to_uint8,
                             upload_digest)
from fractalkit import box_counting_dimension, dla, image_bytes, lsystem_segments, rasterize_segments


def sierpinski(k: int = 10) -> np.ndarray:
    i = np.arange(2 ** k)
    return ((i[:, None] & i[None, :]) == 0).astype(np.uint8) * 255


@cache_data(max_entries=8, show_spinner=False)
def example(name: str) -> np.ndarray:
    if name == "Sierpinski triangle":
        return sierpinski()
    if name == "Koch curve":
        koch = lsystem_segments("Koch curve", 6)
        return rasterize_segments(koch.start, koch.end, (1024, 1024)).astype(np.uint8) * 255
    return (dla(8000, seed=1).grid > 0).astype(np.uint8) * 255


INPUT_CACHE_MB = 256    # decoded uploads kept for every session together


def upload_image(up) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int] | None]:
    """The uploaded image as grey levels 0-255, where its pixels are finite (None: everywhere), and
    its original shape if it was downscaled: decoded once for every session."""
    store, key = shared_results("box-counting-images", INPUT_CACHE_MB), upload_digest(up)
    hit = store.get(key)
    if hit is None:
        full = read_image(read_upload(up, key))
        image, scaled = downscale(full)
        finite = np.isfinite(image) if image.dtype.kind == "f" else None
        hit = (to_uint8(image), finite, full.shape if scaled else None)
        store.put(key, hit, hit[0].nbytes + (0 if finite is None else finite.nbytes))
    return hit


def binary_set(grey: np.ndarray, finite: np.ndarray | None, threshold: int, invert: bool) -> np.ndarray:
    """The pixels at or above ``threshold`` (below it if ``invert``); never a NaN or infinite one."""
    binary = grey < threshold if invert else grey >= threshold
    if finite is not None:
        binary &= finite
    if not binary.any():
        raise ValueError("no pixel is in the set at this threshold: move the threshold or invert")
    return binary


@cache_resource(max_entries=16, show_spinner=False)
def measure(key: str, fit_range: tuple[int, int] | None, _grey: np.ndarray, _finite: np.ndarray | None,
            threshold: int, invert: bool):
    """The binary set's picture (PNG), its box-counting fit and the counts as CSV, once per input
    (``key``: the image's content), threshold and range for every session: one object for all
    of them (a cache resource, not copied on each run), never modified."""
    binary = binary_set(_grey, _finite, threshold, invert)
    fit = box_counting_dimension(binary) if fit_range is None else box_counting_dimension(binary, *fit_range)
    table = pd.DataFrame({"box_size": fit.x, "occupied_boxes_mean_over_offsets": fit.y, "in_fit": fit.used})
    return image_bytes(binary.astype(np.uint8) * 255), fit, table.to_csv(index=False).encode()


st.title("Box-counting dimension")
st.caption("Cover the set with boxes of side s and count the occupied ones: N(s) ∝ s^−D. "
           "The image is thresholded to a binary set; boxes of four sizes per octave are counted and "
           "averaged over every placement of the grid. The interval adds the regression error, the spread "
           "between single grids and the spread between sub-ranges; the local slopes show whether one power "
           "law holds over the range.")
with st.sidebar:
    source = st.radio("Image", ["Example", "Upload"], key="b_source")
    if source == "Example":
        name = st.selectbox("Example", ["Sierpinski triangle", "Koch curve", "DLA cluster"], key="b_example")
    threshold = st.slider("Threshold", 1, 255, 128, key="b_threshold")
    invert = st.checkbox("Dark pixels are the set", False, key="b_invert")
    auto = st.checkbox("Choose the fitted range automatically", True, key="b_auto",
                       help="The widest range of box sizes over which log N(s) is straightest "
                            "(smallest standard error of the slope), up to 1/8 of the set's size.")

with guarded():
    if source == "Upload":
        up = st.file_uploader("An image of the set (PNG, JPEG, GIF, BMP, TIFF)", type=IMAGE_TYPES, key="b_upload")
        if up is None:
            st.info("Upload an image to analyse.")
            st.stop()
        grey, finite, original = upload_image(up)
        content = upload_digest(up)
        if original:
            st.info(downscaled_note(original, grey.shape))
    else:
        grey, finite, content = example(name), None, name
    if auto:
        png, fit, csv = measure(content, None, grey, finite, threshold, invert)
    else:
        side = 1 << int(np.ceil(np.log2(max(grey.shape))))
        sizes = [2 ** k for k in range(int(np.log2(side)) + 1)]
        lo, hi = st.select_slider("Fitted box sizes (pixels)", sizes,
                                  (min(2, sizes[-1]), max(min(side // 16, sizes[-1]), min(8, sizes[-1]))),
                                  key=f"b_range_{side}")
        if sizes.index(hi) - sizes.index(lo) < 2:
            raise ValueError("the fitted range needs at least three box sizes")
        png, fit, csv = measure(content, (lo, hi), grey, finite, threshold, invert)
    lo, hi = fit.fit_range
    c1, c2 = st.columns([2, 3])
    show_png(png, f"{grey.shape[1]} × {grey.shape[0]} binary set", c1)
    c1.metric("Box-counting dimension D", f"{fit.value:.3f}", f"± {fit.half_width:.3f}", delta_color="off",
              delta_arrow="off", delta_description=f"{fit.confidence:.0%} interval, s = {lo:g}…{hi:g} px",
              help="; ".join((f"uncertainty: {fit.uncertainty}", *fit.notes, f"R² = {fit.r2:.4f}")))
    c1.markdown(f"**{fit}**")
    c2.plotly_chart(loglog_figure(fit, "box size s (pixels)", "occupied boxes N(s)", "log N vs log s"),
                    width="stretch")
    c2.plotly_chart(local_slopes_figure(fit, "box size s (pixels)", "Local slopes: a plateau is a power law"),
                    width="stretch")
    stem = file_stem(up.name if source == "Upload" else name)
    st.download_button("Download CSV", csv, file_name=f"box_counts-{stem}.csv", mime="text/csv")
