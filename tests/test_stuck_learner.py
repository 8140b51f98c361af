"""A learner stuck on every exercise can still run every chapter past all its exercises (fast mode).

Each exercise notebook is generated afresh from its solution notebook (what `make exercises` writes, so a
learner's own edits in notebooks/ never matter here), every stub is left as it is, and the notebook runs
through its last cell that touches an exercise (`through_the_last_exercise`). Later cells that need an
exercise's answer fall back to the course's version (`ex.qN.usable(...)`), so no cell may raise; the check
cells say "Not attempted yet".
"""

from __future__ import annotations

import re

import make_exercises
import nbcommon
import nbformat
import pytest

pytest.importorskip("nbclient")
from nbclient import NotebookClient  # noqa: E402

SOLUTIONS = nbcommon.solution_notebooks()


def _touches_an_exercise(source: str, stub_names: set[str]) -> bool:
    return (nbcommon.STUB in source or re.search(r"\bex\.", source) is not None
            or any(re.search(rf"\b{re.escape(name)}\b", source) for name in stub_names))


def through_the_last_exercise(notebook):
    """The notebook up to its last code cell that touches an exercise: a stub, a name that a stub's cell
    defines, or the checkers (`ex.`). The cells after it run only the course's own code, as the solution
    notebook does in the nbval run of `make test`; leaving them out saves a fast-mode run of each chapter's
    last sections. A later cell that used a stub's name without its fallback is kept, and raises."""
    code = [(i, c.source) for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    stub_names = {m.group(1) or m.group(2) for _, source in code if nbcommon.STUB in source
                  for m in re.finditer(r"^(?:def|class)\s+(\w+)|^(\w+)\s*=", source, re.M)}
    last = max(i for i, source in code if _touches_an_exercise(source, stub_names))
    notebook.cells = notebook.cells[:last + 1]
    return notebook


def test_the_cut_keeps_every_cell_that_uses_a_stub_and_drops_the_rest():
    new = nbformat.v4
    notebook = new.new_notebook(cells=[
        new.new_code_cell("import utils.exercises.ch00 as ex"),
        new.new_code_cell(f"def my_answer(x):\n    {nbcommon.STUB}"),
        new.new_code_cell("ex.q1.check(my_answer)"),
        new.new_code_cell("print(my_answer(2))  # no fallback: a stuck learner's run stops here"),
        new.new_markdown_cell("The course's own code from here on."),
        new.new_code_cell("print(sum(range(10)))"),
    ])
    kept = through_the_last_exercise(notebook)
    assert [c.source for c in kept.cells][-1].startswith("print(my_answer(2))") and len(kept.cells) == 4


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_an_untouched_exercise_notebook_runs_to_the_end(path, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.delenv("COURSE_REQUIRE_CORRECT", raising=False)
    exercise = through_the_last_exercise(nbformat.reads(make_exercises.render(path), as_version=4))
    assert any(nbcommon.STUB in c.source for c in exercise.cells if c.cell_type == "code"), (
        f"{path.name}: no stub left to test")
    client = NotebookClient(exercise, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, when any cell fails
    not_attempted = [o for c in exercise.cells if c.cell_type == "code" for o in c.outputs
                     if "Not attempted yet" in str(o.get("text", "")) + str(o.get("data", {}))]
    has_checks = any("ex.q" in c.source for c in exercise.cells if c.cell_type == "code")
    assert not_attempted or not has_checks, f"{path.name}: no check said 'Not attempted yet'"
