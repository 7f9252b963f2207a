"""fractalkit: numba-fast fractal kernels for the fractal-notebooks workstation.

Kernels return numpy arrays and never plot; :mod:`fractalkit.render` turns arrays into
pixels. Every kernel checks its work against :mod:`fractalkit.limits` first.
"""
# First, before numpy/scipy/numba load: thread-safe numba layer, pools sized to the CPU limit.
from . import _runtime  # noqa: F401  isort: skip
from . import _numba_cache  # noqa: F401  isort: skip  (corrupt cache files -> recompile)
from .dla import Cluster, dla, gyration_dimension
from .escape import Viewport, inside, julia, mandelbrot, mandelbrot_reference
from .ifs import (BARNSLEY_FERN, BARNSLEY_FERN_P, LSYSTEMS, SIERPINSKI, SIERPINSKI_P, LSystem,
                  chaos_game, expand, lsystem_segments, turtle)
from .limits import WorkLimitError
from .measure import Fit, box_counting_dimension, box_counts, hurst_exponent, mass_radius_dimension
from .raster import density, rasterize_segments
from .render import colorize, gif_bytes, image_bytes, palette, to_indices
from .surfaces import diamond_square, fbm_1d, fbm_surface, pink_noise
from .trees import Segments, nan_path, polygon_path, pythagoras_tree, segment_count, tree_2d, tree_3d

__version__ = "0.1.0"

__all__ = [name for name in dir() if not name.startswith("_")]
