"""Chapter 04 checkers accept right answers and reject the articles' mistakes (and typical others)."""

import keras
import numpy as np
from keras import layers, ops

import utils  # noqa: F401
from utils.exercises import ch04 as ex
from utils.vae import Sampling, build_decoder, kl_divergence, negative_elbo


def _status(q, answer):
    return q.evaluate(answer).status


def _message(q, answer):
    return q.evaluate(answer).message


# ---------------------------------------------------------------- q1 sampling


class GoodLayer(layers.Layer):
    def __init__(self, seed=None, **kw):
        super().__init__(**kw)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        z_mean, z_log_var = inputs
        return z_mean + ops.exp(0.5 * z_log_var) * keras.random.normal(ops.shape(z_mean), seed=self.seed_generator)


class MeanOnlyLayer(layers.Layer):  # article 000: z_mean/z_log_var computed, the latent never sampled
    def call(self, inputs):
        return inputs[0]


class VarianceLayer(layers.Layer):  # exp(z_log_var): scales by the variance instead of the std
    def call(self, inputs):
        z_mean, z_log_var = inputs
        return z_mean + ops.exp(z_log_var) * keras.random.normal(ops.shape(z_mean))


class NumpyNoiseLayer(layers.Layer):  # NumPy noise: frozen into the graph by tf.function
    def call(self, inputs):
        z_mean, z_log_var = inputs
        eps = np.random.standard_normal(tuple(z_mean.shape)).astype("float32")
        return z_mean + ops.exp(0.5 * z_log_var) * eps


class FixedNoiseLayer(layers.Layer):  # eps drawn once in build
    def build(self, shapes):
        self.eps = np.random.default_rng(0).standard_normal((4000, 3)).astype("float32")

    def call(self, inputs):
        z_mean, z_log_var = inputs
        n = z_mean.shape[0]
        return z_mean + ops.exp(0.5 * z_log_var) * self.eps[:n]


class StopGradientLayer(layers.Layer):  # samples outside the graph: no gradient reaches z_log_var
    def call(self, inputs):
        z_mean, z_log_var = inputs
        std = ops.stop_gradient(ops.exp(0.5 * z_log_var))
        return z_mean + std * keras.random.normal(ops.shape(z_mean))


class StubLayer(layers.Layer):
    def call(self, inputs):
        raise NotImplementedError("write the sampling")


def test_q1_accepts_right_answers():
    assert _status(ex.q1, GoodLayer) == "correct"
    assert _status(ex.q1, Sampling) == "correct"
    assert _status(ex.q1, Sampling(seed=3)) == "correct"


def test_q1_rejects_the_never_sampled_latent_and_other_mistakes():
    assert "never sampled" in _message(ex.q1, MeanOnlyLayer)
    assert "standard deviation" in _message(ex.q1, VarianceLayer)
    assert "frozen" in _message(ex.q1, NumpyNoiseLayer)
    assert _status(ex.q1, FixedNoiseLayer) == "incorrect"
    assert "z_log_var" in _message(ex.q1, StopGradientLayer)


def test_q1_article_lambda_function_signature_is_rejected():
    # Article 001: a two-argument function used where Keras passes one list.
    def stochastic_z_sample(z_mean, z_log_var):
        return z_mean

    assert _status(ex.q1, lambda: layers.Lambda(stochastic_z_sample)) == "incorrect"


def test_q1_stub_is_not_attempted():
    assert _status(ex.q1, StubLayer) == "not attempted"
    assert _status(ex.q1, None) == "not attempted"


# ---------------------------------------------------------------- q2 KL


def test_q2_accepts_closed_form():
    assert _status(ex.q2, kl_divergence) == "correct"

    def numpy_version(m, v):
        return 0.5 * np.sum(m**2 + np.exp(v) - v - 1, axis=1)

    assert _status(ex.q2, numpy_version) == "correct"


def test_q2_rejects_the_article_loss_class_and_common_mistakes():
    # Article 000: keras.losses.KLDivergence treated as the Gaussian KL.
    assert _status(ex.q2, lambda m, v: keras.losses.KLDivergence()(m, v)) == "incorrect"
    assert _status(ex.q2, lambda m, v: keras.losses.KLDivergence(m, v, 1)) == "incorrect"
    assert "sign" in _message(ex.q2, lambda m, v: -kl_divergence(m, v))
    assert "averaged" in _message(ex.q2, lambda m, v: 0.5 * ops.mean(m**2 + ops.exp(v) - v - 1, axis=-1))
    assert "0.5" in _message(ex.q2, lambda m, v: ops.sum(m**2 + ops.exp(v) - v - 1, axis=-1))
    assert "per example" in _message(ex.q2, lambda m, v: ops.mean(kl_divergence(m, v)))


def test_q2_stub():
    def kl(m, v):
        raise NotImplementedError

    assert _status(ex.q2, kl) == "not attempted"


# ---------------------------------------------------------------- q3 ELBO loss


def test_q3_accepts_right_answers():
    assert _status(ex.q3, negative_elbo) == "correct"

    def with_keras_bce(x, logits, m, v):
        n = x.shape[0]
        rec = keras.losses.binary_crossentropy(ops.reshape(x, (n, -1)), ops.reshape(logits, (n, -1)),
                                               from_logits=True) * 784
        return ops.mean(rec + kl_divergence(m, v))

    assert _status(ex.q3, with_keras_bce) == "correct"


def test_q3_rejects_per_pixel_mean_wrong_kl_sign_and_others():
    def per_pixel_mean(x, logits, m, v):  # the article's loss='binary_crossentropy' + a KL
        n = x.shape[0]
        rec = keras.losses.binary_crossentropy(ops.reshape(x, (n, -1)), ops.reshape(logits, (n, -1)),
                                               from_logits=True)
        return ops.mean(rec + kl_divergence(m, v))

    def wrong_sign(x, logits, m, v):
        return ops.mean(_rec(x, logits) - kl_divergence(m, v))

    def batch_sum(x, logits, m, v):
        return ops.sum(_rec(x, logits) + kl_divergence(m, v))

    def no_kl(x, logits, m, v):
        return ops.mean(_rec(x, logits))

    def sigmoid_twice(x, logits, m, v):
        return negative_elbo(x, ops.sigmoid(logits), m, v)

    assert "mean over pixels" in _message(ex.q3, per_pixel_mean)
    assert "sign" in _message(ex.q3, wrong_sign)
    assert "summed over the batch" in _message(ex.q3, batch_sum)
    assert "KL" in _message(ex.q3, no_kl)
    assert "sigmoid" in _message(ex.q3, sigmoid_twice)


def _rec(x, logits):
    from utils.vae import bernoulli_reconstruction

    return bernoulli_reconstruction(x, logits)


def test_q3_stub():
    def loss(*args):
        raise NotImplementedError

    assert _status(ex.q3, loss) == "not attempted"


# ---------------------------------------------------------------- q4 decoder


def test_q4_accepts_right_answers():
    assert _status(ex.q4, lambda d: build_decoder(d, filters=(8, 4), hidden=0)) == "correct"


def _article_decoder(latent_dim):  # article 000: Dense(16) reshaped to (8, 8, 64)
    z = keras.Input((latent_dim,))
    x = layers.Dense(16, activation="relu")(z)
    x = layers.Reshape((8, 8, 64))(x)
    return keras.Model(z, x)


def _thirty_two(latent_dim):  # sizes fixed, but 8 -> 16 -> 32, not 28
    z = keras.Input((latent_dim,))
    x = layers.Reshape((8, 8, 4))(layers.Dense(256)(z))
    x = layers.Conv2DTranspose(4, 3, strides=2, padding="same")(x)
    x = layers.Conv2DTranspose(1, 3, strides=2, padding="same")(x)
    return keras.Model(z, x)


def _sigmoid_decoder(latent_dim):
    z = keras.Input((latent_dim,))
    x = layers.Reshape((28, 28, 1))(layers.Dense(784, activation="sigmoid")(z))
    return keras.Model(z, x)


def _article_001_decoder(latent_dim):  # 64 values reshaped to (28, 28, 1)
    z = keras.Input((latent_dim,))
    x = layers.Dense(64)(z)
    x = layers.Reshape((8, 8, 1))(x)
    x = layers.Reshape((28, 28, 1))(layers.Dense(1)(x))
    return keras.Model(z, x)


def test_q4_rejects_the_articles_reshapes_wrong_size_and_sigmoid():
    assert _status(ex.q4, _article_decoder) == "incorrect"
    assert _status(ex.q4, _article_001_decoder) == "incorrect"
    assert "32x32" in _message(ex.q4, _thirty_two)
    assert "logits" in _message(ex.q4, _sigmoid_decoder)


def test_q4_stub():
    def build(d):
        raise NotImplementedError

    assert _status(ex.q4, build) == "not attempted"


def test_q2_names_the_keras_loss_class():
    for misuse in (lambda m, v: keras.losses.KLDivergence(m, v),  # the article's call
                   lambda m, v: keras.losses.KLDivergence()(m, v),
                   lambda m, v: keras.losses.kl_divergence(m, v)):
        assert "loss class" in _message(ex.q2, misuse)


def test_q3_rejects_a_sigmoid_and_cross_entropy_on_probabilities():
    def on_probabilities(x, logits, z_mean, z_log_var):
        p = ops.sigmoid(logits)
        rec = -ops.sum(x * ops.log(p) + (1 - x) * ops.log(1 - p), axis=(1, 2, 3))
        return ops.mean(rec + kl_divergence(z_mean, z_log_var))

    assert "probabilities" in _message(ex.q3, on_probabilities)

    def keras_bce_on_probabilities(x, logits, z_mean, z_log_var):
        rec = 784 * keras.losses.binary_crossentropy(ops.reshape(x, (-1, 784)),
                                                     ops.reshape(ops.sigmoid(logits), (-1, 784)))
        return ops.mean(rec + kl_divergence(z_mean, z_log_var))

    assert "probabilities" in _message(ex.q3, keras_bce_on_probabilities)
