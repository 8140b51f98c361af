"""A learner stuck on every exercise can still run every chapter to the end (fast mode).

Each exercise notebook is generated afresh from its solution notebook (what `make exercises` writes, so a
learner's own edits in notebooks/ never matter here), every stub is left as it is, and the whole notebook
runs. Later cells that need an exercise's answer fall back to the course's version
(`ex.qN.usable(...)`), so no cell may raise; the check cells say "Not attempted yet".
"""

from __future__ import annotations

import make_exercises
import nbcommon
import nbformat
import pytest

pytest.importorskip("nbclient")
from nbclient import NotebookClient  # noqa: E402

SOLUTIONS = nbcommon.solution_notebooks()


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_an_untouched_exercise_notebook_runs_to_the_end(path, tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    monkeypatch.delenv("COURSE_REQUIRE_CORRECT", raising=False)
    exercise = nbformat.reads(make_exercises.render(path), as_version=4)
    assert any(nbcommon.STUB in c.source for c in exercise.cells if c.cell_type == "code"), (
        f"{path.name}: no stub left to test")
    client = NotebookClient(exercise, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, naming the cell, when any cell fails
    not_attempted = [o for c in exercise.cells if c.cell_type == "code" for o in c.outputs
                     if "Not attempted yet" in str(o.get("text", "")) + str(o.get("data", {}))]
    has_checks = any("ex.q" in c.source for c in exercise.cells if c.cell_type == "code")
    assert not_attempted or not has_checks, f"{path.name}: no check said 'Not attempted yet'"
