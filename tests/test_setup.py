"""Set-up files agree with each other and admit both this machine and Colab."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLAB = {"tensorflow": "2.20", "keras": "3.13", "ipywidgets": "7.7.1", "python": "3.13"}
CI_MACHINE = {"tensorflow": "2.21", "keras": "3.15", "python": "3.11"}


def _requirements(name):
    out = {}
    for line in (REPO / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            package = re.split(r"[<>=!~\[ ]", line, maxsplit=1)[0].lower()
            out[package] = line[len(package):]
    return out


def _environment():
    out = {}
    text = (REPO / "environment.yml").read_text()
    for line in text.split("dependencies:", 1)[1].splitlines():
        match = re.match(r"^\s+- ([A-Za-z][\w.-]*)([<>=!~][^#\s]*)?\s*(#.*)?$", line)
        if match:
            out[match.group(1).lower()] = (match.group(2) or "", match.group(3))
    return out


def _admits(spec, version):
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(spec).contains(version, prereleases=True)


def test_environment_yml_and_requirements_list_the_same_packages():
    pip = {**_requirements("requirements.txt"), **_requirements("requirements-dev.txt")}
    conda = _environment()
    conda_packages = set(conda) - {"python", "pip"}
    only_conda, only_pip = conda_packages - set(pip), set(pip) - conda_packages
    assert not only_conda and not only_pip, f"only in environment.yml: {only_conda}; only in requirements: {only_pip}"
    for package, spec in pip.items():
        assert conda[package][0] == spec, f"{package}: requirements say {spec!r}, environment.yml {conda[package][0]!r}"


def test_every_environment_line_says_why():
    for package, (_, comment) in _environment().items():
        assert comment and len(comment) > 5, f"environment.yml: explain why {package} is there"


def test_ranges_admit_colab_and_this_machine():
    pip = _requirements("requirements.txt")
    for versions in (COLAB, CI_MACHINE):
        for package, version in versions.items():
            if package == "python":
                continue
            assert _admits(pip[package], version), f"{package}{pip[package]} excludes {version}"
    python_range = _environment()["python"][0]
    assert _admits(python_range, COLAB["python"]) and _admits(python_range, CI_MACHINE["python"])
    assert "tensorflow" in pip and "<" in pip["tensorflow"]  # never force-upgrade Colab's TensorFlow


def test_makefile_has_the_targets_and_ci_calls_make_test():
    makefile = (REPO / "Makefile").read_text()
    for target in ("install", "lab", "test", "exercises", "execute", "lint"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"Makefile lacks `{target}`"
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci and "COURSE_FAST=1" in ci and "COURSE_DATA_DIR" in ci
    readme = (REPO / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme


# ---------------------------------------------------------------- Python version and .venv checks
def _check_python():
    import importlib.util

    path = REPO / "tools" / "check_python.py"
    spec = importlib.util.spec_from_file_location("check_python", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_python_versions_outside_3_11_to_3_13_are_refused_with_what_to_install():
    check = _check_python()
    for ok in [(3, 11, 0), (3, 12, 4), (3, 13, 1)]:
        assert check.interpreter_problem(ok, "python3") == ""
    for old_or_new in [(3, 10, 13), (3, 14, 0), (2, 7, 18)]:
        message = check.interpreter_problem(old_or_new, "/usr/bin/python3")
        assert "/usr/bin/python3 is Python" in message and "needs Python 3.11 to 3.13" in message
        assert "make lab PYTHON=python3.12" in message


def _python(version):
    """A real interpreter of `version` on this machine (pyenv or the system), or None."""
    import shutil

    for candidate in [Path.home() / ".pyenv" / "versions", Path("/usr/bin")]:
        found = sorted(candidate.glob(f"{version}*/bin/python3")) + [candidate / f"python{version}"]
        for path in found:
            if path.exists():
                return str(path)
    return shutil.which(f"python{version}")


def test_make_stops_on_an_old_python_before_building_anything(tmp_path):
    import subprocess

    import pytest

    old = _python("3.10") or _python("3.9")
    if old is None:
        pytest.skip("no Python older than 3.11 on this machine")
    venv = tmp_path / "venv"
    command = ["make", "-C", str(REPO), "check-python", f"PYTHON={old}", f"VENV={venv}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "the course needs Python 3.11 to 3.13" in result.stderr and not venv.exists()


def test_an_existing_venv_built_with_another_python_is_detected(tmp_path):
    check = _check_python()
    assert check.venv_problem(str(tmp_path / "absent")) == ""
    broken = tmp_path / "broken"
    (broken / "bin").mkdir(parents=True)
    (broken / "bin" / "python").symlink_to(tmp_path / "removed-python")
    message = check.venv_problem(str(broken))
    assert "does not run" in message and f"rm -rf {broken}" in message
    old = tmp_path / "old"
    (old / "bin").mkdir(parents=True)
    (old / "bin" / "python").symlink_to(__import__("sys").executable)  # runs, but the cfg says 3.10
    (old / "pyvenv.cfg").write_text("home = /usr/bin\nversion = 3.10.13\n")
    message = check.venv_problem(str(old))
    assert "was built with Python 3.10.13" in message and f"rm -rf {old}" in message
    (old / "pyvenv.cfg").write_text("home = /usr/bin\nversion_info = 3.12.1.final.0\n")
    assert check.venv_problem(str(old)) == ""
    assert check.venv_problem(str(REPO / ".venv")) == ""  # the one these tests run in


def test_make_test_checks_python_first_and_data_before_the_notebooks():
    import subprocess

    plan = subprocess.run(["make", "-C", str(REPO), "-n", "-B", "test"], capture_output=True,
                          text=True, timeout=120).stdout.splitlines()
    steps = ("check_python.py", "-m venv", "pytest tests", "check_data.py", "--nbval")
    position = {name: next(i for i, line in enumerate(plan) if name in line) for name in steps}
    assert position["check_python.py"] < position["-m venv"] < position["check_data.py"]
    # the data check comes before every notebook run: tests/test_stuck_learner.py runs notebooks too
    assert position["check_data.py"] < position["pytest tests"] < position["--nbval"]


# ---------------------------------------------------------------- MNIST before the notebooks
def _check_data():
    import sys

    sys.path.insert(0, str(REPO / "tools"))
    import check_data

    return check_data


def test_offline_without_data_make_test_says_once_how_to_provide_mnist(monkeypatch, tmp_path,
                                                                        capsys):
    check_data = _check_data()
    monkeypatch.delenv("COURSE_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # no cached mnist.npz
    monkeypatch.setattr(check_data, "online", lambda *a, **k: False)
    assert check_data.main([]) == 1
    err = capsys.readouterr().err
    assert err.count("MNIST is unavailable") == 1 and "Not running the notebooks" in err
    assert "COURSE_DATA_DIR" in err and "make test COURSE_DATA_DIR=" in err


def test_check_data_reads_the_folder_the_notebooks_will_use(monkeypatch, tmp_path, capsys):
    check_data = _check_data()
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))  # an empty folder
    assert check_data.main([]) == 1
    assert f"No mnist files found in {tmp_path}" in capsys.readouterr().err
    (tmp_path / "cache" / "datasets").mkdir(parents=True)
    (tmp_path / "cache" / "datasets" / "mnist.npz").write_bytes(b"")
    monkeypatch.delenv("COURSE_DATA_DIR")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "cache"))
    assert check_data.main([]) == 0 and "Keras's cache" in capsys.readouterr().out


def test_the_course_version_is_the_same_in_pyproject_utils_and_every_first_cell():
    """The first cell compares the notebook's COURSE_VERSION with utils.__version__: all three must agree."""
    import json
    import tomllib

    import utils

    root = Path(__file__).resolve().parent.parent
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]["version"]
    assert project == utils.__version__, f"pyproject.toml says {project}, utils.__version__ {utils.__version__}"
    for folder in ("solutions", "notebooks"):
        for path in sorted((root / folder).glob("[0-9][0-9]_*.ipynb")):
            cells = json.loads(path.read_text())["cells"]
            first = "".join(next(c for c in cells if c["cell_type"] == "code")["source"])
            found = re.search(r'^COURSE_VERSION = "([^"]+)"', first, re.MULTILINE)
            assert found and found.group(1) == utils.__version__, f"{folder}/{path.name}: {found}"
