"""GAN building blocks: chapter 02 (GAN, sections 4-5) and chapter 03 (DCGAN, sections 2-3) teach them.

Everything here works with logits (no sigmoid at the end of a discriminator) and Keras 3:

- losses (chapter 02, section 5): `discriminator_loss`, `generator_loss` (non-saturating),
  `saturating_generator_loss`; `r1_penalty`, a gradient penalty on real images for D (chapter 03);
- reference networks: `build_mlp_generator/discriminator` (chapter 02, section 4),
  `build_dcgan_generator/discriminator` (chapter 03, section 2);
- training: `gan_update`, the one GAN update of the course; `make_train_step` (it, as a
  `tf.function`), `GAN` (a `keras.Model` whose `train_step` is it, for `fit()`), and `GANProgress`
  (a callback that draws a fixed-noise grid). Progress bars, time budgets, weight averages:
  `utils.training`;
- small tools: `sample_latent`, `generate`.

Generators map standard-normal vectors of shape (N, latent_dim) to images in [-1, 1] of shape
(N, 28, 28, 1); they use only built-in layers, so `keras.models.load_model` loads them in safe mode.
"""

from __future__ import annotations

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


# --------------------------------------------------------------------------------------- training
def _replica_share(loss):
    """A replica's share of a batch-mean loss: loss / N under a `tf.distribute` strategy of N replicas.

    The optimizer sums the replicas' gradients, so the sum is then the gradient of the global batch's
    mean (as `tf.nn.compute_average_loss` and Keras' own losses do). One replica: unchanged."""
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


def gan_update(generator, discriminator, g_optimizer, d_optimizer, real_images, seeds,
               latent_dim: int = LATENT_DIM, real_label: float = 1.0, r1_gamma: float = 0.0,
               d_loss_fn=discriminator_loss, g_loss_fn=generator_loss) -> dict:
    """The course's one GAN update (chapter 02, section 5): D on real and fake, then G with fresh noise.

    `make_train_step` compiles it, `GAN.train_step` calls it, the checkers compare learners' steps with
    it. Both latent batches come from `seeds` (a `keras.random.SeedGenerator`), D's first, so two runs
    from the same seed see the same noise. `real_label` < 1 is one-sided label smoothing (default D
    loss only); `r1_gamma` > 0 adds `r1_gamma / 2 * r1_penalty(D, real)` to D's loss (chapter 03);
    `d_loss_fn(real_logits, fake_logits)` and `g_loss_fn(fake_logits)` swap the losses (e.g. LSGAN).
    Returns d_loss (without the penalty), g_loss, and d_real, d_fake: batch means of D(x) and D(G(z)).
    Under a `tf.distribute` strategy each replica differentiates its losses divided by the number of
    replicas (`_replica_share`): N replicas then make one device's update on one global batch.
    """
    batch = tf.shape(real_images)[0]
    z = keras.random.normal((batch, latent_dim), seed=seeds)
    with tf.GradientTape() as tape:
        real_logits = discriminator(real_images, training=True)
        fake_logits = discriminator(generator(z, training=True), training=True)
        if d_loss_fn is discriminator_loss:
            d_loss = discriminator_loss(real_logits, fake_logits, real_label)
        else:
            d_loss = d_loss_fn(real_logits, fake_logits)
        d_total = d_loss + 0.5 * r1_gamma * r1_penalty(discriminator, real_images) if r1_gamma else d_loss
        d_total = _replica_share(d_total)
    d_vars = discriminator.trainable_variables
    d_optimizer.apply_gradients(zip(tape.gradient(d_total, d_vars), d_vars))

    z = keras.random.normal((batch, latent_dim), seed=seeds)
    with tf.GradientTape() as tape:
        g_loss = g_loss_fn(discriminator(generator(z, training=True), training=True))
        g_share = _replica_share(g_loss)
    g_vars = generator.trainable_variables
    g_optimizer.apply_gradients(zip(tape.gradient(g_share, g_vars), g_vars))
    return {"d_loss": d_loss, "g_loss": g_loss,
            "d_real": tf.reduce_mean(tf.sigmoid(real_logits)),
            "d_fake": tf.reduce_mean(tf.sigmoid(fake_logits))}


def make_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim: int = LATENT_DIM,
                    real_label: float = 1.0, seed: int = 0, r1_gamma: float = 0.0, average=None, **options):
    """`gan_update` as a `tf.function`: returns `step(real_images) -> dict(d_loss, g_loss, d_real, d_fake)`.

    Its noise comes from `SeedGenerator(seed)`, repeatable (or `seed` itself, one shared with other steps). `options`:
    `d_loss_fn`, `g_loss_fn`; `average`: a `utils.training.WeightAverage` of G (or a list), after every step.
    """
    seeds = seed if isinstance(seed, keras.random.SeedGenerator) else keras.random.SeedGenerator(seed)
    averages = [] if average is None else list(average) if isinstance(average, (list, tuple)) else [average]

    @tf.function
    def step(real_images):
        values = gan_update(generator, discriminator, g_optimizer, d_optimizer, real_images, seeds,
                            latent_dim, real_label, r1_gamma, **options)
        for weight_average in averages:
            weight_average.update()
        return values

    return step


class GAN(keras.Model):
    """A GAN you train with `fit()`: `train_step` is `gan_update` (chapter 03, section 3).

    gan = GAN(generator, discriminator, latent_dim=100, r1_gamma=1.0)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5), g_optimizer=...)
    gan.fit(dataset_of_real_images, epochs=10)

    Only the generator is meant to be saved (`gan.generator.save(...)`); the wrapper is not.
    """

    def __init__(self, generator, discriminator, latent_dim: int = LATENT_DIM, real_label: float = 1.0,
                 r1_gamma: float = 0.0, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim, self.real_label, self.r1_gamma = latent_dim, real_label, r1_gamma
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
        values = gan_update(self.generator, self.discriminator, self.g_optimizer, self.d_optimizer,
                            real_images, self.seeds, self.latent_dim, self.real_label, self.r1_gamma)
        for name, value in values.items():
            self.trackers[name].update_state(value)
        return {name: tracker.result() for name, tracker in self.trackers.items()}


class GANProgress(keras.callbacks.Callback):
    """Every `every` epochs, `GAN`'s generator on fixed noise: one figure redrawn in place in Jupyter
    (losses and grid), a short line headless; the grids are kept in `snapshots` (epoch -> images)."""

    def __init__(self, fixed_noise, every: int = 1, title: str = "DCGAN", display=None):
        super().__init__()
        self.fixed_noise = np.asarray(fixed_noise, dtype="float32")
        self.every = max(1, int(every))
        self.snapshots: dict[int, np.ndarray] = {}
        if display is None:
            from .plotting import LiveTrainingDisplay

            # redraw only with a new grid; a GAN draws in [-1, 1]
            display = LiveTrainingDisplay(title, min_interval=float("inf"), value_range="tanh")
        self.display = display

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        images = None
        if (epoch + 1) % self.every == 0 or epoch == 0:
            images = np.asarray(self.model.generator(self.fixed_noise, training=False))
            self.snapshots[epoch + 1] = images
        self.display.update(epoch + 1, logs, images=images, force=images is not None)
