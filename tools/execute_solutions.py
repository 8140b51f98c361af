#!/usr/bin/env python3
"""Run solution notebooks in full mode and store their outputs, for reading on GitHub.

Each executed notebook records in its metadata the mode, a hash of its code cells, the wall time
and the CPU count; tests/test_notebooks.py fails when outputs are stale, carry errors, or come from fast mode.

    python tools/execute_solutions.py                         # every notebook in solutions/
    python tools/execute_solutions.py solutions/01_image_generation_principles.ipynb
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat
from badges import with_badge, with_run_time
from nbclient import NotebookClient
from nbcommon import REPO_ROOT, SOLUTIONS, code_hash


def execute(path: Path, timeout: int) -> float:
    """Execute one notebook in place in full mode; return its wall time in seconds."""
    nb = nbformat.read(path, as_version=4)
    with_badge(nb, f"{path.parent.name}/{path.name}")  # badges and the repository setting stay current
    os.environ.pop("COURSE_FAST", None)  # full mode: the kernel inherits this environment
    start = time.perf_counter()
    resources = {"metadata": {"path": str(path.parent)}}  # run from solutions/, as Jupyter would
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", resources=resources,
                            record_timing=False)  # no run timestamps in the cells' metadata
    client.execute()
    seconds = time.perf_counter() - start
    nb.metadata["course"] = {
        "mode": "full",
        "code_hash": code_hash(nb),
        "seconds": round(seconds, 1),
        "cpu_count": os.cpu_count(),
    }
    with_run_time(nb)  # the chapter's **Time:** line states this run's wall time
    nbformat.write(nb, path)
    return seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", default=[str(SOLUTIONS)], help="notebooks or folders (default solutions/)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed per cell (default 1800)")
    args = parser.parse_args(argv)
    paths = []
    for name in args.paths:
        path = Path(name).resolve()
        paths += sorted(path.glob("[0-9][0-9]_*.ipynb")) if path.is_dir() else [path]
    if not paths:
        print("No notebooks found.")
        return 1
    for path in paths:
        print(f"executing {path.relative_to(REPO_ROOT)} in full mode ...", flush=True)
        seconds = execute(path, args.timeout)
        print(f"  done in {seconds:.0f} s", flush=True)
    print("Now run `make exercises` if you changed any solution.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
