"""Pythagoras tree: squares on the legs of right triangles, recursively."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import streamlit as st
from matplotlib.collections import PolyCollection

from gallerykit import cache_data, fig_png, guarded, show_png
from fractalkit import pythagoras_tree


@cache_data(max_entries=24, show_spinner=False)
def render(depth: int, angle: float, cmap: str) -> tuple[bytes, int]:
    squares, level = pythagoras_tree(depth, angle)
    fig, ax = plt.subplots(figsize=(8, 6))
    colours = matplotlib.colormaps[cmap](level / max(depth, 1))
    ax.add_collection(PolyCollection(squares, facecolors=colours, edgecolors="none"))  # ONE artist
    ax.autoscale()
    ax.set_aspect("equal")
    ax.axis("off")
    return fig_png(fig), len(squares)


st.title("Pythagoras tree")
st.caption("Each square carries two smaller squares on the legs of a right triangle. "
           "At 45° the tree fills a bounded region; depth d has 2^(d+1) − 1 squares.")
with st.sidebar:
    depth = st.slider("Depth", 0, 15, 10, key="p_depth")
    angle = st.slider("Angle (°)", 1.0, 89.0, 45.0, 0.5, key="p_angle")
    cmap = st.selectbox("Colours", ["summer", "viridis", "autumn", "copper", "cool"], key="p_cmap")
with guarded():
    png, n = render(depth, angle, cmap)
    show_png(png, f"{n:,} squares")
