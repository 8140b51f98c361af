"""Chapter 03 checkers: right answers pass; the article's mistakes and stubs do not."""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import message, status, stub

from utils import gan
from utils.exercises import ch03 as ex

L = keras.layers


def convt_output_size(size, kernel, stride, padding):
    return size * stride if padding == "same" else size * stride + max(kernel - stride, 0)


def build_discriminator():
    return keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(16, 4, strides=2, padding="same"),
                             L.LeakyReLU(negative_slope=0.2), L.Dropout(0.3),
                             L.Conv2D(32, 4, strides=2, padding="same"), L.LeakyReLU(negative_slope=0.2),
                             L.Flatten(), L.Dense(1)])


class GANModel(keras.Model):
    """What the notebook's exercise cell defines (with the train_step body as the solution)."""

    def __init__(self, generator, discriminator, latent_dim, r1_gamma=0.0, **kwargs):
        super().__init__(**kwargs)
        self.generator, self.discriminator, self.latent_dim = generator, discriminator, latent_dim
        self.r1_gamma = r1_gamma
        self.seeds = keras.random.SeedGenerator(0)
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer, self.g_optimizer = d_optimizer, g_optimizer

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    def train_step(self, real_images):
        batch = tf.shape(real_images)[0]
        z = keras.random.normal((batch, self.latent_dim), seed=self.seeds)
        with tf.GradientTape() as tape:
            d_loss = gan.discriminator_loss(self.discriminator(real_images, training=True),
                                            self.discriminator(self.generator(z, training=True), training=True))
            d_total = d_loss + self.r1_weight() * gan.r1_penalty(self.discriminator, real_images)
        grads = tape.gradient(d_total, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        z = keras.random.normal((batch, self.latent_dim), seed=self.seeds)
        with tf.GradientTape() as tape:
            g_loss = gan.generator_loss(self.discriminator(self.generator(z, training=True), training=True))
        grads = tape.gradient(g_loss, self.generator.trainable_variables)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    def r1_weight(self):
        return self.r1_gamma / 2


class NoR1(GANModel):
    def r1_weight(self):
        return 0.0


class FullGammaR1(GANModel):
    def r1_weight(self):
        return self.r1_gamma


class StubGAN(GANModel):
    def train_step(self, real_images):
        raise NotImplementedError("Exercise: replace this line with your code")


def classic_round(generator, discriminator, gan_model, real_images, z):
    n = len(real_images)
    fake = np.asarray(generator(z, training=False))
    discriminator.trainable = True
    discriminator.train_on_batch(np.concatenate([real_images, fake]),
                                 np.concatenate([np.ones((n, 1)), np.zeros((len(z), 1))]))
    discriminator.trainable = False
    gan_model.train_on_batch(z, np.ones((len(z), 1)))


@pytest.mark.parametrize("exercise, answer, stub_answer", [
    (ex.q1, convt_output_size, stub),
    (ex.q2, lambda latent_dim=100: gan.build_dcgan_generator(latent_dim, filters=32), stub),
    (ex.q3, build_discriminator, stub),
    (ex.q4, GANModel, StubGAN),
    (ex.q5, classic_round, stub),
])
def test_right_answers_pass_and_stubs_are_not_attempted(exercise, answer, stub_answer):
    outcome = exercise.evaluate(answer)
    assert outcome.status == "correct", outcome.message
    assert exercise.evaluate(stub_answer).status == "not attempted"
    assert exercise.evaluate(None).status == "not attempted"
    assert exercise.hint() and exercise.solution()


def test_reference_builders_pass():
    assert ex.q2.evaluate(gan.build_dcgan_generator).correct
    assert ex.q3.evaluate(gan.build_dcgan_discriminator).correct


def test_convt_size_mistakes():
    conv_formula = lambda n, k, s, p: n if p == "same" and s == 1 else ((n - k) // s + 1 if p == "valid" else n * s)  # noqa: E731
    assert "ordinary convolution" in message(ex.q1, conv_formula)
    assert "stride" in message(ex.q1, lambda n, k, s, p: n if p == "same" else (n - 1) * s + k)


def article_generator(latent_dim=100):
    """The article's DCGAN generator with its imports fixed (it is valid, if heavy)."""
    m = keras.Sequential([keras.Input((latent_dim,)), L.Dense(128), L.LeakyReLU(0.01), L.BatchNormalization(),
                          L.Dense(128 * 7 * 7), L.LeakyReLU(0.01), L.BatchNormalization(), L.Reshape((7, 7, 128))])
    for stride in (1, 2):
        m.add(L.Conv2DTranspose(128, 5, strides=stride, padding="same"))
        m.add(L.LeakyReLU(0.01))
        m.add(L.BatchNormalization())
    m.add(L.Conv2DTranspose(1, 5, strides=2, padding="same"))
    m.add(Activation("tanh"))  # noqa: F821  (the article never imports Activation)
    return m


def test_generator_article_mistakes():
    assert "NameError" in message(ex.q2, article_generator)

    def sigmoid_output(latent_dim=100):
        g = gan.build_dcgan_generator(latent_dim, filters=32)
        g.layers[-1].activation = keras.activations.sigmoid
        return g

    assert "tanh" in message(ex.q2, sigmoid_output)

    def upsample_dense_only(latent_dim=100):
        return keras.Sequential([keras.Input((latent_dim,)), L.Dense(784, activation="tanh"), L.Reshape((28, 28, 1))])

    assert "Conv2DTranspose" in message(ex.q2, upsample_dense_only)

    def no_batchnorm(latent_dim=100):
        return keras.Sequential([keras.Input((latent_dim,)), L.Dense(7 * 7 * 32), L.ReLU(), L.Reshape((7, 7, 32)),
                                 L.Conv2DTranspose(16, 4, strides=2, padding="same", activation="relu"),
                                 L.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")])

    assert "BatchNormalization" in message(ex.q2, no_batchnorm)

    def too_small(latent_dim=100):  # 7 -> 14 only
        return keras.Sequential([keras.Input((latent_dim,)), L.Dense(7 * 7 * 8), L.BatchNormalization(),
                                 L.Reshape((7, 7, 8)),
                                 L.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")])

    assert "shape" in message(ex.q2, too_small)


def test_discriminator_article_mistakes():
    def article_discriminator():  # sigmoid output, BN after the first conv, slope 0.01
        return keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(16, 5, strides=2, padding="same"),
                                 L.LeakyReLU(negative_slope=0.01), L.BatchNormalization(),
                                 L.Conv2D(16, 5, strides=2, padding="same"), L.Flatten(),
                                 L.Dense(1, activation="sigmoid")])

    assert "sigmoid" in message(ex.q3, article_discriminator)

    def bn_first():
        m = article_discriminator()
        m.layers[-1].activation = keras.activations.linear
        return m

    assert "first convolution" in message(ex.q3, bn_first)

    def pooling():  # the second article version's discriminator
        return keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu"), L.MaxPooling2D(),
                                 L.Flatten(), L.Dense(1)])

    assert "pooling" in message(ex.q3, pooling)

    def small_slope():
        return keras.Sequential([keras.Input((28, 28, 1)), L.Conv2D(8, 4, strides=2, padding="same"),
                                 L.LeakyReLU(negative_slope=0.01), L.Flatten(), L.Dense(1)])

    assert "slope" in message(ex.q3, small_slope)


class _DUpdateFirst(GANModel):
    """A correct discriminator update, shared by the wrong train_steps below."""

    def update_d(self, real_images, swap=False):
        z = tf.random.normal((tf.shape(real_images)[0], self.latent_dim))
        with tf.GradientTape() as tape:
            real, fake = self.discriminator(real_images), self.discriminator(self.generator(z))
            d_loss = gan.discriminator_loss(*((fake, real) if swap else (real, fake)))
            d_total = d_loss + self.r1_weight() * gan.r1_penalty(self.discriminator, real_images)
        grads = tape.gradient(d_total, self.discriminator.trainable_variables)
        self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_variables))
        return z, d_loss


def test_gan_model_mistakes():
    class GeneratorMovesD(_DUpdateFirst):
        def train_step(self, real_images):
            z, d_loss = self.update_d(real_images)
            variables = self.generator.trainable_variables + self.discriminator.trainable_variables
            with tf.GradientTape() as tape:
                g_loss = gan.generator_loss(self.discriminator(self.generator(z)))
            self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
            return {"d_loss": d_loss, "g_loss": g_loss}

    assert "also updated the discriminator" in message(ex.q4, GeneratorMovesD)

    class OnlyD(_DUpdateFirst):
        def train_step(self, real_images):
            _, d_loss = self.update_d(real_images)
            return {"d_loss": d_loss, "g_loss": d_loss}

    assert "generator's weights did not move" in message(ex.q4, OnlyD)
    assert "no R1 term" in message(ex.q4, NoR1)
    assert "twice too large" in message(ex.q4, FullGammaR1)
    assert "class itself" in message(ex.q4, GANModel(gan.build_mlp_generator(8, (8,)),
                                                      gan.build_mlp_discriminator((8,)), 8))


def test_classic_recipe_mistakes():
    def as_in_the_article(generator, discriminator, gan_model, real_images, z):
        n = len(real_images)
        fake = np.asarray(generator(z, training=False))
        discriminator.train_on_batch(np.concatenate([real_images, fake]),
                                     np.concatenate([np.ones((n, 1)), np.zeros((n, 1))]))
        gan_model.train_on_batch(z, np.ones((n, 1)))

    assert "did not move" in message(ex.q5, as_in_the_article)

    def never_refreezes(generator, discriminator, gan_model, real_images, z):
        discriminator.trainable = True
        as_in_the_article(generator, discriminator, gan_model, real_images, z)

    assert "also trained the discriminator" in message(ex.q5, never_refreezes)

    def generator_alone(generator, discriminator, gan_model, real_images, z):
        discriminator.trainable = True
        discriminator.train_on_batch(real_images, np.ones((len(real_images), 1)))
        generator.train_on_batch(z, np.random.uniform(0, 1, (len(z), 1)))

    assert "compile" in message(ex.q5, generator_alone)



def test_convt_size_with_a_kernel_smaller_than_the_stride():
    """Keras's 'valid' rule is n*s + max(k - s, 0); (n-1)*s + k is wrong when k < s."""
    for n, k, s in [(7, 2, 3), (4, 1, 2), (5, 2, 4), (7, 4, 2)]:
        layer = L.Conv2DTranspose(1, k, strides=s, padding="valid")
        assert layer(np.zeros((1, n, n, 1), "float32")).shape[1] == n * s + max(k - s, 0)
    old_rule = lambda n, k, s, p: n * s if p == "same" else (n - 1) * s + k  # noqa: E731
    assert "kernel >= stride" in message(ex.q1, old_rule)


def test_discriminator_batchnorm_after_the_second_convolution():
    def bn_second():
        return keras.Sequential([keras.Input((28, 28, 1)),
                                 L.Conv2D(16, 4, strides=2, padding="same"),
                                 L.LeakyReLU(negative_slope=0.2),
                                 L.Conv2D(32, 4, strides=2, padding="same"), L.BatchNormalization(),
                                 L.LeakyReLU(negative_slope=0.2), L.Flatten(), L.Dense(1)])

    assert "defect 18" in message(ex.q3, bn_second)


class WithLabel(GANModel):
    """The notebook's skeleton takes real_label; this train_step ignores it (real target 1)."""

    def __init__(self, generator, discriminator, latent_dim, real_label=1.0, r1_gamma=0.0,
                 **kwargs):
        super().__init__(generator, discriminator, latent_dim, r1_gamma, **kwargs)
        self.real_label = real_label


def test_gan_model_value_mistakes():
    class Swapped(_DUpdateFirst):
        def train_step(self, real_images):
            z, d_loss = self.update_d(real_images, swap=True)
            with tf.GradientTape() as tape:
                g_loss = gan.generator_loss(self.discriminator(self.generator(z)))
            grads = tape.gradient(g_loss, self.generator.trainable_variables)
            self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
            return {"d_loss": d_loss, "g_loss": g_loss}

    assert "labels are swapped" in message(ex.q4, Swapped)

    def g_toward(target_fn):
        class Wrong(_DUpdateFirst):
            def train_step(self, real_images):
                _, d_loss = self.update_d(real_images)
                z = tf.random.normal((tf.shape(real_images)[0], self.latent_dim))
                with tf.GradientTape() as tape:
                    logits = self.discriminator(self.generator(z))
                    bce = keras.losses.BinaryCrossentropy(from_logits=True)
                    g_loss = bce(target_fn(logits), logits)
                grads = tape.gradient(g_loss, self.generator.trainable_variables)
                self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_variables))
                return {"d_loss": d_loss, "g_loss": g_loss}

        return Wrong

    assert "toward target 0" in message(ex.q4, g_toward(tf.zeros_like))
    random_targets = g_toward(lambda t: tf.random.uniform(tf.shape(t)))
    assert "random targets (the article's mistake)" in message(ex.q4, random_targets)
    assert "real_label" in message(ex.q4, WithLabel)


def test_gan_model_equals_the_course_class():
    assert status(ex.q4, gan.GAN) == "correct"


def classic_with(real_target=1.0, fake_target=0.0, g_targets=np.ones):
    """The solution's round with other targets (the article's mistakes)."""
    def round_(generator, discriminator, gan_model, real_images, z):
        n = len(real_images)
        fake = np.asarray(generator(z, training=False))
        discriminator.trainable = True
        discriminator.train_on_batch(np.concatenate([real_images, fake]),
                                     np.concatenate([np.full((n, 1), real_target),
                                                     np.full((n, 1), fake_target)]))
        discriminator.trainable = False
        gan_model.train_on_batch(z, g_targets((n, 1)))

    return round_


def test_classic_recipe_value_mistakes():
    article = classic_with(g_targets=lambda shape: np.random.uniform(0, 1, shape))
    assert "random targets (the article's mistake)" in message(ex.q5, article)
    assert "labels are swapped" in message(ex.q5, classic_with(0.0, 1.0))
    assert status(ex.q5, classic_with(g_targets=np.zeros)) == "incorrect"  # G toward 'fake'
    assert status(ex.q5, classic_with()) == "correct"
