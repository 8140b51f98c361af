"""Shared test set-up: make tools/ importable and build tiny MNIST-like files on demand."""

from __future__ import annotations

import gzip
import struct
import sys
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "tools"))


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write a uint8 array as an IDX file (the format of the original MNIST downloads)."""
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def fake_digits(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


@pytest.fixture
def t10k_folder(tmp_path):
    """A folder holding only t10k IDX files with 10,000 images, like ../shared/data/mnist."""
    images, labels = fake_digits(10_000)
    write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels)
    return tmp_path, images, labels


@pytest.fixture
def restore_mode(monkeypatch):
    """Reload utils.config/paths after a test that changed COURSE_FAST, once the environment is restored."""
    import importlib

    from utils import config, paths

    yield
    monkeypatch.undo()  # put COURSE_FAST back first, so the reload sees the session's real mode
    importlib.reload(config)
    importlib.reload(paths)


# Shared by the checker tests: a generated exercise stub, and short views of an Exercise's verdict.
def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: replace this line with your code")


def status(exercise, answer):
    return exercise.evaluate(answer).status


def message(exercise, answer):
    return exercise.evaluate(answer).message


@pytest.fixture(scope="session")
def json_from_fresh_python():
    """Run a script in a fresh Python (its own TensorFlow devices) and return the JSON it prints last."""
    import json
    import subprocess

    def run(script: str) -> dict:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    return run
