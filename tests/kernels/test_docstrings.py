"""The Examples in fractalkit's docstrings run, and show what they say (doctest)."""
import doctest
import importlib
import pkgutil

import pytest

import fractalkit

MODULES = sorted(m.name for m in pkgutil.iter_modules(fractalkit.__path__) if not m.name.startswith("_"))
#: Modules whose kernels carry Examples (the others hold caps, rasterizing and colour helpers).
WITH_EXAMPLES = {"aggregation", "deepzoom", "escape", "ifs", "lsystem", "measure", "multifractal", "selfaffine", "surfaces",
                 "trees"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"fractalkit.{name}")
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in fractalkit.{name}"
    assert result.attempted > 0 or name not in WITH_EXAMPLES, f"fractalkit.{name} has no Examples"
