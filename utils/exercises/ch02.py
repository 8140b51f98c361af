"""Checkers for chapter 02 (GAN): `from utils.exercises import ch02 as ex`, then `ex.q2.check(build_generator)`.

Numbered in the order the chapter asks them: q1 debug the article: scale the data, q2 generator,
q3 discriminator (logits), q4 discriminator loss, q5 generator loss (non-saturating), q6 debug the article:
the generator update, q7 a full training step.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from ..gan import discriminator_loss, generator_loss, saturating_generator_loss
from ..training import max_weight_change, snapshot_weights
from .fixtures import (
    LR_D,
    LR_G,
    RecordingSGD,
    Step,
    as_array,
    as_scalar,
    check_generator,
    check_logit_discriminator,
    check_optimisers,
    describe,
    eagerly,
    gan_setup,
    grade_step,
    loss_values,
    same_noise,
)
from .framework import Exercise, Incorrect, call_answer


def loss_value(fn, *args):
    value = call_answer(fn, *[tf.constant(a, tf.float32) for a in args])
    return as_scalar(value, "the loss (one number, a batch mean)")


# -----------------------------------------------------------------------------------------
def _check_generator(build_generator):
    model = check_generator(build_generator)
    return f"Your generator has {model.count_params():,} parameters and maps z to 28x28 images in [-1, 1]."


q2 = Exercise(
    "Build the MLP generator",
    _check_generator,
    hint="keras.Input((latent_dim,)), Dense layers with LeakyReLU(negative_slope=0.2), a Dense(784, "
         "activation='tanh') and Reshape((28, 28, 1)).",
)


def _check_discriminator(build_discriminator):
    model = check_logit_discriminator(build_discriminator)
    return f"Your discriminator has {model.count_params():,} parameters and returns one logit per image."


q3 = Exercise(
    "Build the MLP discriminator (logits)",
    _check_discriminator,
    hint="keras.Input((28, 28, 1)), Flatten, Dense + LeakyReLU(0.2) (+ Dropout), and a final Dense(1) with "
         "no activation: the loss applies the sigmoid (from_logits=True).",
)


# -----------------------------------------------------------------------------------------
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


q4 = Exercise(
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
    if abs(first - float(probs(np.ones_like(_FAKE), tf.sigmoid(_FAKE)))) < 1e-3:
        raise Incorrect("a sigmoid, then a cross-entropy on probabilities: for the fake D "
                        "rejects with certainty (logit -40) the probability rounds to 0 and the "
                        "loss is clipped. Use the logits with from_logits=True")
    raise Incorrect(f"for fake logits {_FAKE.ravel().tolist()} the loss should be {want:.4f}, yours is {first:.4f}")


q5 = Exercise(
    "The generator's (non-saturating) loss",
    _check_generator_loss,
    hint="The generator wants D to say 'real': BCE with target 1 on the fake logits (from_logits=True).",
)


# -----------------------------------------------------------------------------------------------
def _run_train_step(make_train_step, setup) -> Step:
    """One step of the learner's make_train_step from the set-up's start, with scripted noise."""
    g, d = setup.fresh()
    g_opt, d_opt = RecordingSGD(LR_G), RecordingSGD(LR_D)
    with same_noise(**setup.noise()), eagerly():
        step = call_answer(make_train_step, g, d, g_opt, d_opt, setup.latent_dim)
        if not callable(step) or isinstance(step, keras.Model):
            raise Incorrect("make_train_step should return the step function, got "
                            f"{describe(step)}")
        logs = call_answer(step, tf.constant(setup.batches[0]))
    check_optimisers(g, d, g_opt, d_opt)
    d_loss, g_loss = loss_values(logs)
    return Step(snapshot_weights(g), snapshot_weights(d), d_loss, g_loss)


def _check_train_step(make_train_step):
    setup = gan_setup()
    got = _run_train_step(make_train_step, setup)
    # Right: the course's step (fresh noise for G), or one that feeds G the noise D saw.
    grade_step(got, setup, accepted=({}, {"reuse": True}),
               rerun=lambda: _run_train_step(make_train_step, setup))
    return ("Your step matches gan.gan_update from the same weights, batch and noise: D on "
            "real -> 1 and fake -> 0, then G toward 'real', each through its own optimiser.")


q7 = Exercise(
    "One GAN training step with GradientTape",
    _check_train_step,
    hint="Two tapes: (1) fakes from fresh noise, d_loss on real and fake logits, gradients for "
         "discriminator.trainable_variables; (2) new noise, g_loss on D(G(z)), gradients for "
         "generator.trainable_variables only. Wrap the step in @tf.function.",
)


# -----------------------------------------------------------------------------------------------
def _check_to_gan_range(fn):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    x[0, 0, 0], x[0, 0, 1] = 0, 255
    out = as_array(call_answer(fn, x.copy()), "the scaled images")
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


q1 = Exercise(
    "Debug the article: feed the discriminator data in the generator's range",
    _check_to_gan_range,
    hint="Convert to float32 first, then x / 127.5 - 1, then add the channel axis with x[..., None].",
)


# -----------------------------------------------------------------------------------------------
def _run_generator_update(fn, setup) -> Step:
    g, d = setup.fresh()
    opt = RecordingSGD(LR_G)
    loss = call_answer(fn, g, d, opt, tf.constant(setup.z))
    d_paths = {v.path for v in d.trainable_variables}
    if max_weight_change(setup.d0, d) > 0.0 or opt.touched & d_paths:
        raise Incorrect("the discriminator changed during the generator's update: apply gradients to "
                        "generator.trainable_variables only (D is a fixed judge in this half-step)")
    return Step(snapshot_weights(g), snapshot_weights(d), None,
                as_scalar(loss, "the returned loss (one number, a batch mean)"))


def _check_generator_update(fn):
    setup = gan_setup(given_z=True)
    got = _run_generator_update(fn, setup)
    # The reference is gan.gan_update with D's learning rate 0: its G half on this z.
    grade_step(got, setup, accepted=({"d_lr": 0.0},),
               rerun=lambda: _run_generator_update(fn, setup))
    return "Fixed: target 'real' for every fake, gradients for the generator only, from logits."


q6 = Exercise(
    "Debug the article: the generator's update",
    _check_generator_update,
    hint="Under a GradientTape: logits = discriminator(generator(z, training=True)); loss = BCE(ones, logits, "
         "from_logits=True); gradients and apply_gradients for generator.trainable_variables only.",
)
