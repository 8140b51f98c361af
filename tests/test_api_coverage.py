"""Every public function and class of `utils` is exercised by at least one test file."""

import importlib
import inspect
import pkgutil
from pathlib import Path

import utils

TESTS = Path(__file__).resolve().parent


def _public_api():
    names = []
    for info in pkgutil.walk_packages(utils.__path__, prefix="utils."):
        if any(part.startswith("_") for part in info.name.split(".")) or info.name.startswith("utils.exercises."):
            continue  # private modules and checker internals are tested through their callers
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) == info.name:
                names.append((info.name, name))
    return names


def test_every_public_function_is_tested():
    text = "\n".join(p.read_text() for p in TESTS.glob("test_*.py") if p.name != Path(__file__).name)
    untested = [f"{module}.{name}" for module, name in _public_api() if name not in text]
    assert not untested, f"public utils API without a test: {untested}"


def test_every_exercise_module_has_checker_tests():
    import utils.exercises

    text = "\n".join(p.read_text() for p in TESTS.glob("test_exercises_*.py"))
    modules = [info.name for info in pkgutil.iter_modules(utils.exercises.__path__)]
    missing = [m for m in modules if not m.startswith("_") and m not in text]
    assert not missing, f"exercise modules without checker tests: {missing}"
