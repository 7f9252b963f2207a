"""Reading what users upload to the gallery: images and CSV series, with one size rule.

Every page that accepts a file reads it here, so the limits and the messages are the same
everywhere:

- :func:`read_upload` checks the size against :func:`upload_limit_bytes` (Streamlit's
  ``server.maxUploadSize``, set from ``MAX_UPLOAD_MB``) before a byte is read;
- :func:`upload_digest` names a file by its content, once per upload, to share its results;
- :func:`read_image` decodes PNG, JPEG, GIF, BMP (Pillow) and TIFF (tifffile) to a 2-D array,
  keeping 16-bit and floating-point samples, and refuses decompression bombs before decoding;
- :func:`downscale` brings an image under :data:`fractalkit.limits.MAX_PIXELS`;
- :func:`read_series` parses a CSV column into a 1-D float64 series of at most
  :data:`MAX_SERIES` samples.

Everything wrong with a file (too large, empty, malformed, hostile) is a ``ValueError`` whose
message is one sentence a user can act on; the pages show it with ``gallerykit.guarded``.
"""
from __future__ import annotations

import hashlib
import io
import math
import re
import unicodedata
import warnings
from pathlib import PurePath
from typing import NamedTuple

import numpy as np

from fractalkit.limits import MAX_PIXELS
# A series is read if the estimators can take it: from their minimum (MIN_SERIES) up to the
# exact generators' cap (MAX_SERIES, 2**22 samples), which their bootstrap intervals simulate.
from fractalkit.selfaffine import MIN_SERIES
from fractalkit.surfaces import MAX_SERIES

__all__ = ["IMAGE_TYPES", "MAX_DECODE_BYTES", "MAX_DECODE_PIXELS", "MAX_SERIES", "MIN_SERIES", "SERIES_TYPES",
           "Series", "csv_columns", "downscale", "image_format", "read_image", "read_series", "read_upload",
           "DOWNSCALE_RULE", "downscaled_note", "file_stem", "to_uint8", "upload_digest", "upload_limit_bytes"]

#: Largest image decoded at all, in pixels: a file declaring more is refused before decoding
#: (a decompression bomb: a small PNG or TIFF that inflates to gigabytes).
MAX_DECODE_PIXELS = 64_000_000
#: Largest decoded image in bytes (pixels x bytes per sample): 64 megapixels of float32.
MAX_DECODE_BYTES = 256 * 2**20
#: File name extensions of the uploaders: images, series.
IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff"]
SERIES_TYPES = ["csv", "tsv", "txt"]

_NOT_AN_IMAGE = "that file is not an image Pillow or tifffile can read (PNG, JPEG, GIF, BMP, TIFF)"


def upload_limit_bytes() -> int:
    """The upload size limit, in bytes: Streamlit's own ``server.maxUploadSize`` (megabytes).

    The stack sets it from ``MAX_UPLOAD_MB`` (``.env``), the same figure the proxy and
    JupyterLab use, so the page, the uploader's "Limit … per file" and the proxy agree.

    Returns
    -------
    int
        The largest accepted file, in bytes.
    """
    import streamlit as st

    return int(st.get_option("server.maxUploadSize")) * 1024 * 1024


def read_upload(upload, digest: str | None = None) -> bytes:
    """The bytes of an uploaded file, after checking its size (and that they are the ones hashed).

    Parameters
    ----------
    upload : file-like with a ``size`` attribute
        What ``st.file_uploader`` returned. Its size is checked against
        :func:`upload_limit_bytes` before a byte of it is read.
    digest : str, optional
        The file's :func:`upload_digest`, under which what is made from these bytes will be
        shared with every session: checked against the bytes read. (A client can upload new
        bytes under an upload's id; results made from them must not be stored under the old
        digest, where other sessions would find them.)

    Returns
    -------
    bytes
        The whole file.

    Raises
    ------
    ValueError
        If the file is over the size limit or empty, or its bytes no longer have ``digest``.
    """
    _check_upload_size(upload)
    upload.seek(0)
    data = upload.read()
    if not data:
        raise ValueError("the file is empty")
    if digest is not None and hashlib.sha256(data).hexdigest() != digest:
        _digests().pop(getattr(upload, "file_id", None), None)
        raise ValueError("the uploaded file changed while it was being read: upload it again")
    return data


def _check_upload_size(upload) -> None:
    limit = upload_limit_bytes()
    if upload.size > limit:
        raise ValueError(f"the file is {upload.size / 2**20:.1f} MB; the limit is {limit / 2**20:.0f} MB "
                         "(MAX_UPLOAD_MB)")


def upload_digest(upload) -> str:
    """The SHA-256 of an uploaded file's content: the key its results are shared under.

    Computed once per upload and session: Streamlit gives each uploaded file a ``file_id``
    and keeps it in memory, and the digest is remembered in the session under that id, so
    the page's later runs (each slider move) do not hash the file again (~2 ms per MB). What is
    read to make a shared result is checked against it (:func:`read_upload`).

    Parameters
    ----------
    upload : streamlit.runtime.uploaded_file_manager.UploadedFile
        What ``st.file_uploader`` returned (a ``BytesIO`` with ``size`` and ``file_id``).

    Returns
    -------
    str
        64 hexadecimal digits.

    Raises
    ------
    ValueError
        If the file is over the size limit (checked first, as by :func:`read_upload`).
    """
    _check_upload_size(upload)
    digests = _digests()
    digest = digests.get(upload.file_id)
    if digest is None:
        digest = digests[upload.file_id] = hashlib.sha256(upload.getvalue()).hexdigest()
    return digest


def _digests() -> dict:
    """This session's digests of its uploads, by upload id."""
    import streamlit as st

    return st.session_state.setdefault("_upload_digests", {})


def file_stem(name: str) -> str:
    """A download's name part for an input: ``name``'s stem, letters, digits, ``.``, ``_`` and ``-`` only.

    Parameters
    ----------
    name : str
        An uploaded file's name as the browser sent it (any characters), or an example's title.

    Returns
    -------
    str
        At most 60 characters, never empty ("input"): e.g. ``"my-scan_01"`` for ``"my scan_01.tif"``,
        so two reports saved from one browser can be told apart. Accented letters lose their
        accents (``"Ünïcode näme"`` -> ``"Unicode-name"``; compatibility decomposition, NFKD).
    """
    stem = PurePath(name.replace("\\", "/")).stem
    stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-._")[:60]
    return stem or "input"


def image_format(data: bytes) -> str | None:
    """The image format the first bytes announce: ``"tiff"``, ``"png"``, ``"jpeg"``, ``"gif"``, ``"bmp"``.

    Parameters
    ----------
    data : bytes
        The file, or at least its first 8 bytes.

    Returns
    -------
    str or None
        None if the bytes start like none of them.
    """
    head = bytes(data[:8])
    if head[:4] in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+"):
        return "tiff"
    if head.startswith(b"\x89PNG"):
        return "png"
    if head.startswith(b"\xff\xd8"):
        return "jpeg"
    if head[:4] == b"GIF8":
        return "gif"
    if head[:2] == b"BM":
        return "bmp"
    return None


def _check_decode_size(shape: tuple[int, ...], itemsize: int) -> None:
    pixels = math.prod(int(s) for s in shape)
    dims = f"{int(shape[-1])} × {int(shape[-2])}" if len(shape) >= 2 else str(pixels)
    if pixels > MAX_DECODE_PIXELS:
        raise ValueError(f"the image is {dims} pixels; the limit is {MAX_DECODE_PIXELS / 1e6:.0f} megapixels")
    if pixels * itemsize > MAX_DECODE_BYTES:
        raise ValueError(f"the image is {dims} pixels of {itemsize} bytes ({pixels * itemsize / 2**20:.0f} MB "
                         f"decoded); the limit is {MAX_DECODE_BYTES / 2**20:.0f} MB: save it with fewer bits")


def read_image(data: bytes) -> np.ndarray:
    """Decode an image file to a 2-D array, keeping its sample type.

    PNG, JPEG, GIF and BMP are read with Pillow, TIFF (by its first bytes, whatever the file's
    name) with tifffile. Colour images become luminance; the first frame of an animation is
    read. A file declaring more than :data:`MAX_DECODE_PIXELS` pixels (or
    :data:`MAX_DECODE_BYTES` decoded) is refused before its pixel data is decoded.

    Parameters
    ----------
    data : bytes
        The file.

    Returns
    -------
    numpy.ndarray
        2-D, of the file's sample type: ``bool`` (1-bit), ``uint8`` (8-bit grey, and colour
        images as luminance), ``uint16``/``int16``/``uint32``/``int32`` (16- and 32-bit
        grey), ``float32``/``float64`` (floating-point TIFF, which may hold NaN).

    Raises
    ------
    ValueError
        If the file is empty, not an image, truncated or corrupt, too large, or holds
        something other than one 2-D grey or colour image (a stack of pages, a volume,
        complex numbers).
    """
    if not data:
        raise ValueError("the file is empty")
    if image_format(data) == "tiff":
        return _read_tiff(data)
    return _read_pillow(data)


def _read_pillow(data: bytes) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError:
        raise ValueError(f"the image declares more than {MAX_DECODE_PIXELS / 1e6:.0f} megapixels (the limit); "
                         "it was refused before decoding") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise ValueError(_NOT_AN_IMAGE) from None
    _check_decode_size((im.height, im.width), {"I": 4, "F": 4, "I;16": 2, "I;16B": 2, "I;16L": 2}.get(im.mode, len(im.getbands())))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im.load()
    except Exception as exc:  # noqa: BLE001 - a hostile file can fail in any decoder
        raise ValueError(f"the image data is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    if im.mode in ("1", "L", "I", "F") or im.mode.startswith("I;16"):
        a = np.asarray(im)
        if a.dtype.byteorder not in ("=", "|"):
            a = a.astype(a.dtype.newbyteorder("="))
    else:  # palette, grey + alpha, RGB(A), CMYK, YCbCr, ...: luminance
        a = np.asarray(im.convert("L"))
    if a.ndim != 2 or a.size == 0:
        raise ValueError(_NOT_AN_IMAGE)
    return a


def _read_tiff(data: bytes) -> np.ndarray:
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tif:
            if not tif.series:
                raise ValueError("the TIFF holds no image")
            series = tif.series[0]
            shape, dtype = tuple(int(s) for s in series.shape), np.dtype(series.dtype)
            if dtype.kind == "c":
                raise ValueError("the TIFF holds complex numbers; upload real grey levels or heights")
            if dtype.kind not in "biuf":
                raise ValueError(f"the TIFF holds samples of type {dtype}; upload grey levels or heights")
            squeezed = tuple(s for s in shape if s != 1)
            rgb = len(squeezed) == 3 and squeezed[-1] in (3, 4) and str(series.axes).endswith("S")
            if len(tif.pages) > 1 and len(squeezed) > 2 and not rgb:
                raise ValueError(f"the TIFF holds {len(tif.pages)} pages (shape {shape}); upload a single 2-D image")
            if len(squeezed) != 2 and not rgb:
                raise ValueError(f"the TIFF holds data of shape {shape}; upload a single 2-D image "
                                 "(not a stack or a volume)")
            _check_decode_size(squeezed, dtype.itemsize)
            a = series.asarray()
    except ValueError as exc:
        if isinstance(exc, tifffile.TiffFileError):
            raise ValueError(f"that file is not a TIFF tifffile can read ({exc})") from None
        if str(exc).startswith(("the TIFF", "the image")):
            raise
        raise ValueError(f"the TIFF data is truncated or corrupt ({exc})") from None
    except Exception as exc:  # noqa: BLE001 - a hostile file can fail anywhere in the decoder
        msg = str(exc)
        if "imagecodecs" in msg:
            raise ValueError("the TIFF's compression needs the imagecodecs package, which is not installed: "
                             "save it uncompressed or with Deflate (zlib) compression") from None
        raise ValueError(f"the TIFF data is truncated or corrupt ({type(exc).__name__}: {msg})") from None
    a = a.reshape(squeezed)
    if rgb:
        weights = np.array([0.299, 0.587, 0.114])
        a = (a[..., :3] @ weights).astype(np.float32 if dtype.kind == "f" or dtype.itemsize > 1 else np.float64)
        a = a.astype(dtype) if dtype.kind in "iu" else a
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    if a.dtype.byteorder not in ("=", "|"):
        a = a.astype(a.dtype.newbyteorder("="))
    return a


#: What :func:`downscale` does to a large image, in a user's words.
DOWNSCALE_RULE = (f"images of more than {MAX_PIXELS / 1e6:.1f} megapixels ({math.isqrt(MAX_PIXELS)} × "
                  f"{math.isqrt(MAX_PIXELS)}) are downscaled to that many pixels, keeping their shape")


def downscaled_note(original: tuple[int, int], shape: tuple[int, int]) -> str:
    """The sentence a page shows under a downscaled image.

    Parameters
    ----------
    original, shape : tuple of int
        ``(rows, columns)`` of the image as uploaded and as analysed.

    Returns
    -------
    str
        E.g. "The image is 5000 × 4500 pixels: it was downscaled to 4317 × 3885 for the analysis
        (images of more than 16.8 megapixels ... keeping their shape)."
    """
    return (f"The image is {original[1]} × {original[0]} pixels: it was downscaled to {shape[1]} × {shape[0]} "
            f"for the analysis ({DOWNSCALE_RULE}).")


def downscale(image: np.ndarray, max_pixels: int = MAX_PIXELS) -> tuple[np.ndarray, bool]:
    """Shrink an image to at most ``max_pixels`` pixels, keeping its aspect ratio.

    Parameters
    ----------
    image : numpy.ndarray
        2-D, as :func:`read_image` returns it.
    max_pixels : int
        Largest result, in pixels (default :data:`fractalkit.limits.MAX_PIXELS`, 4096²).

    Returns
    -------
    image : numpy.ndarray
        ``image`` itself if small enough; else resampled with Pillow: ``uint8`` images keep
        their type (bicubic, as Pillow resizes by default), ``bool`` images become ``uint8``
        grey levels 0…255 (averaged), every other type ``float32`` (box average; NaN spreads
        to the pixels it touches).
    scaled : bool
        Whether it was shrunk.
    """
    from PIL import Image

    h, w = image.shape
    if h * w <= max_pixels:
        return image, False
    scale = (max_pixels / (h * w)) ** 0.5
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    if image.dtype == np.uint8:
        return np.asarray(Image.fromarray(image).resize(size)), True
    if image.dtype == np.bool_:
        return np.asarray(Image.fromarray(image.astype(np.uint8) * 255).resize(size, Image.Resampling.BOX)), True
    small = Image.fromarray(np.ascontiguousarray(image, dtype=np.float32), mode="F").resize(size, Image.Resampling.BOX)
    return np.asarray(small), True


def to_uint8(image: np.ndarray) -> np.ndarray:
    """Grey levels 0…255 of any image from :func:`read_image`.

    ``uint8`` stays as it is, ``bool`` becomes 0 and 255, every other type is scaled linearly
    from its smallest to its largest finite value (NaN and infinities become 0).

    Parameters
    ----------
    image : numpy.ndarray
        2-D.

    Returns
    -------
    numpy.ndarray
        2-D ``uint8``.
    """
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.bool_:
        return image.astype(np.uint8) * 255
    a = np.asarray(image, dtype=np.float64)
    finite = np.isfinite(a)
    if not finite.any():
        return np.zeros(a.shape, np.uint8)
    lo, hi = float(a[finite].min()), float(a[finite].max())
    scaled = (np.where(finite, a, lo) - lo) * (255.0 / (hi - lo) if hi > lo else 0.0)
    return np.rint(scaled).astype(np.uint8)


# --- CSV series ---------------------------------------------------------------------------------

class Series(NamedTuple):
    """A 1-D series read from a CSV column.

    Attributes
    ----------
    values : numpy.ndarray
        Float64 ``(n,)``, every value finite.
    column : str
        The column read (its header, or ``"column 1"``, ... without a header row).
    columns : list of str
        Every column of the file.
    header : bool
        Whether the first row was read as a header.
    dropped : int
        Rows dropped for a missing value (with ``drop_missing``).
    """

    values: np.ndarray
    column: str
    columns: list[str]
    header: bool
    dropped: int


def _first_line(data: bytes) -> str:
    """The first non-blank line, decoded (without splitting the whole file)."""
    start = 0
    while start < len(data):
        end = data.find(b"\n", start)
        end = len(data) if end < 0 else end
        line = data[start:end].strip()
        if line:
            return line.decode("utf-8-sig", errors="replace")
        start = end + 1
    raise ValueError("the file is empty")


def _delimiter(line: str) -> str:
    for d in ("\t", ";", ","):
        if d in line:
            return d
    return r"\s+"


def _is_number(field: str) -> bool:
    try:
        float(field.strip().strip('"'))
        return True
    except ValueError:
        return not field.strip()


def _csv_layout(data: bytes) -> tuple[str, bool]:
    """The delimiter, and whether the first row looks like a header; checks that the file is text, not too long."""
    if not data or not data.strip():
        raise ValueError("the file is empty")
    if b"\0" in data[:65536] or image_format(data) is not None:
        raise ValueError("that file is not a text CSV (it holds binary data)")
    rows = data.count(b"\n") + 1
    if rows > MAX_SERIES + 2:
        raise ValueError(f"the CSV has {rows:,} rows; the limit is {MAX_SERIES:,} samples (2^22): "
                         "analyse a part of the series")
    line = _first_line(data)
    sep = _delimiter(line)
    fields = re.split(sep, line.strip()) if sep == r"\s+" else line.split(sep)
    return sep, not all(_is_number(f) for f in fields)


def _read_frame(data: bytes, sep: str, header: bool, nrows: int | None = None):
    """The CSV as a DataFrame, parsed from the bytes by pandas' C parser (UTF-8, else Latin-1)."""
    import pandas as pd

    for encoding in ("utf-8-sig", "latin-1"):
        try:
            df = pd.read_csv(io.BytesIO(data), sep=sep, header=0 if header else None, nrows=nrows,
                             skip_blank_lines=True, encoding=encoding, engine="c")
            break
        except UnicodeDecodeError:
            continue
        except pd.errors.EmptyDataError:
            raise ValueError("the CSV holds no data") from None
        except (pd.errors.ParserError, ValueError, OverflowError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ValueError(f"the CSV is malformed ({first})") from None
    if not header:
        df.columns = [f"column {i + 1}" for i in range(df.shape[1])]
    df.columns = [str(c) for c in df.columns]
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise ValueError("the CSV holds no data rows")
    return df


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'s' * (n != 1)}"


def csv_columns(data: bytes, header: bool | None = None) -> tuple[list[str], bool]:
    """The columns of a CSV file, and whether its first row is a header.

    Parameters
    ----------
    data : bytes
        The file: comma-, semicolon-, tab- or space-separated text.
    header : bool, optional
        Whether the first row names the columns; default: it does if any field of it is not
        a number.

    Returns
    -------
    columns : list of str
        The header's names, or ``"column 1"``, ``"column 2"``, ... without a header.
    header : bool
        As given or detected.

    Raises
    ------
    ValueError
        If the file is empty, binary, longer than :data:`MAX_SERIES` rows or malformed.
    """
    sep, detected = _csv_layout(data)
    header = detected if header is None else bool(header)
    return list(_read_frame(data, sep, header, nrows=5).columns), header


def read_series(data: bytes, column: str | None = None, header: bool | None = None,
                drop_missing: bool = False) -> Series:
    """Read one column of a CSV file as a 1-D float64 series.

    Parameters
    ----------
    data : bytes
        The file: comma-, semicolon-, tab- or space-separated text, one sample per row.
    column : str, optional
        The column to read (a name from :func:`csv_columns`); default: the last column (a
        first column is often the time).
    header : bool, optional
        Whether the first row names the columns; default: detected as in :func:`csv_columns`.
    drop_missing : bool
        Drop rows whose value is missing (blank or ``NaN``) instead of refusing the file.
        The remaining samples are joined up, which changes a time series: only for isolated
        gaps.

    Returns
    -------
    Series
        The values and what was read.

    Raises
    ------
    ValueError
        If the file is empty, binary, malformed or longer than :data:`MAX_SERIES` rows; if the
        column holds text, missing values (unless dropped) or infinities; if it has fewer than
        :data:`MIN_SERIES` values, or they are all equal.
    """
    import pandas as pd

    sep, detected = _csv_layout(data)
    header = detected if header is None else bool(header)
    df = _read_frame(data, sep, header)
    columns = list(df.columns)
    if column is None:
        column = columns[-1]
    if column not in columns:
        raise ValueError(f"the CSV has no column {column!r}; its columns are {', '.join(map(repr, columns))}")
    raw = df[column]
    numeric = pd.api.types.is_numeric_dtype(raw.dtype)
    values = raw.astype(np.float64) if numeric else pd.to_numeric(raw, errors="coerce")
    if not numeric:
        bad = raw.notna() & values.isna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise ValueError(f"column {column!r} holds text, not numbers: data row {i + 1} is {str(raw.iloc[i])!r}"
                             + ("" if header else " (if the first row names the columns, tick 'First row is a header')"))
    v = values.to_numpy(dtype=np.float64)
    missing = np.isnan(v)
    dropped = 0
    if missing.any():
        if not drop_missing:
            i = int(np.flatnonzero(missing)[0])
            raise ValueError(f"column {column!r} has {_count(int(missing.sum()), 'missing value')} (blank or NaN; "
                             f"the first in data row {i + 1}): fill them, or drop those rows with 'Drop missing values'")
        dropped = int(missing.sum())
        v = v[~missing]
    inf = np.isinf(v)
    if inf.any():
        raise ValueError(f"column {column!r} has {_count(int(inf.sum()), 'infinite value')} (the first in data row "
                         f"{int(np.flatnonzero(inf)[0]) + 1})")
    if v.size < MIN_SERIES:
        raise ValueError(f"column {column!r} has {_count(v.size, 'value')}; the analysis needs at least {MIN_SERIES}")
    if v.size > MAX_SERIES:
        raise ValueError(f"column {column!r} has {v.size:,} values; the limit is {MAX_SERIES:,} samples (2^22): "
                         "analyse a part of the series")
    if np.ptp(v) == 0:
        raise ValueError(f"column {column!r} is constant (every value is {v[0]:g}): it has no fluctuations to measure")
    return Series(np.ascontiguousarray(v), column, columns, header, dropped)
