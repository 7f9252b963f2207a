"""Julia sets: c by sliders or presets, and an animated GIF of a c-sweep or zoom."""
from __future__ import annotations

import numpy as np
import streamlit as st

from gallerykit import COLORMAPS, cache_data, guarded, show_png
from fractalkit import Viewport, colorize_png, gif_bytes, julia, palette, to_indices

# Every preset but the last has c in the Mandelbrot set (its critical orbit stays bounded
# for 10**5 iterations), so its Julia set is connected; the last is a Cantor dust on purpose.
PRESETS = {
    "Dendrite (c = i)": (0.0, 1.0),
    "Douady rabbit": (-0.123, 0.745),
    "San Marco (c = -3/4)": (-0.75, 0.0),
    "Near a Siegel disk": (-0.390, -0.587),  # just inside the cardioid; the Siegel c is -0.3905-0.5868i
    "Basilica (c = -1)": (-1.0, 0.0),
    "Spiral dust (c outside M)": (0.285, 0.01),
}


@cache_data(max_entries=24, show_spinner=False)
def still(cre, cim, max_iter, size, cmap) -> bytes:
    img = julia(complex(cre, cim), Viewport(0.0, 0.0, 3.2, size, size), max_iter)
    return colorize_png(img, cmap, log=True)


@cache_data(max_entries=8, show_spinner=False)
def animation(cre, cim, kind, frames, size, max_iter, cmap) -> bytes:
    bar = st.progress(0.0, "Rendering frames…")
    out = np.empty((frames, size, size), dtype=np.uint8)
    for k in range(frames):
        t = k / max(frames - 1, 1)
        if kind == "c-parameter sweep":  # c travels once around a small circle
            c = complex(cre, cim) + 0.05 * np.exp(2j * np.pi * t)
            vp = Viewport(0.0, 0.0, 3.2, size, size)
        else:  # zoom 100x into the set's boundary
            c = complex(cre, cim)
            vp = Viewport(0.0, 0.0, 3.2 / 100 ** t, size, size)
        out[k] = to_indices(julia(c, vp, max_iter), 0.0, np.log1p(max_iter), log=True)
        bar.progress((k + 1) / frames, f"Frame {k + 1} of {frames}")
    bar.empty()
    return gif_bytes(out, np.vstack([palette(cmap, 255), [[0, 0, 0]]]), duration_ms=70)


st.title("Julia sets")
st.caption("The filled Julia set of z ← z² + c: points z₀ whose orbit stays bounded. "
           "It is connected exactly when c lies in the Mandelbrot set.")

with st.sidebar:
    preset = st.selectbox("Preset", list(PRESETS), index=4, key="j_preset")
    cre = st.slider("Re(c)", -2.0, 2.0, PRESETS[preset][0], 0.001, key=f"j_re_{preset}")
    cim = st.slider("Im(c)", -2.0, 2.0, PRESETS[preset][1], 0.001, key=f"j_im_{preset}")
    max_iter = st.slider("Iterations", 16, 2000, 300, 16, key="j_iter")
    size = st.slider("Size (pixels)", 128, 1600, 720, 16, key="j_size")
    cmap = st.selectbox("Colormap", COLORMAPS, index=1, key="j_cmap")

with guarded():
    show_png(still(cre, cim, max_iter, size, cmap), f"c = {cre:+.3f} {cim:+.3f}i")

st.subheader("Animation")
a1, a2, a3 = st.columns(3)
kind = a1.radio("Kind", ["c-parameter sweep", "zoom"], key="j_kind")
frames = a2.slider("Frames", 2, 120, 40, key="j_frames")
gsize = a3.slider("GIF size", 64, 512, 256, 32, key="j_gsize")
if st.button("Make GIF", key="j_make"):
    with guarded():
        gif = animation(cre, cim, kind, frames, gsize, min(max_iter, 500), cmap)
        st.image(gif, caption=f"{frames} frames, {len(gif) / 1e6:.1f} MB")
        st.download_button("Download GIF", gif, file_name="julia.gif", mime="image/gif")
