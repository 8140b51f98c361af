"""The first cell's Colab branch, run as Colab would: `google.colab` imported, the course fetched by git.

GitHub is replaced by a local copy of this repository (git's `url.<base>.insteadOf`), and the cell's
folder `/content/course` by a temporary one; nothing else of the cell changes. Every notebook has the
same first cell (tests/test_notebooks.py), so running it once covers them all.
"""

import os
import subprocess
import sys

import nbcommon
import nbformat
import pytest

COLAB_FOLDER = "/content/course"
FAKE_COLAB = "import sys, types\nsys.modules['google.colab'] = types.ModuleType('google.colab')\n"


def _first_cell() -> str:
    nb = nbformat.read(nbcommon.SOLUTIONS / "00_setup_and_tour.ipynb", as_version=4)
    return next(c for c in nb.cells if c.cell_type == "code").source


@pytest.fixture(scope="module")
def github(tmp_path_factory):
    """A folder that stands in for https://github.com/: OWNER/NAME holds a clone of this course."""
    root = tmp_path_factory.mktemp("github")
    repo = nbcommon.REPO_ROOT
    setting = next(line for line in _first_cell().splitlines() if line.startswith("COURSE_REPO = "))
    owner_name = setting.split('"')[1]
    subprocess.run(["git", "clone", "--quiet", "--bare", f"file://{repo}", str(root / owner_name)], check=True)
    return root


def _run_first_cell(tmp_path, github, source=None, offline=False):
    """Run the first cell in a fresh Python that believes it is in Colab; return the finished process."""
    folder = tmp_path / "content" / "course"
    cell = (source or _first_cell()).replace(COLAB_FOLDER, str(folder))
    target = "/nowhere/" if offline else f"file://{github}/"
    env = dict(os.environ, GIT_CONFIG_COUNT="1", GIT_CONFIG_KEY_0=f"url.{target}.insteadOf",
               GIT_CONFIG_VALUE_0="https://github.com/", GIT_TERMINAL_PROMPT="0")
    code = FAKE_COLAB + cell + "\nprint('UTILS FROM', utils.__file__)\n"
    return subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300), folder


def test_the_first_cell_uses_the_folder_and_repository_this_test_replaces():
    cell = _first_cell()
    assert cell.count(COLAB_FOLDER) >= 2 and '"google.colab" in sys.modules' in cell
    assert "https://github.com/{COURSE_REPO}" in cell


def test_in_colab_the_first_cell_fetches_the_course_and_imports_that_copy(tmp_path, github):
    done, folder = _run_first_cell(tmp_path, github)
    assert done.returncode == 0, done.stderr[-2000:]
    assert (folder / "utils" / "__init__.py").exists()
    assert f"UTILS FROM {folder}" in done.stdout  # the fetched copy, not an installed one
    assert "mode " in done.stdout and "TensorFlow" in done.stdout  # utils.start's environment line
    again, _ = _run_first_cell(tmp_path, github)  # a second run keeps the copy and does not fetch again
    assert again.returncode == 0, again.stderr[-2000:]


def test_a_wrong_repository_name_says_what_to_check(tmp_path, github):
    cell = _first_cell()
    setting = next(line for line in cell.splitlines() if line.startswith("COURSE_REPO = "))
    wrong = cell.replace(setting, 'COURSE_REPO = "someone/not-this-course"')
    done, folder = _run_first_cell(tmp_path, github, source=wrong)
    assert done.returncode != 0 and not folder.exists()
    assert "Could not fetch the course" in done.stderr and "COURSE_REPO" in done.stderr


def test_an_offline_runtime_says_what_to_check(tmp_path, github):
    done, folder = _run_first_cell(tmp_path, github, offline=True)
    assert done.returncode != 0 and not folder.exists()
    assert "Could not fetch the course" in done.stderr and "online" in done.stderr
