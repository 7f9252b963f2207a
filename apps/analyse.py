"""Analyse your data: every applicable fractal measure of an uploaded image or series, with uncertainties.

A binary set (box counting, lacunarity, generalized dimensions, correlation dimension,
mass-radius), a grey-level surface (differential box counting, variogram and spectral Hurst
exponents, generalized dimensions of the heights as a measure) or a 1-D series (DFA,
variogram, spectral Hurst exponent, correlation dimension of the delay embedding). Every
estimate is shown as ``D = 1.585 ± 0.010 (s = 2…256 px)`` with its log-log plot and local
slopes, and the whole analysis downloads as a JSON or CSV report.
"""
from __future__ import annotations

import contextlib
import hashlib
import threading
from pathlib import PurePath

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from gallerykit import (cache_data, cache_resource, guarded, local_slopes_figure, loglog_figure, shared_figure,
                        shared_results, show_png)
from gallerykit.data import (DOWNSCALE_RULE, IMAGE_TYPES, MAX_SERIES, SERIES_TYPES, csv_columns, downscale,
                             downscaled_note, file_stem, image_format, read_image, read_series, read_upload,
                             upload_digest)
from gallerykit.analysis import (EXAMPLES, KINDS, MEASURES, Input, Measure, Result, derived_caveat, derived_dimension,
                                 detect_kind, example_data, fmt_range, guess_series_kind, otsu_threshold, report_csv,
                                 report_json, summary_table)
from fractalkit import colorize_png, image_bytes
from fractalkit.measure import Lacunarity
from fractalkit.multifractal import MultifractalSpectrum

PREVIEW_SIDE = 512      # largest side of the picture of the input
INPUT_CACHE_MB = 384    # decoded uploads kept for every session together


# --- the input ------------------------------------------------------------------------------------

@cache_resource(max_entries=4, show_spinner=False)
def example(name: str) -> tuple[np.ndarray, str]:
    """An example's array (read-only: one for every session) and the kind it is detected as."""
    a = example_data(name)
    a.flags.writeable = False
    return a, (KINDS[2] if a.ndim == 1 else detect_kind(a))


def image_input(key: str, up) -> Input:
    """Decode (once for every session: a server-wide cache within INPUT_CACHE_MB) and describe an image."""
    store = shared_results("analyse-images", INPUT_CACHE_MB)
    hit = store.get(key)
    if hit is None:
        data = read_upload(up, key)
        full = read_image(data)
        image, scaled = downscale(full)
        desc = {"bytes": len(data), "format": image_format(data) or "?", "shape": list(full.shape),
                "dtype": str(full.dtype)}  # of the content: shared by every session that uploads it
        if scaled:
            desc["downscaled_to"] = list(image.shape)
        del full
        hit = (image, desc, detect_kind(image))
        store.put(key, hit, image.nbytes)
    image, desc, kind = hit
    return Input(key, image, KINDS[:2], kind, {"file": up.name, **desc})  # this session's file name


def series_input(key: str, up) -> Input:
    """Parse a CSV column (the header and column controls are in the sidebar), once for every session."""
    columns, detected = cached_csv_columns(key, None, up)
    with st.sidebar:
        header = st.checkbox("First row is a header", detected, key=f"a_header_{key[:12]}")
        if header != detected:
            columns, _ = cached_csv_columns(key, header, up)
        column = columns[-1]
        if len(columns) > 1:
            column = st.selectbox("Column", columns, index=len(columns) - 1, key=f"a_column_{key[:12]}_{header}")
        drop = st.checkbox("Drop missing values", False, key="a_drop",
                           help="Rows with a blank or NaN value are removed and the rest joined up; "
                                "without this, such a file is refused.")
    store = shared_results("analyse-series", INPUT_CACHE_MB // 4)
    skey = (key, column, header, drop)
    hit = store.get(skey)
    if hit is None:
        s = read_series(read_upload(up, key), column, header, drop)
        hit = (s.values, s.dropped)
        store.put(skey, hit, s.values.nbytes)
    values, dropped = hit
    desc = {"file": up.name, "bytes": up.size, "column": column, "header": header, "samples": int(values.size),
            "dropped_rows": dropped}
    return Input(f"{key}:{column}:{header}:{drop}", values, KINDS[2:], KINDS[2], desc)


@cache_data(max_entries=32, show_spinner=False)
def cached_csv_columns(key: str, header: bool | None, _up) -> tuple[list[str], bool]:
    return csv_columns(read_upload(_up, key), header)


def upload_input(up) -> Input:
    """The uploaded file as an input, keyed by its content (``upload_digest``): read and decoded only
    when no session has it yet."""
    key = upload_digest(up)
    ext = PurePath(up.name).suffix.lower().lstrip(".")
    if ext in SERIES_TYPES:
        return series_input(key, up)
    return image_input(key, up)


def example_input(name: str) -> Input:
    a, kind = example(name)
    desc = {"example": name, "shape": list(a.shape), "dtype": str(a.dtype)}
    return Input(f"example:{name}", a, KINDS[2:] if a.ndim == 1 else KINDS[:2], kind, desc)


# --- thresholds -----------------------------------------------------------------------------------

def short_hash(*parts) -> str:
    """A short, stable widget-key suffix for an input (and parameters)."""
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


@cache_data(max_entries=32, show_spinner=False)
def grey_levels(key: str, _a: np.ndarray) -> tuple[float, float, float, float]:
    """Smallest and largest finite value, Otsu's threshold and the mean of an image (cached per input)."""
    v = _a[np.isfinite(_a)] if _a.dtype.kind == "f" else _a
    if v.size == 0:
        raise ValueError("the image holds no finite value")
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        raise ValueError(f"every pixel of the image has the value {lo:g}: no threshold splits it into a set")
    return lo, hi, otsu_threshold(v), float(np.mean(v, dtype=np.float64))


# --- the measures ---------------------------------------------------------------------------------

@cache_data(max_entries=32, show_spinner=False)
def series_kind(key: str, _x: np.ndarray) -> str:
    """``analysis.guess_series_kind`` of the input ``key``, once for every session."""
    return guess_series_kind(_x)


#: Inputs above this many samples are measured one at a time, server-wide (the 2 GB container: the
#: spectrum of a 4096² surface alone takes about 500 MB).
BIG_INPUT = 2**22


@cache_resource(max_entries=128, show_spinner=False)
def run_measure(kind: str, mid: str, key: str, params: dict, scale_range, _data):
    """One measure of one input: a Fit or a MultifractalSpectrum, or the error message if it fails.

    Cached on the input's key (its content hash and threshold), the measure's own parameters
    and the range, never on the array: a widget of another measure does not re-run this one.
    One object for every session (a cache resource, not copied on each run): never modified.
    """
    # one large analysis at a time for the whole server: each can take several hundred MB
    with heavy_lock() if _data.size > BIG_INPUT else contextlib.nullcontext():
        try:
            return MEASURES[kind][mid].run(_data, params, scale_range)
        except ValueError as exc:  # WorkLimitError too: shown for this measure, the others still run
            return str(exc)


@cache_resource(show_spinner=False)
def heavy_lock() -> threading.Lock:
    """The server-wide lock around the measures of large inputs (above BIG_INPUT samples)."""
    return threading.Lock()


@shared_figure
def spectrum_figures(spec: MultifractalSpectrum):
    """``D_q`` against ``q`` and ``f(α)``, each with its confidence intervals."""
    ci = spec.D_q_ci
    dq = go.Figure()
    dq.add_scatter(x=spec.q, y=ci[:, 1], mode="lines", line=dict(width=0), showlegend=False)
    dq.add_scatter(x=spec.q, y=ci[:, 0], mode="lines", line=dict(width=0), fill="tonexty",
                   fillcolor="rgba(255,165,0,0.3)", name=f"{spec.confidence:.0%} interval")
    dq.add_scatter(x=spec.q, y=spec.D_q, mode="lines+markers", name="D_q")
    dq.update_layout(title="generalized dimensions", height=380, margin=dict(l=10, r=10, t=40, b=10),
                     xaxis=dict(title="q"), yaxis=dict(title="D_q"), showlegend=False)
    fa = go.Figure(go.Scatter(x=spec.alpha, y=spec.f, mode="lines+markers", text=[f"q = {q:g}" for q in spec.q],
                              error_x=dict(array=1.96 * spec.alpha_stderr, thickness=1),
                              error_y=dict(array=1.96 * spec.f_stderr, thickness=1)))
    fa.update_layout(title="multifractal spectrum", height=380, margin=dict(l=10, r=10, t=40, b=10),
                     xaxis=dict(title="α"), yaxis=dict(title="f(α)"))
    return dq, fa


@shared_figure
def lacunarity_figure(lac: Lacunarity, xlabel: str, ylabel: str):
    """Λ(r) against r on log-log axes."""
    ok = np.isfinite(lac.values)
    fig = go.Figure(go.Scatter(x=lac.sizes[ok], y=lac.values[ok], mode="lines+markers", name="Λ(r)"))
    fig.update_layout(title="gliding-box lacunarity", height=380, margin=dict(l=10, r=10, t=40, b=10),
                      xaxis=dict(type="log", title=xlabel), yaxis=dict(type="log", title=ylabel))
    return fig


def show_lacunarity(mid: str, measure: Measure, lac: Lacunarity) -> Result:
    """Λ(r) on log-log axes: a curve, not a power law, so no fit and no interval."""
    st.caption("Λ(r) = E[M²] / E[M]² of the mass M of a box of side r gliding over the image: 1 for a uniform "
               "set, larger for a gappier one at that scale. A curve to compare sets by, not one number.")
    st.plotly_chart(lacunarity_figure(lac, measure.xlabel, measure.ylabel), width="stretch", key=f"a_curve_{mid}")
    detail = {"method": "gliding-box lacunarity", "sizes": lac.sizes.tolist(), "lacunarity": lac.values.tolist(),
              "mean_mass": lac.mean.tolist(), "variance_mass": lac.variance.tolist(), "boxes": lac.boxes.tolist(),
              "unit": "px"}
    return Result(mid, measure.title, (), "", detail)


def show_measure(kind: str, mid: str, key: str, params: dict, data) -> Result | None:
    """One measure's section: the estimate(s), the plots, the scaling-range override."""
    measure = MEASURES[kind][mid]
    used = {k: params[k] for k in measure.uses}
    st.subheader(measure.title)
    if measure.about:
        st.caption(measure.about)
    result = run_measure(kind, mid, key, used, None, data)
    if isinstance(result, str):
        st.error(f"{measure.title}: {result}")
        return None
    if isinstance(result, Lacunarity):
        return show_lacunarity(mid, measure, result)
    rng = None
    if st.checkbox("Set the fitted range by hand", False, key=f"a_manual_{mid}",
                   help="By default the range is chosen automatically: the widest run of scales on which "
                        "one power law holds."):
        spectrum = isinstance(result, MultifractalSpectrum)
        scales = result.scales if spectrum else result.x
        inside = np.flatnonzero(result.used)
        pick = st.select_slider(f"Fitted range ({result.unit or 'scale'})", list(range(scales.size)),
                                (int(inside[0]), int(inside[-1])), format_func=lambda i: f"{scales[i]:.4g}",
                                key=f"a_range_{mid}_{short_hash(key, used, scales.size)}")
        rng = (float(scales[min(pick)]) * (1 - 1e-9), float(scales[max(pick)]) * (1 + 1e-9))
        result = run_measure(kind, mid, key, used, rng, data)
        if isinstance(result, str):
            st.error(f"{measure.title}: {result}")
            return None
    if isinstance(result, MultifractalSpectrum):
        fits = tuple(result.fit(q) for q in (0.0, 1.0, 2.0))
        main, detail = fits[2], result.to_dict()
        for fit in fits:
            st.markdown(f"`{fit}`")
    else:
        fits, main, detail = (result,), result, None
        st.markdown(f"`{result}`")
    if measure.derived:
        d, (lo, hi) = derived_dimension(main, measure.derived)
        st.markdown(f"`D = {d:.3f} ± {0.5 * (hi - lo):.3f} ({fmt_range(main)})` = {measure.derived[0]} − H, "
                    f"the dimension of the {'surface' if measure.derived[0] == '3' else 'graph of the path'}")
        if caveat := derived_caveat(main, measure.derived):
            st.warning(caveat)
    for note in main.notes:
        st.caption(note)
    if mid == "corr" and "m" in used and main.value > used["m"] - 0.5:
        st.caption(f"D₂ is close to or above the embedding dimension m = {used['m']}: the delay vectors fill "
                   "the space, as a stochastic series' do (or m is too small for the attractor).")
    if detail is not None:
        f1, f2 = spectrum_figures(result)
        c1, c2 = st.columns(2)
        c1.plotly_chart(f1, width="stretch", key=f"a_dq_{mid}")
        c2.plotly_chart(f2, width="stretch", key=f"a_falpha_{mid}")
    c1, c2 = st.columns(2)
    c1.plotly_chart(loglog_figure(main, measure.xlabel, measure.ylabel, f"{main.symbol}: log-log, fitted range"),
                    width="stretch", key=f"a_loglog_{mid}")
    c2.plotly_chart(local_slopes_figure(main, measure.xlabel, f"{main.symbol}: local slopes"), width="stretch",
                    key=f"a_slopes_{mid}")
    return Result(mid, measure.title, fits, measure.derived, detail, rng)


@cache_data(max_entries=16, show_spinner=False)
def preview_png(key: str, _data: np.ndarray) -> bytes:
    """The picture of the input (``key``: its content and threshold), at most PREVIEW_SIDE wide."""
    step = max(1, -(-max(_data.shape) // PREVIEW_SIDE))
    small = _data[::step, ::step]
    return image_bytes(small.astype(np.uint8) * 255) if small.dtype == np.bool_ else colorize_png(small, "terrain")


@shared_figure
def series_figure(key: str, _x: np.ndarray):
    """The series (``key``: its content), at most ~4000 points drawn."""
    step = max(1, _x.size // 4000)
    fig = go.Figure(go.Scatter(x=np.arange(0, _x.size, step), y=_x[::step], mode="lines"))
    fig.update_layout(height=250, margin=dict(l=10, r=10, t=30, b=10), title=f"{_x.size:,} samples")
    return fig


# --- the report -----------------------------------------------------------------------------------

@cache_resource(max_entries=32, show_spinner=False)
def reports(key: str, _inp: Input, _kind: str, _params: dict, _results: list[Result]) -> tuple[str, bytes, bytes]:
    """The summary table, the JSON and the CSV report of one analysis, made once for every session.

    ``key`` names everything they depend on: the input, its description, the kind, the
    parameters and each measure's range set by hand (the results follow from these).
    """
    source = _inp.description.get("file") or _inp.description.get("example", "")
    return (summary_table(_results), report_json(_inp, _kind, _params, _results).encode(),
            report_csv(_results, source).encode())


# --- the page -------------------------------------------------------------------------------------

st.title("Analyse your data")
st.caption("Upload an image (a binary set or a grey-level surface) or a series, and get every applicable "
           "fractal measure with its confidence interval, its log-log plot and its local slopes. "
           "Download the whole analysis as a report.")
with st.sidebar:
    source = st.radio("Data", ["Example", "Upload"], key="a_source")
    if source == "Example":
        example_name = st.selectbox("Example", EXAMPLES, key="a_example")

with guarded():
    if source == "Upload":
        up = st.file_uploader("An image (PNG, JPEG, GIF, BMP, TIFF incl. 16-bit and float) or a series (CSV)",
                              type=IMAGE_TYPES + SERIES_TYPES, key="a_upload",
                              help=f"{DOWNSCALE_RULE.capitalize()}; a CSV holds one sample per row, at most "
                                   f"{MAX_SERIES:,}.")
        if up is None:
            st.info("Upload a file to analyse, or pick an example in the sidebar.")
            st.stop()
        inp = upload_input(up)
    else:
        inp = example_input(example_name)

    wid = short_hash(inp.key)  # widgets whose choices depend on the input get a key of their own per input
    with st.sidebar:
        kind = inp.guess
        if len(inp.kinds) > 1:
            kind = st.selectbox("Analyse as", inp.kinds, index=inp.kinds.index(inp.guess), key=f"a_kind_{wid}",
                                help=f"Detected from the content: {inp.guess.lower()}.")
        params: dict = {}
        if kind == KINDS[0] and inp.data.dtype != np.bool_:
            method = st.radio("Threshold", ["Otsu", "Mean", "Manual"], key="a_thr_method",
                              help="Pixels above the threshold are the set (below it, with the box ticked); "
                                   "NaN pixels never are.")
            lo, hi, otsu, mean = grey_levels(inp.key, inp.data)
            if method == "Otsu":
                t = otsu
            elif method == "Mean":
                t = mean
            else:
                if inp.data.dtype.kind in "ui":  # whole grey levels: a step of 1, not 0.01
                    t = st.slider("Threshold level", int(lo), max(int(hi), int(lo) + 1), int((lo + hi) // 2),
                                  key=f"a_thr_{wid}")
                else:
                    t = st.slider("Threshold level", lo, max(hi, lo + 1e-9), 0.5 * (lo + hi), key=f"a_thr_{wid}")
            invert = st.checkbox("Dark pixels are the set", False, key="a_invert")
            params.update(threshold=float(t), threshold_method=method, invert=bool(invert))
        if kind == KINDS[0]:
            params["mass_radius"] = st.checkbox("Mass-radius dimension", False, key="a_mass",
                                                help="Set pixels within radius r of the image centre: meaningful "
                                                     "for one cluster grown from a seed there (e.g. DLA).")
        if kind == KINDS[2]:
            guess = series_kind(inp.key, inp.data)
            params["series_kind"] = st.radio(
                "The series is", ["fbm", "fgn"], index=["fbm", "fgn"].index(guess), key=f"a_series_kind_{wid}",
                format_func={"fbm": "a path (fBm-like: a walk, a profile)",
                             "fgn": "a noise (fGn-like: increments, returns)"}.get,
                help="Detected from DFA-1 of the series as given (α > 1: a path). Every estimate is the Hurst "
                     "exponent H of the underlying fBm; a noise is integrated first.")
            params["dfa_order"] = int(st.number_input("DFA detrending order", 1, 4, 1, key="a_dfa_order",
                                                      help="Degree of the polynomial removed in each window."))
            params["m"] = int(st.slider("Embedding dimension m", 1, 10, 3, key="a_m",
                                        help="Delay vectors (x_t, x_t+τ, …, x_t+(m−1)τ) of the correlation "
                                             "dimension."))
            params["tau"] = int(st.number_input("Embedding delay τ (samples)", 1, 100, 1, key="a_tau"))

    if kind == KINDS[0]:
        if "threshold" in params:
            a = inp.data
            data = (a < params["threshold"]) if params["invert"] else (a > params["threshold"])
            if a.dtype.kind == "f":
                data &= np.isfinite(a)
        else:
            data = inp.data.astype(bool, copy=False)
        params["set_pixels"] = int(np.count_nonzero(data))
        if not params["set_pixels"]:
            raise ValueError("no pixel is in the set at this threshold: move the threshold or invert")
        key = f"{inp.key}:{params.get('threshold')}:{params.get('invert')}"
    elif kind == KINDS[1]:
        data = inp.data
        if data.dtype.kind == "f" and not np.isfinite(data).all():
            bad = int((~np.isfinite(data)).sum())
            raise ValueError(f"the surface has {bad:,} NaN or infinite heights: fill them, or analyse the image "
                             "as a binary set (where they never count as set)")
        key = inp.key
    else:
        data = inp.data
        key = inp.key

    c1, c2 = st.columns([1, 2])
    if data.ndim == 2:
        show_png(preview_png(key, data), f"{data.shape[1]} × {data.shape[0]} {kind.lower()}", c1, width="stretch")
    else:
        c1.plotly_chart(series_figure(key, data), width="stretch", key="a_series_plot")
    c2.json({**inp.description, "analysed_as": kind}, expanded=False)
    if "downscaled_to" in inp.description:
        c2.info(downscaled_note(inp.description["shape"], data.shape))

    mids = [m for m in MEASURES[kind] if m != "mass" or params.get("mass_radius")]
    summary, downloads = st.container(), st.container()
    results = []
    with st.spinner("Measuring…"):
        for mid in mids:
            shown = show_measure(kind, mid, key, params, data)
            if shown:
                results.append(shown)
    if results:
        table, report_j, report_c = reports(
            repr((inp.key, inp.description, kind, params, [(r.mid, r.scale_range) for r in results])),
            inp, kind, params, results)
        summary.subheader("Summary")
        summary.markdown(table)
        d1, d2 = downloads.columns(2)
        stem = file_stem(inp.description.get("file") or inp.description.get("example", ""))
        d1.download_button("Download report (JSON)", report_j, file_name=f"fractal-report-{stem}.json",
                           mime="application/json", on_click="ignore", key="a_json")
        d2.download_button("Download report (CSV)", report_c, file_name=f"fractal-report-{stem}.csv", mime="text/csv",
                           on_click="ignore", key="a_csv")
