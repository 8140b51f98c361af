"""Chapter 06 (sections 1-4): a DCGAN that draws 64x64 RGB faces on a CPU.

- networks: `build_face_generator` (latent (N, d) -> (N, 64, 64, 3) in [-1, 1]) and
  `build_face_discriminator` ((N, 64, 64, 3) -> (N, 1) logits); only built-in layers, so a saved
  generator loads with plain `keras.models.load_model`;
- the article's broken face networks, rebuilt only as far as Keras lets us (`article_generator`);
  `stack_output_size` does the shape arithmetic by hand;
- training: `make_face_train_step` (chapter 02's GradientTape step from `utils.gan`, with one-sided
  label smoothing on by default), `diff_augment` (augmentation of every image D sees), `gaussian_blur`
  (the blur of the step's `blur_sigma` schedule), `growing_face_networks` / `make_growing_train_step`
  (a resolution schedule: 32x32 companions of the two networks, trained first, then faded into 64x64) and
  `TrainingCheckpoint` (save every N steps, resume only when the saved run has the same
  configuration, otherwise start fresh and say so);
- data: `procedural_faces` (the offline cartoon faces of `utils.synthesis`, scaled to [-1, 1]),
  `prepare_face` / `load_face_folder` (any folder of PNG/JPEG faces -> centre crop, 64x64, [-1, 1])
  and `load_real_faces` (an archive fetched with `utils.download`, checksum-verified and cached).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ..gan import gan_update, make_train_step

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
                         full_res_filters: int = 0, name: str = "face_generator"):
    """DCGAN generator for 64x64 RGB: Dense -> 4x4xF, four x2 upsamplings (F/2, F/4, F/8, 3), tanh.

    4 -> 8 -> 16 -> 32 -> 64 pixels; BatchNorm + ReLU after every layer except the last, whose tanh
    puts the pixels in [-1, 1] (the range the real images are scaled to). `upsampling="resize"`
    (default) doubles the size with nearest-neighbour UpSampling2D and then applies a 3x3 convolution
    (a "resize-convolution"): every output pixel is computed by the same 3x3 filter, so it cannot
    learn the period-2 checkerboard that a stride-2 transposed convolution's four sub-filters can.
    `"bilinear"` is the same with bilinear instead of nearest-neighbour resizing (no 2x2 blocks to smooth
    away); `"transposed"` uses the classic stride-2 4x4 Conv2DTranspose. `full_res_filters` = F > 0 adds one
    3x3 convolution with F filters (BatchNorm, ReLU) at 64x64 before the last one: without it, every output
    pixel is one 3x3 filter over the upsampled 32x32 map, with nothing at full resolution to draw fine lines.
    """
    if upsampling not in ("resize", "bilinear", "transposed"):
        raise ValueError(f"upsampling must be 'resize', 'bilinear' or 'transposed', got {upsampling!r}")

    def upsample(f, **kwargs):
        if upsampling == "transposed":
            return [keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", **kwargs)]
        resize = "bilinear" if upsampling == "bilinear" else "nearest"
        return [keras.layers.UpSampling2D(2, interpolation=resize),
                keras.layers.Conv2D(f, 3, padding="same", **kwargs)]

    layers = [keras.Input((latent_dim,)),
              keras.layers.Dense(4 * 4 * filters, use_bias=False),
              keras.layers.BatchNormalization(),
              keras.layers.ReLU(),
              keras.layers.Reshape((4, 4, filters))]
    for f in (filters // 2, filters // 4, filters // 8):
        layers += upsample(f, use_bias=False) + [keras.layers.BatchNormalization(), keras.layers.ReLU()]
    if full_res_filters:
        layers += upsample(full_res_filters, use_bias=False) + [keras.layers.BatchNormalization(),
                                                                keras.layers.ReLU(),
                                                                keras.layers.Conv2D(3, 3, padding="same",
                                                                                    activation="tanh")]
    else:
        layers += upsample(3, activation="tanh")
    return keras.Sequential(layers, name=name)


def build_face_discriminator(filters: int = 32, spectral_norm: bool = True, antialias: bool = False,
                             name: str = "face_discriminator"):
    """DCGAN discriminator for 64x64 RGB: stride-2 Conv F, 2F, 4F, 8F with LeakyReLU(0.2), one logit.

    64 -> 32 -> 16 -> 8 -> 4 pixels. `spectral_norm=True` (default) wraps every weight layer in
    `keras.layers.SpectralNormalization`, which divides its kernel by its largest singular value: D
    cannot grow arbitrarily steep, so it cannot win outright and G keeps a useful gradient. Without it
    (`spectral_norm=False`, the classic DCGAN) BatchNorm follows every conv but the first (normalising
    the raw pixels of a batch would tell D the batch statistics of real vs fake instead of the images).
    `antialias=True` puts a fixed 3x3 binomial blur ([1, 2, 1] / 4 along each axis, not trained) before every
    stride-2 convolution, the kind of low-pass filter StyleGAN2's D applies before downsampling, so that a stride
    does not fold fine patterns onto coarse ones. Measured much worse with this G (docs/results.md, section 7h):
    the filter's response at a period of two pixels is zero, so D cannot see a checkerboard and G draws one.
    """
    def weighted(layer):
        return keras.layers.SpectralNormalization(layer) if spectral_norm else layer

    def downsampling(f, **kwargs):
        conv = keras.layers.Conv2D(f, 4, strides=2, padding="same", **kwargs)
        return ([_binomial_blur()] if antialias else []) + [weighted(conv)]

    layers = [keras.Input(IMAGE_SHAPE), *downsampling(filters), keras.layers.LeakyReLU(negative_slope=0.2)]
    for f in (filters * 2, filters * 4, filters * 8):
        if spectral_norm:
            layers += downsampling(f)
        else:
            layers += downsampling(f, use_bias=False) + [keras.layers.BatchNormalization()]
        layers.append(keras.layers.LeakyReLU(negative_slope=0.2))
    layers += [keras.layers.Flatten(), weighted(keras.layers.Dense(1))]  # a logit: no sigmoid
    return keras.Sequential(layers, name=name)


def _binomial_blur():
    """A depthwise 3x3 convolution fixed to the binomial filter [1, 2, 1] x [1, 2, 1] / 16 (sums to 1)."""
    taps = np.array([1.0, 2.0, 1.0]) / 4.0

    def binomial(shape, dtype=None):  # (3, 3, channels, 1): the same filter on every channel
        return np.broadcast_to(np.outer(taps, taps)[:, :, None, None], shape).astype(dtype or "float32")

    return keras.layers.DepthwiseConv2D(3, padding="same", use_bias=False, depthwise_initializer=binomial,
                                        trainable=False)


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
                         real_label: float = 0.9, seed: int = 0, r1_gamma: float = 0.0, r1_every: int = 1,
                         blur_sigma: float = 0.0, blur_fade_steps: int = 0, first_step: int = 0, **options):
    """Chapter 02's GAN step (`utils.gan.make_train_step`) with this project's default real label of 0.9.

    D is updated on a real and a fake batch, then G with fresh noise (non-saturating loss, logits).
    Returns `step(real_images) -> dict(d_loss, g_loss, d_real, d_fake)`, the last two being the mean
    probabilities D gives to real and to fake images (before D's update). For `fit()`, use
    `utils.gan.GAN(generator, discriminator, latent_dim, real_label=0.9)`: the same step as `train_step`.
    `options` go to `make_train_step` (`average=` a `utils.training.WeightAverage`, `augment=`).
    `r1_every` = k > 1 is *lazy* R1 (StyleGAN2, Karras et al., 2020): the penalty only on calls 0, k, 2k, ...,
    with `r1_gamma * k` so that its average pull is unchanged; the other calls skip its second backward pass.
    Both compiled steps share one `SeedGenerator`, so the noise is that of a single step.
    `blur_sigma` > 0 is a blur schedule (docs/results.md, section 7h): every image D sees, real or fake, in D's step
    and in G's, goes through `gaussian_blur` with sigma `blur_sigma * max(0, 1 - n / blur_fade_steps)` at
    step n, counted from `first_step` (a resumed run passes the step it resumes at).
    """
    if not (isinstance(r1_every, int) and r1_every >= 1):
        raise ValueError(f"r1_every must be a whole number >= 1 (1: the penalty on every step), got {r1_every!r}")
    if blur_sigma and not (isinstance(blur_fade_steps, int) and blur_fade_steps >= 1):
        raise ValueError(f"a blur schedule needs blur_fade_steps, a whole number >= 1, got {blur_fade_steps!r}")
    if not blur_sigma:
        return _step_with_r1(generator, discriminator, g_optimizer, d_optimizer, latent_dim, real_label, seed,
                             r1_gamma, r1_every, **options)
    sigma = tf.Variable(float(blur_sigma), trainable=False)  # the compiled step reads it at every call
    augment = options.pop("augment", None)
    options["augment"] = (lambda images, seeds: gaussian_blur(augment(images, seeds) if augment else images, sigma))
    step = _step_with_r1(generator, discriminator, g_optimizer, d_optimizer, latent_dim, real_label, seed,
                         r1_gamma, r1_every, **options)
    calls = itertools.count(first_step)

    def blurred_step(real_images):
        sigma.assign(blur_sigma * max(0.0, 1.0 - next(calls) / blur_fade_steps))
        return step(real_images)

    return blurred_step


def _step_with_r1(generator, discriminator, g_optimizer, d_optimizer, latent_dim, real_label, seed, r1_gamma,
                  r1_every, **options):
    """`make_face_train_step` without the blur: one compiled step, or two for lazy R1."""
    if r1_every == 1 or not r1_gamma:
        return make_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim=latent_dim,
                               real_label=real_label, seed=seed, r1_gamma=r1_gamma, **options)
    seeds = seed if isinstance(seed, keras.random.SeedGenerator) else keras.random.SeedGenerator(seed)
    average = options.pop("average", None)
    averages = [] if average is None else list(average) if isinstance(average, (list, tuple)) else [average]

    def compiled(gamma):
        @tf.function
        def step(real_images):
            values = gan_update(generator, discriminator, g_optimizer, d_optimizer, real_images, seeds,
                                latent_dim, real_label, gamma, **options)
            for weight_average in averages:
                weight_average.update()
            return values
        return step

    penalised, plain = compiled(r1_gamma * r1_every), compiled(0.0)  # two graphs; a Python counter picks
    calls = itertools.count()
    return lambda real_images: (penalised if next(calls) % r1_every == 0 else plain)(real_images)


# ------------------------------------------------------------------------ a growing network
class _Fade(keras.layers.Layer):
    """`coarse + alpha * (fine - coarse)`: alpha (a variable the training step sets) blends in a new layer."""

    def __init__(self, alpha, **kwargs):
        super().__init__(**kwargs)
        self.alpha = alpha

    def call(self, inputs):
        coarse, fine = inputs
        return coarse + self.alpha * (fine - coarse)


@dataclass
class GrowingNetworks:
    """Chapter 06's two networks and their 32x32 companions, sharing every weight they have in common."""

    low_generator: keras.Model  # latent -> 32x32: G's layers up to 32x32, then `to_rgb` (1x1 conv, tanh)
    low_discriminator: keras.Model  # 32x32 -> logit: `from_rgb` (1x1 conv), then D's layers after 32x32
    fading_generator: keras.Model  # latent -> 64x64: upsampled `to_rgb` blended into G's last block
    fading_discriminator: keras.Model  # 64x64 -> logit: average-pooled `from_rgb` blended into D's first block
    alpha: tf.Variable  # the blend of both fading networks: 0 all coarse, 1 all fine


def growing_face_networks(generator, discriminator) -> GrowingNetworks:
    """The resolution schedule of progressive growing (Karras et al., 2018) for chapter 06's networks.

    G's layers up to 32x32 (its "trunk") with a 1x1 `to_rgb` convolution draw 32x32 faces, which D's layers
    after its first block judge behind a 1x1 `from_rgb` convolution. While the 64x64 layers fade in, G's output
    is `(1 - alpha) * upsample(to_rgb(trunk)) + alpha * last_block(trunk)` and D's first block is blended with
    `from_rgb(average_pool(x))` the same way; at alpha = 1 both are chapter 06's networks, which are unchanged
    (the companions are new models over the same layers: training them trains `generator` and `discriminator`).
    """
    if generator.output_shape[1:] != IMAGE_SHAPE or discriminator.input_shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"growing_face_networks needs chapter 06's {IMAGE_SHAPE} networks, got a generator of "
                         f"{generator.output_shape[1:]} and a discriminator of {discriminator.input_shape[1:]}")
    g_layers, d_layers = generator.layers, discriminator.layers
    # G's last block starts at its last x2 upsampling (32 -> 64); D's first block ends at its first activation
    ups = [i for i, layer in enumerate(g_layers)
           if isinstance(layer, (keras.layers.UpSampling2D, keras.layers.Conv2DTranspose))]
    acts = [i for i, layer in enumerate(d_layers) if isinstance(layer, keras.layers.LeakyReLU)]
    if not (ups and acts):
        raise ValueError("growing_face_networks splits networks built by build_face_generator and "
                         "build_face_discriminator (an upsampling layer in G, a LeakyReLU in D); these have none")
    last_up, first_act = ups[-1], acts[0]
    trunk, g_last_block = g_layers[:last_up], g_layers[last_up:]
    d_first_block, d_rest = d_layers[:first_act + 1], d_layers[first_act + 1:]
    first_conv = next(layer for layer in d_first_block if not isinstance(layer, keras.layers.DepthwiseConv2D))
    spectral = isinstance(first_conv, keras.layers.SpectralNormalization)
    filters = (first_conv.layer if spectral else first_conv).filters

    alpha = tf.Variable(0.0, trainable=False, name="fade_alpha")
    fade = _Fade(alpha, name="fade")
    to_rgb = keras.layers.Conv2D(3, 1, activation="tanh", name="to_rgb_32")
    from_rgb = keras.layers.Conv2D(filters, 1, name="from_rgb_32")
    from_rgb = keras.layers.SpectralNormalization(from_rgb) if spectral else from_rgb
    from_rgb_act = keras.layers.LeakyReLU(negative_slope=0.2)

    def chain(layers, x):
        for layer in layers:
            x = layer(x)
        return x

    z = keras.Input(generator.input_shape[1:])
    features = chain(trunk, z)
    coarse_faces = keras.layers.UpSampling2D(2)(to_rgb(features))
    low_g = keras.Model(z, to_rgb(features), name="face_generator_32")
    fading_g = keras.Model(z, fade([coarse_faces, chain(g_last_block, features)]), name="face_generator_fading")

    small, full = keras.Input((IMAGE_SIZE // 2, IMAGE_SIZE // 2, 3)), keras.Input(IMAGE_SHAPE)
    low_d = keras.Model(small, chain(d_rest, from_rgb_act(from_rgb(small))), name="face_discriminator_32")
    coarse = from_rgb_act(from_rgb(keras.layers.AveragePooling2D(2)(full)))
    fading_d = keras.Model(full, chain(d_rest, fade([coarse, chain(d_first_block, full)])),
                           name="face_discriminator_fading")
    return GrowingNetworks(low_g, low_d, fading_g, fading_d, alpha)


def make_growing_train_step(generator, discriminator, g_optimizer, d_optimizer, low_steps: int, fade_steps: int,
                            first_step: int = 0, seed: int = 0, **options):
    """`make_face_train_step` on a resolution schedule (`growing_face_networks`): 32x32 first, then 64x64.

    Calls 0 .. low_steps - 1 train the 32x32 networks on real faces average-pooled to 32x32; the next
    `fade_steps` calls the fading networks, alpha rising linearly from 0 (real faces blended the same way:
    `(1 - alpha) * upsample(pool(x)) + alpha * x`, so D never sees sharper reals than fakes); every call after
    that chapter 06's `generator` and `discriminator` themselves, with `g_optimizer` and `d_optimizer`. Each
    earlier phase gets fresh copies of the optimisers (their configuration, no state), as progressive growing
    resets Adam when the resolution changes. Steps count from `first_step` (a resumed run). `options` (R1,
    `average=` of `generator`, `augment=`...) go to every phase's `make_face_train_step`; all phases draw their
    noise from one `SeedGenerator(seed)`. Each phase's step is traced at its first call, or all three at once,
    before a timed run, by `growing_step.trace(real_images)`; `growing_step.networks` is the `GrowingNetworks`.
    """
    for name, value in (("low_steps", low_steps), ("fade_steps", fade_steps), ("first_step", first_step)):
        if not (isinstance(value, int) and value >= 0):
            raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    if options.get("blur_sigma"):
        raise ValueError("make_growing_train_step is a resolution schedule already: leave blur_sigma out")
    nets = growing_face_networks(generator, discriminator)
    seeds = keras.random.SeedGenerator(seed)

    def fresh(optimizer):  # the same class and settings, new moments
        return optimizer.__class__.from_config(optimizer.get_config())

    def phase_step(g, d, g_opt, d_opt):
        return make_face_train_step(g, d, g_opt, d_opt, seed=seeds, **options)

    low = phase_step(nets.low_generator, nets.low_discriminator, fresh(g_optimizer), fresh(d_optimizer))
    fading = phase_step(nets.fading_generator, nets.fading_discriminator, fresh(g_optimizer), fresh(d_optimizer))
    full = phase_step(generator, discriminator, g_optimizer, d_optimizer)
    calls = itertools.count(first_step)

    def growing_step(real_images):
        n = next(calls)
        if n >= low_steps + fade_steps:
            return full(real_images)
        pooled = tf.nn.avg_pool2d(real_images, 2, 2, "VALID")
        if n < low_steps:
            return low(pooled)
        nets.alpha.assign((n - low_steps) / fade_steps)
        coarse = tf.image.resize(pooled, tf.shape(real_images)[1:3], method="nearest")
        return fading(coarse + nets.alpha * (real_images - coarse))

    def trace(real_images):
        """Compile every phase's step for batches like `real_images` without running one (nothing trains)."""
        pooled = tf.nn.avg_pool2d(real_images, 2, 2, "VALID")
        for step, batch in ((low, pooled), (fading, real_images), (full, real_images)):
            if hasattr(step, "get_concrete_function"):  # lazy R1's pair of steps is traced at its first calls
                step.get_concrete_function(tf.TensorSpec(batch.shape, batch.dtype))

    growing_step.networks, growing_step.trace = nets, trace
    return growing_step


# -------------------------------------------------------------------------------- augmentation
def diff_augment(images, seeds, policy: str = "translation,cutout"):
    """Differentiable augmentation (Zhao et al., 2020) of a batch in [-1, 1], a new draw per image.

    `utils.gan.gan_update(augment=...)` applies it to real *and* generated images before D, in D's step and in G's,
    so D never learns the augmentation as a sign of "real" and G's gradient flows through it. Policies,
    comma-separated: `translation` (shift by up to 1/8 of the size, edges repeated), `cutout` (zero a
    square of half the size), `color` (brightness, saturation, contrast; RGB only).
    """
    x = tf.convert_to_tensor(images, tf.float32)
    b, h, w = tf.shape(x)[0], x.shape[1], x.shape[2]

    def uniform(low, high, dtype="float32", shape=None):
        draw = keras.random.uniform if dtype == "float32" else keras.random.randint
        return draw(shape or (b, 1, 1, 1), low, high, seed=seeds, dtype=dtype)

    for name in (part.strip() for part in policy.split(",")):
        if name == "color":
            x = x + uniform(-0.5, 0.5)
            mean = tf.reduce_mean(x, axis=3, keepdims=True)
            x = (x - mean) * uniform(0.0, 2.0) + mean
            mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
            x = (x - mean) * uniform(0.5, 1.5) + mean
        elif name == "translation":
            # shifts in [-s, s] with s = h/8 rounded, as Zhao et al.'s code (-h // 8 would be -4..3 for 28)
            sh, sw = int(h / 8 + 0.5), int(w / 8 + 0.5)
            rows = tf.clip_by_value(tf.range(h)[None, :] + uniform(-sh, sh + 1, "int32", (b, 1)), 0, h - 1)
            cols = tf.clip_by_value(tf.range(w)[None, :] + uniform(-sw, sw + 1, "int32", (b, 1)), 0, w - 1)
            x = tf.gather(tf.gather(x, rows, axis=1, batch_dims=1), cols, axis=2, batch_dims=1)
        elif name == "cutout":
            # a square of exactly half the size (|i - c| <= h // 4 would be 15 of 28 rows), clipped at the border
            sh, sw = int(h / 2 + 0.5), int(w / 2 + 0.5)
            top = uniform(0, h + 1 - sh % 2, "int32", (b, 1, 1)) - sh // 2
            left = uniform(0, w + 1 - sw % 2, "int32", (b, 1, 1)) - sw // 2
            dy, dx = tf.range(h)[None, :, None] - top, tf.range(w)[None, None, :] - left
            outside = (dy < 0) | (dy >= sh) | (dx < 0) | (dx >= sw)
            x = x * tf.cast(outside, x.dtype)[..., None]
        else:
            raise ValueError(f"unknown augmentation {name!r}: use translation, cutout and/or color")
    return x


def gaussian_blur(images, sigma, radius: int = 6):
    """Blur a batch (N, H, W, C) with a Gaussian of `sigma` pixels (a number or a scalar tensor), cut at `radius`.

    Differentiable and separable (one pass along each axis), edges mirrored so the border does not darken.
    `sigma` 0 returns the images unchanged (the kernel is then exactly one tap), so one compiled step can fade
    the blur out by changing a `tf.Variable`: a blur schedule (StyleGAN3, Karras et al., 2021, blurs every image
    D sees at the start of training and fades it), where D first judges only the coarse layout of a face.
    """
    x = tf.convert_to_tensor(images, tf.float32)
    if x.shape.rank != 4 or any(size is not None and size <= radius for size in x.shape[1:3]):
        raise ValueError(f"gaussian_blur takes a batch (N, H, W, C) with H and W > radius {radius}, got {x.shape}")
    channels = x.shape[-1]
    offsets = tf.range(-radius, radius + 1, dtype=tf.float32)
    sigma = tf.maximum(tf.cast(sigma, tf.float32), 1e-2)  # exp(-1 / (2 * 1e-4)) is exactly 0 in float32
    taps = tf.exp(-0.5 * tf.square(offsets / sigma))
    taps = taps / tf.reduce_sum(taps)
    x = tf.pad(x, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    along_rows = tf.tile(tf.reshape(taps, (-1, 1, 1, 1)), [1, 1, channels, 1])
    along_cols = tf.reshape(along_rows, (1, -1, channels, 1))
    x = tf.nn.depthwise_conv2d(x, along_rows, strides=[1, 1, 1, 1], padding="VALID")
    return tf.nn.depthwise_conv2d(x, along_cols, strides=[1, 1, 1, 1], padding="VALID")


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


# -------------------------------------------------------------------------------------- helpers
def clear_folder(folder) -> None:
    """Delete a folder of artifacts (used by tests and by the chapter's "start over" cell)."""
    folder = Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
