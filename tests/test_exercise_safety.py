"""A learner's exercise notebooks survive `make exercises` and never fail `make test`.

Each test builds a small copy of the repository (tools/ and one solution notebook) in a temporary
git repository, does what a learner or contributor does there, and runs the real tool on it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SOLVED = "answer = 1\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\nprint(answer)"
NAME = "00_demo.ipynb"
GIT = ["git", "-c", "user.name=Test", "-c", "user.email=test@example.com",
       "-c", "commit.gpgsign=false"]


def _run(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "tools/make_exercises.py", *args], cwd=repo,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def _git(repo: Path, *args: str) -> None:
    subprocess.run([*GIT, *args], cwd=repo, check=True, capture_output=True, timeout=60)


def _write_solution(repo: Path, extra: str = "") -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 00 · Demo" + extra),
                nbformat.v4.new_code_cell(SOLVED)]
    nbformat.write(nb, repo / "solutions" / NAME)


@pytest.fixture
def repo(tmp_path):
    """A committed mini-course: tools/, one solution and its generated exercise notebook."""
    shutil.copytree(REPO_ROOT / "tools", tmp_path / "tools",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "solutions").mkdir()
    (tmp_path / ".gitignore").write_text("notebooks/.generated.json\nnotebooks/backups/\n")
    _write_solution(tmp_path)
    assert _run(tmp_path).returncode == 0
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "course")
    return tmp_path


def _learner_edits(repo: Path) -> str:
    """Replace the stub with an answer, as a learner does in Jupyter; return the saved text."""
    path = repo / "notebooks" / NAME
    nb = nbformat.read(path, as_version=4)
    stub = 'raise NotImplementedError("Exercise: replace this line with your code")'
    nb.cells[1].source = nb.cells[1].source.replace(stub, "answer = 6 * 7  # mine")
    nbformat.write(nb, path)
    return path.read_text()


def test_check_passes_on_a_learners_edits_and_says_what_it_checked(repo):
    mine = _learner_edits(repo)
    result = _run(repo, "--check")
    assert result.returncode == 0, result.stdout
    assert "holds edits" in result.stdout and "committed copy is checked" in result.stdout
    assert (repo / "notebooks" / NAME).read_text() == mine


def test_check_fails_for_a_contributor_who_did_not_regenerate_and_names_the_command(repo):
    _write_solution(repo, extra="\n\nNew prose.")
    result = _run(repo, "--check")
    assert result.returncode == 1
    assert "notebooks/00_demo.ipynb is stale" in result.stdout
    assert "make exercises" in result.stdout and "make check-exercises" in result.stdout


def test_check_passes_after_regenerating_before_the_commit(repo):
    _write_solution(repo, extra="\n\nNew prose.")
    assert _run(repo).returncode == 0
    assert _run(repo, "--check").returncode == 0


def test_make_exercises_refuses_to_overwrite_an_edited_notebook(repo):
    mine = _learner_edits(repo)
    _write_solution(repo, extra="\n\nNew prose.")  # the course was updated since
    result = _run(repo)
    assert result.returncode == 1
    assert "Not overwritten" in result.stdout and "notebooks/00_demo.ipynb" in result.stdout
    assert "make exercises FORCE=1" in result.stdout
    assert (repo / "notebooks" / NAME).read_text() == mine


def test_force_keeps_a_timestamped_copy_and_says_where(repo):
    mine = _learner_edits(repo)
    _write_solution(repo, extra="\n\nNew prose.")
    result = _run(repo, "--force")
    assert result.returncode == 0, result.stdout
    copies = list((repo / "notebooks" / "backups").glob("00_demo-*.ipynb"))
    assert len(copies) == 1 and copies[0].read_text() == mine
    assert f"as notebooks/backups/{copies[0].name}" in result.stdout
    assert "New prose." in (repo / "notebooks" / NAME).read_text()


def test_a_notebook_it_generated_is_refreshed_without_asking(repo):
    _write_solution(repo, extra="\n\nFirst change.")
    assert _run(repo).returncode == 0  # uncommitted, but its hash is recorded
    _write_solution(repo, extra="\n\nSecond change.")
    result = _run(repo)
    assert result.returncode == 0, result.stdout
    assert "Second change." in (repo / "notebooks" / NAME).read_text()
    assert not (repo / "notebooks" / "backups").exists()


def test_without_git_an_edited_notebook_is_still_protected(repo):
    shutil.rmtree(repo / ".git")  # a zip download
    mine = _learner_edits(repo)
    assert _run(repo, "--check").returncode == 0
    assert _run(repo).returncode == 1
    assert (repo / "notebooks" / NAME).read_text() == mine


def test_a_learners_own_notebook_in_notebooks_is_ignored(repo):
    (repo / "notebooks" / "my_experiment.ipynb").write_text("{}")
    (repo / "notebooks" / "99_extra.ipynb").write_text("{}")  # uncommitted: the learner's
    assert _run(repo, "--check").returncode == 0
    result = _run(repo)
    assert result.returncode == 0 and (repo / "notebooks" / "99_extra.ipynb").read_text() == "{}"
