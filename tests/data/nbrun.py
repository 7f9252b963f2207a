"""Execute notebooks top to bottom on a fresh kernel (nbclient); run inside the jupyter image.

Each notebook runs on the kernel its metadata names, resolved as the image resolves it: a kernel
the image lacks falls back to Python 3 with a notice (fractal_kernels, the notebook layer).

Usage: python nbrun.py BUDGET_SECONDS NOTEBOOK [NOTEBOOK ...]
Prints one JSON line per notebook: {"notebook", "seconds", "ok", "error", "stderr"} (stderr: the
text the cells wrote there).
"""
import json
import sys
import time
from pathlib import Path

import nbclient
import nbformat
from fractal_kernels import FallbackKernelManager

budget = float(sys.argv[1])
failed = False
for path in map(Path, sys.argv[2:]):
    nb = nbformat.read(path, as_version=4)
    t0 = time.monotonic()
    err = None
    try:
        nbclient.NotebookClient(nb, timeout=budget, kernel_manager_class=FallbackKernelManager,
                                resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as exc:  # CellExecutionError carries the traceback text
        err = str(exc)[-3000:]
    took = time.monotonic() - t0
    ok = err is None and took <= budget
    failed |= not ok
    stderr = "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []) if o.get("name") == "stderr")
    print(json.dumps({"notebook": path.name, "seconds": round(took, 2), "ok": ok, "error": err, "stderr": stderr}),
          flush=True)
sys.exit(1 if failed else 0)
