#!/usr/bin/env python3
"""Generate the exercise notebooks in notebooks/ from the single source in solutions/.

In each solution notebook, code between `### BEGIN SOLUTION` and `### END SOLUTION` becomes a stub
(`raise NotImplementedError(...)`), outputs and execution counts are stripped, the badge points at
the exercise notebook, and the run metadata is dropped.

A learner's work is never overwritten: a notebook is replaced only when it is still what this tool
last wrote (its hash is in notebooks/.generated.json, git-ignored) or what git has committed.
Edited notebooks are left alone and listed; `--force` first keeps a timestamped copy of each in
notebooks/backups/ (git-ignored).

    python tools/make_exercises.py           # (re)write notebooks/ (make exercises)
    python tools/make_exercises.py --force   # replace edited ones too, after a copy (FORCE=1)
    python tools/make_exercises.py --check   # exit 1 if notebooks/ is stale (make check-exercises)
"""

from __future__ import annotations

import argparse
import copy
import datetime
import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from badges import with_badge
from nbcommon import NOTEBOOKS, REPO_ROOT, solution_notebooks, strip_solutions

EXERCISE_NOTE = (
    "> **Exercise notebook.** Cells marked *Exercise* contain a stub that raises `NotImplementedError`: "
    "replace it with your code, run the cell, then run the check below it. The complete version is "
    "`solutions/{name}`."
)
STATE_NAME = ".generated.json"  # sha256 of the text last written, per notebook
BACKUPS_NAME = "backups"
CHAPTER_GLOB = "[0-9][0-9]_*.ipynb"  # the course's notebooks; a learner's other files are ignored
CONTRIBUTOR_HINT = (
    "Contributors: run `make exercises` after changing solutions/, commit notebooks/, "
    "and check with `make check-exercises`."
)

KEPT_METADATA = ("kernelspec", "language_info")


def make_exercise(solution) -> nbformat.NotebookNode:
    """Return the exercise version of a solution notebook (a new object; the input is unchanged)."""
    nb = copy.deepcopy(solution)
    # Only what Jupyter needs to open it: no run record, no widget state left by the solution run
    nb.metadata = nbformat.from_dict({k: v for k, v in nb.metadata.items() if k in KEPT_METADATA})
    for index, cell in enumerate(nb.cells):
        cell.metadata = nbformat.from_dict({k: v for k, v in cell.metadata.items() if k == "tags"})
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


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _rel(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def committed_text(target: Path) -> str | None:
    """The notebook as committed in git's HEAD; None without git or when it is not committed."""
    try:
        result = subprocess.run(["git", "show", f"HEAD:{target.relative_to(REPO_ROOT).as_posix()}"],
                                cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):  # no git (a zip download): the state file decides
        return None
    return result.stdout if result.returncode == 0 else None


def _read_state(folder: Path) -> dict:
    try:
        state = json.loads((folder / STATE_NAME).read_text())
    except (OSError, ValueError):  # first run, or a state file mangled by hand: trust git only
        return {}
    return state if isinstance(state, dict) else {}


def _write_state(folder: Path, state: dict) -> None:
    (folder / STATE_NAME).write_text(json.dumps(state, indent=1, sort_keys=True) + "\n")


def is_learner_edited(target: Path, current: str, state: dict) -> bool:
    """True when `current` is neither what this tool last wrote nor what git has committed."""
    if state.get(target.name) == _sha(current):
        return False
    return committed_text(target) != current


def keep_copy(target: Path, stamp: str) -> Path:
    backups = target.parent / BACKUPS_NAME
    backups.mkdir(exist_ok=True)
    copy_path = backups / f"{target.stem}-{stamp}.ipynb"
    shutil.copy2(target, copy_path)
    return copy_path


def _orphans(expected: set[str]) -> list[str]:
    return sorted(p.name for p in NOTEBOOKS.glob(CHAPTER_GLOB) if p.name not in expected)


def write_all(force: bool) -> int:
    """`make exercises`: regenerate unedited notebooks; refuse edited ones (force: copy first)."""
    NOTEBOOKS.mkdir(exist_ok=True)
    state = _read_state(NOTEBOOKS)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    written, kept, refused, expected = [], [], [], set()
    for path in solution_notebooks():
        target = NOTEBOOKS / path.name
        expected.add(target.name)
        text = render(path)
        current = target.read_text() if target.exists() else None
        if current is not None and current != text and is_learner_edited(target, current, state):
            if not force:
                refused.append(target)
                continue
            kept.append((target, keep_copy(target, stamp)))
        if current != text:
            target.write_text(text)
            written.append(target)
        state[target.name] = _sha(text)
    _write_state(NOTEBOOKS, state)
    _report_written(written, kept, refused, _orphans(expected))
    return 1 if refused else 0


def _report_written(written, kept, refused, orphans) -> None:
    for target in written:
        print(f"wrote {_rel(target)}")
    for target, copy_path in kept:
        print(f"kept your edited {_rel(target)} as {_rel(copy_path)}")
    for name in orphans:
        print(f"note: notebooks/{name} has no source in solutions/ (left as it is)")
    if refused:
        print("Not overwritten, because they hold edits made after `make exercises` wrote them:")
        for target in refused:
            print(f"  {_rel(target)}")
        print("Your edits are untouched. To get fresh copies of these too, run "
              "`make exercises FORCE=1`: it first copies each one to "
              f"{_rel(NOTEBOOKS / BACKUPS_NAME)}/NAME-<date-time>.ipynb. "
              "Or move the file elsewhere and run `make exercises` again.")
    elif not written:
        print("notebooks/ is already up to date.")


def check_all() -> int:
    """The contributor check: notebooks/ matches solutions/, on disk or as committed.

    A learner's edits never fail it: an edited notebook passes when the committed copy is in sync.
    """
    problems, expected, edited = [], set(), []
    state = _read_state(NOTEBOOKS)
    for path in solution_notebooks():
        target = NOTEBOOKS / path.name
        expected.add(target.name)
        text = render(path)
        current = target.read_text() if target.exists() else None
        if current == text:
            continue
        committed = committed_text(target)
        if committed == text:
            edited.append(target)
        elif committed is None and current is not None and state.get(target.name) != _sha(current):
            edited.append(target)  # no git to compare with: an edited copy cannot be judged stale
        else:
            problems.append(f"{_rel(target)} is {'missing' if current is None else 'stale'}"
                            f" (does not match {_rel(path)})")
    for name in _orphans(expected):
        if committed_text(NOTEBOOKS / name) is not None:
            problems.append(f"notebooks/{name} is committed but has no source in solutions/")
    return _report_check(problems, edited, len(expected))


def _report_check(problems, edited, count) -> int:
    for target in edited:
        print(f"note: {_rel(target)} holds edits (a learner's work); "
              "its committed copy is checked instead")
    for problem in problems:
        print(problem)
    if problems:
        print(CONTRIBUTOR_HINT)
        return 1
    print(f"notebooks/ is in sync with solutions/ ({count} notebooks).")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true",
                      help="exit 1 if notebooks/ is stale (changes nothing)")
    mode.add_argument("--force", action="store_true",
                      help="replace edited notebooks too, after copying each to notebooks/backups/")
    args = parser.parse_args(argv)
    return check_all() if args.check else write_all(force=args.force)


if __name__ == "__main__":
    sys.exit(main())
