"""fractalkit: numba-fast fractal kernels for the fractal-notebooks workstation.

Kernels return numpy arrays and never plot; :mod:`fractalkit.render` turns arrays into
pixels. Every kernel checks its work against :mod:`fractalkit.limits` first.
"""
from importlib.metadata import version as _version

# First, before numpy/scipy/numba load: thread-safe numba layer, pools sized to the CPU limit.
from . import _runtime  # noqa: F401  isort: skip
from . import _numba_cache  # noqa: F401  isort: skip  (corrupt cache files -> recompile)
from .aggregation import Cluster, dla, gyration_dimension
from .escape import Viewport, inside, julia, mandelbrot, mandelbrot_reference
from .ifs import BARNSLEY_FERN, BARNSLEY_FERN_P, SIERPINSKI, SIERPINSKI_P, chaos_game
from .limits import WorkLimitError
from .lsystem import LSYSTEMS, LSystem, expand, lsystem_segments, turtle
from .multifractal import (MultifractalSpectrum, correlation_dimension, correlation_sum, delay_embedding,
                           generalized_dimensions, multifractal_spectrum, theiler_window)
from .measure import (BoxCounts, Fit, Lacunarity, box_counting_dimension, box_counts, differential_box_counting,
                      lacunarity, mass_radius_dimension)
from .selfaffine import dfa, hurst_exponent, spectral_hurst, structure_function, variogram
from .raster import density, rasterize_segments
from .render import colorize, gif_bytes, image_bytes, palette, to_indices
from .surfaces import (EmbeddingError, SynthesisFallbackWarning, diamond_square, fbm, fbm_1d, fbm_surface,
                       fbm_surface_exact, fgn, pink_noise)
from .trees import Segments, Squares, nan_path, polygon_path, pythagoras_tree, segment_count, tree_2d, tree_3d

#: The installed distribution's version: pyproject.toml's, its one home.
__version__ = _version("fractalkit")

# The package's API: the kernels and their types (submodules are reached as fractalkit.<name>).
__all__ = [
    # escape-time fractals
    "Viewport", "mandelbrot", "julia", "mandelbrot_reference", "inside",
    # iterated function systems and L-systems
    "BARNSLEY_FERN", "BARNSLEY_FERN_P", "SIERPINSKI", "SIERPINSKI_P", "chaos_game",
    "LSystem", "LSYSTEMS", "expand", "turtle", "lsystem_segments",
    # trees
    "Segments", "Squares", "segment_count", "tree_2d", "tree_3d", "pythagoras_tree", "nan_path", "polygon_path",
    # diffusion-limited aggregation
    "Cluster", "dla", "gyration_dimension",
    # random fractal surfaces and signals
    "fgn", "fbm", "fbm_surface_exact", "fbm_surface", "fbm_1d", "pink_noise", "diamond_square",
    "SynthesisFallbackWarning", "EmbeddingError",
    # measuring
    "Fit", "BoxCounts", "box_counts", "box_counting_dimension", "mass_radius_dimension", "Lacunarity", "lacunarity",
    "differential_box_counting", "hurst_exponent",
    "dfa", "variogram", "structure_function", "spectral_hurst",
    "MultifractalSpectrum", "multifractal_spectrum", "generalized_dimensions", "correlation_sum",
    "correlation_dimension", "delay_embedding", "theiler_window",
    # rasterizing and rendering
    "density", "rasterize_segments", "palette", "to_indices", "colorize", "image_bytes", "gif_bytes",
    # errors
    "WorkLimitError",
]
