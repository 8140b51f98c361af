"""MNIST and Fashion-MNIST (chapter 00, section 3): loading (online or from COURSE_DATA_DIR), scaling,
binarisation (chapter 04 explains it), tf.data.

Loading order:
1. `data_dir` argument or the COURSE_DATA_DIR environment variable, when set: the original IDX
   `.gz` files (`train-images-idx3-ubyte.gz`, `t10k-labels-idx1-ubyte.gz`, ...) or an `.npz` with
   keys x_train, y_train, x_test, y_test. Fashion-MNIST is looked for in a `fashion_mnist/`
   subfolder or in `fashion_mnist.npz`, because its IDX files have the same names as MNIST's.
   With only the 10,000-image `t10k` files, the first 8,000 become the training split and the last
   2,000 the test split; with only the `train` files, their last sixth is held out for testing. The
   loader says which. A `.gz` file that a browser already unpacked is read as it is.
2. Otherwise `keras.datasets` (needs the internet the first time, then caches in ~/.keras).
"""

from __future__ import annotations

import gzip
import os
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OFFLINE_TRAIN_SIZE = 8000
DATASETS = ("mnist", "fashion_mnist")
_IDX_DTYPES = {0x08: np.uint8}
_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"  # an .npz is a zip archive
MNIST_NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
_NO_DATA_HELP = (
    "Either connect to the internet (keras.datasets downloads MNIST once), or download the IDX files "
    "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
    "t10k-labels-idx1-ubyte.gz) or mnist.npz into a folder and set COURSE_DATA_DIR to it, e.g. "
    "`export COURSE_DATA_DIR=$HOME/data/mnist` before starting Jupyter, or "
    "`os.environ['COURSE_DATA_DIR'] = '...'` in the first cell."
)


class DataError(RuntimeError):
    """Data could not be found or read; the message says what to do."""


@dataclass
class ImageData:
    """A train/test split of uint8 images (N, 28, 28) with integer labels, and where it came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str

    def __repr__(self) -> str:
        return (
            f"ImageData(train={self.x_train.shape}, test={self.x_test.shape}, source={self.source!r})"
        )


# ---------------------------------------------------------------- reading files
def _read_maybe_gzipped(path: Path) -> tuple[bytes, bool]:
    """The file's bytes, gunzipped when they are gzip data (whatever the name says), and whether."""
    try:
        with open(path, "rb") as handle:
            compressed = handle.read(2) == _GZIP_MAGIC
        with (gzip.open if compressed else open)(path, "rb") as handle:
            return handle.read(), compressed
    except (OSError, EOFError) as err:
        raise DataError(f"Cannot read {path}: {err}. The file looks corrupt; download it "
                        "again.") from err


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzipped or not, whatever its name) into an array, checking its header."""
    path = Path(path)
    raw, compressed = _read_maybe_gzipped(path)
    if path.suffix == ".gz" and not compressed and raw[:3] == b"\x00\x00\x08":
        # Browsers often unpack .gz downloads but keep the name: the plain bytes are fine.
        warnings.warn(f"{path.name} is named .gz but is not compressed (a browser probably "
                      f"unpacked it); read it as a plain IDX file. Renaming it to {path.stem} "
                      "silences this.", stacklevel=2)
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file of unsigned bytes (bad magic number, starts "
                        f"with {raw[:4]!r}): the file looks corrupt; download it again.")
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DataError(f"{path} is truncated (header incomplete); download it again.")
    shape = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected = int(np.prod(shape))
    if len(raw) - header_size != expected:
        raise DataError(
            f"{path} should hold {expected} values for shape {shape} but holds {len(raw) - header_size}; "
            "the file is truncated or corrupt, download it again."
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).exists():
            return folder / name
    return None


def _validate(images: np.ndarray, labels: np.ndarray, origin: str) -> None:
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{origin}: expected images of shape (N, 28, 28), got {images.shape}.")
    if labels.shape != (images.shape[0],):
        raise DataError(f"{origin}: {images.shape[0]} images but labels of shape {labels.shape}.")
    if images.dtype != np.uint8:
        raise DataError(f"{origin}: expected uint8 pixels 0..255, got dtype {images.dtype}.")
    _validate_labels(labels, origin)


def _validate_labels(labels: np.ndarray, origin: str) -> None:
    """Labels must be the classes 0..9 (digits, or Fashion-MNIST's ten kinds of clothing)."""
    if labels.size == 0:
        return
    integral = np.issubdtype(labels.dtype, np.integer) or (
        np.issubdtype(labels.dtype, np.floating) and np.all(np.mod(labels, 1) == 0))
    bad = labels[(labels < 0) | (labels > 9)] if integral else labels
    if not integral or bad.size:
        raise DataError(
            f"{origin}: labels must be the classes 0..9, but {bad.size} of {labels.size} are not "
            f"(values from {labels.min()} to {labels.max()}, dtype {labels.dtype}). The labels "
            "file is corrupt or belongs to another dataset (or images and labels were swapped): "
            "download the matching *-labels-idx1-ubyte.gz again."
        )


def _idx_pair(folder: Path, split: str):
    """(images, labels) of one split, None when neither file is there; an error when one is."""
    stems = {"images": f"{split}-images-idx3-ubyte", "labels": f"{split}-labels-idx1-ubyte"}
    files = {kind: _find(folder, stem) for kind, stem in stems.items()}
    if not any(files.values()):
        return None
    missing = [kind for kind, path in files.items() if path is None]
    if missing:
        present = next(path for path in files.values() if path is not None)
        raise DataError(
            f"{folder} holds {present.name} but not its {missing[0]}, {stems[missing[0]]}.gz. "
            f"Download {stems[missing[0]]}.gz into {folder} too (the images and labels of a split "
            "come as two files), or move the lone file away."
        )
    pair = (read_idx(files["images"]), read_idx(files["labels"]))
    _validate(*pair, origin=str(files["images"]))
    return pair


def _load_idx_folder(folder: Path) -> ImageData | None:
    parts = {split: _idx_pair(folder, split) for split in ("train", "t10k")}
    origin = f"IDX files in {folder}"
    if parts["train"] and parts["t10k"]:
        return ImageData(*parts["train"], *parts["t10k"], source=origin)
    if parts["t10k"]:
        return _split_test_only(*parts["t10k"], origin=origin)
    if parts["train"]:
        return _split_train_only(*parts["train"], origin=origin)
    return None


def _split(images: np.ndarray, labels: np.ndarray, cut: int, origin: str, what: str) -> ImageData:
    """Serve one file set as both splits: the first `cut` images train, the rest are held out."""
    if not 0 < cut < len(images):
        raise DataError(f"{origin}: only {len(images)} images in {what}, too few to split into training and "
                        "test images; add the other files (train-* and t10k-*).")
    source = (f"{origin} ({what}: first {cut} images used for training, last {len(images) - cut} held "
              "out for testing)")
    return ImageData(images[:cut], labels[:cut], images[cut:], labels[cut:], source=source)


def _split_train_only(images: np.ndarray, labels: np.ndarray, origin: str) -> ImageData:
    """Only the training files are present: hold out their last sixth as the test split."""
    return _split(images, labels, len(images) - len(images) // 6, origin, "no t10k test files")


def _split_test_only(images: np.ndarray, labels: np.ndarray, origin: str) -> ImageData:
    """Only the 10,000-image test set is present: first 8,000 train, last 2,000 test."""
    return _split(images, labels, OFFLINE_TRAIN_SIZE, origin, "only the t10k test set")


def _check_npz_bytes(path: Path) -> None:
    """Say what a file that is not an .npz archive looks like, before NumPy's cryptic errors."""
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(_ZIP_MAGIC):
        return
    size = path.stat().st_size
    looks = ("a web page (HTML), e.g. a sign-in or error page saved instead of the file"
             if head.lstrip().startswith(b"<") else f"{size} bytes starting with {head[:16]!r}")
    raise DataError(
        f"{path} is not an .npz archive (an .npz is a zip file); it is {looks}. Delete it and "
        f"download mnist.npz again ({MNIST_NPZ_URL}), or put the four IDX .gz files in the folder."
    )


def _load_npz(path: Path) -> ImageData:
    _check_npz_bytes(path)
    try:
        with np.load(path) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as err:  # zipfile.BadZipFile, ValueError, OSError...
        raise DataError(f"Cannot read {path}: {err}. The file looks corrupt; download it again.") from err
    if {"x_train", "y_train", "x_test", "y_test"} <= arrays.keys():
        data = ImageData(
            arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], source=f"{path}"
        )
        _validate(data.x_train, data.y_train, str(path))
        _validate(data.x_test, data.y_test, str(path))
        return data
    if {"x_test", "y_test"} <= arrays.keys():
        _validate(arrays["x_test"], arrays["y_test"], str(path))
        return _split_test_only(arrays["x_test"], arrays["y_test"], origin=str(path))
    raise DataError(f"{path} lacks the keys x_train, y_train, x_test, y_test (has {sorted(arrays)}).")


def load_from_folder(folder: str | os.PathLike, name: str = "mnist") -> ImageData:
    """Load `name` from a local folder of IDX files or an .npz, with a clear error when absent.

    MNIST: the folder itself or `mnist.npz` in it. Fashion-MNIST: a `fashion_mnist/` subfolder
    or `fashion_mnist.npz` (its IDX files have the same names as MNIST's, so they cannot share a folder).
    """
    _check_name(name)
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DataError(f"COURSE_DATA_DIR points at {folder}, which is not a folder. {_NO_DATA_HELP}")
    idx_folder = folder if name == "mnist" else folder / name
    if idx_folder.is_dir():
        found = _load_idx_folder(idx_folder)
        if found is not None:
            return found
    for npz in (folder / f"{name}.npz", idx_folder / f"{name}.npz"):
        if npz.exists():
            return _load_npz(npz)
    raise DataError(f"No {name} files found in {folder}. {_NO_DATA_HELP}")


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"dataset must be one of {DATASETS}, got {name!r}")


def load_dataset(name: str = "mnist", data_dir: str | os.PathLike | None = None, verbose: bool = True):
    """Load MNIST or Fashion-MNIST as uint8 (N, 28, 28) arrays; see the module docstring for the order."""
    _check_name(name)
    data_dir = data_dir or os.environ.get("COURSE_DATA_DIR")
    if data_dir:
        data = load_from_folder(data_dir, name)
        if data_dir == os.environ.get("COURSE_DATA_DIR"):
            # Name the setting, not the folder: stored outputs must not show this machine's paths.
            data.source = data.source.replace(str(Path(data_dir).expanduser()), "COURSE_DATA_DIR")
    else:
        data = _load_keras(name)
    if verbose:
        print(f"Loaded {name}: {len(data.x_train)} train / {len(data.x_test)} test images from {data.source}")
    return data


def load_mnist(data_dir=None, verbose: bool = True) -> ImageData:
    """MNIST digits; see `load_dataset`."""
    return load_dataset("mnist", data_dir, verbose)


def load_fashion_mnist(data_dir=None, verbose: bool = True) -> ImageData:
    """Fashion-MNIST clothing images (the 'try it yourself' variant); see `load_dataset`."""
    return load_dataset("fashion_mnist", data_dir, verbose)


def _load_keras(name: str) -> ImageData:
    import keras

    loader = getattr(keras.datasets, name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as err:  # no internet: urllib errors, or a half-downloaded cache file
        raise DataError(f"keras.datasets.{name} could not download the data ({err}). {_NO_DATA_HELP}") from err
    return ImageData(x_train, y_train, x_test, y_test, source=f"keras.datasets.{name}")


# ---------------------------------------------------------------- scaling and binarisation
def _as_images(x) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"expected images of shape (N, H, W) or (N, H, W, C), got shape {x.shape}")
    return x


def scale_images(x, to: str = "tanh") -> np.ndarray:
    """uint8 0..255 images -> float32 (N, H, W, C) in [-1, 1] (to='tanh') or [0, 1] (to='unit')."""
    x = _as_images(x)
    if x.dtype != np.uint8:
        raise TypeError(f"scale_images expects uint8 pixels 0..255, got {x.dtype}; pass the loader's arrays.")
    unit = x.astype("float32") / 255.0
    if to == "unit":
        return unit
    if to == "tanh":
        return unit * 2.0 - 1.0
    raise ValueError(f"to must be 'tanh' ([-1, 1], for tanh generators) or 'unit' ([0, 1]), got {to!r}")


# Named pixel ranges for display. Float data slightly outside its range (interpolation overshoot,
# float error) is clipped; further outside, `auto` refuses instead of guessing.
VALUE_RANGES = {"unit": (0.0, 1.0), "tanh": (-1.0, 1.0), "uint8": (0.0, 255.0)}
_RANGE_SLACK = 0.02


def _declared_range(value_range) -> tuple[float, float]:
    if isinstance(value_range, str) and value_range in VALUE_RANGES:
        return VALUE_RANGES[value_range]
    if (isinstance(value_range, (tuple, list)) and len(value_range) == 2
            and all(isinstance(v, (int, float, np.number)) for v in value_range)
            and value_range[0] < value_range[1]):
        return float(value_range[0]), float(value_range[1])
    raise ValueError(f"value_range must be 'auto', {', '.join(map(repr, VALUE_RANGES))} or a pair (low, high) "
                     f"with low < high, got {value_range!r}")


def _infer_range(x: np.ndarray, finite: np.ndarray) -> tuple[float, float]:
    """The range 'auto' uses: the dtype's for integers; [0, 1] or [-1, 1] for floats, else raise."""
    if x.dtype == np.bool_:
        return 0.0, 1.0
    if np.issubdtype(x.dtype, np.integer):
        return VALUE_RANGES["uint8"]
    low, high = (float(x[finite].min()), float(x[finite].max())) if finite.any() else (0.0, 1.0)
    for lo, hi in (VALUE_RANGES["unit"], VALUE_RANGES["tanh"]):
        if low >= lo - _RANGE_SLACK and high <= hi + _RANGE_SLACK:
            return lo, hi
    raise ValueError(f"float images must lie in [0, 1] or [-1, 1]; these range from {low:.4g} to {high:.4g}. "
                     "Scale them first (uint8 0..255 pixels are fine as they are), or pass value_range=(low, "
                     "high) to say which values are black and white (values outside it are clipped).")


def to_unit_range(x, value_range="auto") -> np.ndarray:
    """Images -> float32 in [0, 1], for display. NaN/inf pixels become 0 (callers warn about them).

    `value_range` says what the pixels mean: 'unit' ([0, 1]), 'tanh' ([-1, 1], a tanh generator's
    output), 'uint8' (0..255) or a pair (low, high). Pass it for model outputs: a tanh batch whose
    values happen to be all >= 0 is still [-1, 1]. 'auto' (the default) takes integers as 0..255 and
    floats as [0, 1] when they lie in it, else [-1, 1]; floats outside both raise a ValueError that
    names the range seen.
    """
    x = np.asarray(x)
    finite = np.isfinite(x) if np.issubdtype(x.dtype, np.floating) else np.ones(x.shape, bool)
    if isinstance(value_range, str) and value_range == "auto":
        low, high = _infer_range(x, finite)
    else:
        low, high = _declared_range(value_range)
    unit = (np.where(finite, x, low).astype("float32") - low) / (high - low)
    return np.clip(unit, 0.0, 1.0)


def binarize(x, threshold: float = 0.5) -> np.ndarray:
    """Static binarisation of [0, 1] images: pixel > threshold -> 1 (TensorFlow CVAE tutorial style)."""
    x = np.asarray(x)
    if x.dtype == np.uint8:
        raise TypeError("binarize expects floats in [0, 1]; call scale_images(x, to='unit') first.")
    return (x > threshold).astype("float32")


def binarize_dynamic(x, seed=None):
    """Dynamic binarisation: each pixel ~ Bernoulli(intensity), freshly drawn on every call.

    Works on NumPy arrays (seeded with `seed`) and on tf tensors inside a tf.data map.
    """
    if hasattr(x, "dtype") and not isinstance(x, np.ndarray):  # a TensorFlow tensor
        import tensorflow as tf

        return tf.cast(tf.random.uniform(tf.shape(x), seed=seed) < x, x.dtype)
    x = np.asarray(x)
    if x.dtype == np.uint8:
        raise TypeError("binarize_dynamic expects floats in [0, 1]; call scale_images(x, to='unit') first.")
    rng = np.random.default_rng(seed)
    return (rng.random(x.shape) < x).astype("float32")


def make_dataset(x, y=None, batch_size: int = 128, shuffle: bool = True, seed: int = 0,
                 dynamic_binarization: bool = False, drop_remainder: bool = True):
    """A shuffled, batched, prefetched tf.data pipeline over float images (and optional labels)."""
    import tensorflow as tf

    x = np.asarray(x)
    if x.dtype == np.uint8:
        raise TypeError("make_dataset expects float images; call scale_images first.")
    if batch_size <= 0:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if y is not None and len(y) != len(x):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    ds = tf.data.Dataset.from_tensor_slices(x if y is None else (x, np.asarray(y)))
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size, drop_remainder=drop_remainder)
    if dynamic_binarization:
        if y is None:
            ds = ds.map(lambda images: binarize_dynamic(images), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            ds = ds.map(lambda images, labels: (binarize_dynamic(images), labels),
                        num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)
