"""utils/chapters/latent.py: the widget logic as plain functions, and the explorer driven without a browser."""

import io

import keras
import numpy as np
import pytest

import utils  # noqa: F401
from utils.chapters import latent as L


def _decoder(latent_dim=2, seed=0):
    keras.utils.set_random_seed(seed)
    z = keras.Input((latent_dim,))
    logits = keras.layers.Reshape((28, 28, 1))(keras.layers.Dense(784)(z))
    model = keras.Model(z, logits)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1, w.shape).astype("float32") for w in model.get_weights()])
    return model


def _encoder(latent_dim=2, seed=0):
    keras.utils.set_random_seed(seed)
    x = keras.Input((28, 28, 1))
    flat = keras.layers.Flatten()(x)
    return keras.Model(x, [keras.layers.Dense(latent_dim)(flat), keras.layers.Dense(latent_dim)(flat)])


def test_decode_latent_shapes_and_range():
    dec = _decoder()
    one = L.decode_latent(dec, np.zeros(2))
    many = L.decode_latent(dec, np.zeros((5, 2)))
    assert one.shape == (28, 28) and many.shape == (5, 28, 28)
    assert 0 <= many.min() and many.max() <= 1
    with pytest.raises(ValueError, match="expects 2"):
        L.decode_latent(dec, np.zeros(3))


def test_sigmoid_is_stable():
    out = L.sigmoid(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0])


def test_linear_and_spherical_interpolation():
    z0, z1 = np.array([1.0, 0.0]), np.array([0.0, 3.0])
    path = L.interpolate(z0, z1, 5)
    assert path.shape == (5, 2)
    np.testing.assert_allclose(path[0], z0)
    np.testing.assert_allclose(path[-1], z1)
    np.testing.assert_allclose(path[2], [0.5, 1.5])
    arc = L.interpolate(z0, z1, 5, method="spherical")
    np.testing.assert_allclose(arc[[0, -1]], [z0, z1], atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(arc, axis=1), np.linspace(1, 3, 5), rtol=1e-5)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(128), rng.standard_normal(128)
    assert np.linalg.norm(L.slerp(a, b, 0.5)) > 1.25 * np.linalg.norm(L.lerp(a, b, 0.5))
    np.testing.assert_allclose(L.slerp(a, a, 0.3), a, rtol=1e-5)  # parallel vectors fall back to lerp
    with pytest.raises(ValueError):
        L.interpolate(z0, z1, 1)


def test_grid_coordinates_are_symmetric_gaussian_quantiles():
    values = L.grid_coordinates(5, 0.95)
    np.testing.assert_allclose(values, -values[::-1], atol=1e-6)
    assert values[-1] == pytest.approx(1.6449, abs=1e-3)


def test_manifold_grid_orientation_and_size():
    dec = _decoder()
    picture, coords = L.manifold_grid(dec, n=4)
    assert picture.shape == (4 * 28, 4 * 28)
    assert coords[0, 0, 1] > coords[-1, 0, 1]  # top row has the largest z[1]
    assert coords[0, 0, 0] < coords[0, -1, 0]  # left column has the smallest z[0]
    np.testing.assert_allclose(picture[:28, 28:56], L.decode_latent(dec, coords[0, 1]), atol=1e-6)


def test_corruptions_and_masks():
    x = np.full((2, 28, 28), 0.5, "float32")
    noisy = L.salt_and_pepper(x, 0.3, seed=1)
    changed = np.mean(noisy != 0.5)
    assert 0.25 < changed < 0.35 and set(np.unique(noisy)) <= {0.0, 0.5, 1.0}
    assert np.all(x == 0.5)  # input untouched
    np.testing.assert_array_equal(noisy, L.salt_and_pepper(x, 0.3, seed=1))
    g = L.gaussian_noise(x, 0.3, seed=0)
    assert g.min() >= 0 and g.max() <= 1
    mask = L.half_mask("bottom")
    assert mask[:14].min() == 1 and mask[14:].max() == 0
    assert L.block_mask(top=2, left=3, height=4, width=5).sum() == 784 - 20
    masked = L.apply_mask(x[..., None], mask)
    assert masked.shape == (2, 28, 28, 1) and masked[:, 14:].max() == 0
    with pytest.raises(ValueError):
        L.half_mask("middle")


def test_inpaint_keeps_known_pixels_and_fills_missing_ones():
    enc, dec = _encoder(), _decoder()
    rng = np.random.default_rng(0)
    x = (rng.random((3, 28, 28)) < 0.3).astype("float32")
    mask = L.half_mask("bottom")
    out = L.inpaint(enc, dec, x, mask, iterations=2)
    np.testing.assert_array_equal(out[:, :14], x[:, :14])
    assert out.shape == (3, 28, 28) and 0 <= out.min() and out.max() <= 1
    recon = L.reconstruct(enc, dec, out[..., None])
    assert recon.shape == (3, 28, 28)


def test_to_png_is_a_scaled_png():
    from PIL import Image

    data = L.to_png(np.linspace(0, 1, 784).reshape(28, 28), scale=3)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(data)).size == (84, 84)


def test_slider_values_to_z_keeps_hidden_coordinates():
    z = L.slider_values_to_z([1.0, 2.0], 4, base=[9, 9, 9, 9])
    np.testing.assert_allclose(z, [1, 2, 9, 9])
    with pytest.raises(ValueError):
        L.slider_values_to_z([1, 2, 3], 2)


def test_latent_explorer_reacts_to_sliders_interpolation_and_button():
    pytest.importorskip("ipywidgets")
    dec = _decoder(latent_dim=3)
    box = L.latent_explorer(dec, z_start=np.array([-1.0, 0.0, 2.0]), z_end=np.array([1.0, 1.0, -2.0]),
                            max_sliders=2)
    assert len(box.sliders) == 2
    first = box.image.value
    box.sliders[0].value = 2.5
    assert box.image.value != first
    np.testing.assert_allclose(box.current_z(), [2.5, 0.0, 2.0], atol=1e-6)
    box.t_slider.value = 0.5
    np.testing.assert_allclose(box.current_z(), [0.0, 0.5, 0.0], atol=1e-6)
    assert box.sliders[1].value == pytest.approx(0.5)
    assert box.image.value == L.to_png(L.decode_latent(dec, box.current_z()), 6)
    before = box.current_z()
    box.random_button.click()
    assert not np.allclose(box.current_z(), before)
    assert "z = [" in box.label.value
