"""Chapter 06 (sections 1-4): a DCGAN that draws 64x64 RGB faces on a CPU.

- networks: `build_face_generator` (latent (N, d) -> (N, 64, 64, 3) in [-1, 1]) and
  `build_face_discriminator` ((N, 64, 64, 3) -> (N, 1) logits); only built-in layers, so a saved
  generator loads with plain `keras.models.load_model`;
- the article's broken face networks, rebuilt only as far as Keras lets us (`article_generator`);
  `stack_output_size` does the shape arithmetic by hand;
- training: `make_face_train_step` (chapter 02's GradientTape step from `utils.gan`, with one-sided
  label smoothing on by default) and `TrainingCheckpoint` (save every N steps, resume only when the
  saved run has the same configuration, otherwise start fresh and say so);
- data: `procedural_faces` (the offline cartoon faces of `utils.synthesis`, scaled to [-1, 1]),
  `prepare_face` / `load_face_folder` (any folder of PNG/JPEG faces -> centre crop, 64x64, [-1, 1])
  and `load_real_faces` (an archive fetched with `utils.download`, checksum-verified and cached).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ..gan import make_train_step

LATENT_DIM = 100
IMAGE_SIZE = 64
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 3)
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")

# Google's Cartoon Set (10k version, CC-BY 4.0): 10,000 PNGs of 500x500 cartoon faces (a few hundred MB).
# CARTOONSET_SHA256 is None on purpose: this course was built offline and we do not ship a checksum we
# could not verify. Download the archive once, run `sha256sum cartoonset10k.tgz`, and pass the value
# (`load_real_faces(sha256=...)`); from then on `utils.download` refuses any other file.
CARTOONSET_URL = "https://storage.googleapis.com/cartoonset_public_files/cartoonset10k.tgz"
CARTOONSET_SHA256 = None


# ------------------------------------------------------------------------------------ networks
def build_face_generator(latent_dim: int = LATENT_DIM, filters: int = 256, upsampling: str = "resize",
                         name: str = "face_generator"):
    """DCGAN generator for 64x64 RGB: Dense -> 4x4xF, four x2 upsamplings (F/2, F/4, F/8, 3), tanh.

    4 -> 8 -> 16 -> 32 -> 64 pixels; BatchNorm + ReLU after every layer except the last, whose tanh
    puts the pixels in [-1, 1] (the range the real images are scaled to). `upsampling="resize"`
    (default) doubles the size with nearest-neighbour UpSampling2D and then applies a 3x3 convolution
    (a "resize-convolution"): its four sub-filters are tied to one kernel, so a flat input stays flat
    and a period-2 checkerboard is harder to learn than with a stride-2 transposed convolution.
    `"transposed"` uses the classic stride-2 4x4 Conv2DTranspose instead.
    """
    if upsampling not in ("resize", "transposed"):
        raise ValueError(f"upsampling must be 'resize' or 'transposed', got {upsampling!r}")

    def upsample(f, **kwargs):
        if upsampling == "transposed":
            return [keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", **kwargs)]
        return [keras.layers.UpSampling2D(2), keras.layers.Conv2D(f, 3, padding="same", **kwargs)]

    layers = [keras.Input((latent_dim,)),
              keras.layers.Dense(4 * 4 * filters, use_bias=False),
              keras.layers.BatchNormalization(),
              keras.layers.ReLU(),
              keras.layers.Reshape((4, 4, filters))]
    for f in (filters // 2, filters // 4, filters // 8):
        layers += upsample(f, use_bias=False) + [keras.layers.BatchNormalization(), keras.layers.ReLU()]
    layers += upsample(3, activation="tanh")
    return keras.Sequential(layers, name=name)


def build_face_discriminator(filters: int = 32, spectral_norm: bool = True, name: str = "face_discriminator"):
    """DCGAN discriminator for 64x64 RGB: stride-2 Conv F, 2F, 4F, 8F with LeakyReLU(0.2), one logit.

    64 -> 32 -> 16 -> 8 -> 4 pixels. `spectral_norm=True` (default) wraps every weight layer in
    `keras.layers.SpectralNormalization`, which divides its kernel by its largest singular value, so
    each layer's Lipschitz constant, and so how steep D can be, is bounded. Without it
    (`spectral_norm=False`, the classic DCGAN) BatchNorm follows every conv but the first (normalising
    the raw pixels of a batch would tell D the batch statistics of real vs fake instead of the images).
    """
    def weighted(layer):
        return keras.layers.SpectralNormalization(layer) if spectral_norm else layer

    def downsampling(f, **kwargs):
        return [weighted(keras.layers.Conv2D(f, 4, strides=2, padding="same", **kwargs))]

    layers = [keras.Input(IMAGE_SHAPE), *downsampling(filters), keras.layers.LeakyReLU(negative_slope=0.2)]
    for f in (filters * 2, filters * 4, filters * 8):
        if spectral_norm:
            layers += downsampling(f)
        else:
            layers += downsampling(f, use_bias=False) + [keras.layers.BatchNormalization()]
        layers.append(keras.layers.LeakyReLU(negative_slope=0.2))
    layers += [keras.layers.Flatten(), weighted(keras.layers.Dense(1))]  # a logit: no sigmoid
    return keras.Sequential(layers, name=name)


# ---------------------------------------------------------------------- the article's networks
def article_generator(latent_dim: int = 100):
    """The article's face generator as written (with its missing imports supplied): Dense -> 7x7x128,
    then six rounds of UpSampling2D + unpadded 3x3 Conv2D. Returns the model; look at its output shape."""
    z = keras.Input((latent_dim,))
    x = keras.layers.Dense(128 * 7 * 7)(z)
    x = keras.layers.Reshape((7, 7, 128))(x)
    for filters in (128, 128, 128, 64, 64):
        x = keras.layers.UpSampling2D()(x)
        x = keras.layers.Conv2D(filters, 3, activation="relu")(x)
    x = keras.layers.UpSampling2D()(x)
    x = keras.layers.Conv2D(3, 3, activation="tanh")(x)
    return keras.Model(z, x, name="article_generator")


def article_discriminator():
    """The article's face discriminator: it expects 28x28 greyscale digits, not colour faces."""
    img = keras.Input((28, 28, 1))
    x = img
    for filters in (64, 128, 256):
        x = keras.layers.Conv2D(filters, 3, activation="relu")(x)
        x = keras.layers.MaxPooling2D(2)(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(1, activation="sigmoid")(x)
    return keras.Model(img, x, name="article_discriminator")


def stack_output_size(size: int, stack) -> int:
    """Spatial size after a stack of layers, by hand. `stack` holds tuples:

    ("up", factor)                    UpSampling2D: size * factor
    ("conv", kernel, stride, padding) Conv2D: valid -> floor((size - kernel) / stride) + 1, same -> ceil(size / stride)
    ("convT", kernel, stride, padding) Conv2DTranspose: same -> size * stride,
                                       valid -> size * stride + max(kernel - stride, 0)
    ("pool", factor)                  MaxPooling2D (valid): floor(size / factor)
    """
    for layer in stack:
        kind = layer[0]
        if kind == "up":
            size = size * layer[1]
        elif kind == "pool":
            size = size // layer[1]
        elif kind in ("conv", "convT"):
            _, kernel, stride, padding = layer
            if kind == "conv":
                size = -(-size // stride) if padding == "same" else (size - kernel) // stride + 1
            else:
                size = size * stride if padding == "same" else size * stride + max(kernel - stride, 0)
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    return size


def keras_stack(stack, size: int, channels: int = 3):
    """The same stack as real Keras layers on a (size, size, channels) input: the ground truth."""
    layers = [keras.Input((size, size, channels))]
    for layer in stack:
        kind = layer[0]
        if kind == "up":
            layers.append(keras.layers.UpSampling2D(layer[1]))
        elif kind == "pool":
            layers.append(keras.layers.MaxPooling2D(layer[1]))
        elif kind == "conv":
            layers.append(keras.layers.Conv2D(2, layer[1], strides=layer[2], padding=layer[3]))
        elif kind == "convT":
            layers.append(keras.layers.Conv2DTranspose(2, layer[1], strides=layer[2], padding=layer[3]))
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    return keras.Sequential(layers)


ARTICLE_GENERATOR_STACK = [("up", 2), ("conv", 3, 1, "valid")] * 6  # after the 7x7 reshape


# ------------------------------------------------------------------------------------ training
def make_face_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim: int = LATENT_DIM,
                         real_label: float = 0.9, seed: int = 0, r1_gamma: float = 0.0, **options):
    """Chapter 02's GAN step (`utils.gan.make_train_step`) with this project's default real label of 0.9.

    D is updated on a real and a fake batch, then G with fresh noise (non-saturating loss, logits).
    Returns `step(real_images) -> dict(d_loss, g_loss, d_real, d_fake)`, the last two being the mean
    probabilities D gives to real and to fake images (before D's update). For `fit()`, use
    `utils.gan.GAN(generator, discriminator, latent_dim, real_label=0.9)`: the same step as `train_step`.
    `r1_gamma` > 0 adds chapter 03's R1 penalty to D's loss; `options` go to `make_train_step`
    (`average=` a `utils.training.WeightAverage` updated after every step).
    """
    return make_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim=latent_dim,
                           real_label=real_label, seed=seed, r1_gamma=r1_gamma, **options)


# --------------------------------------------------------------------------------- checkpoints
class TrainingCheckpoint:
    """Save generator, discriminator and both optimizers every N steps; resume only a matching run.

    `average` (optional): a `utils.training.WeightAverage` of G, saved and restored with them (its
    model and its update count), so a resumed run keeps its average too. `best` (optional): a
    `face_metrics.BestOnValidation`, saved and restored the same way (its kept weights and its scores).

    The folder holds `state.json` ({"config": ..., "step": ..., "history": ...}) written *last*,
    so a run killed mid-save leaves the previous complete checkpoint or none. `restore()` resumes
    only when the saved config equals this run's config. A checkpoint of another run (other sizes,
    fast vs full) or one that cannot be read is never deleted: it is moved to `kept/` inside the
    folder and training starts from step 0. Every case prints one line saying what happened.
    """

    FILES = ("generator.weights.h5", "discriminator.weights.h5", "optimizers.npz")
    KEPT = "kept"

    def __init__(self, folder, config: dict, generator, discriminator, g_optimizer, d_optimizer, average=None,
                 best=None):
        self.folder = Path(folder)
        self.config = json.loads(json.dumps(config))  # plain JSON types, so comparison is exact
        self.generator, self.discriminator, self.average, self.best = generator, discriminator, average, best
        self.extra = {}  # the optional models saved beside G and D
        if average is not None:
            self.extra["average.weights.h5"] = average.average
        if best is not None:
            self.extra["best.weights.h5"] = best.best
        self.files = self.FILES + tuple(self.extra)
        self.optimizers = {"g": g_optimizer, "d": d_optimizer}
        self.message = ""

    @property
    def state_file(self) -> Path:
        return self.folder / "state.json"

    def _build_optimizers(self):
        for key, model in (("g", self.generator), ("d", self.discriminator)):
            if not self.optimizers[key].built:
                self.optimizers[key].build(model.trainable_variables)

    def save(self, step: int, history: dict | None = None) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.state_file.exists():
            self.state_file.unlink()  # invalidate first: half-written weights never pass for a checkpoint
        self.generator.save_weights(self.folder / "generator.weights.h5")
        self.discriminator.save_weights(self.folder / "discriminator.weights.h5")
        for name, model in self.extra.items():
            model.save_weights(self.folder / name)
        self._build_optimizers()
        arrays = {f"{k}_{i}": np.asarray(v) for k, opt in self.optimizers.items()
                  for i, v in enumerate(opt.variables)}
        np.savez(self.folder / "optimizers.npz", **arrays)
        state = {"config": self.config, "step": int(step), "history": history or {}}
        if self.average is not None:
            state["average_updates"] = float(self.average.updates.numpy())
        if self.best is not None:
            state["best"] = {"step": self.best.best_step, "scores": self.best.scores}
        self.state_file.write_text(json.dumps(state))

    def clear(self) -> None:
        for name in (*self.files, "state.json"):
            path = self.folder / name
            if path.exists():
                path.unlink()

    def keep(self, label: str) -> Path:
        """Move the checkpoint's files to kept/<label>[-N]/ inside the folder; return it."""
        kept = self.folder / self.KEPT / label
        number = 1
        while kept.exists():
            number += 1
            kept = self.folder / self.KEPT / f"{label}-{number}"
        kept.mkdir(parents=True)
        for name in (*self.files, "state.json"):
            if (self.folder / name).exists():
                shutil.move(str(self.folder / name), str(kept / name))
        return kept

    def _read_state(self):
        """The saved state, or the reason it cannot be read."""
        try:
            state = json.loads(self.state_file.read_text())
        except (OSError, ValueError) as err:
            return None, f"state.json: {type(err).__name__}: {err}"
        if not isinstance(state, dict) or not isinstance(state.get("config", {}), dict):
            return None, "state.json: not a checkpoint state (expected an object with a config)"
        return state, ""

    def _load_weights(self) -> str:
        """Load all saved weights; on failure put back the networks' weights and say which file."""
        nets = (self.generator, self.discriminator, *self.extra.values())
        saved = [net.get_weights() for net in nets]
        self._build_optimizers()
        optimizer_vars = [v for opt in self.optimizers.values() for v in opt.variables]
        saved_optimizer = [np.asarray(v) for v in optimizer_vars]
        current = "generator.weights.h5"
        try:
            self.generator.load_weights(self.folder / current)
            current = "discriminator.weights.h5"
            self.discriminator.load_weights(self.folder / current)
            for current, model in self.extra.items():
                model.load_weights(self.folder / current)
            current = "optimizers.npz"
            with np.load(self.folder / current) as arrays:
                for key, opt in self.optimizers.items():
                    for i, v in enumerate(opt.variables):
                        v.assign(arrays[f"{key}_{i}"])
        except Exception as err:  # HDF5, zip, shape or missing-key errors: the file is unusable
            for net, weights in zip(nets, saved):
                net.set_weights(weights)  # a half-loaded network would pass for a resumed one
            for v, value in zip(optimizer_vars, saved_optimizer):
                v.assign(value)
            first = str(err).strip().splitlines()[0][:160] if str(err).strip() else ""
            return f"{current}: {type(err).__name__}{': ' + first if first else ''}"
        return ""

    def _unreadable(self, problem: str) -> None:
        kept = self.keep("unreadable")
        self.message = (f"The checkpoint in {self.folder} is unreadable ({problem}): kept it "
                        f"in {kept.relative_to(self.folder)}/ there, starting from step 0. Delete "
                        "that folder once you no longer need it.")

    def restore(self, total_steps: int | None = None, verbose: bool = True):
        """Load a matching, unfinished checkpoint; return (step, history). (0, {}) when starting fresh.

        A checkpoint that already reached `total_steps` belongs to a finished run: it is not resumed
        (re-running the notebook trains again rather than silently showing an old run).
        """
        step, history = 0, {}
        if not self.state_file.exists():
            leftovers = [n for n in self.files if (self.folder / n).exists()]
            self.clear()
            self.message = ("No checkpoint: starting from step 0"
                            + (" (removed an incomplete one)" if leftovers else "") + ".")
        else:
            step, history = self._restore_state(total_steps)
        if verbose:
            print(self.message)
        return step, history

    def _restore_state(self, total_steps):
        state, problem = self._read_state()
        if state is None:
            self._unreadable(problem)
            return 0, {}
        saved_config = state.get("config", {})
        missing = [n for n in self.files if not (self.folder / n).exists()]
        if saved_config != self.config:
            diff = sorted(k for k in set(saved_config) | set(self.config)
                          if saved_config.get(k) != self.config.get(k))
            # named after the old run's settings, so the same message every time (stored outputs)
            digest = hashlib.sha256(json.dumps(saved_config, sort_keys=True).encode()).hexdigest()
            kept = self.keep(f"run-{digest[:8]}")
            self.message = (f"Found a checkpoint from a different run (differs in "
                            f"{', '.join(diff)}): kept it in {kept.relative_to(self.folder)}/, "
                            "starting from step 0.")
        elif total_steps is not None and int(state.get("step", 0)) >= total_steps:
            self.message = (f"Found the checkpoint of a finished run (step {state.get('step')} "
                            f"of {total_steps}): deleted it, starting a new run from step 0.")
            self.clear()
        elif missing:
            self.message = (f"Checkpoint incomplete (missing {missing}): deleted it, starting "
                            "from step 0.")
            self.clear()
        else:
            problem = self._load_weights()
            if problem:
                self._unreadable(problem)
                return 0, {}
            if self.average is not None:
                self.average.updates.assign(float(state.get("average_updates", 0.0)))
            if self.best is not None:
                best = state.get("best", {})
                self.best.scores = {int(k): float(v) for k, v in best.get("scores", {}).items()}
                self.best.best_step = best.get("step")
            self.message = ("Resumed an interrupted run with the same configuration at step "
                            f"{state['step']}.")
            return int(state["step"]), state.get("history", {})
        return 0, {}


# ---------------------------------------------------------------------------------------- data
def procedural_faces(n: int, seed: int = 0) -> np.ndarray:
    """n cartoon faces from `utils.synthesis`, float32 (n, 64, 64, 3) scaled to [-1, 1]."""
    from .synthesis import cartoon_faces

    return cartoon_faces(int(n), size=IMAGE_SIZE, seed=seed) * 2.0 - 1.0


def prepare_face(image, size: int = IMAGE_SIZE) -> np.ndarray:
    """One image (H, W[, C]) uint8 or float in [0, 1] -> float32 (size, size, 3) in [-1, 1].

    Centre-crops to a square (no stretching: faces keep their proportions), resizes with area
    averaging, drops an alpha channel and repeats a grey channel.
    """
    image = np.asarray(image)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected an image of shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {image.shape}")
    if image.dtype == np.uint8:
        image = image.astype("float32") / 255.0
    else:
        image = image.astype("float32")
        if image.min() < 0 or image.max() > 1:
            raise ValueError("float images must be in [0, 1]; pass uint8 images as they are")
    image = image[..., :3]
    if image.shape[-1] == 1:
        image = np.repeat(image, 3, axis=-1)
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    image = image[top:top + side, left:left + side]
    if side != size:
        image = tf.image.resize(image, (size, size), method="area", antialias=True).numpy()
    return np.clip(image, 0, 1) * 2.0 - 1.0


def load_face_folder(folder, limit: int | None = None, size: int = IMAGE_SIZE) -> np.ndarray:
    """Every PNG/JPEG under `folder` (searched recursively, sorted by path) -> (N, size, size, 3) in [-1, 1]."""
    folder = Path(folder)
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if limit is not None:
        paths = paths[:int(limit)]
    if not paths:
        raise FileNotFoundError(f"no .png/.jpg images found under {folder}")
    out = np.empty((len(paths), size, size, 3), dtype="float32")
    for i, path in enumerate(paths):
        decoded = tf.io.decode_image(tf.io.read_file(str(path)), channels=3, expand_animations=False).numpy()
        out[i] = prepare_face(decoded, size)
    return out


def load_real_faces(url: str = CARTOONSET_URL, sha256: str | None = CARTOONSET_SHA256, limit: int | None = 10_000,
                    cache_dir=None, verbose: bool = True) -> np.ndarray:
    """Download (once, checksum-verified, cached) an archive of face images and load it for training.

    Raises `utils.download.DownloadError` when offline or when the checksum does not match; the caller
    decides what to do (the chapter falls back to the procedural faces).
    """
    from .download import DownloadError, download

    if sha256 is None:
        raise DownloadError(
            "No SHA-256 given for the real-face archive, so it cannot be verified. Download it once, compute "
            "its checksum (`sha256sum <file>`) and pass it as sha256=..., or place the archive in the cache "
            "folder yourself and pass its checksum.")
    folder = download(url, sha256, cache_dir=cache_dir, extract=True, verbose=verbose)
    return load_face_folder(folder, limit=limit)
