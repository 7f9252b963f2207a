"""Mandelbrot explorer: centre, zoom, iterations, colormap, zoom steps, PNG download."""
from __future__ import annotations

import numpy as np
import streamlit as st

from gallerykit import COLORMAPS, guarded, show_png
from fractalkit import Viewport, colorize, image_bytes, mandelbrot
from fractalkit.limits import MAX_ESCAPE_WORK, check

RESOLUTIONS = {"480 × 360": (480, 360), "800 × 600": (800, 600), "1280 × 720": (1280, 720),
               "1920 × 1080": (1920, 1080)}
PRESETS = {
    "Whole set": (-0.5, 0.0, 0.0),
    "Seahorse valley": (-0.743643887037151, 0.131825904205330, 3.0),
    "Elephant valley": (0.2925755, -0.0149977, 2.5),
    "Mini Mandelbrot": (-1.7687788, -0.0017389, 4.5),
    "Deep spiral (1e-10)": (-0.743643887037158704752191506114774, 0.131825904205311970493132056385139, 10.5),
}
BANDS = 8


def _goto_preset():
    st.session_state.m_re, st.session_state.m_im, st.session_state.m_zoom = PRESETS[st.session_state.m_preset]


def _zoom(factor: float):
    st.session_state.m_zoom = float(np.clip(st.session_state.m_zoom + np.log10(factor), 0.0, 13.0))


def _state(key, value):
    if key not in st.session_state:
        st.session_state[key] = value


@st.cache_data(max_entries=24, show_spinner=False)
def render(cre, cim, zoom, max_iter, res, cmap) -> tuple[bytes, float]:
    nx, ny = RESOLUTIONS[res]
    vp = Viewport(cre, cim, 3.0 / 10 ** zoom, nx, ny)
    check("pixels x iterations", nx * ny * max_iter, MAX_ESCAPE_WORK, "lower the resolution or iterations")
    bar = st.progress(0.0, "Rendering…") if nx * ny * max_iter > 3e8 else None
    rows = np.linspace(0, ny, BANDS + 1).astype(int)
    parts = []
    for k in range(BANDS):  # horizontal bands drive the progress bar; same pixel grid
        r0, r1 = rows[k], rows[k + 1]
        shift = ((r0 + r1 - 1) / 2 - (ny - 1) / 2) * vp.pixel_size
        parts.append(mandelbrot(Viewport(cre, cim - shift, vp.width, nx, r1 - r0), max_iter))
        if bar:
            bar.progress((k + 1) / BANDS, "Rendering…")
    if bar:
        bar.empty()
    img = np.vstack(parts)
    inside = float(np.isnan(img).mean())
    return image_bytes(colorize(img, cmap, log=True)), inside


st.title("Mandelbrot explorer")
st.caption("z ← z² + c from z = 0; colour is the smooth escape count. float64 arithmetic allows "
           "zooms to about 10¹³.")

_state("m_re", -0.5)
_state("m_im", 0.0)
_state("m_zoom", 0.0)

with st.sidebar:
    preset = st.selectbox("Preset", list(PRESETS), key="m_preset")
    st.button("Go to preset", width="stretch", on_click=_goto_preset)
    st.number_input("Centre (real)", -2.5, 1.5, key="m_re", format="%.15f", step=1e-3)
    st.number_input("Centre (imaginary)", -1.5, 1.5, key="m_im", format="%.15f", step=1e-3)
    st.slider("Zoom (log₁₀)", 0.0, 13.0, key="m_zoom", step=0.25)
    c1, c2 = st.columns(2)
    c1.button("Zoom in ×4", width="stretch", on_click=_zoom, args=(4.0,))
    c2.button("Zoom out ×4", width="stretch", on_click=_zoom, args=(0.25,))
    max_iter = st.slider("Iterations", 16, 5000, 256, step=16, key="m_iter")
    res = st.selectbox("Resolution", list(RESOLUTIONS), index=1, key="m_res")
    cmap = st.selectbox("Colormap", COLORMAPS, key="m_cmap")

with guarded():
    png, inside = render(float(st.session_state.m_re), float(st.session_state.m_im),
                         float(st.session_state.m_zoom), int(max_iter), res, cmap)
    width = 3.0 / 10 ** st.session_state.m_zoom
    show_png(png, f"centre {st.session_state.m_re:.15f} {st.session_state.m_im:+.15f}i · "
                  f"width {width:.3g} · {inside:.1%} of pixels inside")
    st.download_button("Download PNG", png, file_name="mandelbrot.png", mime="image/png")
