"""Chapter 08's checkers: right answers pass; the article's mistakes and typical slips are caught;
stubs are 'not attempted'."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")
from conftest import message, status, stub  # noqa: E402
from keras import layers  # noqa: E402

from utils.exercises import ch08 as ex  # noqa: E402
from utils.exercises.quiz import QUIZ, Quiz, QuizItem, QuizResult  # noqa: E402

ALL = ex.DRILLS + ex.BUGS


@pytest.mark.parametrize("exercise", ALL, ids=lambda e: e.title[:20])
def test_stub_is_not_attempted(exercise):
    assert status(exercise, stub) == "not attempted"
    assert status(exercise, None) == "not attempted"


def test_counts():
    assert len(ex.DRILLS) >= 5 and len(ex.BUGS) >= 5 and len(QUIZ) >= 10
    assert ex.GRADED == ex.DRILLS + [ex.q12] + ex.BUGS  # the scorecard grades drill 7 too
    assert [e.title.split(":")[0] for e in ex.DERIVATIONS] == [f"Drill {n}" for n in range(1, 8)]


# ---- q1 KL
def kl_right(mu, lv):
    return 0.5 * np.sum(np.exp(lv) + mu**2 - 1 - lv, axis=-1)


def test_kl():
    assert status(ex.q1, kl_right) == "correct"
    assert "sign" in message(ex.q1, lambda m, lv: -kl_right(m, lv))
    assert "1/2" in message(ex.q1, lambda m, lv: 2 * kl_right(m, lv))
    assert "SUMS" in message(ex.q1, lambda m, lv: 0.5 * np.mean(np.exp(lv) + m**2 - 1 - lv, axis=-1))
    assert "per example" in message(ex.q1, lambda m, lv: np.sum(kl_right(m, lv)))
    assert status(ex.q1, lambda m, lv: 0.5 * np.sum(lv**2 + m**2 - 1 - lv, axis=-1)) == "incorrect"


# ---- q2 non-saturating loss
def test_non_saturating_loss():
    assert status(ex.q2, lambda t: np.mean(np.logaddexp(0, -np.asarray(t)))) == "correct"
    keras_version = lambda t: keras.losses.BinaryCrossentropy(from_logits=True)(np.ones_like(t), t)  # noqa: E731
    assert status(ex.q2, keras_version) == "correct"
    saturating = lambda t: np.mean(np.log(1 - 1 / (1 + np.exp(-np.asarray(t)))))  # noqa: E731
    assert "saturating" in message(ex.q2, saturating)
    assert "sign" in message(ex.q2, lambda t: -np.mean(np.logaddexp(0, -np.asarray(t))))
    unstable = lambda t: np.mean(-np.log(1 / (1 + np.exp(-np.asarray(t, "float32")))))  # noqa: E731
    assert status(ex.q2, unstable) == "incorrect"


# ---- q3 transposed conv
def test_conv_transpose_size():
    right = lambda n, k, s, p: n * s if p == "same" else n * s + max(k - s, 0)  # noqa: E731
    assert status(ex.q3, right) == "correct"
    old_rule = lambda n, k, s, p: n * s if p == "same" else (n - 1) * s + k  # noqa: E731
    assert "kernel >= stride" in message(ex.q3, old_rule)  # wrong when k < s
    conv = lambda n, k, s, p: (n - k) // s + 1 if p == "valid" else -(-n // s)  # noqa: E731
    assert "ordinary" in message(ex.q3, conv)
    assert status(ex.q3, lambda n, k, s, p: n * s) == "incorrect"  # ignores 'valid'


# ---- q4 Frechet distance
def test_frechet():
    from scipy import linalg

    def right(m1, s1, m2, s2):
        return float(np.sum((m1 - m2) ** 2) + np.trace(s1 + s2 - 2 * np.real(linalg.sqrtm(s1 @ s2))))

    assert status(ex.q4, right) == "correct"
    assert "MATRIX" in message(ex.q4, lambda m1, s1, m2, s2: float(np.sum((m1 - m2) ** 2) + np.trace(
        s1 + s2 - 2 * np.sqrt(np.abs(s1 * s2)))))
    assert "only the mean" in message(ex.q4, lambda m1, s1, m2, s2: float(np.sum((m1 - m2) ** 2)))
    assert "factor 2" in message(ex.q4, lambda m1, s1, m2, s2: float(np.sum((m1 - m2) ** 2) + np.trace(
        s1 + s2 - np.real(linalg.sqrtm(s1 @ s2)))))
    assert "SQUARED" in message(ex.q4, lambda *a: np.sqrt(right(*a)))


# ---- q5 reparameterisation
def test_reparameterize():
    assert status(ex.q5, lambda m, lv, e: m + keras.ops.exp(0.5 * lv) * e) == "correct"
    assert "variance" in message(ex.q5, lambda m, lv, e: m + keras.ops.exp(lv) * e)
    assert status(ex.q5, lambda m, lv, e: m + lv * e) == "incorrect"
    numpy_only = lambda m, lv, e: np.asarray(m) + np.exp(0.5 * np.asarray(lv)) * np.asarray(e)  # noqa: E731
    assert "gradient" in message(ex.q5, numpy_only) or "tensor" in message(ex.q5, numpy_only)


# ---- q6 JS
def test_js():
    def right(p, q):
        p, q = np.asarray(p, float), np.asarray(q, float)
        m = (p + q) / 2
        kl = lambda a, b: np.sum(a[a > 0] * np.log(a[a > 0] / b[a > 0]))  # noqa: E731
        return 0.5 * kl(p, m) + 0.5 * kl(q, m)

    assert status(ex.q6, right) == "correct"
    assert "bits" in message(ex.q6, lambda p, q: right(p, q) / np.log(2))
    assert "halves" in message(ex.q6, lambda p, q: 2 * right(p, q))
    naive = lambda p, q: 0.5 * np.sum(p * np.log(p / ((p + q) / 2))) + 0.5 * np.sum(q * np.log(q / ((p + q) / 2)))  # noqa: E731
    assert status(ex.q6, naive) == "incorrect"  # 0 log 0 -> nan


# ---- q7 sampling function (the article's Lambda helper)
def test_sample_z():
    seed = keras.random.SeedGenerator(1)

    def right(inputs):
        m, lv = inputs
        return m + keras.ops.exp(0.5 * lv) * keras.random.normal(keras.ops.shape(m), seed=seed)

    assert status(ex.q7, right) == "correct"

    def article(z_mean, z_log_var):  # two parameters: the article's signature
        return z_mean + np.exp(0.5 * z_log_var) * np.random.standard_normal(np.shape(z_mean))

    assert "two arguments" in message(ex.q7, article)

    def variance_as_std(inputs):
        m, lv = inputs
        return m + keras.ops.exp(lv) * keras.random.normal(keras.ops.shape(m), seed=seed)

    assert "exp(0.5" in message(ex.q7, variance_as_std)

    def fixed_seed(inputs):
        m, lv = inputs
        return m + keras.ops.exp(0.5 * lv) * keras.random.normal(keras.ops.shape(m), seed=42)

    assert "SeedGenerator" in message(ex.q7, fixed_seed)

    def uses_backend_k(inputs):
        from keras import backend as K  # noqa: N812

        m, lv = inputs
        return m + K.exp(0.5 * lv) * K.random_normal(shape=K.shape(m))

    assert status(ex.q7, uses_backend_k) == "incorrect"


# ---- q8 VAE loss
def test_vae_loss():
    def right(x, logits, m, lv):
        rec = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), [1, 2, 3])
        return tf.reduce_mean(rec + 0.5 * tf.reduce_sum(tf.exp(lv) + m**2 - 1 - lv, -1))

    assert status(ex.q8, right) == "correct"

    def no_kl(x, logits, m, lv):  # the article's VAE: an autoencoder loss only
        rec = tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits)
        return tf.reduce_mean(tf.reduce_sum(rec, [1, 2, 3]))

    assert "KL" in message(ex.q8, no_kl)

    def minus_kl(x, logits, m, lv):
        rec = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), [1, 2, 3])
        return tf.reduce_mean(rec - 0.5 * tf.reduce_sum(tf.exp(lv) + m**2 - 1 - lv, -1))

    assert "subtracted" in message(ex.q8, minus_kl)

    def mean_bce(x, logits, m, lv):
        rec = tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=x, logits=logits), [1, 2, 3])
        return tf.reduce_mean(rec + 0.5 * tf.reduce_sum(tf.exp(lv) + m**2 - 1 - lv, -1))

    assert "averaged over pixels" in message(ex.q8, mean_bce)

    def double_sigmoid(x, logits, m, lv):
        return right(x, tf.sigmoid(logits), m, lv)

    assert "double sigmoid" in message(ex.q8, double_sigmoid)


# ---- q9 / q10 generators
def good_generator(latent_dim=100):
    z = keras.Input((latent_dim,))
    h = layers.Reshape((7, 7, 16))(layers.Dense(7 * 7 * 16)(z))
    h = layers.Conv2DTranspose(8, 4, strides=2, padding="same", activation="relu")(h)
    return keras.Model(z, layers.Conv2DTranspose(1, 4, strides=2, padding="same", activation="tanh")(h))


def test_mnist_generator():
    assert status(ex.q9, good_generator) == "correct"

    def article_shape(latent_dim=100):  # 7x7x128 reshaped to 28x28x1: cannot even be built
        z = keras.Input((latent_dim,))
        h = layers.Reshape((7, 7, 128))(layers.Dense(7 * 7 * 128)(z))
        return keras.Model(z, layers.Reshape((28, 28, 1))(h))

    assert status(ex.q9, article_shape) == "incorrect"

    def no_tanh(latent_dim=100):
        z = keras.Input((latent_dim,))
        h = layers.Reshape((7, 7, 16))(layers.Dense(7 * 7 * 16)(z))
        h = layers.Conv2DTranspose(8, 4, strides=2, padding="same", activation="relu")(h)
        return keras.Model(z, layers.Conv2DTranspose(1, 4, strides=2, padding="same")(h))

    assert "tanh" in message(ex.q9, no_tanh)

    def with_lambda(latent_dim=100):
        z = keras.Input((latent_dim,))
        h = layers.Lambda(lambda t: t * 1.0)(z)
        h = layers.Reshape((28, 28, 1))(layers.Dense(784, activation="tanh")(h))
        return keras.Model(z, h)

    assert "Lambda" in message(ex.q9, with_lambda)


def test_face_generator():
    def right(latent_dim=100):
        z = keras.Input((latent_dim,))
        h = layers.Reshape((4, 4, 16))(layers.Dense(4 * 4 * 16)(z))
        for f in (16, 8, 8):
            h = layers.Conv2DTranspose(f, 4, strides=2, padding="same", activation="relu")(h)
        return keras.Model(z, layers.Conv2DTranspose(3, 4, strides=2, padding="same", activation="tanh")(h))

    assert status(ex.q10, right) == "correct"

    def article_stack(latent_dim=100):  # upsample + valid 3x3 conv, six times, from 7x7
        z = keras.Input((latent_dim,))
        h = layers.Reshape((7, 7, 4))(layers.Dense(7 * 7 * 4)(z))
        for _ in range(5):
            h = layers.Conv2D(4, 3, activation="relu")(layers.UpSampling2D()(h))
        return keras.Model(z, layers.Conv2D(3, 3, activation="tanh")(layers.UpSampling2D()(h)))

    assert "(64, 64, 3)" in message(ex.q10, article_stack)
    assert status(ex.q10, good_generator) == "incorrect"  # 28x28x1 is not a face image


# ---- q11 training step
def test_train_step():
    assert status(ex.q11, right_train_step) == "correct"
    bce = tf.nn.sigmoid_cross_entropy_with_logits

    def fake_outside_tape(generator, discriminator, g_opt, d_opt, real, z):
        fake = generator(z, training=True)
        with tf.GradientTape() as tape:
            rl, fl = discriminator(real, training=True), discriminator(fake, training=True)
            d_loss = tf.reduce_mean(bce(labels=tf.ones_like(rl), logits=rl)) + tf.reduce_mean(
                bce(labels=tf.zeros_like(fl), logits=fl))
        d_opt.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_variables),
                                  discriminator.trainable_variables))
        with tf.GradientTape() as tape:
            fl = discriminator(fake, training=True)
            g_loss = -tf.reduce_mean(bce(labels=tf.zeros_like(fl), logits=fl))
        grads = tape.gradient(g_loss, generator.trainable_variables)
        pairs = [(g, v) for g, v in zip(grads, generator.trainable_variables) if g is not None]
        if pairs:
            g_opt.apply_gradients(pairs)
        return d_loss, g_loss

    assert "generator's weights did not move" in message(ex.q11, fake_outside_tape)

    def frozen_d(generator, discriminator, g_opt, d_opt, real, z):
        with tf.GradientTape() as tape:
            fl = discriminator(generator(z, training=True), training=True)
            g_loss = tf.reduce_mean(bce(labels=tf.ones_like(fl), logits=fl))
        g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables),
                                  generator.trainable_variables))
        return 0.0, g_loss

    assert "discriminator's weights did not move" in message(ex.q11, frozen_d)

    def swapped_labels(generator, discriminator, g_opt, d_opt, real, z):
        with tf.GradientTape() as tape:
            rl = discriminator(real, training=True)
            fl = discriminator(generator(z, training=True), training=True)
            d_loss = tf.reduce_mean(bce(labels=tf.zeros_like(rl), logits=rl)) + tf.reduce_mean(
                bce(labels=tf.ones_like(fl), logits=fl))
        d_opt.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_variables),
                                  discriminator.trainable_variables))
        with tf.GradientTape() as tape:
            fl = discriminator(generator(z, training=True), training=True)
            g_loss = tf.reduce_mean(bce(labels=tf.ones_like(fl), logits=fl))
        g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables),
                                  generator.trainable_variables))
        return d_loss, g_loss

    assert "labels are swapped" in message(ex.q11, swapped_labels)

    def random_targets(generator, discriminator, g_opt, d_opt, real, z):  # the article's G targets
        frozen_g = keras.optimizers.SGD(0.0)
        d_loss, _ = right_train_step(generator, discriminator, frozen_g, d_opt, real, z)
        with tf.GradientTape() as tape:
            fl = discriminator(generator(z, training=True), training=True)
            g_loss = tf.reduce_mean(bce(labels=tf.random.uniform(tf.shape(fl)), logits=fl))
        g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables),
                                  generator.trainable_variables))
        return d_loss, g_loss

    assert "random targets (the article's mistake)" in message(ex.q11, random_targets)


def right_train_step(generator, discriminator, g_opt, d_opt, real, z):
    """The drill's solution: D on real -> 1 and fake -> 0, then G toward 1, from logits."""
    from utils import gan

    with tf.GradientTape() as tape:
        d_loss = gan.discriminator_loss(discriminator(real, training=True),
                                        discriminator(generator(z, training=True), training=True))
    d_opt.apply_gradients(zip(tape.gradient(d_loss, discriminator.trainable_variables),
                              discriminator.trainable_variables))
    with tf.GradientTape() as tape:
        g_loss = gan.generator_loss(discriminator(generator(z, training=True), training=True))
    g_opt.apply_gradients(zip(tape.gradient(g_loss, generator.trainable_variables),
                              generator.trainable_variables))
    return d_loss, g_loss


def test_mnist_generator_without_upsampling_is_rejected():
    def dense_only(latent_dim=100):
        z = keras.Input((latent_dim,))
        return keras.Model(z, layers.Reshape((28, 28, 1))(layers.Dense(784, activation="tanh")(z)))

    assert "nothing upsamples" in message(ex.q9, dense_only)


# ---- the quiz
def test_quiz_key_and_grading():
    key = {n: item.answer for n, item in enumerate(QUIZ.items, 1)}
    result = QUIZ.evaluate(key)
    assert isinstance(result, QuizResult)
    assert result.score == result.total == len(QUIZ) >= 10
    assert f"Score: {len(QUIZ)}/{len(QUIZ)}" in str(result)
    wrong = dict(key)
    wrong[1] = "a" if key[1] != "a" else "b"
    assert QUIZ.evaluate(wrong).score == len(QUIZ) - 1
    assert QUIZ.evaluate({1: key[1]}).attempted == 1
    assert QUIZ.evaluate(lambda: key).score == len(QUIZ)
    assert QUIZ.grade(stub).attempted == 0  # a stub is "not attempted", not an error
    with pytest.raises(AssertionError):
        QUIZ.evaluate({99: "a"})
    with pytest.raises(ValueError):
        Quiz([QuizItem("q", {"a": "x"}, "b", "why")])


def test_every_quiz_answer_is_an_option():
    for item in QUIZ.items:
        assert item.answer in item.options and len(item.options) >= 3


def quiz_giveaways(quiz):
    """(largest share of right answers at one letter, share of items whose right option is the longest).

    A tie for the longest counts as longest: a candidate who picks the longest option must not profit."""
    letters = [item.answer for item in quiz.items]
    at_one_letter = max(letters.count(letter) for letter in set(letters)) / len(letters)
    longest = sum(
        len(item.options[item.answer]) >= max(len(text) for key, text in item.options.items() if key != item.answer)
        for item in quiz.items
    )
    return at_one_letter, longest / len(quiz.items)


def test_quiz_right_option_is_not_given_away_by_place_or_length():
    at_one_letter, longest = quiz_giveaways(QUIZ)
    assert at_one_letter <= 0.4, f"{at_one_letter:.0%} of the right answers share one letter"
    assert longest <= 0.4, f"the right option is the longest in {longest:.0%} of the items"


def test_the_giveaway_check_can_fail():
    def item(answer, right_is_longest):
        options = {"a": "short", "b": "tiny", "c": "small"}
        options[answer] = "a much longer option" if right_is_longest else "x"
        return QuizItem("q", options, answer, "why")

    at_one_letter, longest = quiz_giveaways(Quiz([item("b", True) for _ in range(5)]))
    assert at_one_letter == 1.0 and longest == 1.0
    assert quiz_giveaways(Quiz([item(k, False) for k in "abc"])) == (1 / 3, 0.0)


def test_quiz_shuffle_is_fixed_and_keeps_the_right_option():
    from utils.exercises.quiz import quiz_item

    first = quiz_item(3, "q", "right", ["w1", "w2", "w3"], "why")
    again = quiz_item(3, "q", "right", ["w1", "w2", "w3"], "why")
    assert first == again and first.options[first.answer] == "right"
    assert sorted(first.options.values()) == ["right", "w1", "w2", "w3"]
