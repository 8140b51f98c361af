"""Chapter 02 checkers: right answers pass; the article's mistakes and stubs do not."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import message, status, stub

from utils.exercises import ch02 as ex

L = keras.layers


# ------------------------------------------------------------------------------------- right answers
def build_generator(latent_dim=100):
    return keras.Sequential([keras.Input((latent_dim,)), L.Dense(64), L.LeakyReLU(negative_slope=0.2),
                             L.Dense(784, activation="tanh"), L.Reshape((28, 28, 1))])


def build_discriminator():
    return keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(64), L.LeakyReLU(negative_slope=0.2),
                             L.Dropout(0.3), L.Dense(1)])


def discriminator_loss(real_logits, fake_logits):
    bce = keras.losses.BinaryCrossentropy(from_logits=True)
    return bce(tf.ones_like(real_logits), real_logits) + bce(tf.zeros_like(fake_logits), fake_logits)


def generator_loss(fake_logits):
    return keras.losses.BinaryCrossentropy(from_logits=True)(tf.ones_like(fake_logits), fake_logits)


def make_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim):
    @tf.function
    def train_step(real_images):
        batch = tf.shape(real_images)[0]
        z = tf.random.normal((batch, latent_dim))
        with tf.GradientTape() as tape:
            d_loss = discriminator_loss(discriminator(real_images, training=True),
                                        discriminator(generator(z, training=True), training=True))
        grads = tape.gradient(d_loss, discriminator.trainable_variables)
        d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))
        with tf.GradientTape() as tape:
            g_loss = generator_loss(discriminator(generator(tf.random.normal((batch, latent_dim)), training=True)))
        grads = tape.gradient(g_loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss}

    return train_step


def to_gan_range(x):
    return (np.asarray(x).astype("float32") / 127.5 - 1.0)[..., None]


def update_with(g_loss):
    """The generator update as the solution writes it, with the given loss."""
    def generator_update(generator, discriminator, g_optimizer, z):
        with tf.GradientTape() as tape:
            loss = g_loss(discriminator(generator(z, training=True), training=True))
        grads = tape.gradient(loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
        return loss

    return generator_update


generator_update = update_with(generator_loss)


@pytest.mark.parametrize("exercise, answer", [
    (ex.q2, build_generator), (ex.q3, build_discriminator), (ex.q4, discriminator_loss), (ex.q5, generator_loss),
    (ex.q7, make_train_step), (ex.q1, to_gan_range), (ex.q6, generator_update),
])
def test_right_answers_pass_and_stubs_are_not_attempted(exercise, answer):
    outcome = exercise.evaluate(answer)
    assert outcome.status == "correct", outcome.message
    assert status(exercise, stub) == "not attempted"
    assert status(exercise, None) == "not attempted"
    assert exercise.hint() and exercise.solution()


def test_reference_solutions_in_the_checkers_pass():
    from utils import gan

    assert ex.q2.evaluate(gan.build_mlp_generator).correct
    assert ex.q3.evaluate(gan.build_mlp_discriminator).correct
    assert ex.q4.evaluate(gan.discriminator_loss).correct
    assert ex.q5.evaluate(gan.generator_loss).correct


# ------------------------------------------------------------------------------ the article's mistakes
def test_generator_article_mistakes():
    def article_missing_import(latent_dim=100):  # LeakyReLU used without importing it
        return keras.Sequential([L.Dense(128, input_shape=(latent_dim,)), LeakyReLU(alpha=0.01)])  # noqa: F821

    assert "NameError" in message(ex.q2, article_missing_import)

    def sigmoid_output(latent_dim=100):
        return keras.Sequential([keras.Input((latent_dim,)), L.Dense(784, activation="sigmoid"),
                                 L.Reshape((28, 28, 1))])

    assert "tanh" in message(ex.q2, sigmoid_output)

    def no_reshape(latent_dim=100):
        return keras.Sequential([keras.Input((latent_dim,)), L.Dense(784, activation="tanh")])

    assert "shape" in message(ex.q2, no_reshape)

    def fixed_latent(latent_dim=100):  # ignores its argument
        return build_generator(100)

    assert status(ex.q2, fixed_latent) == "incorrect"


def test_discriminator_article_mistakes():
    def sigmoid_end():
        return keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(32), L.LeakyReLU(0.2),
                                 L.Dense(1, activation="sigmoid")])

    assert "logit" in message(ex.q3, sigmoid_end)

    def separate_sigmoid():
        return keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(1), L.Activation("sigmoid")])

    assert status(ex.q3, separate_sigmoid) == "incorrect"

    def no_flatten():  # the second article version: Dense on the image, one score per pixel
        return keras.Sequential([keras.Input((28, 28, 1)), L.Dense(16), L.Dense(1)])

    assert "shape" in message(ex.q3, no_flatten)


def test_discriminator_loss_mistakes():
    def on_probabilities(real, fake):  # logits fed to a loss that expects probabilities
        bce = keras.losses.BinaryCrossentropy()
        return bce(tf.ones_like(real), real) + bce(tf.zeros_like(fake), fake)

    assert "from_logits" in message(ex.q4, on_probabilities)

    def swapped(real, fake):
        return discriminator_loss(fake, real)

    assert "swapped" in message(ex.q4, swapped)

    def real_only(real, fake):
        return keras.losses.BinaryCrossentropy(from_logits=True)(tf.ones_like(real), real)

    assert "generated" in message(ex.q4, real_only)

    def summed(real, fake):
        return tf.reduce_sum(tf.nn.softplus(-real)) + tf.reduce_sum(tf.nn.softplus(fake))

    assert "mean" in message(ex.q4, summed)

    def sigmoid_then_log(real, fake):  # right away from the extremes, clipped log at them
        p, q = tf.sigmoid(real), tf.sigmoid(fake)
        eps = 1e-7
        return -tf.reduce_mean(tf.math.log(tf.clip_by_value(p, eps, 1))) - tf.reduce_mean(
            tf.math.log(tf.clip_by_value(1 - q, eps, 1)))

    assert status(ex.q4, sigmoid_then_log) == "incorrect"


def test_generator_loss_mistakes():
    def random_targets(fake):  # the article: uniform random labels for the generator
        y = tf.random.uniform(tf.shape(fake))
        return keras.losses.BinaryCrossentropy(from_logits=True)(y, fake)

    assert "random" in message(ex.q5, random_targets)

    def saturating(fake):
        return -keras.losses.BinaryCrossentropy(from_logits=True)(tf.zeros_like(fake), fake)

    assert "saturating" in message(ex.q5, saturating)

    def zero_target(fake):
        return keras.losses.BinaryCrossentropy(from_logits=True)(tf.zeros_like(fake), fake)

    assert "look fake" in message(ex.q5, zero_target)

    def on_probabilities(fake):
        return keras.losses.BinaryCrossentropy()(tf.ones_like(fake), fake)

    assert "from_logits" in message(ex.q5, on_probabilities)

    def sigmoid_then_probabilities(fake):
        return keras.losses.BinaryCrossentropy()(tf.ones_like(fake), tf.sigmoid(fake))

    assert "cross-entropy on probabilities" in message(ex.q5, sigmoid_then_probabilities)


def test_train_step_mistakes():
    def frozen_recipe(generator, discriminator, g_optimizer, d_optimizer, latent_dim):
        """The classic recipe: compile D, freeze it, stack, compile; train with train_on_batch."""
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        discriminator.compile(optimizer=d_optimizer, loss=bce)
        discriminator.trainable = False
        z_in = keras.Input((latent_dim,))
        gan = keras.Model(z_in, discriminator(generator(z_in)))
        gan.compile(optimizer=g_optimizer, loss=bce)

        def step(real):
            n = int(real.shape[0])
            z = np.random.normal(size=(n, latent_dim)).astype("float32")
            fake = generator.predict(z, verbose=0)
            d_loss = discriminator.train_on_batch(np.concatenate([real, fake]),
                                                  np.concatenate([np.ones((n, 1)), np.zeros((n, 1))]))
            g_loss = gan.train_on_batch(z, np.ones((n, 1)))
            return {"d_loss": d_loss, "g_loss": g_loss}

        return step

    assert "did not move" in message(ex.q7, frozen_recipe)

    def unfrozen_stack(generator, discriminator, g_optimizer, d_optimizer, latent_dim):
        """The article: the stacked model is compiled without freezing D, so the G update moves D too."""
        @tf.function
        def step(real):
            z = tf.random.normal((tf.shape(real)[0], latent_dim))
            with tf.GradientTape() as tape:
                d_loss = discriminator_loss(discriminator(real), discriminator(generator(z)))
            grads = tape.gradient(d_loss, discriminator.trainable_variables)
            d_optimizer.apply_gradients(zip(grads, discriminator.trainable_variables))
            variables = generator.trainable_variables + discriminator.trainable_variables
            with tf.GradientTape() as tape:
                g_loss = generator_loss(discriminator(generator(z)))
            g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
            return {"d_loss": d_loss, "g_loss": g_loss}

        return step

    assert "generator's optimiser also updated the discriminator" in message(ex.q7, unfrozen_stack)

    def generator_alone(generator, discriminator, g_optimizer, d_optimizer, latent_dim):
        """The article's generator.train_on_batch: the generator was never compiled."""
        def step(real):
            generator.train_on_batch(np.zeros((2, latent_dim)), np.random.uniform(0, 1, (2, 1)))

        return step

    assert "compile" in message(ex.q7, generator_alone)

    def no_dict(generator, discriminator, g_optimizer, d_optimizer, latent_dim):
        inner = make_train_step(generator, discriminator, g_optimizer, d_optimizer, latent_dim)
        return lambda real: float(inner(real)["d_loss"])

    assert "dict" in message(ex.q7, no_dict)


def test_data_range_mistakes():
    assert "[0, 1]" in message(ex.q1, lambda x: (x / 255.0).astype("float32")[..., None])
    assert "channel" in message(ex.q1, lambda x: (x.astype("float32") / 127.5 - 1))
    assert "float32" in message(ex.q1, lambda x: (x / 127.5 - 1)[..., None])  # float64
    assert "wraps" in message(ex.q1, lambda x: (x * 2 - 255)[..., None].astype("float32"))  # uint8 overflow
    assert status(ex.q1, lambda x: x[..., None]) == "incorrect"  # raw 0..255


def test_generator_update_mistakes():
    def article_random_targets(generator, discriminator, g_optimizer, z):
        y = np.random.uniform(0, 1, (len(z), 1)).astype("float32")
        with tf.GradientTape() as tape:
            loss = keras.losses.BinaryCrossentropy(from_logits=True)(y, discriminator(generator(z)))
        grads = tape.gradient(loss, generator.trainable_variables)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_variables))
        return loss

    assert "random targets (the article's mistake)" in message(ex.q6, article_random_targets)

    def updates_both(generator, discriminator, g_optimizer, z):
        variables = generator.trainable_variables + discriminator.trainable_variables
        with tf.GradientTape() as tape:
            loss = generator_loss(discriminator(generator(z)))
        g_optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    assert "discriminator changed" in message(ex.q6, updates_both)

    def forgets_to_apply(generator, discriminator, g_optimizer, z):
        return generator_loss(discriminator(generator(z)))

    assert "did not move" in message(ex.q6, forgets_to_apply)


# -------------------------------------------------------------- steps graded by their values
BCE = keras.losses.BinaryCrossentropy


def _ones(t):
    return tf.ones_like(t)


WRONG_D = {  # a discriminator loss with one typical mistake -> words the verdict must contain
    "swapped": (lambda r, f: discriminator_loss(f, r), "labels are swapped"),
    "probabilities": (lambda r, f: BCE()(_ones(r), r) + BCE()(tf.zeros_like(f), f),
                      "treats the logits as probabilities"),
    "sigmoid": (lambda r, f: BCE()(_ones(r), tf.sigmoid(r))
                + BCE()(tf.zeros_like(f), tf.sigmoid(f)), "applies a sigmoid"),
    "summed": (lambda r, f: tf.reduce_sum(tf.nn.softplus(-r)) + tf.reduce_sum(tf.nn.softplus(f)),
               "summed"),
}
WRONG_G = {  # a generator loss with one typical mistake -> words the verdict must contain
    "random targets": (lambda f: BCE(from_logits=True)(tf.random.uniform(tf.shape(f)), f),
                       "random targets (the article's mistake): its target is 1, 'real'"),
    "target 0": (lambda f: BCE(from_logits=True)(tf.zeros_like(f), f), "toward target 0"),
    "saturating": (lambda f: -BCE(from_logits=True)(tf.zeros_like(f), f), "saturating"),
    "sigmoid": (lambda f: BCE()(_ones(f), tf.sigmoid(f)), "applies a sigmoid"),
    "probabilities": (lambda f: BCE()(_ones(f), f), "treats the logits as probabilities"),
    "summed": (lambda f: tf.reduce_sum(tf.nn.softplus(-f)), "summed"),
}


def step_with(d_loss=discriminator_loss, g_loss=generator_loss, same_z=False):
    """make_train_step as the solution writes it, with the given losses."""
    def make(generator, discriminator, g_optimizer, d_optimizer, latent_dim):
        @tf.function
        def train_step(real_images):
            z = tf.random.normal((tf.shape(real_images)[0], latent_dim))
            with tf.GradientTape() as tape:
                loss_d = d_loss(discriminator(real_images, training=True),
                                discriminator(generator(z, training=True), training=True))
            d_vars = discriminator.trainable_variables
            d_optimizer.apply_gradients(zip(tape.gradient(loss_d, d_vars), d_vars))
            if not same_z:
                z = tf.random.normal((tf.shape(real_images)[0], latent_dim))
            with tf.GradientTape() as tape:
                loss_g = g_loss(discriminator(generator(z, training=True), training=True))
            g_vars = generator.trainable_variables
            g_optimizer.apply_gradients(zip(tape.gradient(loss_g, g_vars), g_vars))
            return {"d_loss": loss_d, "g_loss": loss_g}

        return train_step

    return make


def test_train_step_accepts_the_reference_and_reused_noise():
    from utils import gan

    assert status(ex.q7, gan.make_train_step) == "correct"
    assert status(ex.q7, step_with(same_z=True)) == "correct"


@pytest.mark.parametrize("name", sorted(WRONG_D))
def test_train_step_names_the_discriminator_mistake(name):
    loss, words = WRONG_D[name]
    assert words in message(ex.q7, step_with(d_loss=loss))


@pytest.mark.parametrize("name", sorted(WRONG_G))
def test_train_step_names_the_generator_mistake(name):
    loss, words = WRONG_G[name]
    assert words in message(ex.q7, step_with(g_loss=loss))


@pytest.mark.parametrize("name", sorted(WRONG_G))
def test_generator_update_names_the_mistake(name):
    loss, words = WRONG_G[name]
    assert words in message(ex.q6, update_with(loss))


def test_generator_update_must_return_the_loss_before_the_update():
    def returns_loss_after(generator, discriminator, g_optimizer, z):
        update_with(generator_loss)(generator, discriminator, g_optimizer, z)
        return generator_loss(discriminator(generator(z)))

    assert "the g_loss you return" in message(ex.q6, returns_loss_after)


def test_keras2_spellings_are_rejected():
    def keras2(latent_dim=100):
        return keras.Sequential([L.Dense(64, input_shape=(latent_dim,)),
                                 L.LeakyReLU(negative_slope=0.2),
                                 L.Dense(784, activation="tanh"), L.Reshape((28, 28, 1))])

    assert "keras.Input" in message(ex.q2, keras2)

    def alpha(latent_dim=100):
        return keras.Sequential([keras.Input((latent_dim,)), L.Dense(64), L.LeakyReLU(alpha=0.2),
                                 L.Dense(784, activation="tanh"), L.Reshape((28, 28, 1))])

    assert "negative_slope" in message(ex.q2, alpha)

    def d_alpha():
        return keras.Sequential([keras.Input((28, 28, 1)), L.Flatten(), L.Dense(16),
                                 L.LeakyReLU(alpha=0.2), L.Dense(1)])

    assert "negative_slope" in message(ex.q3, d_alpha)
