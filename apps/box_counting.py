"""Box-counting analysis of an uploaded image: log-log plot, fitted dimension, CSV."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from PIL import Image, UnidentifiedImageError

from gallerykit import guarded, loglog_figure, page_config
from fractalkit import box_counting_dimension, dla, lsystem_segments, rasterize_segments
from fractalkit.limits import MAX_PIXELS

MAX_DECODE_PIXELS = 64_000_000  # refuse decompression bombs outright


def sierpinski(k: int = 10) -> np.ndarray:
    i = np.arange(2 ** k)
    return ((i[:, None] & i[None, :]) == 0).astype(np.uint8) * 255


@st.cache_data(max_entries=8, show_spinner=False)
def example(name: str) -> np.ndarray:
    if name == "Sierpinski triangle":
        return sierpinski()
    if name == "Koch curve":
        koch = lsystem_segments("Koch curve", 6)
        return rasterize_segments(koch.start, koch.end, (1024, 1024)).astype(np.uint8) * 255
    return (dla(8000, seed=1).grid > 0).astype(np.uint8) * 255


def upload_limit_bytes() -> int:
    """The upload size limit, in bytes: Streamlit's own ``server.maxUploadSize`` (megabytes).

    The stack sets it from ``MAX_UPLOAD_MB`` (``.env``), the same figure the proxy and
    JupyterLab use, so the page, the uploader's "Limit … per file" and the proxy agree.

    Returns
    -------
    int
        The largest accepted file, in bytes.
    """
    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


def load_upload(upload) -> np.ndarray:
    """Decode an uploaded image to greyscale uint8, with clear errors for bad uploads.

    Parameters
    ----------
    upload : file-like with a ``size`` attribute
        What ``st.file_uploader`` returned. Its size is checked against
        :func:`upload_limit_bytes` before a byte of it is read or decoded.

    Returns
    -------
    numpy.ndarray
        The image as a 2-D ``uint8`` array, downscaled to at most ``MAX_PIXELS`` pixels.

    Raises
    ------
    ValueError
        If the file is over the size limit, too many pixels, or not an image Pillow can read.
    """
    limit = upload_limit_bytes()
    if upload.size > limit:
        raise ValueError(f"the file is {upload.size / 2**20:.1f} MB; the limit is {limit / 2**20:.0f} MB "
                         "(MAX_UPLOAD_MB)")
    try:
        upload.seek(0)
        im = Image.open(upload)
        if im.width * im.height > MAX_DECODE_PIXELS:
            raise ValueError(f"the image is {im.width} × {im.height} pixels; the limit is "
                             f"{MAX_DECODE_PIXELS / 1e6:.0f} megapixels")
        im.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError):
        raise ValueError("that file is not an image Pillow can read (PNG, JPEG, GIF, BMP, TIFF)") from None
    if im.width * im.height > MAX_PIXELS:
        scale = (MAX_PIXELS / (im.width * im.height)) ** 0.5
        im = im.resize((max(1, int(im.width * scale)), max(1, int(im.height * scale))))
        st.info(f"Downscaled to {im.width} × {im.height} pixels for the analysis.")
    return np.asarray(im.convert("L"))


page_config("Box counting")
st.title("Box-counting dimension")
st.caption("Cover the set with boxes of side s and count the occupied ones: N(s) ∝ s^−D. "
           "The image is thresholded to a binary set and counted on a power-of-two pyramid.")
with st.sidebar:
    source = st.radio("Image", ["Example", "Upload"], key="b_source")
    if source == "Example":
        name = st.selectbox("Example", ["Sierpinski triangle", "Koch curve", "DLA cluster"], key="b_example")
    threshold = st.slider("Threshold", 1, 255, 128, key="b_threshold")
    invert = st.checkbox("Dark pixels are the set", False, key="b_invert")

with guarded():
    if source == "Upload":
        up = st.file_uploader("An image of the set (PNG, JPEG, GIF, BMP, TIFF)",
                              type=["png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff"], key="b_upload")
        if up is None:
            st.info("Upload an image to analyse.")
            st.stop()
        grey = load_upload(up)
    else:
        grey = example(name)
    binary = grey < threshold if invert else grey >= threshold
    if not binary.any():
        raise ValueError("no pixel is in the set at this threshold: move the threshold or invert")
    side = 1 << int(np.ceil(np.log2(max(binary.shape))))
    sizes = [2 ** k for k in range(int(np.log2(side)) + 1)]
    lo, hi = st.select_slider("Fitted box sizes (pixels)", sizes,
                              (min(2, sizes[-1]), max(min(side // 16, sizes[-1]), min(8, sizes[-1]))),
                              key=f"b_range_{side}")
    if sizes.index(hi) - sizes.index(lo) < 2:
        raise ValueError("the fitted range needs at least three box sizes")
    fit = box_counting_dimension(binary, lo, hi)
    c1, c2 = st.columns([2, 3])
    c1.image(binary.astype(np.uint8) * 255, caption=f"{binary.shape[1]} × {binary.shape[0]} binary set",
             clamp=True)
    c1.metric("Box-counting dimension", f"{fit.value:.3f}", help=f"fit over s = {lo} … {hi} px, R² = {fit.r2:.4f}")
    c2.plotly_chart(loglog_figure(fit, "box size s (pixels)", "occupied boxes N(s)", "log N vs log s"),
                    width="stretch")
    table = pd.DataFrame({"box_size": fit.x, "occupied_boxes": fit.y, "in_fit": fit.used})
    st.download_button("Download CSV", table.to_csv(index=False).encode(), file_name="box_counts.csv",
                       mime="text/csv")
