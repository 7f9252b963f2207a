"""Branching tree, 2D or 3D: the gallery's home page (``apps/gallery.py`` routes to it)."""
from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import streamlit as st
from matplotlib.collections import LineCollection

from gallerykit import cache_data, guarded, plotly_colorscale, shared_figure, show_png
from fractalkit import nan_path, segment_count, tree_2d, tree_3d

MAX_DEPTH_2D = 16
MAX_DEPTH_3D = 10


@cache_data(max_entries=32, show_spinner=False)
def render_2d(depth, branches, angle, length_ratio, width_ratio, jitter, seed, cmap) -> bytes:
    seg = tree_2d(depth, branches, angle, length_ratio, width_ratio, jitter=jitter, seed=seed)
    fig, ax = plt.subplots(figsize=(7, 7), dpi=110)
    lines = np.stack([seg.start, seg.end], axis=1)
    colours = matplotlib.colormaps[cmap](seg.level / max(depth, 1))
    ax.add_collection(LineCollection(lines, linewidths=np.maximum(seg.width, 0.2), colors=colours,
                                     capstyle="round"))  # ONE artist for the whole tree
    ax.autoscale()
    ax.set_aspect("equal")
    ax.axis("off")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buf.getvalue()


@shared_figure
def figure_3d(depth, branches, angle, length_ratio, jitter, seed, cmap) -> go.Figure:
    seg = tree_3d(depth, branches, angle, length_ratio, jitter=jitter, seed=seed)
    path = nan_path(seg.start, seg.end)
    level = np.repeat(seg.level, 3).astype(float)
    fig = go.Figure(go.Scatter3d(  # ONE trace, NaN-separated segments
        x=path[:, 0], y=path[:, 1], z=path[:, 2], mode="lines",
        line=dict(color=level, colorscale=plotly_colorscale(cmap), width=4), hoverinfo="skip"))
    fig.update_layout(height=650, margin=dict(l=0, r=0, t=0, b=0),
                      scene=dict(aspectmode="data", xaxis_visible=False, yaxis_visible=False,
                                 zaxis_visible=False))
    return fig


st.title("Branching tree")
st.caption("A recursive tree: every branch carries smaller copies of the tree. "
           "A full tree of depth d with b branches has (b^(d+1) − 1)/(b − 1) segments.")
with st.sidebar:
    mode = st.radio("View", ["2D", "3D"], horizontal=True, key="tree_mode")
    max_depth = MAX_DEPTH_2D if mode == "2D" else MAX_DEPTH_3D
    depth = st.slider("Depth", 0, max_depth, 9 if mode == "2D" else 6, key=f"depth_{mode}")
    branches = st.slider("Branches per node", 1, 5, 2 if mode == "2D" else 3, key="branches")
    angle = st.slider("Branch angle (°)", 0.0, 90.0, 25.0 if mode == "2D" else 35.0, 0.5, key="angle")
    length_ratio = st.slider("Length ratio", 0.30, 1.00, 0.72, 0.01, key="length_ratio")
    width_ratio = st.slider("Width ratio", 0.30, 1.00, 0.70, 0.01, key="width_ratio")
    jitter = st.slider("Jitter", 0.0, 1.0, 0.0, 0.05, key="jitter")
    seed = st.number_input("Seed", 0, 2**31 - 1, 0, key="seed")
    cmap = st.selectbox("Colours", ["viridis", "summer", "copper", "plasma", "cividis"], key="cmap")
n = segment_count(depth, branches)
st.metric("Segments", f"{n:,}")
with guarded():
    if mode == "2D":
        show_png(render_2d(depth, branches, angle, length_ratio, width_ratio, jitter, int(seed), cmap),
                 f"Depth {depth}, {branches} branches, {angle:.1f}°")
    else:
        st.plotly_chart(figure_3d(depth, branches, angle, length_ratio, jitter, int(seed), cmap), width="stretch")
