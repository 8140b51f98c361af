"""GAN building blocks shared by chapters 02 (GAN), 03 (DCGAN) and later chapters.

Everything here works with logits (no sigmoid at the end of a discriminator) and Keras 3:

- losses: `discriminator_loss`, `generator_loss` (non-saturating), `saturating_generator_loss`,
  `r1_penalty` (a gradient penalty on real images for D);
- reference networks: `build_mlp_generator/discriminator` (chapter 02),
  `build_dcgan_generator/discriminator` (chapter 03);
- training: `make_train_step` (an explicit `tf.GradientTape` step under `tf.function`),
  `GAN` (a `keras.Model` subclass whose `train_step` lets you call `fit()`),
  `GANProgress` (a callback that draws a fixed-noise grid), `EpochProgressBar` (tqdm over epochs),
  `TimeBudget` (stops `fit` on time);
- small tools: `sample_latent`, `generate`, `weights_snapshot`, `max_change`.

Generators map standard-normal vectors of shape (N, latent_dim) to images in [-1, 1] of shape
(N, 28, 28, 1); they use only built-in layers, so `keras.models.load_model` loads them in safe mode.
"""

from __future__ import annotations

import time

import keras
import numpy as np
import tensorflow as tf

LATENT_DIM = 100
IMAGE_SHAPE = (28, 28, 1)


# ----------------------------------------------------------------------------------------- losses
def _bce_logits(labels, logits):
    return tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits)


def discriminator_loss(real_logits, fake_logits, real_label: float = 1.0):
    """-[log D(x) + log(1 - D(G(z)))], batch means, from logits.

    `real_label` < 1 (e.g. 0.9) is one-sided label smoothing: real images get a soft target; fakes
    keep target 0.
    """
    real_logits = tf.convert_to_tensor(real_logits, tf.float32)
    fake_logits = tf.convert_to_tensor(fake_logits, tf.float32)
    real = tf.reduce_mean(_bce_logits(tf.fill(tf.shape(real_logits), real_label), real_logits))
    fake = tf.reduce_mean(_bce_logits(tf.zeros_like(fake_logits), fake_logits))
    return real + fake


def generator_loss(fake_logits):
    """Non-saturating generator loss -log D(G(z)) = softplus(-logit), batch mean."""
    fake_logits = tf.convert_to_tensor(fake_logits, tf.float32)
    return tf.reduce_mean(_bce_logits(tf.ones_like(fake_logits), fake_logits))


def r1_penalty(discriminator, real_images):
    """The R1 regulariser E ||grad_x D(x)||^2 over real images, with D(x) the logit (Mescheder et al., 2018).

    Add `r1_gamma / 2 * r1_penalty(discriminator, real_images)` to D's loss *inside* D's GradientTape: that
    tape then differentiates through this inner gradient (a second backward pass through D).
    """
    real_images = tf.convert_to_tensor(real_images, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(real_images)
        logit_sum = tf.reduce_sum(discriminator(real_images, training=True))
    grads = tape.gradient(logit_sum, real_images)
    per_image = tf.reduce_sum(tf.reshape(tf.square(grads), (tf.shape(grads)[0], -1)), axis=1)
    return tf.reduce_mean(per_image)


def saturating_generator_loss(fake_logits):
    """The minimax generator loss log(1 - D(G(z))) = -softplus(logit): its gradient vanishes early on."""
    fake_logits = tf.convert_to_tensor(fake_logits, tf.float32)
    return -tf.reduce_mean(_bce_logits(tf.zeros_like(fake_logits), fake_logits))


# ------------------------------------------------------------------------------- reference networks
def build_mlp_generator(latent_dim: int = LATENT_DIM, hidden: tuple = (256, 512), name="mlp_generator"):
    """Chapter 02's corrected MLP generator: Dense+LeakyReLU layers, then 784 tanh units reshaped."""
    layers = [keras.Input((latent_dim,))]
    for units in hidden:
        layers += [keras.layers.Dense(units), keras.layers.LeakyReLU(negative_slope=0.2)]
    layers += [keras.layers.Dense(int(np.prod(IMAGE_SHAPE)), activation="tanh"), keras.layers.Reshape(IMAGE_SHAPE)]
    return keras.Sequential(layers, name=name)


def build_mlp_discriminator(hidden: tuple = (512, 256), dropout: float = 0.3, name="mlp_discriminator"):
    """Chapter 02's corrected MLP discriminator: Flatten, Dense+LeakyReLU(+Dropout), one logit."""
    layers = [keras.Input(IMAGE_SHAPE), keras.layers.Flatten()]
    for units in hidden:
        layers += [keras.layers.Dense(units), keras.layers.LeakyReLU(negative_slope=0.2)]
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(1))  # a logit: no sigmoid
    return keras.Sequential(layers, name=name)


def build_dcgan_generator(latent_dim: int = LATENT_DIM, filters: int = 64, name="dcgan_generator"):
    """Chapter 03's CPU-sized DCGAN generator: Dense -> 7x7xF, ConvT F/2 (14x14), ConvT 1 (28x28) tanh.

    F = 64 is the chapter's measured recipe: on 2 CPU cores more steps of a narrow network beat fewer of a wide one.
    """
    return keras.Sequential([
        keras.Input((latent_dim,)),
        keras.layers.Dense(7 * 7 * filters, use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(),
        keras.layers.Reshape((7, 7, filters)),
        keras.layers.Conv2DTranspose(filters // 2, 4, strides=2, padding="same", use_bias=False),
        keras.layers.BatchNormalization(),
        keras.layers.ReLU(),
        keras.layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh"),
    ], name=name)


def build_dcgan_discriminator(filters: int = 32, dropout: float = 0.0, name="dcgan_discriminator"):
    """Chapter 03's DCGAN discriminator: strided Conv F (14x14) -> Conv 2F (7x7) -> one logit.

    The defaults are the chapter's measured recipe (32/64 filters, no dropout): a small D keeps pace with
    the small generator. `dropout` > 0 adds Dropout after each convolution (the TF tutorial uses 0.3).
    """
    layers = [keras.Input(IMAGE_SHAPE)]
    for f in (filters, filters * 2):
        layers += [keras.layers.Conv2D(f, 4, strides=2, padding="same"), keras.layers.LeakyReLU(negative_slope=0.2)]
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers += [keras.layers.Flatten(), keras.layers.Dense(1)]
    return keras.Sequential(layers, name=name)


# ------------------------------------------------------------------------------------ small tools
def sample_latent(n: int, latent_dim: int = LATENT_DIM, seed: int = 0) -> np.ndarray:
    """A fixed batch of standard-normal latent vectors (float32), e.g. for a progress grid."""
    return np.random.default_rng(seed).standard_normal((n, latent_dim)).astype("float32")


def generate(generator, n: int, seed: int = 0, batch_size: int = 500) -> np.ndarray:
    """n images from a generator (inference mode), as a NumPy array in [-1, 1]."""
    latent_dim = int(generator.inputs[0].shape[-1])
    z = sample_latent(n, latent_dim, seed)
    return np.concatenate([np.asarray(generator(z[i:i + batch_size], training=False))
                           for i in range(0, n, batch_size)])


def weights_snapshot(model) -> list[np.ndarray]:
    """Copies of a model's trainable weights (to compare before/after a step)."""
    return [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]


def max_change(before: list[np.ndarray], model) -> float:
    """Largest absolute change of any trainable weight since `weights_snapshot`."""
    after = model.trainable_weights
    if len(after) != len(before):
        raise ValueError("the model's trainable weights changed in number since the snapshot")
    return float(max((np.abs(keras.ops.convert_to_numpy(a) - b).max() for a, b in zip(after, before)), default=0.0))


# --------------------------------------------------------------------------------------- training
def make_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim: int = LATENT_DIM,
                    real_label: float = 1.0, seed: int = 0, r1_gamma: float = 0.0):
    """One full GAN step as a `tf.function`: update D on real and fake, then G with fresh noise.

    `r1_gamma` > 0 adds the R1 penalty `r1_gamma / 2 * r1_penalty(D, real)` to D's loss (chapter 03 uses 1).
    Returns `step(real_images) -> dict(d_loss, g_loss, d_real, d_fake)` where d_loss is the logistic loss
    alone (without the penalty, so it reads as in chapter 02) and d_real and d_fake are the batch means of
    D(x) and D(G(z)) (probabilities, for monitoring).
    """
    seeds = keras.random.SeedGenerator(seed)

    @tf.function
    def step(real_images):
        batch = tf.shape(real_images)[0]
        z = keras.random.normal((batch, latent_dim), seed=seeds)
        with tf.GradientTape() as tape:
            fake = generator(z, training=True)
            real_logits = discriminator(real_images, training=True)
            fake_logits = discriminator(fake, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, real_label)
            d_total = d_loss + 0.5 * r1_gamma * r1_penalty(discriminator, real_images) if r1_gamma else d_loss
        grads = tape.gradient(d_total, discriminator.trainable_variables)
        d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))

        z = keras.random.normal((batch, latent_dim), seed=seeds)
        with tf.GradientTape() as tape:
            fake_logits_g = discriminator(generator(z, training=True), training=True)
            g_loss = generator_loss(fake_logits_g)
        grads = tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss,
                "d_real": tf.reduce_mean(tf.sigmoid(real_logits)), "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}

    return step


class GAN(keras.Model):
    """A GAN you train with `fit()`: `train_step` updates D, then G, with the non-saturating loss.

    gan = GAN(generator, discriminator, latent_dim=100)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), g_optimizer=...)
    gan.fit(dataset_of_real_images, epochs=10)

    Only the generator is meant to be saved (`gan.generator.save(...)`); the wrapper is not.
    """

    def __init__(self, generator, discriminator, latent_dim: int = LATENT_DIM, real_label: float = 1.0,
                 seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.real_label = real_label
        self.seeds = keras.random.SeedGenerator(seed)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("d_loss", "g_loss", "d_real", "d_fake")}

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    @property
    def metrics(self):
        return list(self.trackers.values())  # listed here so fit() resets them every epoch

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def train_step(self, data):
        real_images = data[0] if isinstance(data, (tuple, list)) else data
        batch = tf.shape(real_images)[0]
        z = keras.random.normal((batch, self.latent_dim), seed=self.seeds)
        with tf.GradientTape() as tape:
            fake = self.generator(z, training=True)
            real_logits = self.discriminator(real_images, training=True)
            fake_logits = self.discriminator(fake, training=True)
            d_loss = discriminator_loss(real_logits, fake_logits, self.real_label)
        d_vars = self.discriminator.trainable_variables
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))

        z = keras.random.normal((batch, self.latent_dim), seed=self.seeds)
        with tf.GradientTape() as tape:
            g_loss = generator_loss(self.discriminator(self.generator(z, training=True), training=True))
        g_vars = self.generator.trainable_variables
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))

        values = {"d_loss": d_loss, "g_loss": g_loss, "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
                  "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class GANProgress(keras.callbacks.Callback):
    """Draws the generator's output for a fixed batch of noise every `every` epochs.

    Works with `GAN` (uses `model.generator`). In Jupyter it updates one figure in place (losses +
    grid); headless it prints a short line. The grids are kept in `snapshots` (epoch -> images).
    """

    def __init__(self, fixed_noise, every: int = 1, title: str = "DCGAN", display=None):
        super().__init__()
        self.fixed_noise = np.asarray(fixed_noise, dtype="float32")
        self.every = max(1, int(every))
        self.snapshots: dict[int, np.ndarray] = {}
        if display is None:
            from .plotting import LiveTrainingDisplay

            display = LiveTrainingDisplay(title, min_interval=float("inf"))  # redraw only with a new grid
        self.display = display

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        images = None
        if (epoch + 1) % self.every == 0 or epoch == 0:
            images = np.asarray(self.model.generator(self.fixed_noise, training=False))
            self.snapshots[epoch + 1] = images
        self.display.update(epoch + 1, logs, images=images, force=images is not None)


class EpochProgressBar(keras.callbacks.Callback):
    """A tqdm progress bar over epochs for `fit(verbose=0)`, showing the latest losses."""

    def __init__(self, epochs: int, desc: str = "training", keys=("d_loss", "g_loss", "d_real", "d_fake")):
        super().__init__()
        self.epochs, self.desc, self.keys = epochs, desc, keys

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.epochs, desc=self.desc, unit="epoch")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        self.bar.set_postfix({k: f"{float(logs[k]):.3f}" for k in self.keys if k in logs})
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()


class TimeBudget(keras.callbacks.Callback):
    """Stops `fit()` once `seconds` of wall-clock time have passed (checked after every batch)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = float(seconds)
        self.stopped_early = False

    def on_train_begin(self, logs=None):
        self.start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if time.perf_counter() - self.start > self.seconds:
            self.model.stop_training = True
            self.stopped_early = True


# ---------------------------------------------------------------------------------- a quick quality check
def train_digit_classifier(x_train, y_train, epochs: int = 3, seed: int = 0):
    """A small CNN digit classifier on images in [-1, 1] (N, 28, 28, 1): a judge for generated digits.

    Chapter 07 builds proper metrics (classifier-FID and friends); this is the quick check used before.
    """
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([
        keras.Input(IMAGE_SHAPE),
        keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(10),
    ], name="digit_judge")
    model.compile(optimizer=keras.optimizers.Adam(1e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=128, epochs=epochs, verbose=0)
    return model


def digit_quality(classifier, images) -> dict:
    """How digit-like and how varied generated images look to a classifier.

    confidence: mean top-class probability (real test digits score about 0.95-0.98; noise far less);
    class_entropy: entropy (nats) of the histogram of predicted classes (log 10 = 2.30 when all ten
    digits are equally frequent; low values mean mode collapse); classes: digits predicted at least
    1% of the time.
    """
    logits = classifier.predict(np.asarray(images, dtype="float32"), batch_size=500, verbose=0)
    probs = tf.nn.softmax(logits).numpy()
    counts = np.bincount(probs.argmax(1), minlength=10) / len(probs)
    nonzero = counts[counts > 0]
    return {"confidence": float(probs.max(1).mean()),
            "class_entropy": float(-(nonzero * np.log(nonzero)).sum()),
            "classes": int((counts >= 0.01).sum())}
