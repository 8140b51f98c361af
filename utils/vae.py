"""Variational autoencoder building blocks: chapter 04 (sections 2 and 4-6) teaches them, chapter 05 reuses them.

Everything here is Keras 3: no `Lambda` layers (saved models load with plain `keras.models.load_model`),
no `add_loss`/`add_metric` on symbolic tensors, randomness through `keras.random` with a `SeedGenerator`,
and a decoder that returns Bernoulli *logits* so the loss can use the numerically stable
`from_logits=True` form.

Conventions (also in the notebooks):
- images are float32 (N, 28, 28, 1) in [0, 1]; the likelihood is Bernoulli, so training targets should
  be binary (dynamic binarisation during training, a 0.5 threshold for the held-out evaluation);
- the encoder maps images to `[z_mean, z_log_var]`, each (N, latent_dim);
- the decoder maps z (N, latent_dim) to logits (N, 28, 28, 1);
- every loss is per image in nats: the reconstruction term is a **sum** over the 784 pixels and the
  KL term a **sum** over the latent dimensions; the batch loss is their mean over images.
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import layers, ops

IMAGE_SHAPE = (28, 28, 1)


# ---------------------------------------------------------------- the reparameterisation trick
@keras.saving.register_keras_serializable(package="course")
class Sampling(layers.Layer):
    """z = mean + exp(log_var / 2) * eps with eps ~ N(0, I): the reparameterisation trick.

    The noise comes from `keras.random.normal` driven by this layer's own `SeedGenerator`, so it is
    fresh on every call (also inside a compiled `train_step`) and repeatable from `seed`. Gradients flow
    to both `mean` and `log_var` because the randomness is an input to a differentiable expression,
    not a sampling step in the middle of the graph.
    """

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator, dtype=z_mean.dtype)
        return z_mean + ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


# ---------------------------------------------------------------- the two terms of the ELBO
def kl_divergence(z_mean, z_log_var):
    """KL(N(mean, exp(log_var)) || N(0, I)) per example, summed over latent dimensions -> (N,).

    Closed form: 0.5 * sum(mean^2 + exp(log_var) - log_var - 1). It is never negative.
    """
    return 0.5 * ops.sum(ops.square(z_mean) + ops.exp(z_log_var) - z_log_var - 1.0, axis=-1)


def bernoulli_reconstruction(x, logits):
    """-log p(x | z) for a Bernoulli decoder, per image, summed over pixels -> (N,).

    Uses the stable form of binary cross-entropy on logits: max(l, 0) - l * x + log(1 + exp(-|l|)).
    """
    x = ops.cast(x, logits.dtype)
    per_pixel = ops.maximum(logits, 0.0) - logits * x + ops.log1p(ops.exp(-ops.abs(logits)))
    return ops.sum(ops.reshape(per_pixel, (ops.shape(per_pixel)[0], -1)), axis=-1)


def negative_elbo(x, logits, z_mean, z_log_var, beta=1.0):
    """Mean over the batch of reconstruction + beta * KL, in nats per image (beta=1: the -ELBO)."""
    return ops.mean(bernoulli_reconstruction(x, logits) + beta * kl_divergence(z_mean, z_log_var))


# ---------------------------------------------------------------- encoder and decoder
def build_encoder(latent_dim: int = 16, filters=(32, 64), hidden: int = 256, name: str = "encoder"):
    """Conv encoder: (N, 28, 28, 1) in [0, 1] -> [z_mean, z_log_var], each (N, latent_dim).

    Two stride-2 convolutions (28 -> 14 -> 7), a dense layer, then two linear heads. The log-variance
    head is linear too: a log-variance can be any real number (a relu there would force variance >= 1).
    """
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = inputs
    for f in filters:
        x = layers.Conv2D(f, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.Flatten()(x)
    if hidden:
        x = layers.Dense(hidden, activation="relu")(x)
    z_mean = layers.Dense(latent_dim, name="z_mean")(x)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(x)
    return keras.Model(inputs, [z_mean, z_log_var], name=name)


def build_decoder(latent_dim: int = 16, filters=(64, 32), hidden: int = 256, name: str = "decoder"):
    """Conv decoder: z (N, latent_dim) -> Bernoulli logits (N, 28, 28, 1), no sigmoid.

    Dense to 7*7*filters[0] (sizes chosen so the Reshape matches), then two stride-2 transposed
    convolutions (7 -> 14 -> 28) and a 1-channel convolution that outputs logits.
    """
    inputs = keras.Input(shape=(latent_dim,), name="z")
    x = inputs
    if hidden:
        x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dense(7 * 7 * filters[0], activation="relu")(x)
    x = layers.Reshape((7, 7, filters[0]))(x)
    for f in filters:
        x = layers.Conv2DTranspose(f, 3, strides=2, padding="same", activation="relu")(x)
    logits = layers.Conv2D(1, 3, padding="same", name="logits")(x)
    return keras.Model(inputs, logits, name=name)


# ---------------------------------------------------------------- the VAE as a keras.Model subclass
@keras.saving.register_keras_serializable(package="course")
class VAE(keras.Model):
    """Encoder + Sampling + decoder, trained on the negative ELBO with `fit()`.

    `train_step`/`test_step` compute the loss explicitly (no `add_loss`). Trackers report, per image in
    nats: `loss` (reconstruction + beta * KL, what is optimised), `reconstruction`, `kl` and `neg_elbo`
    (reconstruction + KL, the bound itself, whatever beta is). `beta` is a non-trainable variable so a
    callback (`KLWarmup`) can change it while training.
    """

    def __init__(self, encoder, decoder, beta: float = 1.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder
        self.decoder = decoder
        self.sampling = Sampling(seed=seed, name="sampling")
        self.beta = keras.Variable(float(beta), trainable=False, name="beta", dtype="float32")
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")
        self.elbo_tracker = keras.metrics.Mean(name="neg_elbo")

    @property
    def metrics(self):
        return [self.loss_tracker, self.reconstruction_tracker, self.kl_tracker, self.elbo_tracker]

    def call(self, x, training=False):
        z_mean, z_log_var = self.encoder(x, training=training)
        z = self.sampling([z_mean, z_log_var])
        return self.decoder(z, training=training)

    def compute_terms(self, x, training=False):
        """Per-image reconstruction and KL (each (N,)) and the batch loss, the mean of rec + beta * KL."""
        z_mean, z_log_var = self.encoder(x, training=training)
        logits = self.decoder(self.sampling([z_mean, z_log_var]), training=training)
        rec, kl = bernoulli_reconstruction(x, logits), kl_divergence(z_mean, z_log_var)
        return rec, kl, ops.mean(rec + ops.cast(self.beta, rec.dtype) * kl)

    def _update(self, loss, rec, kl):
        self.loss_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(ops.mean(rec))
        self.kl_tracker.update_state(ops.mean(kl))
        self.elbo_tracker.update_state(ops.mean(rec + kl))
        return {m.name: m.result() for m in self.metrics}

    def train_step(self, data):
        import tensorflow as tf

        x = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            rec, kl, loss = self.compute_terms(x, training=True)
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights))
        return self._update(loss, rec, kl)

    def test_step(self, data):
        x = data[0] if isinstance(data, (tuple, list)) else data
        rec, kl, loss = self.compute_terms(x, training=False)
        return self._update(loss, rec, kl)


class KLWarmup(keras.callbacks.Callback):
    """Raise the VAE's beta linearly from `start` to `target` over the first `epochs` epochs.

    Early in training the KL term can push every posterior onto the prior before the decoder has
    learned to use z; warming it up lets the latent code carry information first.
    """

    def __init__(self, epochs: int, target: float = 1.0, start: float = 0.0):
        super().__init__()
        self.epochs, self.target, self.start = max(int(epochs), 0), float(target), float(start)

    def beta_at(self, epoch: int) -> float:
        """The beta used during epoch `epoch` (0-based)."""
        if self.epochs == 0:
            return self.target
        frac = min(1.0, (epoch + 1) / self.epochs)
        return self.start + frac * (self.target - self.start)

    def on_epoch_begin(self, epoch, logs=None):
        self.model.beta.assign(self.beta_at(epoch))


# ---------------------------------------------------------------- evaluation in nats
def _log_normal(z, mean, log_var):
    return -0.5 * np.sum(np.log(2 * np.pi) + log_var + (z - mean) ** 2 / np.exp(log_var), axis=-1)


def _bernoulli_log_lik(x, logits):
    """log p(x | z) per image in float64 NumPy: the negative of `bernoulli_reconstruction`."""
    x, logits = ops.convert_to_tensor(x, "float64"), ops.convert_to_tensor(logits, "float64")
    return -ops.convert_to_numpy(bernoulli_reconstruction(x, logits))


def elbo_nats(encoder, decoder, x_binary, samples: int = 1, importance_samples: int = 0,
              batch_size: int = 500, seed: int = 0) -> dict:
    """Held-out bounds in nats per image (lower is better) for binary images (N, 28, 28, 1).

    Returns a dict with `neg_elbo` (mean of reconstruction + KL, the reconstruction averaged over
    `samples` draws of z), `reconstruction`, `kl`, and, when `importance_samples` = K > 0, `neg_iwae`:
    the importance-weighted bound -log mean_k p(x, z_k) / q(z_k | x), which is tighter (smaller).
    Noise comes from a NumPy generator seeded with `seed`, so the figure is repeatable.
    """
    x_binary = np.asarray(x_binary, dtype="float32")
    if x_binary.ndim == 3:
        x_binary = x_binary[..., None]
    if x_binary.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"expected images of shape (N, 28, 28, 1), got {x_binary.shape}")
    if not np.all((x_binary == 0) | (x_binary == 1)):
        raise ValueError("elbo_nats expects binary images (0/1): binarise first, e.g. utils.binarize(x, 0.5)")
    rng = np.random.default_rng(seed)
    recs, kls, iwaes = [], [], []
    for start in range(0, len(x_binary), batch_size):
        xb = x_binary[start:start + batch_size]
        mean, log_var = (np.asarray(t, dtype="float64") for t in encoder.predict(xb, verbose=0))
        kls.append(ops.convert_to_numpy(kl_divergence(mean, log_var)))
        rec = np.zeros(len(xb))
        for _ in range(max(samples, 1)):
            z = mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape)
            logits = np.asarray(decoder.predict(z.astype("float32"), verbose=0), dtype="float64")
            rec += -_bernoulli_log_lik(xb, logits)
        recs.append(rec / max(samples, 1))
        if importance_samples:
            log_w = np.zeros((importance_samples, len(xb)))
            for k in range(importance_samples):
                z = mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape)
                logits = np.asarray(decoder.predict(z.astype("float32"), verbose=0), dtype="float64")
                log_w[k] = (_bernoulli_log_lik(xb, logits) + _log_normal(z, 0.0, np.zeros_like(z))
                            - _log_normal(z, mean, log_var))
            top = log_w.max(axis=0)
            iwaes.append(-(top + np.log(np.mean(np.exp(log_w - top), axis=0))))
    rec, kl = np.concatenate(recs), np.concatenate(kls)
    result = {"neg_elbo": float(np.mean(rec + kl)), "reconstruction": float(np.mean(rec)), "kl": float(np.mean(kl))}
    if importance_samples:
        result["neg_iwae"] = float(np.mean(np.concatenate(iwaes)))
        result["importance_samples"] = int(importance_samples)
    result["n_images"] = int(len(x_binary))
    return result


def nats_to_bits_per_pixel(nats: float, pixels: int = 784) -> float:
    """A per-image bound in nats as bits per pixel (divide by pixels * ln 2)."""
    return float(nats) / (pixels * math.log(2.0))


def latent_to_probs(decoder, z, batch_size: int = 500) -> np.ndarray:
    """Decode latent points z (N, d) to pixel probabilities (N, 28, 28, 1) in [0, 1] (a NumPy array)."""
    logits = decoder.predict(np.asarray(z, dtype="float32"), batch_size=batch_size, verbose=0)
    return (1.0 / (1.0 + np.exp(-np.asarray(logits, dtype="float64")))).astype("float32")
