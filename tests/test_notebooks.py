"""The notebooks themselves: in sync, outputs current and from full mode, conventions kept."""

import re

import badges
import make_exercises
import nbcommon
import nbformat
import pytest

SOLUTIONS = nbcommon.solution_notebooks()
IDS = [p.stem for p in SOLUTIONS]
SETUP_MARKER = "COURSE_REPO = "


def _read(path):
    return nbformat.read(path, as_version=4)


def test_there_are_solutions():
    assert SOLUTIONS, "solutions/ holds no notebooks"


def test_exercise_notebooks_are_in_sync(capsys):
    assert make_exercises.main(["--check"]) == 0, capsys.readouterr().out


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_stored_outputs_are_current_full_mode_and_error_free(path):
    nb = _read(path)
    meta = nb.metadata.get("course")
    assert meta, f"{path.name} has no stored run: `make execute NB=solutions/{path.name}`"
    assert meta["mode"] == "full", f"{path.name}: outputs come from {meta['mode']} mode; re-run `make execute`"
    assert meta["code_hash"] == nbcommon.code_hash(nb), (
        f"{path.name}: code changed since its outputs were stored; `make execute NB=solutions/{path.name}`"
    )
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"{path.name} cell {index} was never run"
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name} cell {index}: {output.get('ename')}"
            text = output.get("text", "") if output.output_type == "stream" else ""
            assert "Traceback (most recent call last)" not in text, f"{path.name} cell {index} printed a traceback"


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_exercise_notebook_has_no_outputs_and_no_solutions(path):
    exercise = _read(nbcommon.NOTEBOOKS / path.name)
    assert set(exercise.metadata) <= {"kernelspec", "language_info"}, (
        f"notebooks/{path.name} carries metadata from the solution run: {sorted(exercise.metadata)}")
    for cell in exercise.cells:
        assert set(cell.metadata) <= {"tags"}, f"notebooks/{path.name}: cell metadata {dict(cell.metadata)}"
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None
            assert nbcommon.BEGIN not in cell.source and nbcommon.END not in cell.source


@pytest.mark.parametrize("folder", ["solutions", "notebooks"])
@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_badge_objectives_and_setup_cell(folder, path):
    nb = _read(nbcommon.REPO_ROOT / folder / path.name)
    first_markdown = next(c for c in nb.cells if c.cell_type == "markdown")
    assert badges.colab_url(f"{folder}/{path.name}") in first_markdown.source, "missing or stale Colab badge"
    assert re.search(r"^#\s+\d\d\s+·", first_markdown.source, re.MULTILINE), "first cell needs a '# NN · Title'"
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Learning objectives" in prose
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert SETUP_MARKER in first_code.source and "google.colab" in first_code.source
    assert "utils.start(COURSE_VERSION)" in first_code.source  # version check, seed, environment line
    lines = first_code.source.splitlines()
    assert len(lines) <= 12 and max(map(len, lines)) <= 100, "the first cell: at most 12 lines of 100"


def test_setup_cell_is_the_same_everywhere():
    cells = {p.name: next(c for c in _read(p).cells if c.cell_type == "code").source for p in SOLUTIONS}
    assert len(set(cells.values())) == 1, f"first code cells differ: {sorted(cells)}"


def test_badges_are_current_and_readme_links_exist(capsys):
    assert badges.main(["--check"]) == 0, capsys.readouterr().out
    readme = (nbcommon.REPO_ROOT / "README.md").read_text()
    linked = re.findall(r"\]\(((?:solutions|notebooks|docs|benchmarks)/[^)#?\s]+)\)", readme)
    assert linked, "README.md links no course files"
    for relative in linked:
        assert (nbcommon.REPO_ROOT / relative).exists(), f"README.md links {relative}, which does not exist"
    for url in re.findall(r"colab\.research\.google\.com/github/[^/]+/[^/]+/blob/main/([^)\s]+)", readme):
        assert (nbcommon.REPO_ROOT / url).exists(), f"Colab badge points at missing {url}"
