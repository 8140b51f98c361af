"""utils.chapters.conditional: shapes, a training step that changes both networks, save/load, helpers."""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from utils.chapters import conditional as cond  # noqa: E402


@pytest.fixture(scope="module")
def pair():
    keras.utils.set_random_seed(0)
    return cond.build_conditional_generator(width=8, embed_dim=4), cond.build_conditional_discriminator(width=8)


def test_shapes_and_ranges(pair):
    gen, disc = pair
    z = np.random.default_rng(0).standard_normal((5, cond.LATENT_DIM)).astype("float32")
    labels = np.arange(5, dtype="int32")
    images = np.asarray(gen([z, labels], training=False))
    assert images.shape == (5, 28, 28, 1) and images.min() >= -1 and images.max() <= 1
    adv, cls = disc([images, labels], training=False)
    assert adv.shape == (5, 1) and cls.shape == (5, 10)


def test_label_changes_the_output(pair):
    gen, _ = pair
    z = np.zeros((2, cond.LATENT_DIM), "float32")
    out = np.asarray(gen([z, np.array([1, 8], "int32")], training=False))
    assert not np.allclose(out[0], out[1])


def test_label_changes_the_discriminator_logit(pair):
    gen, disc = pair
    image = np.repeat(np.random.default_rng(3).uniform(-1, 1, (1, 28, 28, 1)).astype("float32"), 2, axis=0)
    adv, _ = disc([image, np.array([2, 5], "int32")], training=False)
    assert not np.isclose(float(adv[0, 0]), float(adv[1, 0]))  # the projection term depends on y


def test_train_step_changes_both_networks():
    keras.utils.set_random_seed(1)
    gen = cond.build_conditional_generator(width=8, embed_dim=4)
    disc = cond.build_conditional_discriminator(width=8)
    g0, d0 = [w.copy() for w in gen.get_weights()], [w.copy() for w in disc.get_weights()]
    step = cond.make_train_step(gen, disc, keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3), 8)
    rng = np.random.default_rng(0)
    logs = step(rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32"), rng.integers(0, 10, 8).astype("int32"),
                rng.standard_normal((8, cond.LATENT_DIM)).astype("float32"), rng.integers(0, 10, 8).astype("int32"))
    assert set(logs) == {"d_loss", "g_loss", "d_class_loss", "g_class_loss"}
    assert all(np.isfinite(float(v)) for v in logs.values())
    assert any(not np.allclose(a, b) for a, b in zip(g0, gen.get_weights()))
    assert any(not np.allclose(a, b) for a, b in zip(d0, disc.get_weights()))


def test_loss_is_mean_on_one_device():
    """With global_batch_size = batch, the class loss equals the plain mean cross-entropy."""
    keras.utils.set_random_seed(2)
    gen = cond.build_conditional_generator(width=8, embed_dim=4)
    disc = cond.build_conditional_discriminator(width=8, dropout=0.0)
    rng = np.random.default_rng(1)
    real = rng.uniform(-1, 1, (6, 28, 28, 1)).astype("float32")
    labels = rng.integers(0, 10, 6).astype("int32")
    _, cls = disc([real, labels], training=True)
    expected = float(keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, cls))
    step = cond.make_train_step(gen, disc, keras.optimizers.SGD(0.0), keras.optimizers.SGD(0.0), 6)
    logs = step(real, labels, rng.standard_normal((6, cond.LATENT_DIM)).astype("float32"), labels)
    assert np.isclose(float(logs["d_class_loss"]), expected, rtol=1e-5)


def test_save_and_load_in_safe_mode(pair, tmp_path):
    gen, _ = pair
    path = tmp_path / "g.keras"
    gen.save(path)
    loaded = keras.models.load_model(path)  # safe mode: no Lambda layers
    labels = np.array([3, 4], "int32")
    assert np.allclose(cond.generate(gen, labels, seed=0), cond.generate(loaded, labels, seed=0), atol=1e-6)


def test_helpers():
    assert cond.class_grid_labels(3, 2).tolist() == [0, 0, 1, 1, 2, 2]
    with pytest.raises(ValueError):
        cond.class_grid_labels(0, 2)
    probs = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    assert cond.label_agreement(probs, [0, 1, 1]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        cond.label_agreement(probs, [0, 1])
