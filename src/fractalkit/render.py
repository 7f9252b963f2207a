"""Rendering helpers: colormaps, PNG/JPEG bytes and palette-mode animated GIFs.

Kept apart from the kernels: kernels return arrays, these turn arrays into pixels.
"""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

from .limits import MAX_FRAMES, check

__all__ = ["palette", "to_indices", "colorize", "colorize_png", "image_bytes", "gif_bytes"]


def palette(cmap: str = "magma", n: int = 256) -> np.ndarray:
    """A matplotlib colormap sampled as a ``(n, 3)`` uint8 lookup table."""
    from matplotlib import colormaps

    try:
        cm = colormaps[cmap]
    except KeyError:
        raise ValueError(f"unknown colormap {cmap!r}") from None
    return (cm(np.linspace(0.0, 1.0, n))[:, :3] * 255 + 0.5).astype(np.uint8)


def to_indices(values: np.ndarray, vmin: float | None = None, vmax: float | None = None,
               n: int = 255, log: bool = False) -> np.ndarray:
    """Scale values to palette indices ``0 .. n-1`` (uint8); NaN becomes index ``n``."""
    v = np.asarray(values, dtype=np.float64)
    if log:
        v = np.log1p(np.maximum(v, 0))
    finite = np.isfinite(v)
    if vmin is None or vmax is None:
        if finite.any():
            lo, hi = np.percentile(v[finite], [0.5, 99.5]) if v[finite].size > 100 else (v[finite].min(), v[finite].max())
        else:
            lo, hi = 0.0, 1.0
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    scale = (n - 1) / (vmax - vmin) if vmax > vmin else 0.0
    idx = np.clip((np.where(finite, v, vmin) - vmin) * scale, 0, n - 1).astype(np.uint8)
    idx[~finite] = n
    return idx


def colorize(values: np.ndarray, cmap: str = "magma", vmin: float | None = None,
             vmax: float | None = None, nan_color=(0, 0, 0), log: bool = False) -> np.ndarray:
    """Map a 2D array to an RGB uint8 image ``(ny, nx, 3)``; NaN (e.g. inside a set) gets ``nan_color``."""
    return _lut(cmap, nan_color)[to_indices(values, vmin, vmax, 255, log)]


def _lut(cmap: str, nan_color) -> np.ndarray:
    """The 256 colours of :func:`colorize`: 255 of the colour map, then ``nan_color``."""
    return np.vstack([palette(cmap, 255), np.array([nan_color], dtype=np.uint8)])


def colorize_png(values: np.ndarray, cmap: str = "magma", vmin: float | None = None, vmax: float | None = None,
                 nan_color=(0, 0, 0), log: bool = False, text: dict | None = None) -> bytes:
    """:func:`colorize` as a PNG file: an indexed-colour PNG whose palette is the colour map.

    The same pixels as ``image_bytes(colorize(...))`` (a colour-mapped picture has at most 256
    colours), stored as one palette index per pixel instead of three bytes: 1.8-2.3x fewer
    bytes for the gallery's pictures, and about 3x faster to encode (PNG specification,
    colour type 3, https://www.w3.org/TR/png-3/#6Colour-values).

    Parameters
    ----------
    values : numpy.ndarray
        2-D, real, shape ``(ny, nx)``; NaN gets ``nan_color``.
    cmap, vmin, vmax, nan_color, log
        As in :func:`colorize`.
    text : dict of str to str, optional
        Stored as ``iTXt`` chunks, as by :func:`image_bytes`.

    Returns
    -------
    bytes
        A PNG file, ``nx`` x ``ny`` pixels, 8-bit palette.

    Raises
    ------
    ValueError
        If ``cmap`` is not a matplotlib colour map, or ``values`` is not 2-D.
    """
    indices = to_indices(values, vmin, vmax, 255, log)
    if indices.ndim != 2:
        raise ValueError(f"values must be 2-D, not of shape {indices.shape}")
    img = Image.frombytes("P", (indices.shape[1], indices.shape[0]), np.ascontiguousarray(indices).tobytes())
    img.putpalette(_lut(cmap, nan_color).tobytes())
    return _png(img, text)


def image_bytes(rgb: np.ndarray, fmt: str = "PNG", quality: int = 90, text: dict | None = None) -> bytes:
    """Encode an ``(ny, nx)`` or ``(ny, nx, 3)`` uint8 array as PNG or JPEG bytes.

    Parameters
    ----------
    rgb : numpy.ndarray
        Uint8 ``(ny, nx)`` grey or ``(ny, nx, 3)`` RGB.
    fmt : str
        ``"PNG"`` (lossless, compression level 3) or ``"JPEG"``.
    quality : int
        JPEG quality.
    text : dict of str to str, optional
        PNG only: key/value pairs stored as ``iTXt`` chunks (read back with Pillow's
        ``Image.open(...).text``), e.g. the exact viewport a picture shows.

    Returns
    -------
    bytes
        The encoded file.

    Raises
    ------
    ValueError
        If ``fmt`` is neither, or ``text`` is given for JPEG.
    """
    fmt = fmt.upper()
    if fmt not in ("PNG", "JPEG"):
        raise ValueError("fmt must be PNG or JPEG")
    if text and fmt != "PNG":
        raise ValueError("text is stored in PNG files only")
    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8))
    if fmt == "PNG":
        return _png(img, text)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()


def _png(img: Image.Image, text: dict | None) -> bytes:
    """``img`` as a PNG file (zlib level 3), with ``text`` as ``iTXt`` chunks."""
    info = None
    if text:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        for key, value in text.items():
            info.add_itxt(str(key), str(value))
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=3, pnginfo=info)
    return buf.getvalue()


def gif_bytes(frames: np.ndarray, lut: np.ndarray, duration_ms: int = 60, loop: int = 0) -> bytes:
    """Encode palette-index frames as an animated GIF.

    Parameters
    ----------
    frames : numpy.ndarray
        Uint8 ``(t, ny, nx)`` palette indices (no quantisation needed, hence fast).
    lut : numpy.ndarray
        ``(k, 3)`` uint8 palette, ``k <= 256``.
    duration_ms : int
        Display time of each frame.
    """
    frames = np.asarray(frames)
    if frames.ndim != 3 or frames.dtype != np.uint8:
        raise ValueError("frames must be a uint8 array of shape (t, ny, nx)")
    check("GIF frames", frames.shape[0], MAX_FRAMES, "use fewer frames")
    flat = np.zeros(768, dtype=np.uint8)
    flat[: lut.size] = np.asarray(lut, dtype=np.uint8).ravel()[:768]
    imgs = []
    for f in frames:
        im = Image.frombuffer("P", (f.shape[1], f.shape[0]), np.ascontiguousarray(f), "raw", "P", 0, 1)
        im.putpalette(flat.tobytes())
        imgs.append(im)
    buf = io.BytesIO()
    imgs[0].save(buf, "GIF", save_all=True, append_images=imgs[1:], duration=int(duration_ms),
                 loop=int(loop), optimize=False, disposal=1)
    return buf.getvalue()
