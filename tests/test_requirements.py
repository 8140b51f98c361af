"""The version promises are honest: the lowest versions are pinned, tested, declared, and said the same everywhere."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
TOOLS = REPO / "tools"
COLAB_FLOORS = {"tensorflow": "2.20", "keras": "3.13", "ipywidgets": "7.7.1"}  # Colab's versions
# Import name -> distribution name, where they differ.
DISTRIBUTION = {"PIL": "pillow", "IPython": "ipython", "yaml": "pyyaml", "sklearn": "scikit-learn"}


def _requirements(name):
    out = {}
    for line in (REPO / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and not line.startswith("-"):
            requirement = Requirement(line)
            out[requirement.name.lower()] = requirement.specifier
    return out


def _floor(specifier: SpecifierSet) -> Version | None:
    floors = [Version(spec.version) for spec in specifier if spec.operator in (">=", "==", "~=")]
    return max(floors) if floors else None


def test_oldest_pins_are_exactly_the_floors_of_requirements():
    ranges, pins = _requirements("requirements.txt"), _requirements("requirements-oldest.txt")
    assert set(pins) == set(ranges), (f"pinned but not required: {set(pins) - set(ranges)}; "
                                      f"required but not pinned: {set(ranges) - set(pins)}")
    for package, specifier in ranges.items():
        floor = _floor(specifier)
        assert floor is not None, f"requirements.txt: {package}{specifier} needs a floor (>=) to test"
        (pin,) = list(pins[package])
        assert pin.operator == "==", f"requirements-oldest.txt: pin {package} with ==, not {pin}"
        assert Version(pin.version) == floor, (f"{package}: requirements.txt's floor is {floor}, "
                                               f"requirements-oldest.txt pins {pin.version}")


def test_floors_are_colabs_versions():
    ranges = _requirements("requirements.txt")
    for package, version in COLAB_FLOORS.items():
        assert _floor(ranges[package]) == Version(version), f"{package}: the floor must be Colab's {version}"


def _python_range_pyproject():
    text = (REPO / "pyproject.toml").read_text()
    return SpecifierSet(re.search(r'^requires-python\s*=\s*"([^"]+)"', text, re.MULTILINE).group(1))


def _python_range_environment():
    text = (REPO / "environment.yml").read_text()
    return SpecifierSet(re.search(r"^\s+- python([<>=][^#\s]+)", text, re.MULTILINE).group(1))


def test_python_range_is_the_same_in_pyproject_environment_and_readme():
    pyproject, environment = _python_range_pyproject(), _python_range_environment()
    assert pyproject == environment, f"pyproject.toml says {pyproject}, environment.yml {environment}"
    admitted = [f"3.{minor}" for minor in range(8, 20) if f"3.{minor}" in pyproject]
    readme = (REPO / "README.md").read_text()
    says = f"Python {admitted[0]} to {admitted[-1]}"
    assert says in readme, f"README must say {says!r} (the range of pyproject.toml and environment.yml)"
    assert "3.13" in admitted, "Colab's Python 3.13 must be admitted"


def _imports(source: str) -> set[str]:
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _notebook_sources(folder):
    for path in sorted((REPO / folder).glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                yield path, "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))


def _third_party(pairs):
    local = {"utils", "google"}  # google.colab: only inside Colab
    local |= {p.stem for folder in ("tools", "tests", "benchmarks") for p in (REPO / folder).glob("*.py")}
    found = {}
    for path, source in pairs:
        for name in _imports(source) - local - set(sys.stdlib_module_names):
            found.setdefault(DISTRIBUTION.get(name, name).lower(), str(path.relative_to(REPO)))
    return found


def test_every_package_the_course_imports_is_declared():
    runtime = _third_party([(p, p.read_text()) for p in sorted((REPO / "utils").rglob("*.py"))]
                           + list(_notebook_sources("solutions")))
    required = set(_requirements("requirements.txt"))
    missing = {package: where for package, where in runtime.items() if package not in required}
    assert not missing, f"imported by the course but not in requirements.txt: {missing}"
    assert {"numpy", "keras", "pillow", "ipython", "ipywidgets"} <= set(runtime)  # the scan does find imports

    tooling = _third_party([(p, p.read_text()) for folder in ("tools", "tests", "benchmarks")
                            for p in sorted((REPO / folder).glob("*.py"))])
    declared = required | set(_requirements("requirements-dev.txt")) | set(_requirements("requirements-browser.txt"))
    missing = {package: where for package, where in tooling.items() if package not in declared}
    assert not missing, f"imported by tools/tests/benchmarks but not in any requirements file: {missing}"
    assert {"pytest", "packaging", "playwright"} <= set(tooling)


def test_extra_targets_are_wired_into_make_ci_and_readme():
    makefile = (REPO / "Makefile").read_text()
    for target in ("test-oldest", "test-browser"):
        assert re.search(rf"^{target}:.*## ", makefile, re.MULTILINE), f"Makefile lacks a documented `{target}`"
    ci = (REPO / ".ci" / "run").read_text()
    assert ci.index("make test;") < ci.index("make test-oldest;") < ci.index("make test-browser;")
    readme = (REPO / "README.md").read_text()
    assert "make test-oldest" in readme and "make test-browser" in readme
    for ignored in (".venv-oldest/", "artifacts/"):
        assert ignored in (REPO / ".gitignore").read_text().splitlines()


def _tool(name, *args, env=None):
    return subprocess.run([sys.executable, str(TOOLS / name), *args], capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.mark.parametrize("tool", ["run_oldest.py", "browser_test.py"])
def test_new_tools_have_help(tool):
    result = _tool(tool, "--help")
    assert result.returncode == 0 and "usage" in result.stdout


def test_oldest_run_skips_clearly_without_python_313(tmp_path):
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path), "PYENV_ROOT": str(tmp_path / "no-pyenv")}
    result = _tool("run_oldest.py", "--install-only", "--venv", str(tmp_path / "venv"), env=env)
    assert result.returncode == 0, result.stderr
    assert "SKIPPED: no Python 3.13" in result.stdout and "COURSE_OLDEST_PYTHON" in result.stdout
    assert not (tmp_path / "venv").exists()


def test_oldest_run_rejects_a_wrong_python(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "COURSE_OLDEST_PYTHON": sys.executable}
    if sys.version_info[:2] == (3, 13):
        pytest.skip("this Python is 3.13 itself")
    result = _tool("run_oldest.py", "--install-only", "--venv", str(tmp_path / "venv"), env=env)
    assert result.returncode == 2 and "point it at a Python 3.13" in result.stderr
    assert not (tmp_path / "venv").exists()


def test_oldest_run_finds_pyenvs_313(tmp_path):
    sys.path.insert(0, str(TOOLS))
    import run_oldest

    for version in ("3.13.0", "3.13.2", "3.12.1"):
        binary = tmp_path / "versions" / version / "bin" / f"python{version[:4]}"
        binary.parent.mkdir(parents=True)
        binary.write_text("")
    found = run_oldest.candidates({"PATH": str(tmp_path / "empty"), "PYENV_ROOT": str(tmp_path)})
    assert [Path(p).parts[-3] for p in found] == ["3.13.2", "3.13.0"]


def test_browser_test_says_what_to_do_without_chromium(tmp_path):
    result = _tool("browser_test.py", "--chromium", str(tmp_path / "no-chromium"), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "Chromium not found" in result.stderr and "apt-get install chromium" in result.stderr
    assert not (tmp_path / "out").exists()
