"""Shared fixtures of the exercise checkers: the one home of what several chapters' checkers use.

Every chapter module (`ch02.py`, `ch03.py`, ...) imports from here, from `framework` and from the
course's core (`utils.gan`, `utils.vae`, `utils.training`), and never from another chapter.

- numbers: `describe`, `as_array`, `as_numbers`, `as_scalar`, `softplus`, `random_cov`,
  `convt_size` (Keras's own Conv2DTranspose size);
- a learner's models: `build_model`, `check_model`, `call_model`, `all_layers`,
  `keras2_spellings`, `check_generator` and `check_logit_discriminator` (MNIST-shaped, ch02/ch03);
- tiny networks and data, seeded with local generators (never the learner's global random state):
  `tiny_gan`, `real_batch`, `make_confident`, `clone`, `gan_setup`;
- an optimiser that records which variables it was asked to update: `RecordingSGD`;
- grading a GAN step by what it computes: `same_noise`, `eagerly`, `Step`, `reference_step`,
  `grade_step`, `grade_steps`, `run_step_given_z`, `check_optimisers`, `loss_values`, with the
  named mistakes `D_MISTAKES` and `G_MISTAKES`.

A step checker runs the learner's step and `gan.gan_update` (the course's one GAN update) from the
same weights, on the same real batch and the same noise, with plain SGD, and compares the weights
after the step. Plain SGD, not Adam: Adam's first step is about lr * sign(gradient), so a gradient
16 times too large (a summed loss) or of another size would move the weights just the same.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from dataclasses import dataclass, field  # noqa: I001

import keras
import numpy as np
import tensorflow as tf

from .. import gan
from ..training import snapshot_weights
from .framework import Incorrect, call_answer, summarise_error

# SGD learning rates of the step checks. D's logits are large (see make_confident), so a small step
# for D already moves them a lot; G's update must still see fakes with logits in (0, 1) afterwards.
LR_G, LR_D = 2e-3, 2e-4
TOLERANCE = (
    2e-3  # weights agree when they differ by less than this fraction of the reference's update
)


# ----------------------------------------------------------------------------------------- numbers
def describe(value) -> str:
    """A short account of a value for a verdict: its type and, where useful, shape or content."""
    if isinstance(value, keras.Model):
        return f"a keras Model ({value.name!r})"
    if isinstance(value, (str, bytes)):
        text = repr(value)
        return f"a string {text[:60]}{'...' if len(text) > 60 else ''}"
    if value is None or isinstance(value, (bool, int, float, complex)):
        return repr(value)
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        dtype = getattr(value.dtype, "name", value.dtype)
        return f"an array of shape {tuple(value.shape)} and dtype {dtype}"
    if isinstance(value, (list, tuple, dict, set)):
        return f"a {type(value).__name__} of {len(value)} item(s)"
    return f"a {type(value).__name__}"


def as_array(value, what: str = "the result") -> np.ndarray:
    """`value` as a NumPy array of numbers (its own dtype), or Incorrect saying what came back."""
    if value is None or isinstance(value, (str, bytes, keras.Model, dict)) or callable(value):
        raise Incorrect(f"{what} should be numbers (an array or tensor), got {describe(value)}")
    try:
        array = np.asarray(value)
    except Exception as err:
        raise Incorrect(
            f"{what} should be numbers (an array or tensor), got {describe(value)}"
        ) from err
    if array.dtype.kind not in "biufc":
        raise Incorrect(f"{what} should be numbers (an array or tensor), got {describe(value)}")
    return array


def as_numbers(value, what: str = "the result", finite: bool = False) -> np.ndarray:
    """`value` as a float64 array (`finite`: NaN and inf are Incorrect too), or Incorrect."""
    array = as_array(value, what)
    if np.iscomplexobj(array):
        raise Incorrect(f"{what} is complex ({describe(value)}): keep the real part (`.real`)")
    array = array.astype("float64")
    if finite and not np.all(np.isfinite(array)):
        bad = array[~np.isfinite(array)].ravel()[0]
        raise Incorrect(f"{what} contains {bad} (not a finite number): expected finite values")
    return array


def as_scalar(value, what: str) -> float:
    """One finite number, or Incorrect saying what came back."""
    if isinstance(value, complex) or np.iscomplexobj(value):
        raise Incorrect(f"{what} is a complex number ({value}): keep the real part (`.real`)")
    array = as_numbers(value, what, finite=True)
    if array.size != 1:
        raise Incorrect(f"{what} should be one number, got an array of shape {array.shape}")
    return float(array.reshape(()))


def random_cov(rng, d):
    """A random, well-conditioned d x d covariance matrix."""
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def softplus(x):
    """log(1 + exp(x)), stable for large |x|: the logistic losses written from logits."""
    return np.logaddexp(0.0, x)


def convt_size(size, kernel, stride, padding) -> int:
    """Keras's own output size of a Conv2DTranspose (no output_padding): the checkers' reference.

    'same': size * stride; 'valid': size * stride + max(kernel - stride, 0), which is
    (size - 1) * stride + kernel only when kernel >= stride.
    """
    layer = keras.layers.Conv2DTranspose(1, kernel, strides=stride, padding=padding)
    return int(layer.compute_output_shape((None, size, size, 1))[1])


# --------------------------------------------------------------------------- a learner's models
def check_model(model, what: str) -> keras.Model:
    if not isinstance(model, keras.Model):
        raise Incorrect(f"{what} should return a keras.Model, got {describe(model)}")
    if not model.trainable_weights:
        raise Incorrect(f"the {what} has no trainable weights")
    return model


def call_model(model, inputs, what: str, training=False) -> np.ndarray:
    """Call a learner's model on `inputs`; an error becomes a verdict that names the input shape."""
    try:
        out = model(inputs, training=training)
    except Exception as err:
        raise Incorrect(
            f"the {what} ({describe(model)}) fails on a batch of shape {np.shape(inputs)}: "
            f"{summarise_error(err)}"
        ) from err
    return as_numbers(out, f"the {what}'s output", finite=False)


def all_layers(model) -> list:
    """All layers, flattening nested models and unwrapping wrappers (SpectralNormalization)."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += all_layers(layer)
        else:
            found.append(layer.layer if isinstance(layer, keras.layers.Wrapper) else layer)
    return found


# Keras 3 still builds these Keras 2 spellings (with a warning); the course teaches the new ones.
_KERAS2 = {
    "`alpha` is deprecated": "LeakyReLU(alpha=...) is the Keras 2 spelling: Keras 3 calls it "
    "LeakyReLU(negative_slope=...)",
    "`input_shape`/`input_dim`": "Dense(..., input_shape=...) is the Keras 2 way to give the "
    "input: in Keras 3 start the model with keras.Input((latent_dim,))",
}


@contextlib.contextmanager
def keras2_spellings():
    """Collects the Keras 2 spellings used while the block runs, as messages in the yielded list."""
    found: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # a warning shown once already must still be seen here
        yield found
    for warning in caught:
        found += [fix for key, fix in _KERAS2.items() if key in str(warning.message)]


def build_model(build, *args, what="generator"):
    """The learner's model; Keras 2 spellings that Keras 3 still builds (warning) are rejected."""
    with keras2_spellings() as old:
        model = call_answer(build, *args)
    if old:
        raise Incorrect(old[0])
    return check_model(model, what)


def check_generator(build, latent_dims=(100, 16)):
    """An MNIST generator (chapters 02, 03): (N, 28, 28, 1) in [-1, 1] (tanh), depends on z."""
    first = None
    for latent_dim in latent_dims:
        model = build_model(build, latent_dim)
        first = model if first is None else first
        z = np.random.default_rng(0).standard_normal((8, latent_dim)).astype("float32")
        out = call_model(model, z, "generator")
        if out.shape != (8, 28, 28, 1):
            raise Incorrect(
                f"with latent_dim={latent_dim}, a batch of 8 vectors gave output shape "
                f"{out.shape}; expected (8, 28, 28, 1) (reshape the 784 values into an "
                "image with one channel)"
            )
        big = call_model(model, z * 50.0, "generator")
        if not np.all(np.isfinite(big)):
            raise Incorrect("the generator's output is not finite for large inputs")
        if big.min() < -1.0001 or big.max() > 1.0001:
            raise Incorrect(
                f"outputs reach [{big.min():.2f}, {big.max():.2f}]; they must stay in "
                "[-1, 1]: end with a tanh, like the training images scaled to [-1, 1]"
            )
        if big.min() >= 0.0:
            raise Incorrect(
                "all outputs are >= 0: the last activation looks like a sigmoid ([0, 1]); "
                "use tanh so the generator can produce the -1 background of images scaled "
                "to [-1, 1]"
            )
        if float(np.std(out, axis=0).mean()) < 1e-6:
            raise Incorrect("every latent vector gives the same image: the output must depend on z")
    return first  # the model for the first (default) latent size


def _ends_in_probability(model) -> bool:
    """Make the last layer's weights huge: a hidden squashing at the end keeps outputs in [0, 1]."""
    last = model.layers[-1]
    if not [w for w in last.weights if len(w.shape) >= 2]:
        return False
    saved = [keras.ops.convert_to_numpy(w).copy() for w in last.weights]
    try:
        for w in last.weights:
            w.assign(keras.ops.convert_to_numpy(w) * 1000.0)
        noise = np.random.default_rng(1).uniform(-1, 1, (16, 28, 28, 1)).astype("float32")
        big = call_model(model, noise, "discriminator")
    finally:
        for w, s in zip(last.weights, saved):
            w.assign(s)
    return big.min() >= 0.0 and big.max() <= 1.0


def check_logit_discriminator(build):
    """(N, 28, 28, 1) -> (N, 1) logits, not probabilities."""
    model = build_model(build, what="discriminator")
    out = call_model(model, real_batch(8), "discriminator")
    if out.shape != (8, 1):
        raise Incorrect(
            f"a batch of 8 images gave output shape {out.shape}; expected (8, 1): one "
            "score per image"
        )
    activation = getattr(model.layers[-1], "activation", None)
    name = getattr(activation, "__name__", str(activation)).lower()
    if "sigmoid" in name or "softmax" in name:
        raise Incorrect(
            "the last layer applies a sigmoid: return the raw logit instead and use "
            "from_logits=True in the loss (more stable, no saturated probabilities)"
        )
    if _ends_in_probability(model):
        raise Incorrect(
            "the output stays in [0, 1] even with huge weights: it is a probability, "
            "not a logit; drop the final sigmoid"
        )
    return model


# ------------------------------------------------------------------------ tiny networks and data
def real_batch(n=16, seed=0) -> np.ndarray:
    """MNIST-shaped blobs in [-1, 1] that look nothing like noise: something for a step to learn."""
    rng = np.random.default_rng(seed)
    x = -np.ones((n, 28, 28, 1), "float32")
    for i in range(n):
        r, c = rng.integers(6, 22, size=2)
        x[i, r - 4 : r + 4, c - 2 : c + 2] = 1.0
    return x


def tiny_gan(latent_dim=8, shape=(28, 28, 1), seed=0, hidden=32):
    """A small Dense generator (tanh output of `shape`) and discriminator (one logit), seeded here.

    The layers have explicit names so that G's and D's variables never share a path (RecordingSGD
    tells them apart by path).
    """
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    g = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            keras.layers.Dense(hidden, name="g_hidden"),
            keras.layers.LeakyReLU(negative_slope=0.2, name="g_act"),
            keras.layers.Dense(size, activation="tanh", name="g_out"),
            keras.layers.Reshape(shape, name="g_image"),
        ],
        name="tiny_generator",
    )
    d = keras.Sequential(
        [
            keras.Input(shape),
            keras.layers.Flatten(name="d_flat"),
            keras.layers.Dense(hidden, name="d_hidden"),
            keras.layers.LeakyReLU(negative_slope=0.2, name="d_act"),
            keras.layers.Dense(1, name="d_logit"),
        ],
        name="tiny_discriminator",
    )
    for model in (g, d):
        model.set_weights(
            [
                rng.normal(0, 1 / np.sqrt(w.shape[0]) if w.ndim > 1 else 0.1, w.shape).astype(
                    "float32"
                )
                for w in model.get_weights()
            ]
        )
    return g, d


def make_confident(d, real, fake, real_mean=-5.0, fake_mean=-9.0, spread=14.0) -> None:
    """Set D's last layer so its logits on `real` and `fake` have these means and about this spread.

    Why: with logits of -17 and below D's probabilities round to 0 in float32. A loss that applies
    a sigmoid and then a cross-entropy on probabilities clips them there and loses their gradient,
    so only such logits tell it from a loss computed from logits; other logits near 0 and 1 tell a
    loss that takes the logits for probabilities. Both kinds are wanted among real and fake logits.
    """

    def features(x):
        for layer in d.layers[:-1]:
            x = layer(x)
        return np.asarray(x, "float64")

    h_real, h_fake = features(real), features(fake)
    kernel = d.layers[-1].get_weights()[0][:, 0].astype("float64")
    scale = spread / max(float(np.std(np.concatenate([h_real, h_fake]) @ kernel)), 1e-6)
    gap = h_real.mean(0) - h_fake.mean(0)  # a direction that moves real logits apart from fake ones
    start = scale * (h_real.mean(0) - h_fake.mean(0)) @ kernel
    t = (real_mean - fake_mean - start) / max(float(gap @ gap), 1e-12)
    kernel = scale * kernel + t * gap
    bias = real_mean - h_real.mean(0) @ kernel
    d.layers[-1].set_weights([kernel[:, None].astype("float32"), np.array([bias], "float32")])


def clone(model, weights):
    """A fresh copy of `model` holding `weights` (so every run starts from identical weights)."""
    copy = keras.models.clone_model(model)
    copy.set_weights(weights)
    return copy


class RecordingSGD(keras.optimizers.SGD):
    """SGD that remembers the paths of the variables it was asked to update (also at trace time)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.touched: set[str] = set()

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is not None:
            self.touched.update(v.path for v in trainable_variables)
        return super().apply(grads, trainable_variables)


# ------------------------------------------------------------------------------- the same noise
@contextlib.contextmanager
def eagerly():
    """Run tf.functions eagerly in the block (a learner's @tf.function step included).

    Why: inside a traced function Keras 3 spots a sigmoid feeding BinaryCrossentropy() and quietly
    uses the sigmoid's input as logits, so a step with that mistake computes the logit loss there,
    yet not when the same code runs eagerly (while debugging, in a notebook cell). Run eagerly, a
    check sees what the code itself computes.
    """
    before = tf.config.functions_run_eagerly()
    tf.config.run_functions_eagerly(True)
    try:
        yield
    finally:
        tf.config.run_functions_eagerly(before)


@contextlib.contextmanager
def same_noise(seed=0, fixed=None, reuse=False):
    """While active, every standard-normal draw comes from one script, so two steps see the same z.

    Why: a learner's step draws its own noise (tf.random.normal, keras.random.normal with its own
    SeedGenerator, np.random.normal), and `gan.gan_update` draws with keras.random.normal. Comparing
    their updates needs the same z; comparing statistics over many steps would be slow and loose.
    So during the block the k-th draw is the k-th draw of one `keras.random.SeedGenerator(seed)`:
    a variable, so it also works inside a tf.function and from one fit() step to the next. With
    `fixed=z` every draw is z (for steps that are given z); with `reuse=True` every draw repeats the
    first (the reference for a step that feeds G the noise D saw). The learner's global random
    state is not used. The patched functions are put back on exit.
    """
    originals = {
        (tf.random, "normal"): tf.random.normal,
        (keras.random, "normal"): keras.random.normal,
        (np.random, "normal"): np.random.normal,
        (np.random, "randn"): np.random.randn,
        (np.random, "standard_normal"): np.random.standard_normal,
    }
    seeds, first = keras.random.SeedGenerator(seed), []
    keras_normal = keras.random.normal

    def draw(shape, mean=0.0, stddev=1.0, dtype=None, seed=None, name=None):
        dtype = keras.backend.standardize_dtype(dtype or "float32")
        if fixed is not None:
            value = tf.reshape(tf.cast(fixed, dtype), shape)
        elif reuse and first:
            value = first[0]
        else:
            value = keras_normal(shape, dtype=dtype, seed=seeds)
            first.append(value)
        return value * stddev + mean

    def numpy_draw(size, loc=0.0, scale=1.0):
        if not tf.executing_eagerly():  # NumPy inside a traced function: leave it alone
            return originals[np.random, "normal"](loc, scale, size)
        shape = () if size is None else (size,) if np.ndim(size) == 0 else tuple(size)
        return np.asarray(draw(shape, dtype="float32"), "float64") * scale + loc

    patches = {
        (tf.random, "normal"): draw,
        (keras.random, "normal"): draw,
        (np.random, "normal"): lambda loc=0.0, scale=1.0, size=None: numpy_draw(size, loc, scale),
        (np.random, "randn"): lambda *dims: numpy_draw(dims),
        (np.random, "standard_normal"): lambda size=None: numpy_draw(size),
    }
    try:
        for (module, name), function in patches.items():
            setattr(module, name, function)
        yield
    finally:
        for (module, name), function in originals.items():
            setattr(module, name, function)


# ------------------------------------------------------------------------- a step and its reference
@dataclass
class GanSetup:
    """Tiny G and D with their starting weights, real batches and (for steps given z) the noise."""

    g: keras.Model
    d: keras.Model
    batches: list
    z: np.ndarray | None
    latent_dim: int
    g0: list = field(default_factory=list)
    d0: list = field(default_factory=list)

    def fresh(self):
        """Copies of G and D at the starting weights."""
        return clone(self.g, self.g0), clone(self.d, self.d0)

    def noise(self):
        """The `same_noise` arguments for this set-up: the given z, or a seeded script."""
        return {"fixed": self.z} if self.z is not None else {"seed": 7}


def gan_setup(latent_dim=8, shape=(28, 28, 1), n=32, seed=0, batches=1, given_z=False) -> GanSetup:
    """Tiny networks, `batches` real batches of `n` and a confident D (see `make_confident`)."""
    rng = np.random.default_rng(seed + 100)
    g, d = tiny_gan(latent_dim, shape, seed)
    if shape == (28, 28, 1):
        real = [real_batch(n, seed + i) for i in range(batches)]
    else:
        real = [rng.uniform(-1, 1, (n,) + tuple(shape)).astype("float32") for _ in range(batches)]
    z = rng.standard_normal((n, latent_dim)).astype("float32")
    make_confident(d, real[0], np.asarray(g(z)))
    return GanSetup(
        g, d, real, z if given_z else None, latent_dim, g.get_weights(), d.get_weights()
    )


@dataclass
class Step:
    """What one run of a step left: the weights of G and D after it, and the losses it reported."""

    g: list
    d: list
    d_loss: float | None = None
    g_loss: float | None = None


def reference_step(setup: GanSetup, d_lr=None, reuse=False, simultaneous=False, **options) -> Step:
    """`gan.gan_update` with SGD on copies of the set-up, over its batches, with the same noise.

    `options` go to gan_update (real_label, r1_gamma, d_loss_fn, g_loss_fn): the named mistakes
    below are gan_update with another loss. `simultaneous`: G's update is taken against D before
    D's update (both gradients from the same D), which is also a correct GAN step.
    """
    if simultaneous:
        d_side = reference_step(setup, d_lr, reuse, **options)
        g_side = reference_step(setup, 0.0, reuse, **options)  # D does not move: G sees the old D
        return Step(g_side.g, d_side.d, d_side.d_loss, g_side.g_loss)
    g, d = setup.fresh()
    g_opt, d_opt = keras.optimizers.SGD(LR_G), keras.optimizers.SGD(LR_D if d_lr is None else d_lr)
    with same_noise(reuse=reuse, **setup.noise()):
        for real in setup.batches:
            out = gan.gan_update(
                g, d, g_opt, d_opt, tf.constant(real), None, setup.latent_dim, **options
            )
    return Step(
        snapshot_weights(g), snapshot_weights(d), float(out["d_loss"]), float(out["g_loss"])
    )


def _bce_probabilities(target, probabilities):
    return keras.losses.BinaryCrossentropy()(
        tf.fill(tf.shape(probabilities), target), probabilities
    )


# (message, gan_update options): each is the reference update with one typical mistake in it.
D_MISTAKES = [
    (
        "D's labels are swapped: real images get target 1, generated ones target 0",
        {"d_loss_fn": lambda r, f: gan.discriminator_loss(f, r)},
    ),
    (
        "D's loss treats the logits as probabilities: D returns logits, so use from_logits=True",
        {"d_loss_fn": lambda r, f: _bce_probabilities(1.0, r) + _bce_probabilities(0.0, f)},
    ),
    (
        "D's loss applies a sigmoid, then a cross-entropy on probabilities: where D is confident "
        "they round to 0 or 1, the loss is clipped and its gradient lost. Work from the logits "
        "(from_logits=True)",
        {
            "d_loss_fn": lambda r, f: (
                _bce_probabilities(1.0, tf.sigmoid(r)) + _bce_probabilities(0.0, tf.sigmoid(f))
            )
        },
    ),
    (
        "D's loss is summed over the batch: take the batch mean of each term",
        {
            "d_loss_fn": lambda r, f: (
                gan.discriminator_loss(r, f) * tf.cast(tf.shape(r)[0], tf.float32)
            )
        },
    ),
    (
        "D's loss has only the real-image term: add BCE(0, D(G(z))) for the generated images",
        {"d_loss_fn": lambda r, f: tf.reduce_mean(tf.nn.softplus(-r))},
    ),
]
G_MISTAKES = [
    (
        "G was trained toward target 0 ('look fake'): its target is 1, 'real'",
        {"g_loss_fn": lambda f: -gan.saturating_generator_loss(f)},
    ),
    (
        "G uses the saturating loss log(1 - D(G(z))): its gradient vanishes while D rejects the "
        "fakes; minimise the non-saturating -log D(G(z)), BCE with target 1",
        {"g_loss_fn": gan.saturating_generator_loss},
    ),
    (
        "G's loss treats the logits as probabilities: D returns logits, so use from_logits=True",
        {"g_loss_fn": lambda f: _bce_probabilities(1.0, f)},
    ),
    (
        "G's loss applies a sigmoid, then a cross-entropy on probabilities: where D confidently "
        "rejects a fake its probability rounds to 0, the loss is clipped and G gets no gradient "
        "there. Work from the logits (from_logits=True)",
        {"g_loss_fn": lambda f: _bce_probabilities(1.0, tf.sigmoid(f))},
    ),
    (
        "G's loss is summed over the batch: take the batch mean",
        {"g_loss_fn": lambda f: gan.generator_loss(f) * tf.cast(tf.shape(f)[0], tf.float32)},
    ),
]
# Under `same_noise` a right step is deterministic; one that is not draws something else at random.
_OTHER_NOISE = " (or its noise is not drawn with tf.random.normal or keras.random.normal)"
_AGAIN = "'s update changes from run to run with the same weights, batch and noise: "
RANDOM_G = ("G" + _AGAIN + "G was trained toward random targets (the article's mistake): its "
            "target is 1, 'real'" + _OTHER_NOISE)
RANDOM_D = ("D" + _AGAIN + "its targets are random; real images get target 1, generated ones "
            "target 0" + _OTHER_NOISE)


def _max_diff(a, b) -> float:
    return float(
        max((np.abs(np.asarray(x) - np.asarray(y)).max() for x, y in zip(a, b)), default=0.0)
    )


def _close(got, want, start) -> bool:
    """Weights `got` equal `want` up to TOLERANCE of the update that led from `start` to `want`."""
    return _max_diff(got, want) <= TOLERANCE * max(_max_diff(want, start), 1e-6) + 1e-7


def _matches(got: Step, ref: Step, start, side: str) -> bool:
    """The `side` ("g" or "d") of `got` is `ref`'s: its weights, and its loss where it has one."""
    mine, want = getattr(got, f"{side}_loss"), getattr(ref, f"{side}_loss")
    if mine is None and _max_diff(getattr(ref, side), start) == 0.0:
        return False  # a mistake that leaves the weights alone is only told by its loss
    return _close(getattr(got, side), getattr(ref, side), start) and (
        mine is None or want is None or bool(np.isclose(mine, want, rtol=1e-3, atol=1e-4))
    )


def _diagnose(got, setup, side, mistakes, base, rerun, random_message, who, expected) -> str:
    """Why `side` of the learner's step differs from the reference: a named mistake or a summary."""
    start = setup.d0 if side == "d" else setup.g0
    for message, options in mistakes:
        if _matches(got, reference_step(setup, **{**base, **options}), start, side):
            return message
    if rerun is not None and not _close(getattr(rerun(), side), getattr(got, side), start):
        return random_message
    if _max_diff(getattr(got, side), start) == 0.0:
        return f"the {who}'s weights did not move in a full step" + (
            " (a frozen discriminator? In Keras 3, discriminator.trainable = False also stops "
            "discriminator.train_on_batch)"
            if side == "d"
            else ""
        )
    return expected


def grade_step(
    got: Step,
    setup: GanSetup,
    accepted=({},),
    d_mistakes=(),
    g_mistakes=(),
    rerun=None,
    losses=True,
) -> Step:
    """Compare a learner's step with the reference; raise Incorrect naming the mistake, if any.

    `accepted`: reference options that count as right (the first is the course's step); the
    mistakes are tried on top of the first. `rerun()` runs the learner's step again from the same
    start, to tell random targets (the article's) from other mistakes. Returns the matching
    reference.
    """
    refs = [reference_step(setup, **options) for options in accepted]
    if not any(_close(got.d, ref.d, setup.d0) for ref in refs):
        raise Incorrect(
            _diagnose(
                got,
                setup,
                "d",
                list(D_MISTAKES) + list(d_mistakes),
                accepted[0],
                rerun,
                RANDOM_D,
                "discriminator",
                "D's weights after the step differ from one SGD step on "
                "gan.discriminator_loss (real -> 1, fake -> 0, from logits, batch means) by up to "
                f"{_max_diff(got.d, refs[0].d):.2g}",
            )
        )
    match = next(
        (ref for ref in refs if _close(got.d, ref.d, setup.d0) and _close(got.g, ref.g, setup.g0)),
        None,
    )
    if match is None:
        raise Incorrect(
            _diagnose(
                got,
                setup,
                "g",
                list(G_MISTAKES) + list(g_mistakes),
                accepted[0],
                rerun,
                RANDOM_G,
                "generator",
                "D's update is right, but G's weights after the step differ from one SGD step on "
                "the non-saturating loss BCE(1, D(G(z))) by up to "
                f"{_max_diff(got.g, refs[0].g):.2g}",
            )
        )
    if losses:
        for name in ("d_loss", "g_loss"):
            mine, want = getattr(got, name), getattr(match, name)
            if mine is not None and not np.isclose(mine, want, rtol=1e-3, atol=1e-4):
                raise Incorrect(
                    f"the update is right, but the {name} you return is {mine:.4f}; expected "
                    f"{want:.4f}, the loss before the update (D's without any penalty term)"
                )
    return match


def grade_steps(steps: list, setup: GanSetup, rerun=None, **options) -> None:
    """`grade_step` for each of several steps in turn (step k after the first k + 1 batches)."""
    for k, step in enumerate(steps):
        part = dataclasses.replace(setup, batches=setup.batches[: k + 1])
        grade_step(step, part, rerun=None if rerun is None else (lambda k=k: rerun()[k]), **options)


def loss_values(logs, keys=("d_loss", "g_loss")) -> list[float]:
    """The named losses a step returned (a dict, or a pair in that order), as floats."""
    if isinstance(logs, (tuple, list)) and len(logs) == len(keys):
        logs = dict(zip(keys, logs))
    if not isinstance(logs, dict):
        raise Incorrect(f"return a dict with {', '.join(map(repr, keys))}, got {describe(logs)}")
    missing = [key for key in keys if key not in logs]
    if missing:
        raise Incorrect(f"the returned dict has no {missing[0]!r} (keys: {sorted(map(str, logs))})")
    return [as_scalar(logs[key], key) for key in keys]


def run_step_given_z(train_step, setup: GanSetup, *extra) -> Step:
    """A learner's `train_step(G, D, g_opt, d_opt, real, z, *extra)` from the set-up's start.

    It runs eagerly (see `eagerly`) with recording SGD optimisers; returns what it left.
    """
    g, d = setup.fresh()
    g_opt, d_opt = RecordingSGD(LR_G), RecordingSGD(LR_D)
    with eagerly():
        out = call_answer(
            train_step, g, d, g_opt, d_opt, setup.batches[0].copy(), setup.z.copy(), *extra
        )
    check_optimisers(g, d, g_opt, d_opt)
    d_loss, g_loss = loss_values(out)
    return Step(snapshot_weights(g), snapshot_weights(d), d_loss, g_loss)


def check_optimisers(g, d, g_opt, d_opt) -> None:
    """Each recording optimiser updated only its own network's variables."""
    g_paths = {v.path for v in g.trainable_variables}
    d_paths = {v.path for v in d.trainable_variables}
    if d_opt is not None and d_opt.touched & g_paths:
        raise Incorrect(
            "the discriminator's optimiser also updated generator weights: compute the "
            "discriminator's gradients for discriminator.trainable_variables only"
        )
    if g_opt is not None and g_opt.touched & d_paths:
        raise Incorrect(
            "the generator's optimiser also updated the discriminator: in the generator's "
            "update, take gradients with respect to generator.trainable_variables only"
        )
