import io

import numpy as np
import pytest
from PIL import Image

from fractalkit import Viewport, colorize, colorize_png, gif_bytes, image_bytes, julia, palette, to_indices


def test_colorize_nan_and_range():
    v = np.array([[0.0, 1.0], [np.nan, 0.5]])
    rgb = colorize(v, "viridis", 0, 1, nan_color=(1, 2, 3))
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert tuple(rgb[1, 0]) == (1, 2, 3)
    np.testing.assert_array_equal(rgb[0, 0], palette("viridis", 255)[0])
    with pytest.raises(ValueError, match="colormap"):
        palette("no-such-map")


def test_png_and_jpeg_roundtrip():
    rgb = colorize(np.random.default_rng(0).random((40, 60)))
    png = Image.open(io.BytesIO(image_bytes(rgb)))
    assert png.format == "PNG" and png.size == (60, 40)
    np.testing.assert_array_equal(np.asarray(png), rgb)
    assert Image.open(io.BytesIO(image_bytes(rgb, "JPEG"))).format == "JPEG"


def test_gif_is_animated_palette():
    frames = np.stack([to_indices(julia(complex(-0.8, 0.156 + 0.01 * i), Viewport(0, 0, 3, 64, 48), 64))
                       for i in range(5)])
    im = Image.open(io.BytesIO(gif_bytes(frames, palette())))
    assert im.format == "GIF" and im.n_frames == 5 and im.mode == "P"
    np.testing.assert_array_equal(np.asarray(im), frames[0])
    im.seek(2)  # Pillow decodes later frames to RGB
    np.testing.assert_array_equal(np.asarray(im.convert("RGB")), palette()[frames[2]])


def test_png_text_chunks_carry_exact_strings():
    """The explorer stores its exact viewport in its PNGs: read back by Pillow, not by us."""
    centre = "-0.7746728091751297001111463273694036795633" + "7" * 1200
    png = Image.open(io.BytesIO(image_bytes(np.zeros((3, 4, 3), np.uint8), text={"center_re": centre, "width": "1e-1000"})))
    assert png.text == {"center_re": centre, "width": "1e-1000"}
    with pytest.raises(ValueError, match="PNG files only"):
        image_bytes(np.zeros((3, 4, 3), np.uint8), "JPEG", text={"a": "b"})


@pytest.mark.parametrize("cmap, log, nan_color", [("magma", True, (0, 0, 0)), ("viridis", False, (255, 255, 255)),
                                                  ("twilight_shifted", True, (1, 2, 3))])
def test_colorize_png_has_exactly_colorizes_pixels_in_fewer_bytes(cmap, log, nan_color):
    """An indexed-colour PNG of a colour-mapped picture: decoded to RGB, every pixel is colorize's."""
    counts = julia(complex(-0.8, 0.156), Viewport(0, 0, 3, 320, 240), 256)  # NaN inside, smooth counts outside
    assert np.isnan(counts).any() and np.isfinite(counts).any()
    png = colorize_png(counts, cmap, log=log, nan_color=nan_color, text={"width": "3"})
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.mode == "P" and im.size == (320, 240) and im.text == {"width": "3"}
    rgb = colorize(counts, cmap, log=log, nan_color=nan_color)
    np.testing.assert_array_equal(np.asarray(im.convert("RGB")), rgb)
    assert len(png) < 0.7 * len(image_bytes(rgb, text={"width": "3"}))
    with pytest.raises(ValueError, match="2-D"):
        colorize_png(counts[0])
