"""A truncated or corrupt numba cache is recovered from by recompiling, not an error per render.

Each run is a fresh process on a real cache directory (the kernels' on-disk cache is only read
by a new process) that applies fractalkit's runtime settings first, as a researcher's script
does (``fractalkit.configure_runtime()``; the images' start-up hook: tests/kernels/test_runtime_setup.py).
"""
import json
import os
import subprocess
import sys

import shutil

import pytest

CODE = r"""
import hashlib, json, warnings
import numpy as np
import fractalkit as f
f.configure_runtime()
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    img = f.mandelbrot(f.Viewport(-0.5, 0, 3, 96, 64), 80)
    pts = f.chaos_game(f.BARNSLEY_FERN, f.BARNSLEY_FERN_P, n=5000, seed=1)
    sizes, counts = f.box_counts(img > 3)
    cl = f.dla(300, seed=2)
digest = hashlib.sha256(b"".join(np.ascontiguousarray(a).tobytes()
                                 for a in (img, *pts, counts, cl.grid))).hexdigest()
print(json.dumps({"digest": digest, "warnings": [str(w.message) for w in caught]}))
"""


def _run(cache):
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def pristine(tmp_path_factory):
    """A real cache directory written by a first process, and that process's results."""
    cache = tmp_path_factory.mktemp("pristine") / "numba-cache"
    return cache, _run(cache)


@pytest.mark.parametrize("damage", ["empty index", "truncated index", "truncated data", "garbage data"])
def test_corrupt_cache_files_are_recompiled_and_rewritten(tmp_path, pristine, damage):
    cache = tmp_path / "numba-cache"
    shutil.copytree(pristine[0], cache)
    first = pristine[1]
    pattern, mode = {"empty index": ("*.nbi", "empty"), "truncated index": ("*.nbi", "half"),
                     "truncated data": ("*.nbc", "half"), "garbage data": ("*.nbc", "garbage")}[damage]
    files = sorted(cache.rglob(pattern))
    assert files, f"no {pattern} files written to {cache}"
    for p in files:
        raw = p.read_bytes()
        p.write_bytes({"empty": b"", "half": raw[: len(raw) // 2], "garbage": b"\x80\x05garbage" * 8}[mode])
    second = _run(cache)
    assert second["digest"] == first["digest"]
    assert any("recompiling" in w for w in second["warnings"]), second["warnings"]
    third = _run(cache)  # the files were rewritten: a clean cache hit, no warning
    assert third["digest"] == first["digest"]
    assert not any("recompiling" in w for w in third["warnings"]), third["warnings"]
    assert all(p.stat().st_size > 0 for p in cache.rglob("*.nbi"))
