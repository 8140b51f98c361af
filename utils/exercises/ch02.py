"""Checkers for chapter 02 (GAN): `from utils.exercises import ch02 as ex`, then `ex.q1.check(build_generator)`.

q1 generator, q2 discriminator (logits), q3 discriminator loss, q4 generator loss (non-saturating),
q5 a full training step, q6 debug the article: scale the data, q7 debug the article: the generator update.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from .. import gan
from ..gan import discriminator_loss, generator_loss, saturating_generator_loss
from ..training import max_weight_change, snapshot_weights
from .fixtures import (
    LR,
    RecordingSGD,
    Step,
    all_layers,
    as_scalar,
    call_model,
    check_model,
    check_who_moved,
    describe,
    gan_setup,
    grade_step,
    keras2_spellings,
    loss_values,
    real_batch,
    same_noise,
)
from .framework import Exercise, Incorrect, call_answer


def _build(build, *args, what="generator"):
    """The learner's model, rejecting the Keras 2 spellings that Keras 3 still builds with a warning."""
    with keras2_spellings() as old:
        model = call_answer(build, *args)
    if old:
        raise Incorrect(old[0])
    return check_model(model, what)


def check_generator(build, latent_dims=(100, 16)):
    """Shape (N, 28, 28, 1), range [-1, 1] (tanh), varies with z, for each latent size."""
    first = None
    for latent_dim in latent_dims:
        model = _build(build, latent_dim)
        first = model if first is None else first
        z = np.random.default_rng(0).standard_normal((8, latent_dim)).astype("float32")
        out = call_model(model, z, "generator")
        if out.shape != (8, 28, 28, 1):
            raise Incorrect(f"with latent_dim={latent_dim}, a batch of 8 vectors gave output shape "
                            f"{out.shape}; expected (8, 28, 28, 1) (reshape the 784 values into an "
                            "image with one channel)")
        big = call_model(model, z * 50.0, "generator")
        if not np.all(np.isfinite(big)):
            raise Incorrect("the generator's output is not finite for large inputs")
        if big.min() < -1.0001 or big.max() > 1.0001:
            raise Incorrect(f"outputs reach [{big.min():.2f}, {big.max():.2f}]; they must stay in "
                            "[-1, 1]: end with a tanh, like the training images scaled to [-1, 1]")
        if big.min() >= 0.0:
            raise Incorrect("all outputs are >= 0: the last activation looks like a sigmoid ([0, 1]); "
                            "use tanh so the generator can produce the -1 background of images scaled "
                            "to [-1, 1]")
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
    model = _build(build, what="discriminator")
    out = call_model(model, real_batch(8), "discriminator")
    if out.shape != (8, 1):
        raise Incorrect(f"a batch of 8 images gave output shape {out.shape}; expected (8, 1): one "
                        "score per image")
    activation = getattr(model.layers[-1], "activation", None)
    name = getattr(activation, "__name__", str(activation)).lower()
    if "sigmoid" in name or "softmax" in name:
        raise Incorrect("the last layer applies a sigmoid: return the raw logit instead and use "
                        "from_logits=True in the loss (more stable, no saturated probabilities)")
    if _ends_in_probability(model):
        raise Incorrect("the output stays in [0, 1] even with huge weights: it is a probability, "
                        "not a logit; drop the final sigmoid")
    return model


def loss_value(fn, *args):
    value = call_answer(fn, *[tf.constant(a, tf.float32) for a in args])
    return as_scalar(value, "the loss (one number, a batch mean)")


# ----------------------------------------------------------------------------------------- q1, q2
def _check_generator(build_generator):
    model = check_generator(build_generator)
    return f"Your generator has {model.count_params():,} parameters and maps z to 28x28 images in [-1, 1]."


q1 = Exercise(
    "Build the MLP generator",
    _check_generator,
    hint="keras.Input((latent_dim,)), Dense layers with LeakyReLU(negative_slope=0.2), a Dense(784, "
         "activation='tanh') and Reshape((28, 28, 1)).",
)


def _check_discriminator(build_discriminator):
    model = check_logit_discriminator(build_discriminator)
    return f"Your discriminator has {model.count_params():,} parameters and returns one logit per image."


q2 = Exercise(
    "Build the MLP discriminator (logits)",
    _check_discriminator,
    hint="keras.Input((28, 28, 1)), Flatten, Dense + LeakyReLU(0.2) (+ Dropout), and a final Dense(1) with "
         "no activation: the loss applies the sigmoid (from_logits=True).",
)


# ----------------------------------------------------------------------------------------- q3, q4
_REAL = np.array([[2.0], [-1.0], [0.5], [40.0]])
_FAKE = np.array([[-3.0], [0.0], [1.5], [-40.0]])


def _check_discriminator_loss(fn):
    got = loss_value(fn, _REAL, _FAKE)
    want = float(discriminator_loss(_REAL, _FAKE))
    if abs(got - want) < 1e-4:
        extreme = loss_value(fn, [[-60.0]], [[60.0]])
        if abs(extreme - 120.0) > 1e-2:
            raise Incorrect(f"for a very confident wrong discriminator (logits -60 on real, +60 on fake) the loss "
                            f"is {extreme:.2f}, not 120: are you applying a sigmoid and then a clipped log? Use "
                            "logits with from_logits=True")
        return "Right: mean BCE on real (target 1) plus mean BCE on fake (target 0), from logits."
    swapped = float(discriminator_loss(_FAKE, _REAL))
    if abs(got - swapped) < 1e-4:
        raise Incorrect("real and fake targets are swapped: real images get target 1, generated ones target 0")
    probs = keras.losses.BinaryCrossentropy(from_logits=False)
    as_probs = float(probs(np.ones_like(_REAL), _REAL) + probs(np.zeros_like(_FAKE), _FAKE))
    if abs(got - as_probs) < 1e-3:
        raise Incorrect("the loss treats the logits as probabilities: pass from_logits=True")
    real_only = float(tf.reduce_mean(tf.nn.softplus(-_REAL)))
    if abs(got - real_only) < 1e-4:
        raise Incorrect("only the real-image term is there: add the term for generated images (target 0)")
    summed = float(tf.reduce_sum(tf.nn.softplus(-_REAL)) + tf.reduce_sum(tf.nn.softplus(_FAKE)))
    if abs(got - summed) < 1e-3:
        raise Incorrect("the loss is summed over the batch: take the mean so it does not grow with batch size")
    raise Incorrect(f"for real logits {_REAL.ravel().tolist()} and fake logits {_FAKE.ravel().tolist()} "
                    f"the loss should be {want:.4f}, yours is {got:.4f}")


q3 = Exercise(
    "The discriminator's loss",
    _check_discriminator_loss,
    hint="bce = keras.losses.BinaryCrossentropy(from_logits=True); real images have target 1, fakes target 0; "
         "add the two batch means.",
)


def _check_generator_loss(fn):
    first = loss_value(fn, _FAKE)
    again = loss_value(fn, _FAKE)
    if abs(first - again) > 1e-6:
        raise Incorrect("two calls on the same logits gave different losses: random targets (as in the article) "
                        "give the generator no consistent direction; its target is always 'real' (1)")
    want = float(generator_loss(_FAKE))
    if abs(first - want) < 1e-4:
        return "Right: the non-saturating loss -log D(G(z)) (BCE with target 1), strong gradients early on."
    if abs(first - float(saturating_generator_loss(_FAKE))) < 1e-4:
        raise Incorrect("that is the saturating minimax loss log(1 - D(G(z))): correct in theory, but its gradient "
                        "vanishes when D easily rejects fakes; use -log D(G(z)) (target 1) instead")
    if abs(first - float(tf.reduce_mean(tf.nn.softplus(_FAKE)))) < 1e-4:
        raise Incorrect("the target is 0 ('fake'): minimising that teaches the generator to look fake; use target 1")
    probs = keras.losses.BinaryCrossentropy(from_logits=False)
    if abs(first - float(probs(np.ones_like(_FAKE), _FAKE))) < 1e-3:
        raise Incorrect("the loss treats the logits as probabilities: pass from_logits=True")
    raise Incorrect(f"for fake logits {_FAKE.ravel().tolist()} the loss should be {want:.4f}, yours is {first:.4f}")


q4 = Exercise(
    "The generator's (non-saturating) loss",
    _check_generator_loss,
    hint="The generator wants D to say 'real': BCE with target 1 on the fake logits (from_logits=True).",
)


# ----------------------------------------------------------------------------------------------- q5
def _check_train_step(make_train_step):
    keras.utils.set_random_seed(0)
    latent_dim = 8
    g, d = tiny_generator(latent_dim), tiny_discriminator()
    g_opt, d_opt = RecordingAdam(1e-3), RecordingAdam(1e-3)
    step = call_answer(make_train_step, g, d, g_opt, d_opt, latent_dim)
    if not callable(step):
        raise Incorrect(f"make_train_step should return the step function, got {type(step).__name__}")
    logs = check_step_effects(g, d, g_opt, d_opt, lambda: call_answer(step, tf.constant(real_batch(16))))
    check_logs(logs)
    return "Both networks moved, each through its own optimiser, and the generator's update left D alone."


q5 = Exercise(
    "One GAN training step with GradientTape",
    _check_train_step,
    hint="Two tapes: (1) fakes from fresh noise, d_loss on real and fake logits, gradients for "
         "discriminator.trainable_variables; (2) new noise, g_loss on D(G(z)), gradients for "
         "generator.trainable_variables only. Wrap the step in @tf.function.",
)


# ----------------------------------------------------------------------------------------------- q6
def _check_to_gan_range(fn):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    x[0, 0, 0], x[0, 0, 1] = 0, 255
    out = call_answer(fn, x.copy())
    out = np.asarray(out)
    if out.shape != (5, 28, 28, 1):
        raise Incorrect(f"images of shape (5, 28, 28) gave shape {out.shape}; add a channel axis: (5, 28, 28, 1)")
    if out.dtype != np.float32:
        raise Incorrect(f"the dtype is {out.dtype}; use float32 (what Keras layers compute in)")
    want = x[..., None].astype("float32") / 127.5 - 1.0
    if np.allclose(out, x[..., None] / 255.0, atol=1e-4):
        raise Incorrect("the images are in [0, 1], but the generator's tanh outputs [-1, 1]: D could tell real from "
                        "fake by the background value alone. Map 0 -> -1 and 255 -> 1")
    if out.min() < -1.0001 or out.max() > 1.0001:
        raise Incorrect(f"values span [{out.min():.1f}, {out.max():.1f}]; they must lie in [-1, 1] "
                        "(uint8 arithmetic wraps around: convert to float32 before scaling)")
    if not np.allclose(out, want, atol=1e-4):
        raise Incorrect("0 should map to -1, 255 to 1, linearly in between: x / 127.5 - 1")
    return "Right: float32, (N, 28, 28, 1), in [-1, 1], the range of the generator's tanh."


q6 = Exercise(
    "Debug the article: feed the discriminator data in the generator's range",
    _check_to_gan_range,
    hint="Convert to float32 first, then x / 127.5 - 1, then add the channel axis with x[..., None].",
)


# ----------------------------------------------------------------------------------------------- q7
def _check_generator_update(fn):
    keras.utils.set_random_seed(1)
    g, d = tiny_generator(8), tiny_discriminator()
    opt = RecordingAdam(1e-3)
    z = tf.constant(np.random.default_rng(2).standard_normal((16, 8)).astype("float32"))
    expected = float(generator_loss(d(g(z, training=False), training=False)))
    g0, d0 = weights_snapshot(g), weights_snapshot(d)
    loss = call_answer(fn, g, d, opt, z)
    loss = np.asarray(loss, dtype="float32")
    if max_change(d0, d) > 0.0 or opt.touched & {v.path for v in d.trainable_variables}:
        raise Incorrect("the discriminator changed during the generator's update: apply gradients to "
                        "generator.trainable_variables only (D is a fixed judge in this half-step)")
    if max_change(g0, g) == 0.0:
        raise Incorrect("the generator's weights did not move: apply the gradients with the optimiser")
    if loss.size != 1:
        raise Incorrect(f"return the loss as one number (a batch mean), got shape {loss.shape}")
    value = float(loss.reshape(()))
    if abs(value - expected) > 1e-3:
        raise Incorrect(f"the loss before the update should be the non-saturating -log D(G(z)) = {expected:.4f} "
                        f"(target 1, from logits), yours is {value:.4f}; random or zero targets do not train G")
    return "Fixed: target 'real' for every fake, gradients for the generator only, from logits."


q7 = Exercise(
    "Debug the article: the generator's update",
    _check_generator_update,
    hint="Under a GradientTape: logits = discriminator(generator(z, training=True)); loss = BCE(ones, logits, "
         "from_logits=True); gradients and apply_gradients for generator.trainable_variables only.",
)
