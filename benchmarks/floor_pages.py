"""Streamlit's own cost of what a gallery page shows, without any work of ours: the trivial page
(benchmarks/trivial_page.py) plus one element each. benchmarks/page_profile.py --floors serves
each as the home page, beside the trivial page, and prints its interpreter-lock time per run.

Each element's content is made once per process (as the gallery's are), so a run costs only
what Streamlit does to show it: a picture (a 640 x 480 indexed-colour PNG, sent as the gallery
sends pictures, then fetched by the client as /media/), a Plotly figure (a log-log fit plot of
the gallery's size, shared and not copied, as the gallery's are), a download button (a 4 kB
CSV), five more widgets.

    FLOOR=picture streamlit run benchmarks/floor_pages.py   (picture, figure, download, widgets)
"""
import os

import numpy as np
import plotly.graph_objects as go
import streamlit as st

FLOORS = ("picture", "figure", "download", "widgets")


@st.cache_resource
def content():
    from fractalkit import colorize_png
    from gallerykit.figures import SharedFigure

    y, x = np.mgrid[0:480, 0:640]
    png = colorize_png(np.sin(x / 37.0) * np.cos(y / 23.0), "magma")
    s = np.geomspace(1, 512, 28)
    fig = SharedFigure(go.Figure(go.Scatter(x=s, y=s ** -1.58, mode="markers")))
    fig.update_layout(height=380, xaxis=dict(type="log"), yaxis=dict(type="log"))
    return png, fig, ("s,N\n" + "\n".join(f"{a:.6g},{a ** -1.58:.6g}" for a in s) * 8).encode()


st.title("Trivial page")
n = st.slider("n", 1, 100, 10, key="n")
st.write(f"n = {n}")
st.write(f"n squared = {n * n}")
png, fig, csv = content()
floor = os.environ.get("FLOOR", "")
if floor == "picture":
    st.image(png, output_format="PNG")
elif floor == "figure":
    st.plotly_chart(fig, width="stretch")
elif floor == "download":
    st.download_button("Download", csv, file_name="counts.csv", mime="text/csv", on_click="ignore")
elif floor == "widgets":
    for i in range(5):
        st.slider(f"m{i}", 1, 100, 10, key=f"m{i}")
