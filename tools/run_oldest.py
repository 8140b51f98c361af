#!/usr/bin/env python3
"""Run the tests on the lowest supported versions, on Python 3.13 (Colab's): what `make test-oldest` runs.

    python3 tools/run_oldest.py                 # build/refresh .venv-oldest, run the unit tests and the solutions
    python3 tools/run_oldest.py --install-only  # only build/refresh .venv-oldest
    COURSE_OLDEST_PYTHON=/usr/bin/python3.13 python3 tools/run_oldest.py

The virtual environment (.venv-oldest, git-ignored) gets requirements-dev.txt and the course package, with
every runtime package held at the floor of its range by requirements-oldest.txt (TensorFlow 2.20, Keras 3.13,
ipywidgets 7.7.0, numpy, matplotlib, ...), wheels only. Then it runs `pytest tests` and the fast-mode nbval
run of solutions/ that `make test` runs (the Makefile passes its settings with --nbval-env and --nbval).

Python 3.13 is looked for as $COURSE_OLDEST_PYTHON, `python3.13` on PATH, then pyenv's versions folder. When
none is found the run is skipped with a message and exit status 0 (a missing Python is not a failed test);
a COURSE_OLDEST_PYTHON that is not a Python 3.13 is an error (status 2).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WANTED = (3, 13)
CONSTRAINTS = "requirements-oldest.txt"
INPUTS = ("requirements.txt", "requirements-dev.txt", CONSTRAINTS, "pyproject.toml")
DEFAULT_NBVAL = "--nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg solutions"
DEFAULT_NBVAL_ENV = "COURSE_FAST=1 COURSE_REQUIRE_CORRECT=1"


def python_version(executable: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([executable, "-c", "import sys, venv; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    major, minor = out.stdout.split()
    return int(major), int(minor)


def candidates(env=None) -> list[str]:
    """Where a Python 3.13 may be, in order: PATH, then pyenv's versions (newest patch release first)."""
    env = os.environ if env is None else env
    found = []
    on_path = shutil.which(f"python{WANTED[0]}.{WANTED[1]}", path=env.get("PATH"))
    if on_path:
        found.append(on_path)
    pyenv_root = Path(env.get("PYENV_ROOT") or Path(env.get("HOME", "~")).expanduser() / ".pyenv")
    versions = pyenv_root / "versions"
    if versions.is_dir():
        def patch(path: Path):
            parts = path.name.split(".")
            return int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else -1
        for folder in sorted(versions.glob(f"{WANTED[0]}.{WANTED[1]}.*"), key=patch, reverse=True):
            executable = folder / "bin" / f"python{WANTED[0]}.{WANTED[1]}"
            if executable.exists():
                found.append(str(executable))
    return found


def find_python(env=None) -> str | None:
    """A working Python 3.13 (with venv), or None. A wrong COURSE_OLDEST_PYTHON raises SystemExit(2)."""
    env = os.environ if env is None else env
    explicit = env.get("COURSE_OLDEST_PYTHON")
    if explicit:
        version = python_version(explicit)
        if version != WANTED:
            found = "not a working Python" if version is None else f"Python {version[0]}.{version[1]}"
            print(f"test-oldest: COURSE_OLDEST_PYTHON={explicit} is {found}; "
                  f"point it at a Python {WANTED[0]}.{WANTED[1]} or unset it.", file=sys.stderr)
            raise SystemExit(2)
        return explicit
    for executable in candidates(env):
        if python_version(executable) == WANTED:
            return executable
    return None


def inputs_digest(python: str) -> str:
    digest = hashlib.sha256(python.encode())
    for name in INPUTS:
        digest.update((REPO_ROOT / name).read_bytes())
    return digest.hexdigest()


def run(command: list[str], **kwargs) -> None:
    print("+", " ".join(shlex.quote(str(part)) for part in command), flush=True)
    subprocess.run(command, check=True, cwd=REPO_ROOT, **kwargs)


def build(python: str, venv: Path) -> Path:
    """Create or refresh the virtual environment; skipped when nothing it was built from changed."""
    stamp, venv_python = venv / ".installed", venv / "bin" / "python"
    digest = inputs_digest(python)
    if stamp.exists() and venv_python.exists() and stamp.read_text().strip() == digest:
        print(f"test-oldest: {venv} is up to date")
        return venv_python
    if venv_python.exists() and python_version(str(venv_python)) != WANTED:
        print(f"test-oldest: {venv} is not a Python {WANTED[0]}.{WANTED[1]} environment: rebuilding it")
        shutil.rmtree(venv)
    if not venv_python.exists():
        run([python, "-m", "venv", str(venv)])
    pip = [str(venv_python), "-m", "pip", "--disable-pip-version-check"]
    run([*pip, "install", "--quiet", "--upgrade", "pip"])
    # Wheels only: a floor is the oldest release that installs as a wheel on this Python.
    run([*pip, "install", "--quiet", "--only-binary=:all:", "-c", CONSTRAINTS, "-r", "requirements-dev.txt"])
    run([*pip, "install", "--quiet", "--no-deps", "-e", "."], stderr=subprocess.DEVNULL)
    run([*pip, "check"])
    stamp.write_text(digest + "\n")
    return venv_python


def pinned_versions(venv_python: Path) -> list[tuple[str, str]]:
    names = []
    for line in (REPO_ROOT / CONSTRAINTS).read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            names.append(line.split("==")[0].strip())
    code = ("import importlib.metadata as m, sys\n"
            "for n in sys.argv[1:]: print(n, m.version(n))")
    out = subprocess.run([str(venv_python), "-c", code, *names], capture_output=True, text=True, check=True)
    return [tuple(line.split()) for line in out.stdout.splitlines()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--venv", type=Path, default=REPO_ROOT / ".venv-oldest",
                        help="the virtual environment to build and use (default: .venv-oldest)")
    parser.add_argument("--nbval", default=DEFAULT_NBVAL,
                        help=f"pytest arguments of the notebook run (default: {DEFAULT_NBVAL!r})")
    parser.add_argument("--nbval-env", default=DEFAULT_NBVAL_ENV,
                        help=f"NAME=VALUE settings of the notebook run (default: {DEFAULT_NBVAL_ENV!r})")
    parser.add_argument("--install-only", action="store_true", help="build the environment, run nothing")
    args = parser.parse_args(argv)

    python = find_python()
    if python is None:
        looked = ", ".join(candidates()) or "nothing found"
        print(f"test-oldest: SKIPPED: no Python {WANTED[0]}.{WANTED[1]} on this machine "
              f"(looked for python{WANTED[0]}.{WANTED[1]} on PATH and in pyenv's versions: {looked}).\n"
              f"  To run it: install one (`pyenv install {WANTED[0]}.{WANTED[1]}`, or your system's "
              f"python{WANTED[0]}.{WANTED[1]} package), or set COURSE_OLDEST_PYTHON=/path/to/python3.13.")
        return 0
    venv = args.venv if args.venv.is_absolute() else REPO_ROOT / args.venv
    started = time.monotonic()
    print(f"test-oldest: Python {WANTED[0]}.{WANTED[1]} = {python}; environment {venv}")
    try:
        venv_python = build(python, venv)
    except subprocess.CalledProcessError as err:
        print(f"test-oldest: FAILED to install the lowest versions ({err}). If a pin in {CONSTRAINTS} has no "
              "wheel for this Python or conflicts with another, move that range's floor in requirements.txt "
              f"and the pin together.", file=sys.stderr)
        return 1
    installed = time.monotonic()
    print("test-oldest: versions:", ", ".join(f"{name} {version}" for name, version in pinned_versions(venv_python)))
    print(f"test-oldest: environment ready in {installed - started:.0f} s")
    if args.install_only:
        return 0
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    # Models saved by the newest Keras (make test's artifacts) need not load in the oldest one: keep this
    # run's artifacts apart (git-ignored, under artifacts/), as a learner's Colab runtime has its own.
    env.setdefault("COURSE_ARTIFACTS_DIR", str(Path(__file__).resolve().parent.parent / "artifacts" / "oldest"))
    nbval_env = dict(item.split("=", 1) for item in shlex.split(args.nbval_env))
    failed = []
    for label, command, extra in (("unit tests", ["-m", "pytest", "tests"], {}),
                                  ("solutions (fast mode)", ["-m", "pytest", *shlex.split(args.nbval)],
                                   nbval_env)):
        step = time.monotonic()
        try:
            run([str(venv_python), *command], env={**env, **extra})
        except subprocess.CalledProcessError:
            failed.append(label)
        print(f"test-oldest: {label}: {'FAILED' if label in failed else 'passed'} in {time.monotonic() - step:.0f} s")
    print(f"test-oldest: {'FAILED: ' + ', '.join(failed) if failed else 'passed'} "
          f"in {time.monotonic() - started:.0f} s on Python {WANTED[0]}.{WANTED[1]} with the lowest versions")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
