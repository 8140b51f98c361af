"""Checkers for chapter 04 (VAE): the sampling layer, the KL term, the ELBO loss, the decoder.

    from utils.exercises import ch04 as ex
    ex.q1.check(MySampling)          # a keras Layer class: call([z_mean, z_log_var]) -> z
    ex.q2.check(kl_divergence)       # (z_mean, z_log_var) -> (N,) KL to N(0, I)
    ex.q3.check(vae_loss)            # (x, logits, z_mean, z_log_var) -> scalar -ELBO per image
    ex.q4.check(build_decoder)       # latent_dim -> keras Model z -> logits (N, 28, 28, 1)
"""

from __future__ import annotations

import traceback

import keras
import numpy as np

from .. import vae
from .fixtures import as_numbers, describe
from .framework import Exercise, Incorrect, NotAttempted, call_answer, summarise_error

# ---------------------------------------------------------------- q1: the sampling layer


def _check_sampling(layer_cls) -> str:
    import tensorflow as tf

    layer = call_answer(layer_cls) if isinstance(layer_cls, type) else layer_cls
    if not isinstance(layer, keras.layers.Layer):
        raise Incorrect(f"expected a keras Layer class (or instance), got {describe(layer)}")
    n, d = 4000, 3
    mean = tf.Variable(np.full((n, d), 2.0, dtype="float32"))
    log_var = tf.Variable(np.full((n, d), np.log(0.25), dtype="float32"))
    with tf.GradientTape() as tape:
        z = call_answer(layer, [mean, log_var])
        objective = tf.reduce_sum(tf.square(z))
    z = as_numbers(z)
    if z.shape != (n, d):
        raise Incorrect(f"z should have the shape of z_mean, {(n, d)}, got {z.shape}")
    if np.allclose(z, 2.0):
        raise Incorrect("z equals z_mean: nothing is sampled, so the encoder's variance is never used "
                        "(the latent is never sampled). Add exp(0.5 * z_log_var) * eps with eps ~ N(0, I).")
    std = z.std()
    if abs(z.mean() - 2.0) > 0.05:
        raise Incorrect(f"with z_mean = 2 the samples should average 2, got {z.mean():.3f}")
    if abs(std - 1.0) < 0.05:
        raise Incorrect("with z_log_var = log 0.25 the spread should be 0.5 but it is 1: the noise is not "
                        "scaled by the standard deviation exp(0.5 * z_log_var)")
    if abs(std - 0.25) < 0.03:
        raise Incorrect("the spread is 0.25 = exp(z_log_var), the variance: the standard deviation is "
                        "exp(0.5 * z_log_var)")
    if abs(std - 0.5) > 0.03:
        raise Incorrect(f"with z_log_var = log 0.25 the samples should have standard deviation 0.5, got {std:.3f}")
    g_mean, g_log_var = tape.gradient(objective, [mean, log_var])
    if g_mean is None or not np.any(as_numbers(g_mean)):
        raise Incorrect("no gradient reaches z_mean: compute z from z_mean with differentiable operations")
    if g_log_var is None or not np.any(as_numbers(g_log_var)):
        raise Incorrect("no gradient reaches z_log_var: the noise must be multiplied by exp(0.5 * z_log_var) "
                        "inside the graph (the reparameterisation trick), not sampled from it")
    # Fresh noise on every call, also inside a compiled function (how fit() runs train_step).
    small_mean, small_log_var = tf.zeros((2, d)), tf.zeros((2, d))
    eager = [as_numbers(call_answer(layer, [small_mean, small_log_var])) for _ in range(2)]
    if np.allclose(eager[0], eager[1]):
        raise Incorrect("two calls gave the same z: the noise is drawn once and reused. Draw eps inside call() "
                        "with keras.random.normal(..., seed=self.seed_generator)")
    compiled = tf.function(lambda m, v: layer([m, v]))
    try:
        traced = [as_numbers(compiled(small_mean, small_log_var)) for _ in range(2)]
    except Exception as err:
        raise Incorrect("the layer fails inside tf.function (how fit() runs it): "
                        f"{summarise_error(err)}") from err
    if np.allclose(traced[0], traced[1]):
        raise Incorrect("inside tf.function (how fit() runs) two calls gave the same z: NumPy noise is frozen "
                        "into the graph when it is traced. Use keras.random.normal with a SeedGenerator")
    return "Stochastic, right mean and spread, and gradients reach both z_mean and z_log_var."


# ---------------------------------------------------------------- q2: the KL term


def _reference_kl(mean, log_var):
    return np.asarray(vae.kl_divergence(mean, log_var), "float64")


_KL_CLASS = ("keras.losses.KLDivergence is a loss class: KLDivergence()(p, q) compares two "
             "distributions given as probability vectors. It is not the KL of N(z_mean, "
             "exp(z_log_var)) to N(0, I): write the closed form 0.5 * sum(z_mean^2 + "
             "exp(z_log_var) - z_log_var - 1) over the latent axis")


def _raised_in_keras_losses(err: Incorrect) -> bool:
    cause = err.__cause__
    frames = traceback.extract_tb(cause.__traceback__) if cause is not None else []
    return any("keras/src/losses" in frame.filename.replace("\\", "/") for frame in frames)


def _call_kl(kl_fn, mean, log_var):
    try:
        out = call_answer(kl_fn, mean, log_var)
    except Incorrect as err:
        if _raised_in_keras_losses(err):
            raise Incorrect(_KL_CLASS) from err
        raise
    if isinstance(out, keras.losses.Loss):
        raise Incorrect(_KL_CLASS)
    out = as_numbers(out, "the KL")
    misuses = (keras.losses.KLDivergence()(mean, log_var),
               keras.losses.kl_divergence(mean, log_var))
    for misuse in misuses:
        if out.shape == np.shape(misuse) and np.allclose(out, np.asarray(misuse), rtol=1e-4):
            raise Incorrect(_KL_CLASS)
    return out


def _monte_carlo_kl(mean, log_var, samples=200_000, seed=0):
    rng = np.random.default_rng(seed)
    std = np.exp(0.5 * log_var)
    z = mean + std * rng.standard_normal((samples, mean.size))
    log_q = -0.5 * np.sum(np.log(2 * np.pi) + log_var + ((z - mean) / std) ** 2, axis=-1)
    log_p = -0.5 * np.sum(np.log(2 * np.pi) + z**2, axis=-1)
    return float(np.mean(log_q - log_p))


def _check_kl(kl_fn) -> str:
    rng = np.random.default_rng(1)
    mean = rng.normal(0, 1, (5, 4)).astype("float32")
    log_var = rng.normal(0, 0.7, (5, 4)).astype("float32")
    out = _call_kl(kl_fn, mean, log_var)
    if out.shape == ():
        raise Incorrect("return one KL value per example, shape (N,), not a single number for the batch")
    if out.shape != (5,):
        raise Incorrect(f"for z_mean of shape (5, 4) expected KL values of shape (5,), got {out.shape}; "
                        "sum over the latent dimensions (axis=-1)")
    expected = _reference_kl(mean, log_var)
    mc = _monte_carlo_kl(mean[0].astype("float64"), log_var[0].astype("float64"))
    if abs(out[0] - expected[0]) > 1e-3 * max(1.0, expected[0]):
        if np.allclose(out, -expected, rtol=1e-3):
            raise Incorrect("the sign is flipped: a KL divergence is never negative "
                            "(KL = 0.5 * sum(mean^2 + exp(log_var) - log_var - 1))")
        if np.allclose(out, expected / mean.shape[1], rtol=1e-3):
            raise Incorrect("you averaged over the latent dimensions; the KL of independent dimensions is their sum")
        if np.allclose(out, 2 * expected, rtol=1e-3):
            raise Incorrect("twice the right value: the closed form has a factor 0.5")
        raise Incorrect(f"for the first example a Monte-Carlo estimate of E_q[log q(z) - log p(z)] gives "
                        f"{mc:.3f}, your function gives {out[0]:.3f}")
    if not np.allclose(out, expected, rtol=1e-3, atol=1e-4):
        raise Incorrect("right for the first example but not for the others: compute it per row")
    zero = as_numbers(call_answer(kl_fn, np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")))
    if not np.allclose(zero, 0.0, atol=1e-6):
        raise Incorrect(f"when q equals the prior (mean 0, log-variance 0) the KL must be 0, got {zero}")
    return f"Matches the closed form and a Monte-Carlo estimate ({mc:.3f} vs {out[0]:.3f} for the first row)."


# ---------------------------------------------------------------- q3: the ELBO loss


def _reference_loss(x, logits, mean, log_var):
    """The course's -ELBO (utils.vae) and its two terms per image, in float64."""
    x, logits, mean, log_var = (np.asarray(a, "float64") for a in (x, logits, mean, log_var))
    rec = np.asarray(vae.bernoulli_reconstruction(x, logits), "float64")
    kl = _reference_kl(mean, log_var)
    return float(np.mean(rec + kl)), rec, kl


def _check_confident_logits(loss_fn, x, logits, mean, log_var) -> None:
    """The same batch with a few logits of +-40 where the pixel disagrees: a loss from logits copes.

    Why: a sigmoid of 40 is 1.0 in float32, so a cross-entropy computed on probabilities is clipped
    or infinite there, while on moderate logits it agrees with the logit form to many digits.
    """
    x, logits = x.copy(), logits.copy()
    x[:, 0, 0], logits[:, 0, 0] = 0.0, 40.0
    x[:, 0, 1], logits[:, 0, 1] = 1.0, -40.0
    expected = _reference_loss(x, logits, mean, log_var)[0]
    out = as_numbers(call_answer(loss_fn, x, logits, mean, log_var), "the loss")
    got = float(out.reshape(-1)[0])
    if not np.isfinite(got) or abs(got - expected) > 1e-3 * expected:
        raise Incorrect(f"right for moderate logits, but with a few confident logits (+-40) the "
                        f"loss is {got:.2f}, not {expected:.2f}: you apply a sigmoid and take the "
                        "cross-entropy of probabilities, which round to 0 or 1 in float32 (clipped "
                        "or infinite). Compute it from the logits "
                        "(tf.nn.sigmoid_cross_entropy_with_logits)")


def _check_loss(loss_fn) -> str:
    rng = np.random.default_rng(2)
    x = (rng.random((6, 28, 28, 1)) < 0.3).astype("float32")
    logits = rng.normal(0, 2, (6, 28, 28, 1)).astype("float32")
    mean = rng.normal(0, 1, (6, 8)).astype("float32")
    log_var = rng.normal(0, 0.5, (6, 8)).astype("float32")
    out = as_numbers(call_answer(loss_fn, x, logits, mean, log_var), "the loss")
    if out.size != 1:
        raise Incorrect(f"return one number (the batch mean of the per-image -ELBO), got shape {out.shape}")
    out = float(out.reshape(()))
    expected, rec, kl = _reference_loss(x, logits, mean, log_var)
    if abs(out - expected) <= 1e-3 * expected:
        _check_confident_logits(loss_fn, x, logits, mean, log_var)
        return (f"-ELBO = {expected:.1f} nats per image on this batch: "
                f"reconstruction {rec.mean():.1f} + KL {kl.mean():.1f}.")
    pixel_mean = float(np.mean(rec / 784 + kl))
    if abs(out - pixel_mean) <= 1e-3 * pixel_mean or abs(out - float(np.mean(rec / 784))) < 1e-3:
        raise Incorrect("the reconstruction term is a mean over pixels (what loss='binary_crossentropy' does): "
                        "it is then 784 times too small and the KL drowns it. log p(x|z) is a sum over pixels")
    if abs(out - float(np.mean(rec - kl))) <= 1e-3 * expected:
        raise Incorrect("the KL term has the wrong sign: the loss is reconstruction + KL (we minimise -ELBO)")
    if abs(out - float(np.sum(rec + kl))) <= 1e-3 * expected * len(x):
        raise Incorrect("you summed over the batch; report the mean over images so the figure is per image")
    if abs(out - float(np.mean(rec))) <= 1e-3 * expected:
        raise Incorrect("only the reconstruction term: add the KL divergence to the prior")
    double = _reference_loss(x, 1 / (1 + np.exp(-logits.astype("float64"))), mean, log_var)[0]
    if abs(out - double) <= 1e-3 * double:
        raise Incorrect("you applied a sigmoid before a from_logits cross-entropy: the decoder already returns "
                        "logits, pass them as they are")
    raise Incorrect(f"expected {expected:.2f} nats per image on the test batch, got {out:.2f}")


# ---------------------------------------------------------------- q4: the decoder


def _check_decoder(build_fn) -> str:
    for latent_dim in (2, 16):
        model = call_answer(build_fn, latent_dim)
        if not isinstance(model, keras.Model):
            raise Incorrect(f"build_decoder should return a keras Model, got {describe(model)}")
        if tuple(model.input_shape) != (None, latent_dim):
            raise Incorrect(f"build_decoder({latent_dim}) should take z of shape (None, {latent_dim}), "
                            f"takes {model.input_shape}")
        z = np.random.default_rng(0).normal(0, 3, (3, latent_dim)).astype("float32")
        out = as_numbers(model(z))
        if out.shape != (3, 28, 28, 1):
            hint = " (8x8 doubled twice is 32x32; start from 7x7)" if out.shape[1:3] == (32, 32) else ""
            raise Incorrect(f"for 3 latent vectors expected logits of shape (3, 28, 28, 1), got {out.shape}{hint}")
        if any(type(layer).__name__ == "Lambda" for layer in model.layers):
            raise Incorrect("avoid Lambda layers: a saved model with one cannot be loaded in safe mode")
        last = model.layers[-1]
        activation = getattr(getattr(last, "activation", None), "__name__", "")
        if activation == "sigmoid" or (out.min() >= 0 and out.max() <= 1 and np.ptp(out) > 0):
            raise Incorrect("the decoder should return logits (no sigmoid at the end); the loss applies the "
                            "sigmoid itself with from_logits=True, which is numerically stable")
    return f"z -> logits (N, 28, 28, 1); {model.count_params():,} parameters for latent 16."


q1 = Exercise(
    "Sampling layer (reparameterisation trick)",
    checker=_check_sampling,
    hint="In call(): eps = keras.random.normal(ops.shape(z_mean), seed=self.seed_generator); "
         "return z_mean + ops.exp(0.5 * z_log_var) * eps. Create the SeedGenerator in __init__.",
)

q2 = Exercise(
    "KL divergence to the prior",
    checker=_check_kl,
    hint="KL(N(m, s^2) || N(0, 1)) = 0.5 * (m^2 + s^2 - log s^2 - 1) per dimension; sum over axis -1.",
)

q3 = Exercise(
    "The negative ELBO (Bernoulli likelihood)",
    checker=_check_loss,
    hint="Per image: sum over all 784 pixels of the binary cross-entropy on logits, plus the KL summed over "
         "latent dimensions; then the mean over the batch. keras.losses.binary_crossentropy averages over the "
         "last axis, so compute the per-pixel terms yourself (or multiply by the pixel count).",
)

q4 = Exercise(
    "A decoder that outputs 28x28 logits",
    checker=_check_decoder,
    hint="Dense to 7*7*64, Reshape((7, 7, 64)) (the sizes must multiply to the Dense width), two "
         "Conv2DTranspose(strides=2, padding='same') take 7 -> 14 -> 28, then Conv2D(1, 3, padding='same') "
         "with no activation.",
)

__all__ = ["q1", "q2", "q3", "q4", "NotAttempted"]
