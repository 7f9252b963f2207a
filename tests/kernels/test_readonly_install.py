"""The package imports and its kernels run from a read-only install, numba cache elsewhere."""
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import fractalkit


def test_runs_from_read_only_directory(tmp_path):
    site = tmp_path / "site"
    shutil.copytree(Path(fractalkit.__file__).parent, site / "fractalkit",
                    ignore=shutil.ignore_patterns("__pycache__"))
    for p in [site, *site.rglob("*")]:
        p.chmod(p.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))
    cache = tmp_path / "numba-cache"
    code = ("import fractalkit, numpy as np;"
            "assert fractalkit.__file__.startswith(%r);"
            "m = fractalkit.mandelbrot(fractalkit.Viewport(-0.5, 0, 3, 64, 48), 64);"
            "print(np.isnan(m).sum())" % str(site))
    env = {**os.environ, "PYTHONPATH": str(site), "NUMBA_CACHE_DIR": str(cache),
           "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        for _ in range(2):  # second run loads from the cache
            out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                 cwd=tmp_path, timeout=300)
            assert out.returncode == 0, out.stderr
        assert any(cache.rglob("*.nbi")), "numba cache was not written to NUMBA_CACHE_DIR"
        assert not list(site.rglob("__pycache__"))
    finally:
        for p in [site, *site.rglob("*")]:
            p.chmod(p.stat().st_mode | stat.S_IWUSR)
