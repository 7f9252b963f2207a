"""The load benchmark's baseline: Streamlit's own floor, a page with no work of ours.

A title, a slider and two writes, served by the same image, server settings, limits and
balancer as the gallery (benchmarks/load.py makes it the home page through STREAMLIT_APP), so a
gallery page's cost per run can be read as a multiple of this page's.
"""
import streamlit as st

st.title("Trivial page")
n = st.slider("n", 1, 100, 10, key="n")
st.write(f"n = {n}")
st.write(f"n squared = {n * n}")
