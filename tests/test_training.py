"""utils.training.WeightAverage, and face_metrics.with_refreshed_batchnorm (BatchNorm statistics for an average)."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from utils import gan, training
from utils.chapters.face_metrics import with_refreshed_batchnorm


def _pair():
    model = gan.build_dcgan_generator(8, filters=8)
    average = training.WeightAverage(model, decay=0.75)
    start = [np.asarray(w).copy() for w in average.average.weights]
    for w in model.weights:  # move every weight, BatchNorm statistics too
        w.assign(np.asarray(w) + 1.0)
    return model, average, start


def test_weight_average_starts_as_a_copy_and_lies_between_old_and_new():
    model, average, start = _pair()
    average.update()
    d = 2 / 11  # the first update's decay: min(0.75, (1 + 1) / (10 + 1)), so the untrained start fades fast
    for old, avg, now in zip(start, average.average.weights, model.weights):
        np.testing.assert_allclose(np.asarray(avg), d * old + (1 - d) * np.asarray(now), rtol=1e-5, atol=1e-6)
    z = gan.sample_latent(2, 8)
    assert average.average(z).shape == model(z).shape == (2, 28, 28, 1)


def test_weight_average_decay_grows_to_the_one_asked_for():
    model, average, _ = _pair()
    for _ in range(40):  # (1 + n) / (10 + n) passes 0.75 at n = 26
        average.update()
    before = [np.asarray(w).copy() for w in average.average.weights]
    for w in model.weights:
        w.assign(np.asarray(w) + 1.0)
    average.update()
    for old, avg, now in zip(before, average.average.weights, model.weights):
        np.testing.assert_allclose(np.asarray(avg), 0.75 * old + 0.25 * np.asarray(now), rtol=1e-5, atol=1e-5)


def test_weight_average_with_decay_zero_copies_the_model():
    model = gan.build_dcgan_generator(8, filters=8)
    average = training.WeightAverage(model, decay=0.0)
    for w in model.weights:
        w.assign(np.asarray(w) * 2.0 + 0.5)
    average.update()
    for avg, now in zip(average.average.weights, model.weights):
        np.testing.assert_allclose(np.asarray(avg), np.asarray(now))
    assert average.average is not model


@pytest.mark.parametrize("decay", [1.0, -0.1, 1.5])
def test_weight_average_rejects_a_bad_decay(decay):
    with pytest.raises(ValueError, match="decay must be in"):
        training.WeightAverage(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), decay=decay)


def test_weight_average_with_warmup_2_weighs_every_step_equally():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    average = training.WeightAverage(model, decay=0.999, warmup=2)
    seen = [np.asarray(w).copy() for w in model.weights]  # the start counts as the first
    for i in range(5):
        for w in model.weights:
            w.assign(np.asarray(w) + float(i + 1) ** 2)  # uneven moves: a mean, not a midpoint
        seen += [np.asarray(w).copy() for w in model.weights]
        average.update()
    k = len(model.weights)  # d_n = (1 + n) / (2 + n): each step's weights get 1 / (n + 2), the start 2 / (n + 2)
    means = [(seen[j] + sum(seen[j::k])) / (5 + 2) for j in range(k)]
    for avg, mean in zip(average.average.weights, means):
        np.testing.assert_allclose(np.asarray(avg), mean, rtol=1e-5)
    with pytest.raises(ValueError, match="warmup >= 1"):
        training.WeightAverage(model, warmup=0.5)


def _batchnorm_net():
    return keras.Sequential([keras.Input((5,)), keras.layers.Dense(6), keras.layers.BatchNormalization(),
                             keras.layers.ReLU(), keras.layers.Dense(3), keras.layers.BatchNormalization()])


def test_refreshed_statistics_make_inference_equal_to_one_big_training_batch():
    """After the refresh, each BatchNorm normalises with the statistics of all inputs (read in batches
    of 16), which is what training mode does with the 64 inputs as one batch: the two outputs agree."""
    net = _batchnorm_net()
    x = np.random.default_rng(0).normal(2.0, 3.0, (64, 5)).astype("float32")
    stale = np.asarray(net(x, training=False))
    refreshed = with_refreshed_batchnorm(net, x, batch_size=16)
    one_batch = np.asarray(refreshed(x, training=True))
    np.testing.assert_allclose(np.asarray(refreshed(x, training=False)), one_batch, rtol=1e-4, atol=1e-4)
    assert np.abs(stale - one_batch).max() > 0.5  # the initial statistics (0, 1) were far off
    np.testing.assert_array_equal(np.asarray(net(x, training=False)), stale)  # the original is untouched


def test_with_refreshed_batchnorm_stores_the_mean_and_biased_variance_of_each_input():
    net = _batchnorm_net()
    x = np.random.default_rng(1).normal(size=(40, 5)).astype("float32")
    refreshed = with_refreshed_batchnorm(net, x, batch_size=7)
    first_input = np.asarray(net.layers[0](x))
    bn = refreshed.layers[1]
    np.testing.assert_allclose(np.asarray(bn.moving_mean), first_input.mean(0), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.asarray(bn.moving_variance), first_input.var(0), rtol=1e-4, atol=1e-5)


def test_with_refreshed_batchnorm_refuses_what_it_cannot_walk():
    inputs = keras.Input((5,))
    functional = keras.Model(inputs, keras.layers.BatchNormalization()(inputs))
    with pytest.raises(TypeError, match="keras.Sequential"):
        with_refreshed_batchnorm(functional, np.zeros((4, 5), "float32"))
    with pytest.raises(ValueError, match="at least one input"):
        with_refreshed_batchnorm(_batchnorm_net(), np.zeros((0, 5), "float32"))
