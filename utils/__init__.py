"""The course's small shared core (chapter 00 tours it): modes, paths, data, plots, training helpers.

Notebooks start with `import utils` (it quiets TensorFlow's C++ logging before TensorFlow loads),
then use what they need, e.g. `utils.FAST`, `utils.pick(...)`, `utils.load_mnist()`.

The layout says who uses what, and imports only flow downwards:
- `utils` (this package): the core every chapter may use: `config`, `paths`, `data`, `plotting`,
  `training`, `gan`, `vae`, `metrics`. It never imports `utils.chapters` or `utils.exercises`.
- `utils.chapters`: code that one chapter uses (`from utils.chapters import latent`).
- `utils.exercises`: the checkers (`from utils.exercises import ch02 as ex`).
Notebooks import modules under their own names (`from utils import gan, vae`), never with an alias.
"""

import os

__version__ = "0.2.0"  # the course version; every notebook's first cell records the one it was written for

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up noise out of cell output

from .config import FAST, MODE, env_report, import_tensorflow_quietly, pick, seed_everything  # noqa: E402

import_tensorflow_quietly()
from .data import (DataError, ImageData, binarize, binarize_dynamic, load_fashion_mnist,  # noqa: E402
                   load_mnist, make_dataset, scale_images, to_unit_range)
from .paths import REPO_ROOT, artifact_dir, find_artifact  # noqa: E402
from .plotting import LiveTrainingDisplay, image_grid, plot_history, show_images  # noqa: E402

__all__ = [  # the names `import utils` gives a notebook directly; modules: `from utils import gan`
    "FAST", "MODE", "REPO_ROOT", "__version__", "check_version", "DataError", "ImageData",
    "LiveTrainingDisplay", "artifact_dir", "binarize", "binarize_dynamic", "env_report",
    "find_artifact", "image_grid", "load_fashion_mnist", "load_mnist", "make_dataset", "pick",
    "plot_history", "scale_images", "seed_everything", "show_images", "start", "to_unit_range",
]


def check_version(notebook_version: str) -> bool:
    """One line when a notebook and the `utils` it imported come from different course versions."""
    if str(notebook_version) == __version__:
        return True
    print(f"Note: this notebook was written for course version {notebook_version}, but the utils it "
          f"imported ({os.path.dirname(__file__)}) is version {__version__}. Open the notebook from "
          "the same copy of the course (in Colab: Runtime > Disconnect and delete runtime, then run again).")
    return False


def start(notebook_version: str, seed: int = 42) -> None:
    """What every notebook's first cell does after `import utils`: check the version, seed, report."""
    check_version(notebook_version)
    seed_everything(seed)
    print(env_report())
