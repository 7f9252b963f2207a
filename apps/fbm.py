"""Fractional Brownian surfaces: synthesise with a Hurst exponent H, measure H back, with its interval."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from gallerykit import (COLORMAPS, cache_data, guarded, local_slopes_figure, loglog_figure, plotly_colorscale,
                        shared_figure, show_png)
from fractalkit import colorize_png, diamond_square, fbm_surface
from fractalkit.selfaffine import MAX_BOOTSTRAP_PIXELS, MIN_BOOTSTRAP, spectral_hurst, variogram

SIZES = [128, 256, 512, 1024, 2048]
EXACT = "Exact (circulant embedding)"
SPECTRAL = "Spectral synthesis (approximate)"
DIAMOND = "Diamond-square"
#: Largest exact surface the page makes: Stein's embedding is 8x (H <= 3/4) or 32x the surface.
EXACT_MAX = 512
#: Bootstrap replicates behind the intervals (each one an exact surface of the same size).
N_BOOT = 20


def _exact_available() -> bool:
    from fractalkit import surfaces

    return hasattr(surfaces, "fbm_surface_exact")


@cache_data(max_entries=16, show_spinner=False)
def make(method: str, size: int, h: float, seed: int) -> np.ndarray:
    if method == EXACT:
        from fractalkit.surfaces import fbm_surface_exact

        return fbm_surface_exact(size, h, seed)
    if method == SPECTRAL:
        return fbm_surface(size, h, seed)
    return diamond_square(int(np.log2(size)), h, seed)[:size, :size].astype(np.float32)


@cache_data(max_entries=32, show_spinner=False)
def measure(method: str, size: int, h: float, seed: int, n_boot: int):
    z = make(method, size, h, seed)
    return spectral_hurst(z, n_boot=n_boot, seed=seed), variogram(z, n_boot=n_boot, seed=seed)


@cache_data(max_entries=16, show_spinner=False)
def surface_png(method: str, size: int, h: float, seed: int, cmap: str) -> bytes:
    return colorize_png(make(method, size, h, seed), cmap)


@shared_figure
def surface_figure(method: str, size: int, h: float, seed: int, cmap: str) -> go.Figure:
    step = max(1, size // 128)  # a 3D mesh of at most 128² vertices
    zz = make(method, size, h, seed)[::step, ::step].astype(np.float32)  # 7 digits: half the figure's bytes
    fig = go.Figure(go.Surface(z=zz, colorscale=plotly_colorscale(cmap), showscale=False))
    fig.update_layout(height=550, margin=dict(l=0, r=0, t=0, b=0), scene=dict(aspectratio=dict(x=1, y=1, z=0.35)))
    return fig


st.title("Fractional Brownian surfaces")
st.caption("A self-affine surface: zooming in by r scales heights by r^H; its fractal dimension is 3 − H. "
           "The exact method samples fractional Brownian motion itself (Stein's circulant embedding); "
           "spectral synthesis filters white noise by |k|^−(H+1) (periodic, right spectrum, not quite fBm); "
           "diamond-square is midpoint displacement.")
methods = [EXACT, SPECTRAL, DIAMOND] if _exact_available() else [SPECTRAL, DIAMOND]
with st.sidebar:
    h = st.slider("Hurst exponent H", 0.05, 0.95, 0.7, 0.05, key="f_h")
    method = st.radio("Method", methods, key="f_method")
    size = st.select_slider("Size", SIZES, 512, key="f_size")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="f_seed")
    cmap = st.selectbox("Colormap", ["terrain", "gist_earth", *COLORMAPS], key="f_cmap")
    view3d = st.toggle("3D view", True, key="f_3d")
    boot = st.toggle("Honest interval (bootstrap)", int(size) <= 256, key="f_boot",
                     help=f"Measure {N_BOOT} exact fBm surfaces of the same size with the measured H "
                          "the same way; their spread is the uncertainty. Off: the regression interval, "
                          "too narrow (neighbouring scales share data). Takes seconds at 512².")

with guarded():
    size = int(size)
    if method == EXACT and size > EXACT_MAX:
        st.info(f"The exact method is capped at {EXACT_MAX}² on this page (its periodic embedding is 8 to "
                f"32 times larger); showing {EXACT_MAX}².")
        size = EXACT_MAX
    n_boot = N_BOOT if boot and size * size * MIN_BOOTSTRAP <= MAX_BOOTSTRAP_PIXELS else 0
    if boot and not n_boot:
        st.info(f"No bootstrap at {size}²: {MIN_BOOTSTRAP} exact replicates exceed the work cap; "
                "the intervals shown are regression intervals (too narrow).")
    with st.spinner("Measuring H" + (f" ({N_BOOT} bootstrap surfaces)…" if n_boot else "…")):
        fit_s, fit_v = measure(method, size, float(h), int(seed), n_boot)
    c1, c2 = st.columns(2)
    show_png(surface_png(method, size, float(h), int(seed), cmap), f"{size}² surface, H = {h:.2f} ({method})", c1,
             width="stretch")
    honest = fit_s.uncertainty.startswith("parametric bootstrap")
    for fit, name in ((fit_s, "power spectrum"), (fit_v, "variogram")):
        pm = f" ± {fit.half_width:.3f}" + ("" if fit.uncertainty.startswith("parametric bootstrap") else "*")
        c2.metric(f"Measured H ({name})", f"{fit.value:.3f}{pm}", f"{fit.value - h:+.3f} from the H asked for",
                  delta_color="off", help=f"{fit.confidence:.0%} interval {fit.ci[0]:.3f}…{fit.ci[1]:.3f}, "
                                          f"{fit.uncertainty}.")
        c2.caption(f"`{fit}` · {fit.method}, {fit.uncertainty}" + "".join(f" · {n}" for n in fit.notes))
    if not honest:
        c2.caption("\\* The ± above is the regression interval, far too narrow (neighbouring scales share data): "
                   "switch on *Honest interval* in the sidebar for the bootstrap one.")
    c2.metric("Fractal dimension 3 − H (spectrum)",
              f"{3 - fit_s.value:.3f} ± {fit_s.half_width:.3f}" + ("" if honest else "*"))
    if method != EXACT:
        c2.caption("Only exact fBm has the spectrum and variogram the estimators assume at every scale; "
                   "the other methods' surfaces may measure a few hundredths off the H asked for.")
    t1, t2 = st.tabs(["Power spectrum", "Variogram"])
    for tab, fit, xl, yl, title in (
            (t1, fit_s, "frequency (cycles/px)", "power", "Radially averaged spectrum (plane removed, Hann taper)"),
            (t2, fit_v, "lag h (px)", "semivariogram γ(h)", "Variogram along rows and columns")):
        a, b = tab.columns(2)
        a.plotly_chart(loglog_figure(fit, xl, yl, title), width="stretch")
        b.plotly_chart(local_slopes_figure(fit, xl, "Local H: flat over the fitted range (shaded)"),
                       width="stretch")
    if view3d:
        st.plotly_chart(surface_figure(method, size, float(h), int(seed), cmap), width="stretch")
