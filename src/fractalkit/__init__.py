"""fractalkit: numba-fast fractal kernels for the fractal-notebooks workstation.

Kernels return numpy arrays and never plot; :mod:`fractalkit.render` turns arrays into
pixels. Every kernel checks its work against :mod:`fractalkit.limits` first.

Importing fractalkit, or any of its modules, changes nothing outside the package: it sets no
environment variables, patches nothing in numba and loads no threading library. The
process-wide runtime settings (a thread-safe numba threading layer, thread pools sized to the
container's CPU limit, recovery from corrupt numba cache files) are applied by
:func:`configure_runtime`. The fractal-notebooks images apply them at the start of every Python
process, before anything loads (``services/base/fractalkit_startup.py``); anywhere else (your
own environment, the test suite) call it once, before the first kernel call::

    import fractalkit
    fractalkit.configure_runtime()
"""
from importlib.metadata import version as _version

from . import _numba_cache, _runtime
from .aggregation import Cluster, dla, gyration_dimension
from .deepzoom import DeepViewport, deep_mandelbrot
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
from .render import colorize, colorize_png, gif_bytes, image_bytes, palette, to_indices
from .surfaces import (EmbeddingError, SynthesisFallbackWarning, diamond_square, fbm, fbm_1d, fbm_surface,
                       fbm_surface_exact, fgn, pink_noise)
from .trees import Segments, Squares, nan_path, polygon_path, pythagoras_tree, segment_count, tree_2d, tree_3d

#: The installed distribution's version: pyproject.toml's, its one home.
__version__ = _version("fractalkit")

# The package's API: the kernels and their types, and the runtime settings (submodules are reached
# as fractalkit.<name>).
__all__ = [
    # escape-time fractals
    "Viewport", "mandelbrot", "julia", "mandelbrot_reference", "inside",
    # deep zooms (exact decimal viewports, perturbation around an MPFR reference orbit)
    "DeepViewport", "deep_mandelbrot",
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
    "density", "rasterize_segments", "palette", "to_indices", "colorize", "colorize_png", "image_bytes", "gif_bytes",
    # errors
    "WorkLimitError",
    # process-wide runtime settings
    "configure_runtime",
]


def configure_runtime() -> dict[str, str]:
    """Apply fractalkit's process-wide runtime settings, as the images do at start-up; idempotent.

    Sets, each only where it is not set already (an empty value counts as unset):

    * ``NUMBA_THREADING_LAYER``: a thread-safe layer, ``tbb`` on x86-64 and ``omp`` on arm64,
      pinned, so that a missing library fails loudly instead of numba falling back to its
      thread-unsafe ``workqueue``; for ``tbb`` it loads the ``tbb`` wheel's library, which is
      not on the loader's search path;
    * ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and
      ``MKL_NUM_THREADS``: the CPUs this process may use (the container's CPU quota, the CPU
      affinity), not the host's core count;

    and makes numba treat an unreadable cache file as a cache miss: the kernel recompiles, with
    a ``CorruptCacheWarning``, and the file is rewritten.

    Call it once, before the first kernel call: numba picks its threading layer at its first
    parallel call. Thread pools are sized when their library loads, and ``import fractalkit``
    has loaded numpy and numba already: in this process they keep the pools they sized from the
    CPUs they saw (numba's size is recorded as ``NUMBA_NUM_THREADS``: it cannot change any more);
    the variables size the pools of libraries loaded later and of child processes. Without a
    CPU quota the numbers are the same. In a container with a quota, set the variables before
    Python starts; the images apply all of this before anything loads
    (``services/base/fractalkit_startup.py``).

    Returns
    -------
    dict
        The values now in effect for ``NUMBA_THREADING_LAYER`` and the four thread-pool variables.

    Raises
    ------
    RuntimeError
        If ``NUMBA_THREADING_LAYER`` is set to a layer that is not thread-safe (``workqueue``,
        ``forksafe``, ``default``): fractalkit's kernels may be called from several threads at
        once (Streamlit sessions, notebooks).

    Examples
    --------
    >>> import fractalkit
    >>> fractalkit.configure_runtime()  # doctest: +SKIP
    {'NUMBA_THREADING_LAYER': 'tbb', 'NUMBA_NUM_THREADS': '2', 'OMP_NUM_THREADS': '2', ...}
    """
    settings = _runtime.configure()
    _numba_cache.install_on_import()
    return settings
