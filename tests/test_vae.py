"""utils/vae.py: the sampling layer, the ELBO terms, the VAE model's steps, saving and the nats evaluator."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import utils  # noqa: F401  (quiets TensorFlow before it loads)
from utils import vae as V


def _np_bce_sum(x, logits):
    p = 1 / (1 + np.exp(-logits))
    per_pixel = -(x * np.log(p) + (1 - x) * np.log(1 - p))
    return per_pixel.reshape(len(x), -1).sum(-1)


def _np_kl(mean, log_var):
    return 0.5 * np.sum(mean**2 + np.exp(log_var) - log_var - 1, axis=-1)


def _tiny(latent_dim=3, seed=0):
    keras.utils.set_random_seed(seed)
    enc = V.build_encoder(latent_dim, filters=(4, 8), hidden=16)
    dec = V.build_decoder(latent_dim, filters=(8, 4), hidden=16)
    rng = np.random.default_rng(seed)
    x = (rng.random((8, 28, 28, 1)) < 0.3).astype("float32")
    return enc, dec, x


def test_sampling_is_stochastic_with_right_moments_and_gradients():
    layer = V.Sampling(seed=3)
    mean = tf.Variable(np.full((5000, 2), 1.5, "float32"))
    log_var = tf.Variable(np.full((5000, 2), np.log(0.09), "float32"))
    with tf.GradientTape() as tape:
        z = layer([mean, log_var])
        obj = tf.reduce_sum(z**2)
    z = z.numpy()
    assert abs(z.mean() - 1.5) < 0.02 and abs(z.std() - 0.3) < 0.02
    g_mean, g_log_var = tape.gradient(obj, [mean, log_var])
    assert np.abs(g_mean.numpy()).sum() > 0 and np.abs(g_log_var.numpy()).sum() > 0
    small = [tf.zeros((2, 2)), tf.zeros((2, 2))]
    assert not np.allclose(layer(small), layer(small))
    traced = tf.function(lambda m, v: layer([m, v]))
    assert not np.allclose(traced(*small), traced(*small))


def test_kl_closed_form_matches_numpy_and_is_zero_at_the_prior():
    rng = np.random.default_rng(0)
    mean, log_var = rng.normal(size=(4, 6)).astype("float32"), rng.normal(size=(4, 6)).astype("float32")
    np.testing.assert_allclose(V.kl_divergence(mean, log_var), _np_kl(mean, log_var), rtol=1e-5)
    np.testing.assert_allclose(V.kl_divergence(np.zeros((2, 3), "float32"), np.zeros((2, 3), "float32")), 0.0)
    assert np.all(np.asarray(V.kl_divergence(mean, log_var)) >= 0)


def test_reconstruction_is_a_sum_over_pixels_of_binary_cross_entropy():
    rng = np.random.default_rng(1)
    x = (rng.random((3, 28, 28, 1)) < 0.5).astype("float32")
    logits = rng.normal(0, 3, (3, 28, 28, 1)).astype("float32")
    rec = np.asarray(V.bernoulli_reconstruction(x, logits))
    np.testing.assert_allclose(rec, _np_bce_sum(x.astype("float64"), logits.astype("float64")), rtol=1e-4)
    keras_mean = np.asarray(keras.losses.binary_crossentropy(x.reshape(3, -1), logits.reshape(3, -1),
                                                             from_logits=True))
    np.testing.assert_allclose(rec, keras_mean * 784, rtol=1e-4)  # the article's loss is 784x too small


def test_vae_loss_equals_hand_computed_elbo_on_a_tiny_batch():
    enc, dec, x = _tiny()
    model = V.VAE(enc, dec, seed=7)
    model.compile(optimizer="adam")
    logs = model.test_step(tf.constant(x))
    # The same seed gives the same first noise draw: rebuild it and compute the ELBO by hand in NumPy.
    eps = keras.random.normal((8, 3), seed=keras.random.SeedGenerator(7)).numpy().astype("float64")
    mean, log_var = (np.asarray(t, "float64") for t in enc(x))
    z = mean + np.exp(0.5 * log_var) * eps
    logits = np.asarray(dec(z.astype("float32")), "float64")
    rec, kl = _np_bce_sum(x, logits), _np_kl(mean, log_var)
    np.testing.assert_allclose(float(logs["reconstruction"]), rec.mean(), rtol=1e-4)
    np.testing.assert_allclose(float(logs["kl"]), kl.mean(), rtol=1e-4)
    np.testing.assert_allclose(float(logs["loss"]), (rec + kl).mean(), rtol=1e-4)
    np.testing.assert_allclose(float(logs["neg_elbo"]), (rec + kl).mean(), rtol=1e-4)


def test_beta_weights_only_the_kl_in_the_loss():
    enc, dec, x = _tiny()
    model = V.VAE(enc, dec, beta=0.25, seed=7)
    model.compile(optimizer="adam")
    logs = model.test_step(tf.constant(x))
    expected = float(logs["reconstruction"]) + 0.25 * float(logs["kl"])
    assert float(logs["loss"]) == pytest.approx(expected, rel=1e-5)
    assert float(logs["neg_elbo"]) == pytest.approx(float(logs["reconstruction"]) + float(logs["kl"]), rel=1e-5)


def test_fit_moves_encoder_and_decoder_and_warmup_sets_beta():
    enc, dec, x = _tiny()
    model = V.VAE(enc, dec, seed=1)
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = [w.copy() for w in enc.get_weights()], [w.copy() for w in dec.get_weights()]
    history = model.fit(x, epochs=2, batch_size=4, verbose=0, callbacks=[V.KLWarmup(4)])
    assert float(model.beta.numpy()) == pytest.approx(0.5)
    assert set(history.history) >= {"loss", "reconstruction", "kl", "neg_elbo"}
    assert all(np.isfinite(history.history["loss"]))
    for old, new in zip(before, (enc.get_weights(), dec.get_weights())):
        assert any(not np.allclose(a, b) for a, b in zip(old, new))


def test_encoder_and_decoder_round_trip_through_keras_files(tmp_path):
    enc, dec, x = _tiny()
    assert [tuple(o.shape) for o in enc.outputs] == [(None, 3), (None, 3)]
    assert tuple(dec.output.shape) == (None, 28, 28, 1)
    enc.save(tmp_path / "encoder.keras")
    dec.save(tmp_path / "decoder.keras")
    enc2 = keras.models.load_model(tmp_path / "encoder.keras")  # safe mode: no Lambda layers
    dec2 = keras.models.load_model(tmp_path / "decoder.keras")
    np.testing.assert_allclose(enc2(x)[0], enc(x)[0], atol=1e-6)
    z = np.zeros((2, 3), "float32")
    np.testing.assert_allclose(dec2(z), dec(z), atol=1e-6)
    # A model containing the registered Sampling layer loads with plain load_model too.
    inputs = keras.Input((3,))
    sampled = keras.Model(inputs, V.Sampling(seed=1)([inputs, inputs]))
    sampled.save(tmp_path / "sampling.keras")
    assert isinstance(keras.models.load_model(tmp_path / "sampling.keras").layers[-1], V.Sampling)


def test_elbo_nats_matches_a_hand_computation_and_iwae_is_tighter():
    enc, dec, x = _tiny()
    result = V.elbo_nats(enc, dec, x, samples=1, importance_samples=64, seed=0)
    rng = np.random.default_rng(0)
    mean, log_var = (np.asarray(t, "float64") for t in enc(x))
    z = mean + np.exp(0.5 * log_var) * rng.standard_normal(mean.shape)
    rec = _np_bce_sum(x, np.asarray(dec(z.astype("float32")), "float64"))
    assert result["neg_elbo"] == pytest.approx(float(np.mean(rec + _np_kl(mean, log_var))), rel=1e-4)
    assert result["neg_iwae"] <= result["neg_elbo"] + 1.0
    assert result["n_images"] == 8


def test_elbo_nats_rejects_grey_images():
    enc, dec, x = _tiny()
    with pytest.raises(ValueError, match="binar"):
        V.elbo_nats(enc, dec, x * 0.5)


def test_latent_to_probs_and_bits_per_pixel():
    enc, dec, x = _tiny()
    probs = V.latent_to_probs(dec, np.zeros((3, 3), "float32"))
    assert probs.shape == (3, 28, 28, 1) and 0 <= probs.min() and probs.max() <= 1
    np.testing.assert_allclose(probs, 1 / (1 + np.exp(-np.asarray(dec(np.zeros((3, 3), "float32"))))), atol=1e-6)
    assert V.nats_to_bits_per_pixel(784 * np.log(2)) == pytest.approx(1.0)
