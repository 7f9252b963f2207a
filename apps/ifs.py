"""Iterated function systems by the chaos game: Barnsley fern, Sierpinski, your own maps."""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from gallerykit import COLORMAPS, cache_data, cache_resource, guarded, show_png
from fractalkit import (BARNSLEY_FERN, BARNSLEY_FERN_P, SIERPINSKI, SIERPINSKI_P, box_counting_dimension,
                        chaos_game, colorize_png, density)

PRESETS = {"Barnsley fern": (BARNSLEY_FERN, BARNSLEY_FERN_P), "Sierpinski triangle": (SIERPINSKI, SIERPINSKI_P)}
COLS = ["a", "b", "c", "d", "e", "f", "p"]


@cache_data(max_entries=16, show_spinner=False)
def render(maps: np.ndarray, probs: np.ndarray, n: int, size: int, seed: int, cmap: str):
    pts, _ = chaos_game(maps, probs, n, seed=seed)
    dens = density(pts, (size, size))
    fit, why = None, f"measured from 100,000 points up ({n:,} drawn)"
    if n >= 100_000:
        try:
            fit = box_counting_dimension(dens > 0)
        except ValueError as exc:  # e.g. an attractor a few pixels wide: the picture still shows
            why = str(exc)
    return colorize_png(np.where(dens > 0, dens, np.nan), cmap, log=True, nan_color=(255, 255, 255)), fit, why


@cache_resource(show_spinner=False)
def preset_table(preset: str) -> pd.DataFrame:
    """A preset's maps and probabilities, the editor's first table: one for every session (the editor copies it)."""
    maps, probs = PRESETS[preset]
    return pd.DataFrame(np.column_stack([maps, probs]), columns=COLS)


st.title("Iterated function systems")
st.caption("The chaos game: start anywhere, apply a randomly chosen affine map, repeat. The points "
           "settle on the attractor. Each map is x' = a·x + b·y + e, y' = c·x + d·y + f, chosen "
           "with probability p.")
with st.sidebar:
    preset = st.selectbox("System", list(PRESETS), key="i_preset")
    n = st.slider("Points", 10_000, 5_000_000, 300_000, 10_000, key="i_points")
    size = st.slider("Image size", 128, 1600, 700, 16, key="i_size")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="i_seed")
    cmap = st.selectbox("Colormap", COLORMAPS, index=2, key="i_cmap")

st.write("Affine maps (editable; probabilities are normalised):")
edited = st.data_editor(preset_table(preset), num_rows="dynamic", key=f"i_maps_{preset}", width="stretch")
with guarded():
    arr = edited[COLS].to_numpy(dtype=float, na_value=np.nan)
    if len(arr) == 0:
        raise ValueError("add at least one map")
    if np.isnan(arr).any():
        raise ValueError("every cell of the map table needs a number")
    png, fit, why = render(arr[:, :6], arr[:, 6], int(n), int(size), int(seed), cmap)
    show_png(png, f"{n:,} points")
    if fit is not None:
        lo, hi = fit.fit_range
        st.metric("Box-counting dimension of the attractor image", f"{fit.value:.3f}", f"± {fit.half_width:.3f}",
                  delta_color="off", delta_arrow="off",
                  delta_description=f"{fit.confidence:.0%} interval, s = {lo:g}…{hi:g} px",
                  help="; ".join((f"uncertainty: {fit.uncertainty}", *fit.notes)))
        st.markdown(f"**{fit}**")
    else:
        st.caption(f"Box-counting dimension: {why}.")
