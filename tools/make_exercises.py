#!/usr/bin/env python3
"""Generate the exercise notebooks in notebooks/ from the single source in solutions/.

In each solution notebook, code between `### BEGIN SOLUTION` and `### END SOLUTION` becomes a stub
(`raise NotImplementedError(...)`), outputs and execution counts are stripped, the badge points at
the exercise notebook, and the run metadata is dropped.

    python tools/make_exercises.py           # (re)write notebooks/
    python tools/make_exercises.py --check   # exit 1 when notebooks/ is stale (CI runs this)
"""

from __future__ import annotations

import argparse
import copy
import sys

import nbformat
from badges import with_badge
from nbcommon import NOTEBOOKS, REPO_ROOT, solution_notebooks, strip_solutions

EXERCISE_NOTE = (
    "> **Exercise notebook.** Cells marked *Exercise* contain a stub that raises `NotImplementedError`: "
    "replace it with your code, run the cell, then run the check below it. The complete version is "
    "`solutions/{name}`."
)


def make_exercise(solution) -> nbformat.NotebookNode:
    """Return the exercise version of a solution notebook (a new object; the input is unchanged)."""
    nb = copy.deepcopy(solution)
    nb.metadata.pop("course", None)
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.source = strip_solutions(cell.source, where=f"cell {index}")
            cell.outputs = []
            cell.execution_count = None
    return nb


def render(solution_path) -> str:
    solution = nbformat.read(solution_path, as_version=4)
    nb = make_exercise(solution)
    with_badge(nb, f"notebooks/{solution_path.name}")
    first = next(c for c in nb.cells if c.cell_type == "markdown")
    note = EXERCISE_NOTE.format(name=solution_path.name)
    if note not in first.source:
        first.source = first.source.rstrip() + "\n\n" + note
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if notebooks/ is stale")
    args = parser.parse_args(argv)
    problems = []
    expected = set()
    for path in solution_notebooks():
        target = NOTEBOOKS / path.name
        expected.add(target.name)
        text = render(path)
        current = target.read_text() if target.exists() else None
        if current != text:
            problems.append(f"{target.relative_to(REPO_ROOT)} is {'missing' if current is None else 'stale'}")
            if not args.check:
                NOTEBOOKS.mkdir(exist_ok=True)
                target.write_text(text)
    orphans = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb") if p.name not in expected)
    for name in orphans:
        problems.append(f"notebooks/{name} has no source in solutions/ (delete it or add solutions/{name})")
    if args.check:
        for problem in problems:
            print(problem)
        if problems:
            print("Run `make exercises` to regenerate notebooks/ from solutions/.")
            return 1
        print(f"notebooks/ is up to date ({len(expected)} notebooks).")
        return 0
    for problem in problems:
        print(f"wrote: {problem}")
    return 1 if orphans else 0


if __name__ == "__main__":
    sys.exit(main())
