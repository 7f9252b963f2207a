"""Diffusion-limited aggregation: watch a cluster grow and measure its dimension."""
from __future__ import annotations

import numpy as np
import streamlit as st

from gallerykit import COLORMAPS, cache_data, guarded, loglog_figure, shared_results, show_png
from fractalkit import colorize_png, dla, gyration_dimension

#: Grown clusters kept for all sessions together: a cluster at the particle cap holds a
#: ~29 MB lattice, so this keeps the last few, however many students are growing them.
CLUSTER_CACHE_MB = 128


def grow(particles: int, seed: int, slot):
    """Grow (or fetch from the server-wide cache) a cluster, with a progress bar in ``slot``.

    ``slot`` (an ``st.empty``) holds the bar while a cluster grows and is empty again after, so
    the page has the same layout whether this session grew the cluster or another one did.
    Sessions asking for a cluster that another session is growing wait for it, with its progress.
    """
    clusters = shared_results("dla-clusters", CLUSTER_CACHE_MB)
    bar = None

    def show(fraction, text):
        nonlocal bar
        bar = slot.progress(fraction, text or "Growing…")

    cluster = clusters.get_or_compute(
        (particles, seed),
        lambda report: dla(particles, seed=seed,
                           progress=lambda done, total: report(done / total, f"{done:,} / {total:,} particles")),
        lambda c: c.grid.nbytes, progress=show)
    if bar is not None:
        slot.empty()
    return cluster


@cache_data(max_entries=16, show_spinner=False)
def view(particles: int, seed: int, cmap: str, _cluster):
    """The cluster's picture (PNG) and its growth-law fit (None below 200 particles), once per
    cluster and colour map for every session."""
    # Crop to the cluster before converting: at the particle cap the lattice is 2703^2 but the
    # cluster spans ~1000^2, so the float copy is 8 MB instead of 58 MB.
    ys, xs = np.nonzero(_cluster.grid)
    g = _cluster.grid[ys.min():ys.max() + 1, xs.min():xs.max() + 1].astype(float)
    g[g == 0] = np.nan
    png = colorize_png(g, cmap, nan_color=(255, 255, 255))
    fit = gyration_dimension(_cluster, n_min=min(100, _cluster.particles // 4)) if _cluster.particles >= 200 else None
    return png, fit


st.title("Diffusion-limited aggregation")
st.caption("Particles random-walk in from far away and stick where they first touch the cluster. "
           "The branches screen their own interior, giving a fractal of dimension ≈ 1.71 in 2D.")
with st.sidebar:
    particles = st.slider("Particles", 500, 50_000, 5_000, 500, key="d_particles")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="d_seed")
    cmap = st.selectbox("Colour by arrival", COLORMAPS, index=2, key="d_cmap")

with guarded():
    cluster = grow(int(particles), int(seed), st.empty())
    png, fit = view(int(particles), int(seed), cmap, cluster)
    c1, c2 = st.columns([3, 2])
    show_png(png, f"{cluster.particles:,} particles, radius {cluster.radius:.0f} lattice units", c1)
    if fit is not None:
        lo, hi = fit.fit_range
        c2.metric("Measured dimension D (N ∝ R_g^D)", f"{fit.value:.3f}", f"± {fit.half_width:.3f}", delta_color="off",
                  delta_arrow="off", delta_description=f"{fit.confidence:.0%} interval, R_g = {lo:.3g}…{hi:.3g}",
                  help="; ".join((f"uncertainty: {fit.uncertainty}", *fit.notes)))
        c2.markdown(f"**{fit}** · 2-D DLA: D ≈ 1.71")
        c2.plotly_chart(loglog_figure(fit, "radius of gyration R_g", "particles N", "Growth law"),
                        width="stretch")
