"""utils.chapters.faces: the 64x64 face DCGAN, its training step, checkpoints and the real-face loader."""

import hashlib
import io
import json
import tarfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import utils  # noqa: F401
from utils.chapters import faces as F
from utils.chapters.download import DownloadError


def _tiny_nets():
    return F.build_face_generator(latent_dim=8, filters=16), F.build_face_discriminator(filters=4)


def _adam():
    return keras.optimizers.Adam(2e-4, beta_1=0.5)


def test_networks_have_the_right_shapes_and_ranges():
    g, d = F.build_face_generator(), F.build_face_discriminator()
    assert g.output_shape == (None, 64, 64, 3) and d.output_shape == (None, 1)
    images = np.asarray(g(np.random.default_rng(0).standard_normal((3, F.LATENT_DIM)).astype("float32") * 20))
    assert images.min() >= -1 and images.max() <= 1 and images.min() < 0  # tanh
    assert g.count_params() < 1_500_000 and d.count_params() < 1_000_000  # CPU-sized
    types = [type(layer).__name__ for layer in d.layers]
    assert "BatchNormalization" not in types  # spectral norm replaces BN in D
    assert types.count("SpectralNormalization") == 5 and d.layers[-1].layer.activation.__name__ == "linear"  # logits
    assert [type(la).__name__ for la in g.layers].count("UpSampling2D") == 4  # resize-convolutions, no ConvT


def test_classic_variants_are_the_dcgan_recipe():
    g = F.build_face_generator(upsampling="transposed")
    d = F.build_face_discriminator(spectral_norm=False)
    assert g.output_shape == (None, 64, 64, 3) and d.output_shape == (None, 1)
    assert [type(la).__name__ for la in g.layers].count("Conv2DTranspose") == 4
    types = [type(layer).__name__ for layer in d.layers]
    assert types[:3] == ["Conv2D", "LeakyReLU", "Conv2D"] and types.count("BatchNormalization") == 3
    with pytest.raises(ValueError, match="upsampling"):
        F.build_face_generator(upsampling="pixelshuffle")


def test_spectral_norm_bounds_the_discriminator():
    # After a few power iterations, each wrapped layer's kernel has largest singular value about 1.
    d = F.build_face_discriminator(filters=4)
    images = np.random.default_rng(0).uniform(-1, 1, (2, 64, 64, 3)).astype("float32")
    for _ in range(30):
        d(images, training=True)
    dense = d.layers[-1]
    kernel = np.asarray(dense.layer.kernel)
    assert np.linalg.svd(kernel, compute_uv=False)[0] == pytest.approx(1.0, abs=0.05)


def test_article_networks_do_not_fit_together():
    g, d = F.article_generator(), F.article_discriminator()
    assert g.output_shape == (None, 322, 322, 3)
    assert d.input_shape == (None, 28, 28, 1)
    with pytest.raises(ValueError, match="incompatible"):
        d(g(keras.Input((100,))))


@pytest.mark.parametrize("size,stack", [
    (7, F.ARTICLE_GENERATOR_STACK), (16, [("conv", 3, 2, "valid")]), (15, [("conv", 4, 2, "same")]),
    (5, [("convT", 3, 2, "valid")]), (4, [("convT", 4, 2, "same")] * 4), (13, [("pool", 2)]),
])
def test_stack_output_size_matches_keras(size, stack):
    assert F.stack_output_size(size, stack) == F.keras_stack(stack, size).output_shape[1]


def test_train_step_changes_both_networks_and_reports_finite_losses():
    g, d = _tiny_nets()
    step = F.make_face_train_step(g, d, _adam(), _adam(), latent_dim=8)
    g0 = [w.copy() for w in g.get_weights()]
    d0 = [w.copy() for w in d.get_weights()]
    real = np.random.default_rng(0).uniform(-1, 1, (4, 64, 64, 3)).astype("float32")
    out = {k: float(v) for k, v in step(real).items()}
    assert all(np.isfinite(v) for v in out.values())
    assert 0 < out["d_real"] < 1 and 0 < out["d_fake"] < 1
    assert any(not np.allclose(a, b) for a, b in zip(g0, g.get_weights()))
    assert any(not np.allclose(a, b) for a, b in zip(d0, d.get_weights()))


def test_face_step_is_chapter_02s_step_with_smoothing_on(monkeypatch):
    seen = {}

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return "step"

    monkeypatch.setattr(F, "make_train_step", spy)
    assert F.make_face_train_step("g", "d", "go", "do", latent_dim=8) == "step"
    assert seen == {"latent_dim": 8, "real_label": 0.9, "seed": 0, "r1_gamma": 0.0}


def test_gan_fit_trains_the_face_networks():
    from utils.gan import GAN

    g, d = _tiny_nets()
    model = GAN(g, d, latent_dim=8, real_label=0.9)
    model.compile(d_optimizer=_adam(), g_optimizer=_adam())
    x = np.random.default_rng(1).uniform(-1, 1, (8, 64, 64, 3)).astype("float32")
    before = [w.copy() for w in g.get_weights()]
    history = model.fit(x, batch_size=4, epochs=1, verbose=0)
    assert set(history.history) >= {"d_loss", "g_loss"}
    assert any(not np.allclose(a, b) for a, b in zip(before, g.get_weights()))


def _trained_parts(seed=0):
    """Tiny networks and their optimisers one update in (moments and step count not zero).

    The update is applied eagerly with random gradients: the checkpoint tests need trained state, not
    the training step (tested above), whose tracing would cost seconds per test."""
    keras.utils.set_random_seed(seed)
    g, d = _tiny_nets()
    g_opt, d_opt = _adam(), _adam()
    for model, optimizer in ((g, g_opt), (d, d_opt)):
        variables = model.trainable_variables
        optimizer.apply([keras.random.normal(v.shape, seed=seed) for v in variables], variables)
    return g, d, g_opt, d_opt


def test_checkpoint_resumes_the_same_run(tmp_path, capsys):
    config = {"steps": 10, "batch": 4}
    g, d, g_opt, d_opt = _trained_parts()
    F.TrainingCheckpoint(tmp_path, config, g, d, g_opt, d_opt).save(3, {"d_loss": [1.0, 0.9, 0.8]})
    keras.utils.set_random_seed(5)
    g2, d2 = _tiny_nets()
    g2_opt, d2_opt = _adam(), _adam()
    step, history = F.TrainingCheckpoint(tmp_path, config, g2, d2, g2_opt, d2_opt).restore(total_steps=10)
    assert step == 3 and history == {"d_loss": [1.0, 0.9, 0.8]}
    assert "Resumed" in capsys.readouterr().out
    for a, b in zip(g.get_weights() + d.get_weights(), g2.get_weights() + d2.get_weights()):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(g_opt.variables + d_opt.variables, g2_opt.variables + d2_opt.variables):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(g2_opt.iterations.numpy()) == 1


def test_checkpoint_keeps_the_weight_average_of_the_generator(tmp_path):
    from utils.training import WeightAverage

    g, d, g_opt, d_opt = _trained_parts()
    average = WeightAverage(g, decay=0.5)
    average.update()
    F.TrainingCheckpoint(tmp_path, {"steps": 10}, g, d, g_opt, d_opt, average=average).save(3)
    assert (tmp_path / "average.weights.h5").exists()
    g2, d2 = _tiny_nets()
    average2 = WeightAverage(g2, decay=0.5)
    resumed = F.TrainingCheckpoint(tmp_path, {"steps": 10}, g2, d2, _adam(), _adam(), average=average2)
    assert resumed.restore(total_steps=10)[0] == 3
    assert float(average2.updates.numpy()) == 1.0
    for a, b in zip(average.average.get_weights(), average2.average.get_weights()):
        np.testing.assert_array_equal(a, b)
    (tmp_path / "average.weights.h5").unlink()  # a checkpoint without its average is incomplete
    assert resumed.restore(total_steps=10)[0] == 0


def test_checkpoint_keeps_the_generator_chosen_on_validation(tmp_path):
    from types import SimpleNamespace

    g, d, g_opt, d_opt = _trained_parts()
    best = SimpleNamespace(best=_tiny_nets()[0], scores={100: 90.5, 200: 80.25}, best_step=200)
    F.TrainingCheckpoint(tmp_path, {"steps": 10}, g, d, g_opt, d_opt, best=best).save(3)
    g2, d2 = _tiny_nets()
    best2 = SimpleNamespace(best=_tiny_nets()[0], scores={}, best_step=None)
    resumed = F.TrainingCheckpoint(tmp_path, {"steps": 10}, g2, d2, _adam(), _adam(), best=best2)
    assert resumed.restore(total_steps=10)[0] == 3
    assert best2.scores == {100: 90.5, 200: 80.25} and best2.best_step == 200
    for a, b in zip(best.best.get_weights(), best2.best.get_weights()):
        np.testing.assert_array_equal(a, b)
    (tmp_path / "best.weights.h5").unlink()  # a checkpoint without the chosen weights is incomplete
    assert resumed.restore(total_steps=10)[0] == 0


def test_checkpoint_of_another_run_is_not_resumed(tmp_path, capsys):
    g, d, g_opt, d_opt = _trained_parts()
    F.TrainingCheckpoint(tmp_path, {"steps": 10, "mode": "fast"}, g, d, g_opt, d_opt).save(5)
    g2, d2 = _tiny_nets()
    before = [w.copy() for w in g2.get_weights()]
    ckpt = F.TrainingCheckpoint(tmp_path, {"steps": 10, "mode": "full"}, g2, d2, _adam(), _adam())
    assert ckpt.restore(total_steps=10) == (0, {})
    out = capsys.readouterr().out
    assert "different run (differs in mode): kept it in kept/run-" in out
    assert not (tmp_path / "state.json").exists()  # out of the way of this run...
    kept = next((tmp_path / "kept").iterdir())  # ...but kept, whole, under a name the message gives
    assert f"kept/{kept.name}/" in out
    assert json.loads((kept / "state.json").read_text())["config"] == {"steps": 10, "mode": "fast"}
    assert all((kept / name).exists() for name in F.TrainingCheckpoint.FILES)
    for a, b in zip(before, g2.get_weights()):
        np.testing.assert_array_equal(a, b)
    ckpt.save(2)  # this run's own checkpoint resumes as before
    assert ckpt.restore(total_steps=10)[0] == 2


@pytest.mark.parametrize("broken, content", [("state.json", "{not json"),
                                             ("discriminator.weights.h5", "half an HDF5 file"),
                                             ("optimizers.npz", "garbage")])
def test_an_unreadable_checkpoint_is_kept_and_training_starts_fresh(tmp_path, capsys, broken,
                                                                   content):
    config = {"steps": 10}
    g, d, g_opt, d_opt = _trained_parts()
    F.TrainingCheckpoint(tmp_path, config, g, d, g_opt, d_opt).save(4)
    (tmp_path / broken).write_text(content)
    keras.utils.set_random_seed(5)
    g2, d2 = _tiny_nets()
    before = [w.copy() for w in g2.get_weights() + d2.get_weights()]
    assert F.TrainingCheckpoint(tmp_path, config, g2, d2, _adam(), _adam()).restore(10) == (0, {})
    out = capsys.readouterr().out
    assert f"The checkpoint in {tmp_path} is unreadable ({broken}: " in out
    assert "kept it in kept/unreadable/ there, starting from step 0" in out
    assert (tmp_path / "kept" / "unreadable" / broken).read_text() == content
    for a, b in zip(before, g2.get_weights() + d2.get_weights()):  # nothing half-loaded
        np.testing.assert_array_equal(a, b)


def test_finished_or_incomplete_checkpoints_start_fresh(tmp_path, capsys):
    config = {"steps": 10}
    g, d, g_opt, d_opt = _trained_parts()
    ckpt = F.TrainingCheckpoint(tmp_path, config, g, d, g_opt, d_opt)
    ckpt.save(10)
    assert ckpt.restore(total_steps=10)[0] == 0
    assert "finished run" in capsys.readouterr().out
    ckpt.save(4)
    (tmp_path / "optimizers.npz").unlink()  # as if the run died mid-save
    assert ckpt.restore(total_steps=10)[0] == 0
    assert "incomplete" in capsys.readouterr().out
    (tmp_path / "generator.weights.h5").write_bytes(b"half")  # weights without state.json
    assert ckpt.restore(total_steps=10)[0] == 0
    assert "No checkpoint" in capsys.readouterr().out and not (tmp_path / "generator.weights.h5").exists()


def test_procedural_faces_are_in_tanh_range():
    x = F.procedural_faces(3, seed=2)
    assert x.shape == (3, 64, 64, 3) and x.dtype == np.float32
    assert -1 <= x.min() < 0 < x.max() <= 1


def test_prepare_face_crops_the_centre_and_scales():
    image = np.zeros((80, 120, 3), np.uint8)
    image[:, 20:100] = 255  # the centre 80x80 square is white, the side bands black
    out = F.prepare_face(image)
    assert out.shape == (64, 64, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, 1.0, atol=1e-5)
    assert F.prepare_face(np.zeros((64, 64), np.uint8)).shape == (64, 64, 3)
    assert F.prepare_face(np.zeros((70, 64, 4), np.uint8)).shape == (64, 64, 3)
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        F.prepare_face(np.full((8, 8, 3), 2.0))
    with pytest.raises(ValueError, match="shape"):
        F.prepare_face(np.zeros((2, 8, 8, 3)))


def _png(array):
    return tf.io.encode_png(array).numpy()


def _face_archive(path):
    """A tiny tar.gz like Cartoon Set's: a folder of PNGs (sizes differ) and a CSV to ignore."""
    rng = np.random.default_rng(0)
    images = {f"cartoonset/cs{i}.png": rng.integers(0, 256, (100 + 10 * i, 100, 3), dtype=np.uint8) for i in range(3)}
    images["cartoonset/cs3.png"] = np.full((50, 50, 4), 255, np.uint8)  # RGBA, all white
    with tarfile.open(path, "w:gz") as tf_:
        for name, array in images.items():
            data = _png(array)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf_.addfile(info, io.BytesIO(data))
        csv = b"attribute,value\n"
        info = tarfile.TarInfo("cartoonset/cs0.csv")
        info.size = len(csv)
        tf_.addfile(info, io.BytesIO(csv))
    return images


def test_load_real_faces_from_a_tiny_archive(tmp_path):
    archive = tmp_path / "server" / "faces.tar.gz"
    archive.parent.mkdir()
    images = _face_archive(archive)
    sha = hashlib.sha256(archive.read_bytes()).hexdigest()
    cache = tmp_path / "cache"
    faces = F.load_real_faces(archive.as_uri(), sha, limit=None, cache_dir=cache, verbose=False)
    assert faces.shape == (4, 64, 64, 3) and faces.dtype == np.float32
    assert -1 <= faces.min() and faces.max() <= 1
    np.testing.assert_allclose(faces[3], 1.0, atol=1e-5)  # the white RGBA image, alpha dropped
    np.testing.assert_allclose(faces[0], F.prepare_face(images["cartoonset/cs0.png"]), atol=1e-5)
    # cached: a second call works without the "server"
    archive.unlink()
    again = F.load_real_faces(archive.as_uri(), sha, limit=2, cache_dir=cache, verbose=False)
    np.testing.assert_array_equal(again, faces[:2])


def test_load_real_faces_offline_or_unverified_raises_download_error(tmp_path):
    missing = (tmp_path / "nowhere.tar.gz").as_uri()
    with pytest.raises(DownloadError, match="offline"):
        F.load_real_faces(missing, "0" * 64, cache_dir=tmp_path / "cache", verbose=False)
    with pytest.raises(DownloadError, match="SHA-256"):
        F.load_real_faces(missing, None, cache_dir=tmp_path / "cache", verbose=False)


def test_empty_folder_says_so(tmp_path):
    with pytest.raises(FileNotFoundError, match="no .png"):
        F.load_face_folder(tmp_path)


def test_saved_generator_loads_with_plain_load_model(tmp_path):
    g = F.build_face_generator(latent_dim=8, filters=16)
    path = tmp_path / "generator.keras"
    g.save(path)
    loaded = keras.models.load_model(path)
    z = np.random.default_rng(0).standard_normal((2, 8)).astype("float32")
    np.testing.assert_allclose(np.asarray(loaded(z)), np.asarray(g(z)), atol=1e-6)
