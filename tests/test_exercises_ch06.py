"""Chapter 06 checkers accept right answers and reject typical (and the article's) mistakes."""

import keras
import numpy as np
import tensorflow as tf

import utils  # noqa: F401
from utils.chapters import faces as F
from utils.exercises import ch06 as ex


def _status(q, answer):
    return q.evaluate(answer).status


def _message(q, answer):
    return q.evaluate(answer).message


def _stub(*args, **kwargs):
    raise NotImplementedError


# ---------------------------------------------------------------- q1 shape arithmetic


def test_q1_output_size():
    assert _status(ex.q1, F.stack_output_size) == "correct"

    def all_same(size, stack):  # the article's implicit assumption: convolutions keep the size
        for layer in stack:
            if layer[0] == "up":
                size *= layer[1]
            elif layer[0] == "pool":
                size //= layer[1]
            elif layer[0] == "convT":
                size *= layer[2]
            else:
                size = -(-size // layer[2])
        return size

    msg = _message(ex.q1, all_same)
    assert "valid" in msg and "Keras gives 12x12" in msg

    def no_floor(size, stack):
        for layer in stack:
            if layer[0] == "conv" and layer[3] == "valid":
                size = (size - layer[1]) / layer[2] + 1
            else:
                size = F.stack_output_size(size, [layer])
        return size

    assert "integer" in _message(ex.q1, no_floor) or "Keras gives" in _message(ex.q1, no_floor)
    assert "one number" in _message(ex.q1, lambda s, st: (F.stack_output_size(s, st),) * 2)
    assert _status(ex.q1, _stub) == "not attempted"


# ---------------------------------------------------------------- q3 generator (the chapter's design)


def _generator_variant(last_activation="tanh", bn=True, start=4, latent_fixed=None, transposed=False,
                       bias=False):
    """Chapter 06's resize-convolution generator, or one mistake in it."""
    def build(latent_dim=100, filters=64):
        def up(f, **kwargs):
            if transposed:
                return [keras.layers.Conv2DTranspose(f, 4, strides=2, padding="same", **kwargs)]
            return [keras.layers.UpSampling2D(2), keras.layers.Conv2D(f, 3, padding="same", **kwargs)]

        layers = [keras.Input((latent_fixed or latent_dim,)),
                  keras.layers.Dense(start * start * filters, use_bias=bias)]
        layers += [keras.layers.BatchNormalization()] if bn else []
        layers += [keras.layers.ReLU(), keras.layers.Reshape((start, start, filters))]
        for f in (filters // 2, filters // 4, filters // 8):
            layers += up(f, use_bias=bias) + ([keras.layers.BatchNormalization()] if bn else [])
            layers.append(keras.layers.ReLU())
        layers += up(3, activation=last_activation)
        return keras.Sequential(layers)

    return build


def test_q3_generator_is_the_chapters_resize_convolution_design():
    assert _status(ex.q3, F.build_face_generator) == "correct"
    assert _status(ex.q3, _generator_variant()) == "correct"
    assert "article's generator" in _message(ex.q3, lambda latent_dim=100, filters=64: F.article_generator(latent_dim))
    assert "MNIST" in _message(ex.q3, lambda latent_dim=100, filters=64: keras.Sequential([
        keras.Input((latent_dim,)), keras.layers.Dense(28 * 28), keras.layers.BatchNormalization(),
        keras.layers.Reshape((28, 28, 1))]))
    classic = _message(ex.q3, lambda latent_dim=100, filters=64: F.build_face_generator(
        latent_dim, filters=filters, upsampling="transposed"))
    assert "Conv2DTranspose" in classic and "resize-convolutions" in classic
    assert "Conv2DTranspose" in _message(ex.q3, _generator_variant(transposed=True))
    assert "sigmoid" in _message(ex.q3, _generator_variant("sigmoid"))
    assert "tanh" in _message(ex.q3, _generator_variant(None))
    assert "BatchNormalization" in _message(ex.q3, _generator_variant(bn=False))
    assert "latent_dim argument" in _message(ex.q3, _generator_variant(latent_fixed=100))
    assert "parameters" in _message(ex.q3, _generator_variant(bias=True))  # biases before BatchNorm
    assert "filters argument" in _message(ex.q3, lambda latent_dim=100, filters=64: F.build_face_generator(
        latent_dim, filters=256))  # ignores its filters argument
    assert _status(ex.q3, _stub) == "not attempted"


# ---------------------------------------------------------------- q4 discriminator (spectral norm)


def _disc_variant(act="leaky", pool=False, sigmoid=False, shape=(64, 64, 3), spectral=True, bn=False,
                  dense_bare=False):
    def build(filters=16):
        sn = keras.layers.SpectralNormalization if spectral else (lambda layer: layer)
        layers = [keras.Input(shape)]
        for f in (filters, 2 * filters, 4 * filters, 8 * filters):
            layers.append(sn(keras.layers.Conv2D(f, 3 if pool else 4, strides=1 if pool else 2,
                                                 padding="valid" if pool else "same")))
            layers += [keras.layers.BatchNormalization()] if bn else []
            layers.append(keras.layers.LeakyReLU(negative_slope=0.2) if act == "leaky" else keras.layers.ReLU())
            layers += [keras.layers.MaxPooling2D(2)] if pool else []
        dense = keras.layers.Dense(1, activation="sigmoid" if sigmoid else None)
        layers += [keras.layers.Flatten(), dense if dense_bare else sn(dense)]
        return keras.Sequential(layers)

    return build


def test_q4_discriminator_is_spectrally_normalised():
    assert _status(ex.q4, F.build_face_discriminator) == "correct"
    assert _status(ex.q4, _disc_variant()) == "correct"
    assert "28x28x1" in _message(ex.q4, lambda filters=16: F.article_discriminator())  # the article's first
    assert "sigmoid" in _message(ex.q4, _disc_variant(sigmoid=True))
    assert "pooling" in _message(ex.q4, _disc_variant(pool=True))
    assert "ReLU" in _message(ex.q4, _disc_variant(act="relu"))
    assert "(N, 64, 64, 3)" in _message(ex.q4, _disc_variant(shape=(32, 32, 3)))
    classic = _message(ex.q4, lambda filters=16: F.build_face_discriminator(filters, spectral_norm=False))
    assert "BatchNormalization" in classic and "spectral" in classic
    assert "not spectrally normalised" in _message(ex.q4, _disc_variant(spectral=False))
    assert "Dense" in _message(ex.q4, _disc_variant(dense_bare=True))
    assert "filters argument" in _message(ex.q4, lambda filters=16: F.build_face_discriminator(32))
    assert _status(ex.q4, _stub) == "not attempted"


# ---------------------------------------------------------------- q4 training step

_bce = tf.nn.sigmoid_cross_entropy_with_logits


def _step(smooth_fakes=False, saturating=False, freeze_d=False, g_on_d=False, real_one=False, g_first=False):
    def train_step(generator, discriminator, g_opt, d_opt, real, z, real_label=0.9):
        label = 1.0 if real_one else real_label
        with tf.GradientTape() as tape:
            rl = discriminator(real, training=True)
            fl = discriminator(generator(z, training=True), training=True)
            fake_target = (1 - real_label) if smooth_fakes else 0.0
            d_loss = (tf.reduce_mean(_bce(tf.fill(tf.shape(rl), label), rl))
                      + tf.reduce_mean(_bce(tf.fill(tf.shape(fl), fake_target), fl)))
        if not freeze_d:
            d_vars = discriminator.trainable_variables
            d_opt.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        with tf.GradientTape() as tape:
            fl = discriminator(generator(z, training=True), training=True)
            g_loss = (-tf.reduce_mean(_bce(tf.zeros_like(fl), fl)) if saturating
                      else tf.reduce_mean(_bce(tf.ones_like(fl), fl)))
        variables = generator.trainable_variables + (discriminator.trainable_variables if g_on_d else [])
        g_opt.apply_gradients(zip(tape.gradient(g_loss, variables), variables))
        return {"d_loss": d_loss, "g_loss": g_loss}

    return train_step


def _simultaneous(generator, discriminator, g_opt, d_opt, real, z, real_label=0.9):
    with tf.GradientTape(persistent=True) as tape:
        rl = discriminator(real, training=True)
        fl = discriminator(generator(z, training=True), training=True)
        d_loss = (tf.reduce_mean(_bce(tf.fill(tf.shape(rl), real_label), rl))
                  + tf.reduce_mean(_bce(tf.zeros_like(fl), fl)))
        g_loss = tf.reduce_mean(_bce(tf.ones_like(fl), fl))
    d_grads = tape.gradient(d_loss, discriminator.trainable_variables)
    g_grads = tape.gradient(g_loss, generator.trainable_variables)
    d_opt.apply_gradients(zip(d_grads, discriminator.trainable_variables))
    g_opt.apply_gradients(zip(g_grads, generator.trainable_variables))
    return d_loss, g_loss


def test_q4_train_step():
    assert _status(ex.q5, _step()) == "correct"
    assert _status(ex.q5, _simultaneous) == "correct"
    assert "frozen" in _message(ex.q5, _step(freeze_d=True))  # the article's (Keras 2) recipe
    assert "saturating" in _message(ex.q5, _step(saturating=True))
    assert "one-sided" in _message(ex.q5, _step(real_one=True))
    assert "fakes keep 0" in _message(ex.q5, _step(smooth_fakes=True))
    moves_d = _message(ex.q5, _step(g_on_d=True))
    assert "generator's optimiser also updated the discriminator" in moves_d
    assert "'d_loss'" in _message(ex.q5, lambda *a, **k: {"loss": 0.0})
    assert _status(ex.q5, _stub) == "not attempted"


def _step_with(g_loss):
    def step(generator, discriminator, g_opt, d_opt, real, z, real_label=0.9):
        with tf.GradientTape() as tape:
            rl = discriminator(real, training=True)
            fl = discriminator(generator(z, training=True), training=True)
            d_loss = (tf.reduce_mean(_bce(tf.fill(tf.shape(rl), real_label), rl))
                      + tf.reduce_mean(_bce(tf.zeros_like(fl), fl)))
        d_opt.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_variables),
                                  discriminator.trainable_variables))
        with tf.GradientTape() as tape:
            g_loss_value = g_loss(discriminator(generator(z, training=True), training=True))
        g_opt.apply_gradients(zip(tape.gradient(g_loss_value, generator.trainable_variables),
                                  generator.trainable_variables))
        return {"d_loss": d_loss, "g_loss": g_loss_value}

    return step


def test_q4_train_step_value_mistakes():
    bce = keras.losses.BinaryCrossentropy

    def random_targets(f):
        return bce(from_logits=True)(tf.random.uniform(tf.shape(f)), f)

    assert "random targets (the article's mistake)" in _message(ex.q5, _step_with(random_targets))
    toward_fake = lambda f: bce(from_logits=True)(tf.zeros_like(f), f)  # noqa: E731
    assert "toward target 0" in _message(ex.q5, _step_with(toward_fake))
    on_probabilities = lambda f: bce()(tf.ones_like(f), tf.sigmoid(f))  # noqa: E731
    assert "applies a sigmoid" in _message(ex.q5, _step_with(on_probabilities))


# ---------------------------------------------------------------- q5 prepare_face


def test_q5_prepare_face():
    assert _status(ex.q2, F.prepare_face) == "correct"
    sol = {}
    exec(ex.q2._solution, {"np": np, "tf": tf}, sol)  # the shown solution passes too
    assert _status(ex.q2, sol["prepare_face"]) == "correct"
    assert "[0, 1]" in _message(ex.q2, lambda img: (F.prepare_face(img) + 1) / 2)
    stretched = lambda img: tf.image.resize(np.asarray(img)[..., :3] / 255.0, (64, 64)).numpy() * 2 - 1  # noqa: E731
    assert "stretching" in _message(ex.q2, lambda img: stretched(img).astype("float32"))
    assert "float32" in _message(ex.q2, lambda img: F.prepare_face(img).astype("float64"))
    assert "1/255" in _message(ex.q2, lambda img: ((F.prepare_face(img) + 1) * 127.5).astype("float32"))
    assert "RGBA" in _message(ex.q2, lambda img: F.prepare_face(img[..., :3]) if img.ndim == 3 and img.shape[-1] == 3
                              else np.zeros((64, 64, 4), "float32"))
    assert _status(ex.q2, _stub) == "not attempted"


# ---------------------------------------------------------------- q6 stabilisers


def test_q6_stabilisers():
    assert _status(ex.q6, {"A", "C", "E", "F", "I", "J", "K"}) == "correct"
    assert _status(ex.q6, "a c e f i j k") == "correct"
    assert "twice" in _message(ex.q6, {"A", "C", "E", "F", "I", "J", "K", "G"})
    assert "B is wrong" in _message(ex.q6, {"A", "B", "C", "E", "F", "I", "J", "K"})
    assert "balance" in _message(ex.q6, {"A", "C", "E", "F", "I", "J", "K", "L"})
    assert "missing" in _message(ex.q6, {"A", "C", "E", "F", "I"})  # the classic recipe without J and K
    assert "missing" in _message(ex.q6, {"A", "C"})
    assert "unknown" in _message(ex.q6, {"Z"})
    assert _status(ex.q6, None) == "not attempted"


def test_q4_train_step_discriminator_value_mistakes():
    def d_step_with(d_loss_fn):
        def step(generator, discriminator, g_opt, d_opt, real, z, real_label=0.9):
            with tf.GradientTape() as tape:
                d_loss = d_loss_fn(discriminator(real, training=True),
                                   discriminator(generator(z, training=True), training=True))
            d_opt.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_variables),
                                      discriminator.trainable_variables))
            with tf.GradientTape() as tape:
                fl = discriminator(generator(z, training=True), training=True)
                g_loss = tf.reduce_mean(_bce(tf.ones_like(fl), fl))
            g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables),
                                      generator.trainable_variables))
            return {"d_loss": d_loss, "g_loss": g_loss}

        return step

    def swapped(r, f):
        return (tf.reduce_mean(_bce(tf.fill(tf.shape(f), 0.9), f))
                + tf.reduce_mean(_bce(tf.zeros_like(r), r)))

    assert "labels are swapped" in _message(ex.q5, d_step_with(swapped))
    bce = keras.losses.BinaryCrossentropy()

    def on_probabilities(r, f):
        return bce(tf.fill(tf.shape(r), 0.9), tf.sigmoid(r)) + bce(tf.zeros_like(f), tf.sigmoid(f))

    assert _status(ex.q5, d_step_with(on_probabilities)) == "incorrect"
