#!/usr/bin/env python3
"""How fast the procedural cartoon faces of chapters 01 and 06 are drawn: milliseconds per 64x64 face.

Draws `--n` faces `--repeats` times with `utils.chapters.synthesis.cartoon_faces` (NumPy only, one core) and
prints each run and the median. Chapter 06 draws its whole training set this way, so this is what a
learner waits for before training starts.

    python benchmarks/faces_speed.py            # 300 faces, 5 runs
    python benchmarks/faces_speed.py --n 2000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=300, help="faces per run (default 300)")
    parser.add_argument("--repeats", type=int, default=5, help="runs; the median is reported (default 5)")
    parser.add_argument("--size", type=int, default=64, help="side length in pixels (default 64)")
    args = parser.parse_args(argv)
    if args.n < 1 or args.repeats < 1:
        parser.error("--n and --repeats must be positive")

    from utils.chapters import synthesis

    per_face = []
    for run in range(args.repeats):
        start = time.perf_counter()
        synthesis.cartoon_faces(args.n, size=args.size, seed=run)
        per_face.append((time.perf_counter() - start) / args.n * 1000)
        print(f"run {run + 1}: {per_face[-1]:.2f} ms per {args.size}x{args.size} face")
    median = statistics.median(per_face)
    print(f"median {median:.2f} ms per face ({args.n} faces x {args.repeats} runs): "
          f"10,000 faces in about {median * 10:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
