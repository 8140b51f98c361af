"""The notebook tools: exercise generation, badges, full-mode execution."""

import badges
import execute_solutions
import make_exercises
import nbcommon
import nbformat
import pytest


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    for cell in cells:
        nb.cells.append(cell)
    return nb


SOLVED = """def rotate(image):
    \"\"\"Exercise.\"\"\"
    ### BEGIN SOLUTION
    turned = image.T
    return turned[::-1]
    ### END SOLUTION

answer = 42"""


def test_strip_solutions_keeps_indent_and_surroundings():
    out = nbcommon.strip_solutions(SOLVED)
    assert "turned" not in out and "BEGIN" not in out
    assert f"    {nbcommon.STUB}" in out.splitlines()
    assert out.startswith("def rotate(image):") and out.endswith("answer = 42")
    compile(out, "<exercise>", "exec")  # the exercise still parses


@pytest.mark.parametrize(
    "source, message",
    [
        ("### BEGIN SOLUTION\nx = 1", "never closed"),
        ("x = 1\n### END SOLUTION", "without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "nested"),
    ],
)
def test_strip_solutions_reports_broken_markers(source, message):
    with pytest.raises(ValueError, match=message):
        nbcommon.strip_solutions(source, where="cell 3")


def test_make_exercise_strips_outputs_metadata_and_solutions():
    code = nbformat.v4.new_code_cell(SOLVED, execution_count=3)
    code.outputs = [nbformat.v4.new_output("stream", text="hi")]
    solution = _notebook(nbformat.v4.new_markdown_cell("# 01 · Title"), code)
    solution.metadata["course"] = {"mode": "full"}
    exercise = make_exercises.make_exercise(solution)
    assert exercise.cells[1].outputs == [] and exercise.cells[1].execution_count is None
    assert "course" not in exercise.metadata and "turned" not in exercise.cells[1].source
    assert solution.cells[1].outputs and "turned" in solution.cells[1].source  # source untouched


def test_code_hash_follows_code_not_prose():
    nb = _notebook(nbformat.v4.new_markdown_cell("a"), nbformat.v4.new_code_cell("x = 1"))
    before = nbcommon.code_hash(nb)
    nb.cells[0].source = "prose changed"
    assert nbcommon.code_hash(nb) == before
    nb.cells[1].source = "x = 2"
    assert nbcommon.code_hash(nb) != before


def test_badges_point_at_the_notebook_and_setting():
    line = badges.badge_line("notebooks/02_gan.ipynb", repo="me/course")
    assert "colab.research.google.com/github/me/course/blob/main/notebooks/02_gan.ipynb" in line
    assert "mybinder.org/v2/gh/me/course/main?labpath=notebooks/02_gan.ipynb" in line
    setup = nbformat.v4.new_code_cell('COURSE_REPO = "old/name"\nimport utils')
    nb = _notebook(nbformat.v4.new_markdown_cell("# 02 · GAN"), setup)
    assert badges.with_badge(nb, "notebooks/02_gan.ipynb", repo="me/course")
    assert nb.cells[0].source.startswith("[![Open In Colab]") and "# 02 · GAN" in nb.cells[0].source
    assert 'COURSE_REPO = "me/course"' in nb.cells[1].source
    assert not badges.with_badge(nb, "notebooks/02_gan.ipynb", repo="me/course")  # idempotent


def test_readme_needs_markers():
    with pytest.raises(SystemExit, match="BADGES"):
        badges.update_readme("no markers here")


def test_execute_runs_in_full_mode_and_records_metadata(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    nb = _notebook(nbformat.v4.new_code_cell("import os\nprint('mode', os.environ.get('COURSE_FAST'))"))
    path = tmp_path / "99_probe.ipynb"
    nbformat.write(nb, path)
    seconds = execute_solutions.execute(path, timeout=120)
    done = nbformat.read(path, as_version=4)
    code = next(cell for cell in done.cells if cell.cell_type == "code")
    assert "mode None" in code.outputs[0]["text"]
    assert f"{path.parent.name}/99_probe.ipynb" in done.cells[0].source
    meta = done.metadata["course"]
    assert meta["mode"] == "full" and meta["code_hash"] == nbcommon.code_hash(done) and seconds > 0


@pytest.mark.parametrize("tool", ["make_exercises.py", "execute_solutions.py", "badges.py", "lab.py"])
def test_tools_have_help(tool):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, str(nbcommon.REPO_ROOT / "tools" / tool), "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "usage" in result.stdout
