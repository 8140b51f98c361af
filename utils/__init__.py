"""Shared helpers for the image-generation course: modes, data, plots, synthesis, checkers.

Notebooks start with `import utils` (it quiets TensorFlow's C++ logging before TensorFlow loads),
then use what they need, e.g. `utils.FAST`, `utils.pick(...)`, `utils.load_mnist()`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up noise out of cell output

from .checking import Exercise, Incorrect, Outcome  # noqa: E402
from .config import FAST, MODE, env_report, import_tensorflow_quietly, pick, seed_everything  # noqa: E402

import_tensorflow_quietly()
from .data import (  # noqa: E402
    DataError,
    ImageData,
    binarize,
    binarize_dynamic,
    load_fashion_mnist,
    load_mnist,
    make_dataset,
    scale_images,
    to_unit_range,
)
from .paths import REPO_ROOT, artifact_dir, find_artifact  # noqa: E402
from .plotting import LiveTrainingDisplay, image_grid, plot_history, show_images  # noqa: E402

__all__ = [
    "FAST", "MODE", "REPO_ROOT", "DataError", "Exercise", "ImageData", "Incorrect", "LiveTrainingDisplay",
    "Outcome", "artifact_dir", "binarize", "binarize_dynamic", "env_report", "find_artifact", "image_grid",
    "load_fashion_mnist", "load_mnist", "make_dataset", "pick", "plot_history", "scale_images",
    "seed_everything", "show_images", "to_unit_range",
]
