"""Mode, seeding and the one-line environment report (chapter 00, sections 1-2 teach them).

`COURSE_FAST` is read here and nowhere else: every notebook asks `utils.FAST` (or `pick`) which
sizes to use, so fast and full mode share one code path and differ only in numbers.
"""

from __future__ import annotations

import os
import platform
import random

import numpy as np

# The documented values of COURSE_FAST (README, "Modes"); case and surrounding spaces are ignored.
FAST_VALUES = ("1", "true", "yes", "on")
FULL_VALUES = ("", "0", "false", "no", "off")


def import_tensorflow_quietly() -> bool:
    """Import TensorFlow with its C++ start-up banner (oneDNN, CUDA probing) kept out of cell output.

    TensorFlow prints those lines to file descriptor 2 before its log level applies, so we point fd 2
    at /dev/null for the duration of the import. Python errors still propagate. Returns False, with a
    warning that says what to do, when TensorFlow is not installed.
    """
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            try:
                import keras  # noqa: F401  (imports TensorFlow, the Keras backend)
                import tensorflow  # noqa: F401
            finally:
                os.dup2(saved, 2)
    except ImportError as err:
        import warnings

        warnings.warn(f"TensorFlow/Keras could not be imported ({err}). Chapters 02 onwards need them: run "
                      "`make install` (or `pip install -r requirements.txt`); in Colab they are preinstalled.",
                      stacklevel=2)
        return False
    finally:
        os.close(saved)
    return True


def fast_mode() -> bool:
    """True when COURSE_FAST is 1/true/yes/on; False when unset or ""/0/false/no/off.

    Any other value stops with a ValueError: a typo such as `COURSE_FAST=fast` must not silently
    start the ten-minute full mode.
    """
    raw = os.environ.get("COURSE_FAST", "")
    value = raw.strip().lower()
    if value in FAST_VALUES:
        return True
    if value in FULL_VALUES:
        return False
    raise ValueError(f"COURSE_FAST={raw!r} is not a value the course knows. Use one of {', '.join(FAST_VALUES)} "
                     f"for fast mode, or leave it unset (or one of {', '.join(repr(v) for v in FULL_VALUES)}) "
                     "for full mode, e.g. `export COURSE_FAST=1` or `os.environ['COURSE_FAST'] = '1'` before "
                     "`import utils`.")


FAST = fast_mode()
MODE = "fast" if FAST else "full"


def pick(fast, full):
    """Return `fast` in fast mode and `full` otherwise, e.g. `epochs = pick(1, 30)`."""
    return fast if FAST else full


def seed_everything(seed: int = 42) -> int:
    """Seed Python, NumPy and Keras/TensorFlow so a run can be repeated. Returns the seed."""
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed)
    try:
        import keras
    except ImportError:  # NumPy-only use (chapter 01 helpers) still works without Keras
        return int(seed)
    keras.utils.set_random_seed(int(seed))
    return int(seed)


def _accelerators() -> str:
    try:
        import tensorflow as tf
    except ImportError:
        return "TensorFlow not installed"
    gpus = tf.config.list_physical_devices("GPU")
    return f"{len(gpus)} GPU" if gpus else "no GPU"


def _package_version(name: str) -> str:
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # not installed: say so instead of failing the report
        return "missing"


def env_report(data_source: str | None = None) -> str:
    """One line: versions, CPU/GPU, mode and data source. Notebooks print it in their first cell."""
    if data_source is None:
        # The learner's terms, not this machine's folder (stored outputs are read by others).
        data_dir = os.environ.get("COURSE_DATA_DIR")
        data_source = "files in COURSE_DATA_DIR" if data_dir else "keras.datasets (online)"
    parts = [
        f"Python {platform.python_version()}",
        f"TensorFlow {_package_version('tensorflow')}",
        f"Keras {_package_version('keras')}",
        f"{os.cpu_count()} CPU cores, {_accelerators()}",
        f"mode {MODE}",
        f"data {data_source}",
    ]
    return " | ".join(parts)
