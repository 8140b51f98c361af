#!/usr/bin/env python3
"""Check that the Python running `make` (and an existing .venv) is one the course supports.

    python3 tools/check_python.py               # this interpreter: 3.11 to 3.13?
    python3 tools/check_python.py --venv .venv  # and was .venv built with a supported Python?

Written for any Python 3 (no recent syntax), because its job is to explain an old one.
"""

import argparse
import os
import subprocess
import sys

SUPPORTED = ((3, 11), (3, 13))  # Colab ships 3.13; TensorFlow 2.20 wheels exist for 3.11-3.13
HOW_TO_INSTALL = (
    "Install Python 3.11, 3.12 or 3.13 (python.org, `sudo apt install python3.12`, "
    "`brew install python@3.12` or `pyenv install 3.12`), then run e.g. "
    "`make lab PYTHON=python3.12`."
)


def _name(version) -> str:
    return ".".join(str(part) for part in version)


def interpreter_problem(version, executable) -> str:
    """'' when `version` (a tuple) is supported, else a message saying what to install."""
    low, high = SUPPORTED
    if low <= tuple(version[:2]) <= high:
        return ""
    return (f"{executable} is Python {_name(version[:3])}; the course needs Python {_name(low)} "
            f"to {_name(high)}. {HOW_TO_INSTALL}")


def _venv_version(venv):
    """(major, minor, ...) from pyvenv.cfg, or None when it does not say."""
    try:
        with open(os.path.join(venv, "pyvenv.cfg")) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            try:
                return tuple(int(part) for part in value.strip().split(".")[:3])
            except ValueError:
                return None
    return None


def venv_problem(venv) -> str:
    """'' when `venv` is absent or usable, else what is wrong with it and how to rebuild it."""
    if not os.path.isdir(venv):
        return ""
    rebuild = (f"It holds only installed packages, nothing of yours: remove it (`rm -rf {venv}`) "
               "and run `make install` (or `make lab`) again.")
    python = os.path.join(venv, "bin", "python")
    try:
        # PIPEs rather than capture_output, so that Python 3.6 reaches the version message
        subprocess.run([python, "-c", "pass"], check=True, stdout=subprocess.PIPE,  # noqa: UP022
                       stderr=subprocess.PIPE, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return (f"{venv} exists but its Python ({python}) does not run (the Python it was built "
                f"with was removed or moved). {rebuild}")
    version = _venv_version(venv)
    if version is None:
        return (f"{venv} has no readable pyvenv.cfg, so it is not a virtual environment made by "
                f"`make`. {rebuild}")
    if not interpreter_problem(version, python):
        return ""
    low, high = SUPPORTED
    return (f"{venv} was built with Python {_name(version)}; the course needs {_name(low)} to "
            f"{_name(high)}. {rebuild} `make` rebuilds it with {sys.executable} "
            f"(Python {_name(sys.version_info[:3])}).")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", help="also check this virtual environment, when it exists")
    args = parser.parse_args(argv)
    problem = interpreter_problem(sys.version_info, sys.executable)
    if not problem and args.venv:
        problem = venv_problem(args.venv)
    if problem:
        print("make: " + problem, file=sys.stderr)
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main())
