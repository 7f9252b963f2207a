"""Fractional Brownian surfaces: synthesise with a Hurst exponent H, measure H back."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from gallerykit import COLORMAPS, guarded, loglog_figure, page_config
from fractalkit import colorize, diamond_square, fbm_surface, hurst_exponent, image_bytes

SIZES = [128, 256, 512, 1024, 2048]


@st.cache_data(max_entries=16, show_spinner=False)
def make(method: str, size: int, h: float, seed: int) -> np.ndarray:
    if method == "Spectral synthesis":
        return fbm_surface(size, h, seed)
    return diamond_square(int(np.log2(size)), h, seed)[:size, :size].astype(np.float32)


page_config("fBm surfaces")
st.title("Fractional Brownian surfaces")
st.caption("A self-affine surface: zooming in by r scales heights by r^H. Spectral synthesis filters "
           "white noise by |k|^−(H+1); the surface's fractal dimension is 3 − H.")
with st.sidebar:
    h = st.slider("Hurst exponent H", 0.05, 0.95, 0.7, 0.05, key="f_h")
    method = st.radio("Method", ["Spectral synthesis", "Diamond-square"], key="f_method")
    size = st.select_slider("Size", SIZES, 512, key="f_size")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="f_seed")
    cmap = st.selectbox("Colormap", ["terrain", "gist_earth", *COLORMAPS], key="f_cmap")
    view3d = st.toggle("3D view", True, key="f_3d")

with guarded():
    z = make(method, int(size), float(h), int(seed))
    fit = hurst_exponent(z)
    c1, c2 = st.columns(2)
    c1.image(image_bytes(colorize(z, cmap)), caption=f"{size}² surface, H = {h:.2f}",
             width="stretch")
    c2.metric("Measured H (power spectrum)", f"{fit.value:.3f}", f"{fit.value - h:+.3f}")
    c2.metric("Fractal dimension 3 − H", f"{3 - fit.value:.3f}")
    c2.plotly_chart(loglog_figure(fit, "frequency", "power", "Radially averaged spectrum"),
                    width="stretch")
    if view3d:
        step = max(1, int(size) // 128)  # a 3D mesh of at most 128² vertices
        zz = z[::step, ::step]
        fig = go.Figure(go.Surface(z=zz, colorscale="Earth", showscale=False))
        fig.update_layout(height=550, margin=dict(l=0, r=0, t=0, b=0),
                          scene=dict(aspectratio=dict(x=1, y=1, z=0.35)))
        st.plotly_chart(fig, width="stretch")
