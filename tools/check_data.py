#!/usr/bin/env python3
"""Say once, before the notebooks run, whether MNIST can be had: from COURSE_DATA_DIR, from
Keras's cache, or online. `make test` runs this before nbval, so an offline machine without the
files gets one message saying how to provide them instead of a hundred failing cells.

    python tools/check_data.py   # exit 0: says where MNIST comes from; exit 1: says what to do
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# keras.datasets.mnist downloads this file and caches it as ~/.keras/datasets/mnist.npz
MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"


def keras_cache() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "datasets" / "mnist.npz"


def online(url: str = MNIST_URL, timeout: float = 10.0) -> bool:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
            return True
    except OSError:  # URLError, timeouts, refused connections: offline for our purpose
        return False


def where_mnist_comes_from() -> str:
    """Where MNIST will come from, in one line; raises utils.data.DataError saying what to do."""
    from utils.data import _NO_DATA_HELP, DataError, load_from_folder

    folder = os.environ.get("COURSE_DATA_DIR")
    if folder:  # the notebooks use exactly this folder: read it now, with the loader's errors
        return load_from_folder(folder).source
    if keras_cache().exists():
        return f"Keras's cache ({keras_cache()})"
    if online():
        return "keras.datasets (online; it downloads MNIST once)"
    raise DataError(f"MNIST is unavailable: COURSE_DATA_DIR is not set, {keras_cache()} does not "
                    f"exist and {MNIST_URL} cannot be reached (offline?). {_NO_DATA_HELP} "
                    "With make: `make test COURSE_DATA_DIR=/path/to/mnist`.")


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__,
                            formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    from utils.data import DataError

    try:
        print(f"MNIST for the notebooks: {where_mnist_comes_from()}")
    except DataError as err:
        print(f"Not running the notebooks. {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
