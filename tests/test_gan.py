"""utils.gan: losses against hand-computed values, a step moves both networks, fit() works, saving loads."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from utils import gan, metrics, training


def test_losses_match_hand_computed_values():
    real, fake = np.array([[2.0], [-1.0]]), np.array([[0.0], [3.0]])
    softplus = lambda x: np.log1p(np.exp(x))  # noqa: E731
    want_d = softplus(-real).mean() + softplus(fake).mean()
    assert float(gan.discriminator_loss(real, fake)) == pytest.approx(want_d, rel=1e-5)
    assert float(gan.generator_loss(fake)) == pytest.approx(softplus(-fake).mean(), rel=1e-5)
    assert float(gan.saturating_generator_loss(fake)) == pytest.approx(-softplus(fake).mean(), rel=1e-5)
    # one-sided label smoothing changes only the real term
    smooth = float(gan.discriminator_loss(real, fake, real_label=0.9))
    want = (0.9 * softplus(-real) + 0.1 * softplus(real)).mean() + softplus(fake).mean()
    assert smooth == pytest.approx(want, rel=1e-5)


def test_non_saturating_loss_has_strong_gradient_where_minimax_saturates():
    logits = tf.constant([[-8.0]])  # D confidently rejects a fake
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(logits)
        ns, sat = gan.generator_loss(logits), gan.saturating_generator_loss(logits)
    assert abs(float(tape.gradient(ns, logits)[0, 0])) > 0.9
    assert abs(float(tape.gradient(sat, logits)[0, 0])) < 1e-3


def test_extreme_logits_stay_finite():
    assert np.isfinite(float(gan.discriminator_loss([[-200.0]], [[200.0]])))
    assert float(gan.discriminator_loss([[-200.0]], [[200.0]])) == pytest.approx(400.0, rel=1e-4)


@pytest.mark.parametrize("kind", ["mlp", "dcgan"])
def test_reference_networks_have_the_contract_shapes(kind):
    g = gan.build_mlp_generator(16) if kind == "mlp" else gan.build_dcgan_generator(16, filters=16)
    d = gan.build_mlp_discriminator((32,)) if kind == "mlp" else gan.build_dcgan_discriminator(8)
    z = gan.sample_latent(4, 16)
    images = np.asarray(g(z))
    assert images.shape == (4, 28, 28, 1)
    assert images.min() >= -1 and images.max() <= 1
    assert d(images).shape == (4, 1)


def _tiny_pair():
    keras.utils.set_random_seed(0)
    return gan.build_mlp_generator(8, hidden=(16,)), gan.build_mlp_discriminator((16,), dropout=0.0)


def _weights_after(train) -> list:
    """A fresh `_tiny_pair` with two SGD(1e-2) optimisers, trained by `train(g, d, g_opt, d_opt)`: all its weights.

    SGD, not Adam: Adam's step is about +-lr wherever a gradient is near 0, so the float noise of multi-threaded
    CPU sums (it varies with the machine's load) could flip it; SGD keeps it tiny."""
    g, d = _tiny_pair()
    g_opt, d_opt = keras.optimizers.SGD(1e-2), keras.optimizers.SGD(1e-2)
    train(g, d, g_opt, d_opt)
    return [np.asarray(w) for w in g.weights + d.weights]


def test_train_step_moves_both_networks_and_reports_finite_losses():
    g, d = _tiny_pair()
    step = gan.make_train_step(g, d, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), latent_dim=8)
    g0, d0 = training.snapshot_weights(g), training.snapshot_weights(d)
    logs = step(tf.constant(np.random.default_rng(0).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")))
    assert training.max_weight_change(g0, g) > 0 and training.max_weight_change(d0, d) > 0
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert 0 <= float(logs["d_real"]) <= 1 and 0 <= float(logs["d_fake"]) <= 1


def test_generator_update_in_step_leaves_discriminator_alone():
    """With a zero learning rate for D, a full step must not change D (the G half does not touch it)."""
    g, d = _tiny_pair()
    step = gan.make_train_step(g, d, keras.optimizers.Adam(1e-3), keras.optimizers.SGD(0.0), latent_dim=8)
    d0 = training.snapshot_weights(d)
    step(tf.zeros((4, 28, 28, 1)))
    assert training.max_weight_change(d0, d) == 0.0


def test_gan_model_fit_with_callbacks_and_saved_generator_loads(tmp_path):
    g, d = _tiny_pair()
    model = gan.GAN(g, d, latent_dim=8, real_label=0.9)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensor_slices(np.zeros((32, 28, 28, 1), "float32")).batch(8)
    g0, d0 = training.snapshot_weights(g), training.snapshot_weights(d)
    progress = gan.GANProgress(gan.sample_latent(4, 8), every=1, title="test")
    progress.display.notebook = False
    budget = training.TimeBudget(3600)
    history = model.fit(data, epochs=2, verbose=0, callbacks=[progress, budget])
    assert training.max_weight_change(g0, g) > 0 and training.max_weight_change(d0, d) > 0
    assert set(history.history) >= {"d_loss", "g_loss", "d_real", "d_fake"}
    assert sorted(progress.snapshots) == [1, 2] and progress.snapshots[2].shape == (4, 28, 28, 1)
    assert not budget.stopped_early
    path = tmp_path / "generator.keras"
    g.save(path)
    loaded = keras.models.load_model(path)
    z = gan.sample_latent(3, 8)
    np.testing.assert_allclose(np.asarray(loaded(z)), np.asarray(g(z)), atol=1e-6)
    json.dumps({k: [float(x) for x in v] for k, v in history.history.items()})


def test_steps_per_execution_changes_the_calls_not_the_updates():
    """Chapter 03 trains with compile(steps_per_execution=8): the same weights as one step per call,
    with the batch callbacks (TimeBudget's clock) called once per execution. The short last execution
    (2 steps) runs only the batches there are; Keras 3.15 numbers it as if it were full (11, not 9)."""
    images = np.random.default_rng(0).uniform(-1, 1, (40, 28, 28, 1)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices(images).batch(4)  # 10 batches: 4 + 4 + 2 at N = 4

    def train(steps_per_execution):
        calls = []
        record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: calls.append(batch))

        def fit(g, d, g_opt, d_opt):
            model = gan.GAN(g, d, latent_dim=8, r1_gamma=1.0, seed=3)
            model.compile(d_optimizer=d_opt, g_optimizer=g_opt, steps_per_execution=steps_per_execution)
            model.fit(data, epochs=1, verbose=0, callbacks=[record])

        return _weights_after(fit), calls

    one_per_call, calls_1 = train(1)
    four_per_call, calls_4 = train(4)
    assert calls_1 == list(range(10)) and len(calls_4) == 3 and calls_4[:2] == [3, 7]
    for a, b in zip(one_per_call, four_per_call):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_time_budget_stops_fit():
    g, d = _tiny_pair()
    model = gan.GAN(g, d, latent_dim=8)
    model.compile(d_optimizer=keras.optimizers.Adam(1e-3), g_optimizer=keras.optimizers.Adam(1e-3))
    data = tf.data.Dataset.from_tensor_slices(np.zeros((16, 28, 28, 1), "float32")).batch(8)
    budget = training.TimeBudget(0.0)
    history = model.fit(data, epochs=50, verbose=0, callbacks=[budget])
    assert budget.stopped_early and len(history.history["d_loss"]) == 1


def test_weight_helpers_and_generate():
    g, _ = _tiny_pair()
    before = training.snapshot_weights(g)
    assert training.max_weight_change(before, g) == 0.0
    g.trainable_weights[0].assign(g.trainable_weights[0] + 0.5)
    assert training.max_weight_change(before, g) == pytest.approx(0.5)
    images = gan.generate(g, 7, seed=1, batch_size=3)
    assert images.shape == (7, 28, 28, 1)
    np.testing.assert_array_equal(gan.sample_latent(2, 8, seed=5), gan.sample_latent(2, 8, seed=5))


def test_digit_quality_on_a_fake_classifier():
    clf = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    q = metrics.digit_quality(np.zeros((20, 28, 28, 1), "float32"), clf)
    assert q["classes"] == 1 and q["class_entropy"] == pytest.approx(0.0) and 0.1 <= q["confidence"] <= 1.0


def test_epoch_progress_bar_counts_epochs_and_shows_losses():
    bar = training.EpochProgressBar(epochs=2, desc="probe", keys=("d_loss", "g_loss"))
    bar.on_train_begin()
    bar.on_epoch_end(0, {"d_loss": 0.5, "g_loss": 1.25, "other": 3.0})
    bar.on_epoch_end(1, {"d_loss": 0.4})
    assert bar.bar.n == 2 and "d_loss" in str(bar.bar.postfix)
    bar.on_train_end()
    every_key = training.EpochProgressBar(epochs=1)  # keys=None: whatever fit() logs
    every_key.on_train_begin()
    every_key.on_epoch_end(0, {"neg_elbo": 90.0, "val_neg_elbo": 95.5})
    assert "val_neg_elbo" in str(every_key.bar.postfix) and "95.5" in str(every_key.bar.postfix)
    every_key.on_train_end()


def test_weight_helpers_see_non_trainable_weights():
    """A frozen model has no trainable weights, yet a buggy step can change it: the helpers still see it."""
    g, _ = _tiny_pair()
    g.trainable = False
    before = training.snapshot_weights(g)
    g.weights[0].assign(g.weights[0] - 0.25)
    assert training.max_weight_change(before, g) == pytest.approx(0.25)


def test_make_train_step_and_gan_fit_are_the_same_update():
    """One update, two wrappers: from the same weights, batch and seed, a tf.function step and
    GAN.train_step (via fit) leave identical weights, with R1 and label smoothing on."""
    real = np.random.default_rng(3).uniform(-1, 1, (8, 28, 28, 1)).astype("float32")

    def by_step(g, d, g_opt, d_opt):
        step = gan.make_train_step(g, d, g_opt, d_opt, latent_dim=8, real_label=0.9, seed=7, r1_gamma=2.0)
        for _ in range(3):
            step(tf.constant(real))

    def by_fit(g, d, g_opt, d_opt):
        model = gan.GAN(g, d, latent_dim=8, real_label=0.9, r1_gamma=2.0, seed=7)
        model.compile(d_optimizer=d_opt, g_optimizer=g_opt)
        model.fit(tf.data.Dataset.from_tensor_slices(real).batch(8).repeat(3), epochs=1, verbose=0)

    for a, b in zip(_weights_after(by_step), _weights_after(by_fit)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_r1_penalty_of_a_linear_discriminator_is_its_squared_weight_norm():
    d = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    w = np.asarray(d.layers[-1].kernel)
    x = np.random.default_rng(0).normal(size=(5, 28, 28, 1)).astype("float32")
    # D(x) = w.x + b, so grad_x D(x) = w for every image
    assert float(gan.r1_penalty(d, x)) == pytest.approx(float((w ** 2).sum()), rel=1e-5)


def test_r1_penalty_is_zero_where_d_is_flat():
    d = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                          keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="ones")])
    assert float(gan.r1_penalty(d, np.ones((3, 28, 28, 1), "float32"))) == 0.0


def test_train_step_r1_gamma_adds_half_gamma_times_the_penalty_gradient():
    """Same seed, same batch: the D update with r1_gamma differs by exactly lr * gamma / 2 * grad R1."""
    real = tf.constant(np.random.default_rng(1).uniform(-1, 1, (8, 28, 28, 1)).astype("float32"))
    lr, gamma, updates = 0.1, 4.0, {}
    for r1_gamma in (0.0, gamma):
        g, d = _tiny_pair()
        d0 = [np.asarray(w).copy() for w in d.trainable_weights]
        if r1_gamma:
            with tf.GradientTape() as tape:
                penalty = gan.r1_penalty(d, real)
            grads = tape.gradient(penalty, d.trainable_weights)  # None for biases: R1 does not depend on them
            r1_grads = [np.zeros(w.shape) if x is None else np.asarray(x) for x, w in zip(grads, d.trainable_weights)]
        step = gan.make_train_step(g, d, keras.optimizers.SGD(0.0), keras.optimizers.SGD(lr), latent_dim=8,
                                   r1_gamma=r1_gamma)
        logs = step(real)
        updates[r1_gamma] = [np.asarray(w) - w0 for w, w0 in zip(d.trainable_weights, d0)]
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert max(np.abs(x).max() for x in r1_grads) > 0
    for with_r1, without, grad in zip(updates[gamma], updates[0.0], r1_grads):
        np.testing.assert_allclose(with_r1 - without, -lr * gamma / 2 * grad, rtol=1e-3, atol=1e-6)


def test_gan_update_is_repeatable_from_its_seed_and_moves_only_what_its_optimisers_own():
    """Called directly (eagerly): the same seed gives the same noise and so the same weights; with a
    zero learning rate for G only D moves (the update never touches G's weights through D's step)."""
    real = tf.constant(np.random.default_rng(4).uniform(-1, 1, (8, 28, 28, 1)).astype("float32"))
    after = []
    for _ in range(2):
        keras.utils.set_random_seed(2)
        g, d = _tiny_pair()
        g0, d0 = training.snapshot_weights(g), training.snapshot_weights(d)
        logs = gan.gan_update(g, d, keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.1), real,
                              keras.random.SeedGenerator(3), latent_dim=8)
        after.append([np.asarray(w) for w in d.weights])
        assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
        assert training.max_weight_change(g0, g) == 0.0 and training.max_weight_change(d0, d) > 0.0
    for a, b in zip(*after):
        np.testing.assert_array_equal(a, b)


def _square(size=28, batch=16):
    """White squares (value 1) on black (-1), in the middle of each image."""
    x = -np.ones((batch, size, size, 1), "float32")
    x[:, 10:18, 10:18] = 1.0
    return x


def test_train_step_with_r1_and_average_moves_the_average():
    g, d = gan.build_dcgan_generator(8, filters=8), gan.build_dcgan_discriminator(filters=8)
    average = training.WeightAverage(g, decay=0.5)
    before = training.snapshot_weights(average.average)
    step = gan.make_train_step(g, d, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), latent_dim=8,
                               r1_gamma=1.0, average=average)
    values = step(tf.constant(_square(batch=8)))
    assert all(np.isfinite(float(v)) for v in values.values())
    assert training.max_weight_change(before, average.average) > 0
