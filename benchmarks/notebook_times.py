#!/usr/bin/env python3
"""Wall time of every solution notebook in fast mode and in full mode.

Full mode: the `seconds` that tools/execute_solutions.py recorded in each notebook's metadata["course"]
(with the core count of that run); `--rerun-full` executes copies of the notebooks again in full
mode (outputs are not written back). Fast mode: `--fast` times `pytest --nbval-lax` on each notebook with
COURSE_FAST=1, which is what CI runs. Targets: fast < 45 s, full <= 600 s, on 2 CPU cores.

    python benchmarks/notebook_times.py                       # recorded full-mode times only (instant)
    python benchmarks/notebook_times.py --fast
    python benchmarks/notebook_times.py --fast 07 03   # chosen chapters
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = REPO_ROOT / "solutions"
FAST_TARGET_S, FULL_TARGET_S = 45.0, 600.0


def recorded(path: Path) -> dict:
    import nbformat

    return dict(nbformat.read(path, as_version=4).metadata.get("course", {}))


def time_fast(path: Path) -> tuple[float, bool]:
    env = dict(os.environ, COURSE_FAST="1")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-sanitize-with",
                           "tests/nbval_sanitize.cfg", "-q", "-p", "no:cacheprovider", str(path)],
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc.returncode == 0


def time_full(path: Path, timeout: int) -> tuple[float, bool]:
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    env_fast = os.environ.pop("COURSE_FAST", None)
    start = time.perf_counter()
    try:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        ok = True
    except Exception as err:  # report and go on with the next notebook
        print(f"  {path.name}: {type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}")
        ok = False
    finally:
        if env_fast is not None:
            os.environ["COURSE_FAST"] = env_fast
    return time.perf_counter() - start, ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("chapters", nargs="*", help="chapter numbers or notebook names (default: all)")
    parser.add_argument("--fast", action="store_true", help="time nbval in fast mode for each notebook")
    parser.add_argument("--rerun-full", action="store_true", help="re-execute copies in full mode and time them")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds per cell for --rerun-full")
    args = parser.parse_args(argv)

    paths = sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
    if args.chapters:
        paths = [p for p in paths if any(p.name.startswith(c) or p.stem == c for c in args.chapters)]
    if not paths:
        print("No solution notebooks found.")
        return 1
    if args.fast and not os.environ.get("COURSE_DATA_DIR"):
        print("note: COURSE_DATA_DIR is not set; offline machines need it for the fast runs")
    print(f"{os.cpu_count()} CPU cores visible; targets: fast < {FAST_TARGET_S:.0f} s, full <= {FULL_TARGET_S:.0f} s")
    header = "| notebook | full (recorded) | cores | " + ("fast (nbval) | " if args.fast else "") + \
        ("full (re-run) | " if args.rerun_full else "") + "meets targets |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    all_ok = True
    for path in paths:
        meta = recorded(path)
        full = meta.get("seconds")
        when = f"{meta.get('cpu_count', '?')}" if meta else "not executed"
        cells = [path.stem, f"{full:.0f} s" if full is not None else "pending", when]
        ok = full is not None and full <= FULL_TARGET_S and meta.get("mode") == "full"
        if args.fast:
            seconds, passed = time_fast(path)
            cells.append(f"{seconds:.1f} s" + ("" if passed else " (FAILED)"))
            ok = ok and passed and seconds < FAST_TARGET_S
        if args.rerun_full:
            seconds, passed = time_full(path, args.timeout)
            cells.append(f"{seconds:.0f} s" + ("" if passed else " (FAILED)"))
            ok = ok and passed and seconds <= FULL_TARGET_S
        cells.append("yes" if ok else "NO")
        all_ok = all_ok and ok
        print("| " + " | ".join(cells) + " |", flush=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
