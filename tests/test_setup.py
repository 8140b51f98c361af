"""Set-up files agree with each other and admit both this machine and Colab."""

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COLAB = {"tensorflow": "2.20", "keras": "3.13", "ipywidgets": "7.7", "python": "3.13"}
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
