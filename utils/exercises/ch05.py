"""Checkers for chapter 05 (latent space): embedding, reconstruction, interpolation.

    from utils.exercises import ch05 as ex
    ex.q1.check(embed)             # (encoder, images) -> z_mean (N, d), deterministic
    ex.q2.check(reconstruct)       # (encoder, decoder, images) -> pixel probabilities (N, 28, 28[, 1])
    ex.q3.check(interpolate)       # (z0, z1, steps) -> (steps, d), both ends included
    ex.q4.check(slerp)             # (z0, z1, t) -> (d,), spherical interpolation
"""

from __future__ import annotations

import numpy as np

from .fixtures import as_numbers
from .framework import Exercise, Incorrect, call_answer

# ---------------------------------------------------------------- q1: linear interpolation


def _check_interpolate(fn) -> str:
    z0 = np.array([0.0, 2.0, -1.0], dtype="float32")
    z1 = np.array([4.0, -2.0, 1.0], dtype="float32")
    out = as_numbers(call_answer(fn, z0, z1, 5))
    if out.shape == (3, 5):
        raise Incorrect("got shape (d, steps) = (3, 5); return one row per step, shape (steps, d) = (5, 3)")
    if out.shape != (5, 3):
        raise Incorrect(f"interpolate(z0, z1, 5) with 3-dimensional z should return shape (5, 3), got {out.shape}")
    if np.allclose(out[0], z1) and np.allclose(out[-1], z0):
        raise Incorrect("the path runs backwards: the first row should be z0 and the last z1")
    if not np.allclose(out[0], z0, atol=1e-5):
        raise Incorrect(f"the first point should be z0 = {z0.tolist()}, got {out[0].round(3).tolist()}")
    if not np.allclose(out[-1], z1, atol=1e-5):
        raise Incorrect(f"the last point should be z1 = {z1.tolist()}, got {out[-1].round(3).tolist()} "
                        "(np.linspace(0, 1, steps) includes both ends; endpoint=False or arange does not)")
    expected = z0 + np.linspace(0, 1, 5)[:, None] * (z1 - z0)
    if not np.allclose(out, expected, atol=1e-5):
        raise Incorrect("the end points are right but the steps are not evenly spaced on the straight line")
    two = as_numbers(call_answer(fn, z0, z1, 2))
    if two.shape != (2, 3):
        raise Incorrect(f"with steps=2 expect just the two end points, shape (2, 3), got {two.shape}")
    return "Evenly spaced, both ends included, one row per step."


# ---------------------------------------------------------------- q2: spherical interpolation


def _reference_slerp(z0, z1, t):
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    u0, u1 = z0 / n0, z1 / n1
    omega = np.arccos(np.clip(np.dot(u0, u1), -1, 1))
    direction = (np.sin((1 - t) * omega) * u0 + np.sin(t * omega) * u1) / np.sin(omega)
    return direction * ((1 - t) * n0 + t * n1)


def _check_slerp(fn) -> str:
    rng = np.random.default_rng(3)
    z0, z1 = rng.standard_normal(64), rng.standard_normal(64)
    for t in (0.0, 1.0):
        out = as_numbers(call_answer(fn, z0, z1, t))
        if out.shape != (64,):
            raise Incorrect(f"slerp(z0, z1, t) with a scalar t should return one point of shape (64,), got {out.shape}")
        target = z0 if t == 0 else z1
        if np.allclose(out, target / np.linalg.norm(target), atol=1e-4):
            raise Incorrect("the result has norm 1: scale the direction by the interpolated norm (1-t)|z0| + t|z1|")
        if not np.allclose(out, target, atol=1e-4):
            raise Incorrect(f"at t={t:g} slerp should return {'z0' if t == 0 else 'z1'}")
    mid = as_numbers(call_answer(fn, z0, z1, 0.5))
    expected = _reference_slerp(z0, z1, 0.5)
    if np.allclose(mid, (z0 + z1) / 2, atol=1e-4):
        raise Incorrect(f"that is linear interpolation: its midpoint has norm {np.linalg.norm(mid):.2f}, well below "
                        f"the end points' {np.linalg.norm(z0):.2f} and {np.linalg.norm(z1):.2f}. Move along the arc")
    if np.allclose(mid, expected / np.linalg.norm(expected), atol=1e-3):
        raise Incorrect("the result has norm 1: scale the direction by the interpolated norm (1-t)|z0| + t|z1|")
    if not np.allclose(mid, expected, rtol=1e-3, atol=1e-3):
        raise Incorrect(f"at t=0.5 expected a point of norm {np.linalg.norm(expected):.3f} on the arc between "
                        f"z0 and z1, got norm {np.linalg.norm(mid):.3f}")
    quarter = as_numbers(call_answer(fn, z0, z1, 0.25))
    if not np.allclose(quarter, _reference_slerp(z0, z1, 0.25), rtol=1e-3, atol=1e-3):
        raise Incorrect("right at t=0.5 but not at t=0.25: the weights are sin((1-t) omega)/sin(omega) and "
                        "sin(t omega)/sin(omega)")
    return (f"Midpoint norm {np.linalg.norm(mid):.2f} (linear would give {np.linalg.norm((z0 + z1) / 2):.2f}): "
            "the path stays where the prior puts its mass.")


# ---------------------------------------------------------------- tiny models for q3 and q4


def _tiny_models(latent_dim=2, seed=0):
    import keras
    from keras import layers

    rng = np.random.default_rng(seed)
    inputs = keras.Input(shape=(28, 28, 1))
    flat = layers.Flatten()(inputs)
    z_mean = layers.Dense(latent_dim, name="z_mean")(flat)
    z_log_var = layers.Dense(latent_dim, name="z_log_var")(flat)
    encoder = keras.Model(inputs, [z_mean, z_log_var], name="tiny_encoder")
    z_in = keras.Input(shape=(latent_dim,))
    logits = layers.Reshape((28, 28, 1))(layers.Dense(784)(z_in))
    decoder = keras.Model(z_in, logits, name="tiny_decoder")
    for model in (encoder, decoder):
        model.set_weights([rng.normal(0, 0.5, w.shape).astype("float32") for w in model.get_weights()])
    images = (rng.random((6, 28, 28, 1)) < 0.3).astype("float32")
    return encoder, decoder, images


# ---------------------------------------------------------------- q3: embedding = posterior mean


def _check_embed(fn) -> str:
    encoder, _, images = _tiny_models()
    mean, log_var = (np.asarray(t) for t in encoder(images))
    out = as_numbers(call_answer(fn, encoder, images))
    if out.shape != mean.shape:
        raise Incorrect(f"for 6 images and a 2-D latent space expected shape {mean.shape}, got {out.shape} "
                        "(return z_mean only, not the list [z_mean, z_log_var])")
    if np.allclose(out, log_var, atol=1e-4) and not np.allclose(out, mean, atol=1e-4):
        raise Incorrect("that is z_log_var; the position of a digit in latent space is z_mean")
    again = as_numbers(call_answer(fn, encoder, images))
    if not np.allclose(out, again, atol=1e-5):
        raise Incorrect("two calls gave different embeddings: you are sampling z. For a map of the data use the "
                        "posterior mean z_mean, which is deterministic")
    if not np.allclose(out, mean, atol=1e-4):
        raise Incorrect("the values are not the encoder's z_mean for these images")
    return "Deterministic posterior means: each digit lands at one point."


# ---------------------------------------------------------------- q4: reconstruction


def _check_reconstruct(fn) -> str:
    encoder, decoder, images = _tiny_models(seed=1)
    mean, _ = (np.asarray(t) for t in encoder(images))
    expected = 1 / (1 + np.exp(-np.asarray(decoder(mean), dtype="float64")))
    out = as_numbers(call_answer(fn, encoder, decoder, images))
    if out.shape not in {(6, 28, 28), (6, 28, 28, 1)}:
        raise Incorrect(f"for 6 images expected shape (6, 28, 28) or (6, 28, 28, 1), got {out.shape}")
    out = out.reshape(6, 28, 28, 1)
    if out.min() < 0 or out.max() > 1:
        raise Incorrect("values outside [0, 1]: the decoder returns logits, apply a sigmoid "
                        "(keras.ops.sigmoid) to get pixel probabilities")
    again = as_numbers(call_answer(fn, encoder, decoder, images)).reshape(6, 28, 28, 1)
    if not np.allclose(out, again, atol=1e-5):
        raise Incorrect("two calls gave different reconstructions: decode the posterior mean, not a sample")
    if not np.allclose(out, expected, atol=1e-4):
        raise Incorrect("not the decoded posterior mean: encode (take z_mean), decode, then sigmoid")
    return "Encode to z_mean, decode, sigmoid: a deterministic reconstruction."


q1 = Exercise(
    "Embed digits: the posterior mean",
    checker=_check_embed,
    hint="The encoder returns [z_mean, z_log_var]; keep z_mean. No sampling: a map needs one point per digit.",
)

q2 = Exercise(
    "Reconstruct through the bottleneck",
    checker=_check_reconstruct,
    hint="z_mean = embed(...); logits = decoder.predict(z_mean); probabilities = 1 / (1 + exp(-logits)).",
)

q3 = Exercise(
    "Linear interpolation in latent space",
    checker=_check_interpolate,
    hint="t = np.linspace(0, 1, steps)[:, None]; return (1 - t) * z0 + t * z1.",
)

q4 = Exercise(
    "Spherical interpolation (slerp)",
    checker=_check_slerp,
    hint="omega = arccos(u0 . u1) for the unit vectors u0, u1; direction = (sin((1-t) omega) u0 + "
         "sin(t omega) u1) / sin(omega); scale it by (1-t)|z0| + t|z1|.",
)

__all__ = ["q1", "q2", "q3", "q4"]
