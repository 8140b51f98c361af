"""tools/sample.py on small models this test trains and saves into a temporary artifacts folder."""

import json

import keras
import numpy as np
import pytest
import sample  # tools/ is on sys.path (conftest)
from PIL import Image
from test_diffusion import tiny_noise_model  # one home for the test U-Net

import utils  # noqa: F401
from utils import gan, vae
from utils.chapters import diffusion


def _fit_briefly(model, x, y, loss="mse"):
    """Two Adam steps, so the saved weights are trained ones (and an optimizer state is saved)."""
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    before = [w.copy() for w in model.get_weights()]
    model.fit(x, y, epochs=2, batch_size=len(x), verbose=0)
    assert any(not np.allclose(a, b) for a, b in zip(before, model.get_weights()))
    return model


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """artifacts/{02_gan,04_vae,10_diffusion} (full mode), artifacts/fast/03_dcgan: trained here."""
    root = tmp_path_factory.mktemp("artifacts")
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (8, 28, 28, 1)).astype("float32")
    (root / "02_gan").mkdir(parents=True)
    generator = gan.build_mlp_generator(8, hidden=(16,))
    _fit_briefly(generator, rng.standard_normal((8, 8)), images).save(
        root / "02_gan/generator.keras"
    )
    (root / "fast/03_dcgan").mkdir(parents=True)
    generator.save(root / "fast/03_dcgan/generator.keras")
    (root / "04_vae").mkdir()
    decoder = vae.build_decoder(2, filters=(8, 4), hidden=16)
    _fit_briefly(decoder, rng.standard_normal((8, 2)), (images > 0).astype("float32"))
    decoder.save(root / "04_vae/decoder.keras")
    (root / "10_diffusion").mkdir()
    s = diffusion.Schedule(60)
    unet = tiny_noise_model()  # the same small U-Net as tests/test_diffusion.py
    t = rng.integers(0, 60, 8).astype("int32")
    noise = rng.standard_normal(images.shape).astype("float32")
    inputs = [s.q_sample(images, t, noise), t, rng.integers(0, 11, 8).astype("int32")]
    _fit_briefly(unet, inputs, noise).save(root / "10_diffusion/unet.keras")
    config = {"steps": 60, "beta_start": s.betas[0], "beta_end": s.betas[-1]}
    (root / "10_diffusion/schedule.json").write_text(json.dumps(config))
    return root


@pytest.fixture
def use(artifacts, monkeypatch):
    monkeypatch.setenv("COURSE_ARTIFACTS_DIR", str(artifacts))
    return artifacts


def test_a_gan_grid_png(use, tmp_path, capsys):
    out = tmp_path / "gan.png"
    assert sample.main(["02", "--n", "6", "--out", str(out), "--ncols", "3"]) == 0
    grid = np.asarray(Image.open(out))
    assert grid.shape == (2 * 28 + 1, 3 * 28 + 2)  # 2 rows, 3 columns, 1-pixel gaps, greyscale
    assert "wrote 6 samples of chapter 02's MLP GAN" in capsys.readouterr().out


def test_npy_is_in_unit_range_and_the_seed_decides(use, tmp_path):
    paths = [tmp_path / f"{name}.npy" for name in ("a", "b", "c")]
    for path, seed in zip(paths, (1, 1, 2)):
        assert sample.main(["4", "--n", "5", "--out", str(path), "--seed", str(seed)]) == 0
    a, b, c = (np.load(p) for p in paths)
    assert a.shape == (5, 28, 28, 1) and a.dtype == np.float32
    assert 0 <= a.min() and a.max() <= 1
    assert np.array_equal(a, b) and not np.allclose(a, c)
    decoder = keras.models.load_model(use / "04_vae/decoder.keras")
    z = np.random.default_rng(1).standard_normal((5, 2)).astype("float32")
    expected = 1 / (1 + np.exp(-np.asarray(decoder(z), "float64")))  # the logits, as probabilities
    assert np.allclose(a, expected, atol=1e-5)


def test_diffusion_ddim_ddpm_and_guidance(use, tmp_path, capsys):
    out = tmp_path / "d.npy"
    assert sample.main(["10", "--n", "3", "--steps", "4", "--out", str(out)]) == 0
    first = np.load(out)
    assert first.shape == (3, 28, 28, 1) and 0 <= first.min() and first.max() <= 1
    assert "DDIM, 4 steps" in capsys.readouterr().out
    assert (
        sample.main(
            [
                "10_diffusion",
                "--n",
                "2",
                "--sampler",
                "ddpm",
                "--label",
                "3",
                "--guidance",
                "2",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert "DDPM, 60 steps, digit 3, guidance 2" in capsys.readouterr().out
    assert np.load(out).shape == (2, 28, 28, 1)


def test_the_fast_flag_reads_the_fast_mode_artifact(use, tmp_path, capsys):
    out = tmp_path / "dcgan.png"
    assert sample.main(["03", "--n", "4", "--out", str(out)]) == 2  # no full-mode DCGAN here
    error = capsys.readouterr().err
    assert "no saved DCGAN at" in error and "03_dcgan" in error and "--fast" in error
    assert not out.exists()
    assert sample.main(["03", "--fast", "--n", "4", "--out", str(out)]) == 0 and out.exists()


def test_clear_errors(use, tmp_path, capsys):
    assert sample.main(["06", "--out", str(tmp_path / "x.png")]) == 2
    assert "run notebooks/06_faces_project.ipynb" in capsys.readouterr().err
    assert sample.main(["10", "--steps", "500", "--out", str(tmp_path / "x.png")]) == 2
    assert "between 1 and T = 60" in capsys.readouterr().err
    broken = use / "fast/02_gan"
    broken.mkdir(parents=True, exist_ok=True)
    (broken / "generator.keras").write_bytes(b"not a zip")
    assert sample.main(["02", "--fast", "--out", str(tmp_path / "x.png")]) == 2
    assert "cannot be used" in capsys.readouterr().err
    for argv, words in (
        (["07"], "unknown chapter"),
        (["02", "--out", "x.jpg"], ".png or .npy"),
        (["02", "--n", "0"], "at least 1"),
        (["10", "--label", "12"], "digit"),
    ):
        with pytest.raises(SystemExit):
            sample.main(argv)
        assert words in capsys.readouterr().err


def test_the_steps_benchmark_says_what_to_run_without_a_model(tmp_path, monkeypatch, capsys):
    import importlib.util

    from nbcommon import REPO_ROOT

    path = REPO_ROOT / "benchmarks" / "diffusion_steps.py"
    spec = importlib.util.spec_from_file_location("diffusion_steps", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    monkeypatch.setenv("COURSE_ARTIFACTS_DIR", str(tmp_path))
    assert bench.main(["--n", "10"]) == 2
    assert "run solutions/10_diffusion.ipynb first" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        bench.main(["--help"])
    assert "FID" in capsys.readouterr().out


def test_the_command_line_loads_a_diffusion_model_in_a_fresh_process(use, tmp_path):
    """A fresh interpreter has not imported utils.chapters.diffusion: the tool imports it first."""
    import os
    import subprocess
    import sys

    from nbcommon import REPO_ROOT

    out = tmp_path / "fresh.npy"
    command = [sys.executable, str(REPO_ROOT / "tools" / "sample.py"), "10", "--n", "2", "--steps",
               "2", "--out", str(out)]
    env = dict(os.environ, COURSE_ARTIFACTS_DIR=str(use))
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert np.load(out).shape == (2, 28, 28, 1)
