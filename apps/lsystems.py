"""L-systems: presets and custom rules, expanded and drawn by a turtle."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import streamlit as st
from matplotlib.collections import LineCollection

from gallerykit import cache_data, fig_png, guarded, show_png
from fractalkit import LSYSTEMS, colorize_png, expand, rasterize_segments, turtle

MAX_VECTOR_SEGMENTS = 150_000


def parse_rules(text: str) -> dict:
    """Rules as lines ``X=replacement`` (also ``X -> replacement``)."""
    rules = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        sep = "->" if "->" in line else "="
        if sep not in line:
            raise ValueError(f"rule line {n} needs the form X=replacement")
        k, v = (part.strip() for part in line.split(sep, 1))
        if len(k) != 1:
            raise ValueError(f"rule line {n}: the left side must be one character, got {k!r}")
        rules[k] = v
    if not rules:
        raise ValueError("give at least one rule")
    return rules


@cache_data(max_entries=16, show_spinner=False)
def render(axiom, rules_items, angle, iterations, draw, heading) -> tuple[bytes, int]:
    prog = expand(axiom, dict(rules_items), iterations)
    seg = turtle(prog, angle, draw, heading)
    start, end = seg.start, seg.end
    if len(start) == 0:
        raise ValueError("the program draws nothing: check the drawing symbols")
    if len(start) <= MAX_VECTOR_SEGMENTS:
        fig, ax = plt.subplots(figsize=(8, 8))
        t = np.linspace(0, 1, len(start))
        ax.add_collection(LineCollection(np.stack([start, end], 1), colors=plt.cm.viridis(t),
                                         linewidths=max(0.3, 2.0 - np.log10(len(start)) / 3)))
        ax.autoscale()
        ax.set_aspect("equal")
        ax.axis("off")
        return fig_png(fig), len(start)
    img = rasterize_segments(start, end, (1400, 1400))  # too many for vector drawing
    return colorize_png(np.where(img, 1.0, np.nan), "viridis", 0, 2, nan_color=(255, 255, 255)), len(start)


st.title("L-systems")
st.caption("Rewrite every symbol by its rule, again and again; then let a turtle draw the string: "
           "drawing symbols move forward, + and − turn, [ and ] save and restore the turtle.")
with st.sidebar:
    name = st.selectbox("Preset", [*LSYSTEMS, "Custom"], key="l_preset")
    base = LSYSTEMS.get(name, LSYSTEMS["Koch curve"])
    iterations = st.slider("Iterations", 0, 12, base.iterations, key=f"l_iter_{name}")
    angle = st.slider("Angle (°)", 1.0, 180.0, float(base.angle), 0.5, key=f"l_angle_{name}")
if name == "Custom":
    c1, c2 = st.columns(2)
    axiom = c1.text_input("Axiom", "F", key="l_axiom", max_chars=200)
    draw = c1.text_input("Drawing symbols", "F", key="l_draw", max_chars=20)
    rules_text = c2.text_area("Rules (one per line)", "F=F+F--F+F", key="l_rules", max_chars=2000)
    heading = 0.0
else:
    axiom, draw, heading = base.axiom, base.draw, base.heading
    rules_text = "\n".join(f"{k}={v}" for k, v in base.rules.items())
    st.code(f"axiom: {axiom}\n{rules_text}", language=None)
with guarded():
    rules = parse_rules(rules_text)
    png, n = render(axiom, tuple(sorted(rules.items())), angle, iterations, draw, heading)
    show_png(png, f"{n:,} segments")
