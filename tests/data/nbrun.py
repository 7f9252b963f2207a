"""Execute notebooks top to bottom on a fresh kernel (nbclient); run inside the jupyter image.

Usage: python nbrun.py BUDGET_SECONDS NOTEBOOK [NOTEBOOK ...]
Prints one JSON line per notebook: {"notebook", "seconds", "ok", "error"}.
"""
import json
import sys
import time
from pathlib import Path

import nbclient
import nbformat

budget = float(sys.argv[1])
failed = False
for path in map(Path, sys.argv[2:]):
    nb = nbformat.read(path, as_version=4)
    t0 = time.monotonic()
    err = None
    try:
        nbclient.NotebookClient(nb, timeout=budget, kernel_name="python3",
                                resources={"metadata": {"path": str(path.parent)}}).execute()
    except Exception as exc:  # CellExecutionError carries the traceback text
        err = str(exc)[-3000:]
    took = time.monotonic() - t0
    ok = err is None and took <= budget
    failed |= not ok
    print(json.dumps({"notebook": path.name, "seconds": round(took, 2), "ok": ok, "error": err}), flush=True)
sys.exit(1 if failed else 0)
