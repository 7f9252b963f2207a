"""Mandelbrot explorer at any depth, and the Julia set of any point: drag a box on the picture to zoom;
centre, width (and c) exact in the link."""
from __future__ import annotations

import base64
import json
from decimal import Decimal

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from gallerykit import COLORMAPS, cache_data, guarded, shared_figure
from fractalkit import Viewport, colorize_png, julia, mandelbrot
from fractalkit.deepzoom import (DeepViewport, auto_max_iter, deep_julia, deep_mandelbrot, float64_is_exact,
                                 julia_parameter, kernel_ready, misiurewicz_point, working_precision, zoom)
from fractalkit.limits import MAX_ESCAPE_WORK, WorkLimitError, check

RESOLUTIONS = {"480 × 360": (480, 360), "800 × 600": (800, 600), "1280 × 720": (1280, 720),
               "1920 × 1080": (1920, 1080)}
HOME = ("-0.5", "0", "3")
JULIA_HOME = ("0", "0", "4")  # a filled Julia set lies in |z| <= 2
#: Name -> (centre re, centre im, width), exact decimals; a centre may be a Misiurewicz point
#: (guess re, guess im, preperiod, period), computed to the digits the width needs.
PRESETS = {
    "Whole set": HOME,
    "Seahorse valley": ("-0.743643887037151", "0.13182590420533", "0.003"),
    "Elephant valley": ("0.2925755", "-0.0149977", "0.0095"),
    "Mini Mandelbrot": ("-1.7687788", "-0.0017389", "0.000095"),
    "Seahorse valley, 1e-10": ("-0.743643887037158704752191506114774", "0.131825904205311970493132056385139",
                               "9.5e-11"),
    "Seahorse spiral M(24,2), 1e-50": (("-0.7432918908524302", "0.1312405523087976", 24, 2), "1e-50"),
    "Spirals at M(18,10), 1e-100": (("-0.7746728091751297", "-0.13741840173724856", 18, 10), "1e-100"),
    "Spirals at M(18,10), 1e-300": (("-0.7746728091751297", "-0.13741840173724856", 18, 10), "1e-300"),
    "Seahorse spiral M(24,2), 1e-1000": (("-0.7432918908524302", "0.1312405523087976", 24, 2), "1e-1000"),
}
BANDS = 8
GRID = (48, 36)  # invisible points over the picture: plotly reports a box selection over points
FIELDS = {"center_re": "Centre, real part", "center_im": "Centre, imaginary part", "width": "Width",
          "c_re": "c, real part", "c_im": "c, imaginary part"}
#: With automatic iterations, a render with this share of pixels inside is redone at 4x (twice at
#: most): a view of escaping filaments all black at the depth's count needs more.
AUTO_RAISE_INSIDE = 0.99


@cache_data(max_entries=16, show_spinner=False)
def preset(name: str) -> tuple[str, str, str]:
    *centre, width = PRESETS[name]
    if len(centre) == 1:  # a Misiurewicz point, to 20 digits below the width
        guess_re, guess_im, k, p = centre[0]
        centre = misiurewicz_point(guess_re, guess_im, k, p, digits=20 - Decimal(width).adjusted())
    return centre[0], centre[1], width


def viewport() -> DeepViewport:
    nx, ny = RESOLUTIONS[st.session_state.m_res]
    return DeepViewport(st.session_state.m_re.strip(), st.session_state.m_im.strip(),
                        st.session_state.m_width.strip(), nx, ny)


def go_to(vp: DeepViewport) -> None:
    st.session_state.m_re, st.session_state.m_im, st.session_state.m_width = vp.center_re, vp.center_im, vp.width


def _goto_preset() -> None:
    """A preset is a place in the Mandelbrot set: it also leaves the Julia set."""
    re_, im_, width = preset(st.session_state.m_preset)
    st.session_state.m_re, st.session_state.m_im, st.session_state.m_width = re_, im_, width
    st.session_state.m_julia = False
    st.session_state.pop("m_mandelbrot_width", None)


def _zoom(x: float | None, y: float | None, factor: float) -> None:
    try:
        vp = viewport()
        go_to(zoom(vp, (vp.nx - 1) / 2 if x is None else x, (vp.ny - 1) / 2 if y is None else y, factor))
    except ValueError as exc:
        st.session_state.m_error = f"Cannot zoom there: {exc}"


def _zoom_from_picture() -> None:
    """A box dragged on the picture becomes the new window (its larger side, at the image's aspect)."""
    sel = st.session_state.m_pick["selection"]
    nx, ny = RESOLUTIONS[st.session_state.m_res]
    for box in sel.get("box") or []:
        (x0, x1), (y0, y1) = sorted(box["x"][:2]), sorted(box["y"][:2])
        if min(x1 - x0, y1 - y0) < 3 or (x1 - x0 >= nx - 1 and y1 - y0 < ny / 20) or \
                (y1 - y0 >= ny - 1 and x1 - x0 < nx / 20):  # plotly turns a very thin drag into a band
            st.session_state.m_error = "That selection was too small or too thin to zoom into: drag a box."
            return None
        return _zoom((x0 + x1) / 2, (y0 + y1) / 2, nx / max(x1 - x0, (y1 - y0) * nx / ny))


def _julia_switched() -> None:
    """Julia set on: c is the centre, the view the whole Julia set; off: back to the Mandelbrot view, at c."""
    ss = st.session_state
    if ss.m_julia:
        ss.m_c_re, ss.m_c_im = ss.m_re, ss.m_im
        ss.m_mandelbrot_width = ss.m_width
        ss.m_re, ss.m_im, ss.m_width = JULIA_HOME
    else:  # at the last c that rendered (the fields may hold a bad one)
        good_c = ss.get("m_good", (None,) * 4)[3]
        ss.m_re, ss.m_im = good_c or (ss.get("m_c_re", HOME[0]), ss.get("m_c_im", HOME[1]))
        ss.m_width = ss.pop("m_mandelbrot_width", HOME[2])


def _from_link() -> None:
    """A session opened from a shared link starts at the link's window (exact strings)."""
    q = st.query_params
    julia_link = "c_re" in q or "c_im" in q
    home = JULIA_HOME if julia_link else HOME
    if any(k in q for k in ("re", "im", "width")):
        st.session_state.m_re, st.session_state.m_im, st.session_state.m_width = (
            q.get("re", home[0]), q.get("im", home[1]), q.get("width", home[2]))
    if julia_link:
        st.session_state.m_julia = True
        st.session_state.m_c_re, st.session_state.m_c_im = q.get("c_re", "0"), q.get("c_im", "0")
    if "iter" in q:
        try:
            asked = int(q["iter"])
        except ValueError:
            st.session_state.m_error = f"Ignored the link's iter={q['iter']!r}: not a whole number."
            return
        st.session_state.m_auto = False
        st.session_state.m_iter = min(10 ** 6, max(16, asked))
        if st.session_state.m_iter != asked:
            st.session_state.m_error = (f"The link's iter={asked} is outside 16…1,000,000: using "
                                        f"{st.session_state.m_iter:,}.")


@cache_data(max_entries=24, show_spinner=False)
def render(cre: str, cim: str, width: str, max_iter: int, res: str, cmap: str,
           c: tuple[str, str] | None = None) -> tuple[bytes, float, str, float]:
    """PNG (with the exact window in its text chunks), fraction of pixels inside, the method, and the
    spread of the escaping pixels' smooth counts (max - min; 0 if none escapes).

    The Mandelbrot set, or with ``c`` (exact decimals) the filled Julia set of z² + c."""
    nx, ny = RESOLUTIONS[res]
    vp = DeepViewport(cre, cim, width, nx, ny)
    if float64_is_exact(vp):  # (deep_mandelbrot checks its own cap, fractalkit.limits.MAX_DEEP_WORK)
        check("pixels x iterations", nx * ny * max_iter, MAX_ESCAPE_WORK, "lower the resolution or iterations")
        method = "float64"
        bar = st.progress(0.0, "Rendering…") if nx * ny * max_iter > 3e8 else None
        flat = Viewport(float(cre), float(cim), float(width), nx, ny)
        rows = np.linspace(0, ny, BANDS + 1).astype(int)
        parts = []
        for k in range(BANDS):  # horizontal bands drive the progress bar; same pixel grid
            r0, r1 = rows[k], rows[k + 1]
            shift = ((r0 + r1 - 1) / 2 - (ny - 1) / 2) * flat.pixel_size
            band = Viewport(flat.center_re, flat.center_im - shift, flat.width, nx, r1 - r0)
            parts.append(mandelbrot(band, max_iter) if c is None else
                         julia(complex(float(c[0]), float(c[1])), band, max_iter))
            if bar:
                bar.progress((k + 1) / BANDS, "Rendering…")
        if bar:
            bar.empty()
        img = np.vstack(parts)
    else:
        method = f"perturbation, {working_precision(width, nx, ny):,}-bit reference"
        img = deep_mandelbrot(vp, max_iter) if c is None else deep_julia(c, vp, max_iter)
    text = {"center_re": cre, "center_im": cim, "width": width, "max_iter": str(max_iter), "method": method}
    if c is not None:
        text.update(set="Julia", c_re=c[0], c_im=c[1])
    escaping = img[np.isfinite(img)]
    spread = float(escaping.max() - escaping.min()) if escaping.size else 0.0
    return colorize_png(img, cmap, log=True, text=text), float(np.isnan(img).mean()), method, spread


def draw(vp: DeepViewport, max_iter: int, deep: bool, c: tuple[str, str] | None) -> tuple[bytes, float, str, float]:
    """:func:`render` with a spinner (and the elapsed time for perturbation renders)."""
    first = "" if not deep or kernel_ready() else (
        "The first deep render since the server started loads the perturbation kernel, or compiles it (about a "
        "minute) if no one has used it since the code changed. ")
    with st.spinner(f"{first}Perturbation render, width {vp.width}, {max_iter:,} iterations: reference orbit in "
                    f"MPFR, then {vp.nx} × {vp.ny} pixels…" if deep else "Rendering…", show_time=deep):
        return render(vp.center_re, vp.center_im, vp.width, max_iter, st.session_state.m_res, st.session_state.m_cmap,
                      c)


def julia_c() -> tuple[str, str] | None:
    """The Julia set's c as exact decimal strings (validated), or None for the Mandelbrot set."""
    if not st.session_state.m_julia:
        return None
    return julia_parameter((st.session_state.m_c_re.strip(), st.session_state.m_c_im.strip()))


def field_names(message: str) -> str:
    """fractalkit's error messages with the sidebar's names for its fields."""
    for name, label in FIELDS.items():
        message = message.replace(name, label)
    return message


@shared_figure
def picture(key: str, _png: bytes, nx: int, ny: int) -> go.Figure:
    """The picture as a plotly image over pixel coordinates (x right, y down, pixel centres at integers),
    with a grid of invisible points for box selections."""
    fig = go.Figure(go.Image(source="data:image/png;base64," + base64.b64encode(_png).decode(), x0=0, dx=1, y0=0,
                             dy=1, hoverinfo="skip"))
    gx, gy = np.meshgrid(np.linspace(0, nx - 1, GRID[0]), np.linspace(0, ny - 1, GRID[1]))
    fig.add_scatter(x=gx.ravel(), y=gy.ravel(), mode="markers", hoverinfo="none", showlegend=False,
                    marker=dict(size=14, opacity=0), selected=dict(marker=dict(opacity=0)),
                    unselected=dict(marker=dict(opacity=0)))
    fig.update_layout(dragmode="select", margin=dict(l=0, r=0, t=0, b=0), height=round(760 * ny / nx),
                      xaxis=dict(visible=False, range=[-0.5, nx - 0.5]),
                      yaxis=dict(visible=False, range=[ny - 0.5, -0.5], scaleanchor="x"))
    return fig


st.title("Mandelbrot explorer")
st.caption("z ← z² + c from z = 0 (or, for the Julia set of c, from each pixel z); colour is the smooth escape "
           "count. Drag a box on the picture to zoom into it; the buttons zoom ×4 about the centre. float64 while it "
           "is exact, then perturbation around a reference orbit in MPFR (rebasing, bilinear approximation, "
           "extended exponents), to widths of 1e-10000.")

for key, value in (("m_re", HOME[0]), ("m_im", HOME[1]), ("m_width", HOME[2]), ("m_auto", True), ("m_iter", 256),
                   ("m_julia", False)):
    st.session_state.setdefault(key, value)
if "m_linked" not in st.session_state:
    st.session_state.m_linked = True
    _from_link()

with st.sidebar:
    st.selectbox("Preset", list(PRESETS), key="m_preset")
    st.button("Go to preset", width="stretch", on_click=_goto_preset)
    st.text_input("Centre, real part", key="m_re", help="An exact decimal, any number of digits.")
    st.text_input("Centre, imaginary part", key="m_im")
    st.text_input("Width", key="m_width", help="A positive decimal: 3 shows the whole set, 1e-300 is deep.")
    c1, c2 = st.columns(2)
    c1.button("Zoom in ×4", width="stretch", on_click=_zoom, args=(None, None, 4.0))
    c2.button("Zoom out ×4", width="stretch", on_click=_zoom, args=(None, None, 0.25))
    st.toggle("Julia set of c", key="m_julia", on_change=_julia_switched,
              help="On: the filled Julia set of z² + c, with c the centre you were at. Off: back to the Mandelbrot "
                   "set at c.")
    if st.session_state.m_julia:
        st.text_input("c, real part", key="m_c_re", help="An exact decimal, any number of digits.")
        st.text_input("c, imaginary part", key="m_c_im")
    st.toggle("Iterations from the depth", key="m_auto",
              help="256 for the whole set, 60 more per decade of zoom; switch off to set them yourself.")
    st.number_input("Iterations", 16, 10 ** 6, step=256, key="m_iter", disabled=st.session_state.m_auto)
    st.selectbox("Resolution", list(RESOLUTIONS), index=1, key="m_res")
    st.selectbox("Colormap", COLORMAPS, key="m_cmap")

if message := st.session_state.pop("m_error", None):
    st.warning(message)

with guarded():
    vp = viewport()
    try:
        deep = not float64_is_exact(vp)  # validates the three fields, and c:
        c = julia_c()
    except ValueError as exc:
        st.error(f"Invalid input: {field_names(str(exc))}")
        if "m_good" not in st.session_state:
            st.stop()
        *good, c = st.session_state.m_good
        vp = DeepViewport(*good, vp.nx, vp.ny)
        deep = not float64_is_exact(vp)
        st.caption("Showing the last valid view; the address keeps it too.")
    auto = st.session_state.m_auto
    max_iter = auto_max_iter(vp.width) if auto else int(st.session_state.m_iter)
    png, inside, method, spread = draw(vp, max_iter, deep, c)
    asked = max_iter
    while auto and inside >= AUTO_RAISE_INSIDE and max_iter * 4 <= 10 ** 6:
        try:  # every pixel at the cap: the view needs more iterations than the depth suggests
            png, inside, method, spread = draw(vp, max_iter * 4, deep, c)
        except WorkLimitError:
            break
        max_iter *= 4
    if max_iter != asked:
        st.info(f"At {asked:,} iterations {AUTO_RAISE_INSIDE:.0%} or more of the pixels stayed inside, so the "
                f"automatic count went up to {max_iter:,}" + (" (all still inside)." if inside >= AUTO_RAISE_INSIDE
                                                                else "."))
    if inside == 0 and spread < 1:
        st.info("Every pixel escapes after the same number of iterations: this window lies beside the set, away "
                "from its boundary. A centre typed with fewer digits than the width needs misses the boundary; "
                "zoom out, or zoom in by dragging boxes from a wider view, which keeps every digit.")
    st.session_state.m_good = (vp.center_re, vp.center_im, vp.width, c)
    st.query_params.update(re=vp.center_re, im=vp.center_im, width=vp.width)
    if c is None:
        st.query_params.pop("c_re", None)
        st.query_params.pop("c_im", None)
    else:
        st.query_params.update(c_re=c[0], c_im=c[1])
    if auto:
        st.query_params.pop("iter", None)
    else:
        st.query_params["iter"] = str(max_iter)

    m1, m2, m3, m4 = st.columns(4)
    m1.metric("Width", f"{Decimal(vp.width):.3g}")
    m2.metric("Magnification", f"10^{float((3 / Decimal(vp.width)).log10()):.1f}",
              help="3 / width: the whole Mandelbrot set is 1×.")
    m3.metric("Iterations", f"{max_iter:,}" + (" (auto)" if auto else ""))
    m4.metric("Arithmetic", method.split(",")[0], help=method)
    st.plotly_chart(picture(f"{vp}|{c}|{max_iter}|{st.session_state.m_cmap}", png, vp.nx, vp.ny), key="m_pick",
                    on_select=_zoom_from_picture, selection_mode="box", config={"displayModeBar": False},
                    width="stretch")
    st.caption(f"{inside:.1%} of pixels inside (black) · {method} · "
               + ("" if c is None else f"Julia set of c = {c[0]} + {c[1]}i · ")
               + "this view's address holds its exact centre and width: copy it to share the view.")
    d1, d2 = st.columns(2)
    name = "mandelbrot" if c is None else "julia"
    d1.download_button("Download PNG", png, file_name=f"{name}.png", mime="image/png",
                       help="The exact centre, width and iterations are in the PNG's text chunks.")
    view = {"center_re": vp.center_re, "center_im": vp.center_im, "width": vp.width, "max_iter": max_iter,
            "nx": vp.nx, "ny": vp.ny}
    if c is not None:
        view.update(set="Julia", c_re=c[0], c_im=c[1])
    d2.download_button("Download the view (JSON)", json.dumps(view, indent=1), file_name=f"{name}-view.json",
                       mime="application/json")
