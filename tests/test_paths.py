import importlib

import pytest

from utils import config, paths


@pytest.fixture
def artifacts(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_ARTIFACTS_DIR", str(tmp_path))
    return tmp_path


def _reload(monkeypatch, fast: bool):
    monkeypatch.setenv("COURSE_FAST", "1" if fast else "0")
    importlib.reload(config)
    return importlib.reload(paths)


def test_full_and_fast_runs_write_to_separate_folders(artifacts, monkeypatch, restore_mode):
    full = _reload(monkeypatch, fast=False).artifact_dir("02_gan")
    fast = _reload(monkeypatch, fast=True).artifact_dir("02_gan")
    assert full == artifacts / "02_gan" and full.is_dir()
    assert fast == artifacts / "fast" / "02_gan" and fast.is_dir()


def test_find_artifact_prefers_full_and_ignores_fast_in_full_mode(artifacts, monkeypatch, restore_mode):
    module = _reload(monkeypatch, fast=True)
    assert module.find_artifact("02_gan", "history.json") is None
    (module.artifact_dir("02_gan") / "history.json").write_text("fast")
    assert module.find_artifact("02_gan", "history.json").read_text() == "fast"
    module = _reload(monkeypatch, fast=False)
    assert module.find_artifact("02_gan", "history.json") is None  # fast never passes for full
    (module.artifact_dir("02_gan") / "history.json").write_text("full")
    module = _reload(monkeypatch, fast=True)
    assert module.find_artifact("02_gan", "history.json").read_text() == "full"


@pytest.mark.parametrize("bad", ["gan", "2_gan", "../02_gan", "02_GAN", 2])
def test_bad_chapter_names_are_rejected(bad):
    with pytest.raises(ValueError, match="NN_name"):
        paths.artifact_dir(bad, create=False)
    with pytest.raises(ValueError):
        paths.find_artifact(bad, "x")


def test_default_root_is_inside_the_repository(monkeypatch):
    monkeypatch.delenv("COURSE_ARTIFACTS_DIR", raising=False)
    assert paths.artifacts_root() == paths.REPO_ROOT / "artifacts"


# ---------------------------------------------------------------- loading saved models
def _tiny_model(inputs: int = 2):
    import keras

    return keras.Sequential([keras.Input((inputs,)), keras.layers.Dense(1)])


def _save(folder, name="generator.keras", inputs=2):
    folder.mkdir(parents=True, exist_ok=True)
    _tiny_model(inputs).save(folder / name)
    return folder / name


def _inputs(model):
    return model.input_shape[-1]


def test_a_corrupt_artifact_names_the_file_and_the_fix_in_full_mode(artifacts, monkeypatch,
                                                                    restore_mode):
    module = _reload(monkeypatch, fast=False)
    (artifacts / "02_gan").mkdir()
    (artifacts / "02_gan" / "generator.keras").write_bytes(b"half a zip file")
    with pytest.raises(module.ArtifactError) as info:
        module.load_artifact("02_gan", "generator.keras")
    message = str(info.value)
    assert f"{artifacts / '02_gan' / 'generator.keras'} cannot be used: it is unreadable" in message
    assert "Delete" in message and "re-run chapter 02_gan (notebooks/02_gan.ipynb)" in message


def test_an_artifact_built_for_other_settings_says_which(artifacts, monkeypatch, restore_mode):
    module = _reload(monkeypatch, fast=False)
    _save(artifacts / "02_gan", inputs=3)

    def check(generator):
        size = _inputs(generator)
        return None if size == 2 else f"it takes {size} inputs, this run uses 2"
    with pytest.raises(module.ArtifactError, match="built for other settings .it takes 3 inputs"):
        module.load_artifact("02_gan", "generator.keras", check=check)
    model, message = module.load_artifact("02_gan", "generator.keras")
    assert _inputs(model) == 3 and message == f"loaded {artifacts / '02_gan' / 'generator.keras'}"


def test_fast_mode_trains_a_stand_in_when_the_full_artifact_is_broken(artifacts, monkeypatch,
                                                                      restore_mode, capsys):
    module = _reload(monkeypatch, fast=True)
    (artifacts / "02_gan").mkdir()
    (artifacts / "02_gan" / "generator.keras").write_text("not a model")
    model, message = module.load_or_stand_in("02_gan", "generator.keras", lambda: "stand-in",
                                             what="generator")
    assert model == "stand-in"
    assert message.startswith("Trained a stand-in generator here (0 s) because ")
    assert "generator.keras cannot be used: it is unreadable" in message
    assert message in capsys.readouterr().out
    _save(artifacts / "fast" / "02_gan")  # a fast-mode copy exists: it is used, and the note stays
    model, message = module.load_or_stand_in("02_gan", "generator.keras", lambda: "stand-in")
    assert _inputs(model) == 2 and "fast/02_gan/generator.keras (" in message
    assert "cannot be used" in message


def test_a_missing_artifact_says_the_chapter_has_not_saved_it_and_several_files_load(
        artifacts, monkeypatch, restore_mode):
    module = _reload(monkeypatch, fast=False)
    names = ("encoder.keras", "decoder.keras")
    pair, message = module.load_or_stand_in("04_vae", names, lambda: ("e", "d"), what="VAE",
                                            verbose=False)
    assert pair == ("e", "d")
    assert "because chapter 04_vae has not saved encoder.keras, decoder.keras yet" in message
    _save(artifacts / "04_vae", "encoder.keras", inputs=4)
    _save(artifacts / "04_vae", "decoder.keras", inputs=2)
    (encoder, decoder), message = module.load_or_stand_in("04_vae", names, None, what="VAE",
                                                          verbose=False)
    assert (_inputs(encoder), _inputs(decoder)) == (4, 2)
    assert message.startswith("Loaded chapter 04_vae's VAE: loaded ")


def test_artifacts_can_live_on_drive_with_one_line(tmp_path, monkeypatch, capsys):
    import sys
    import types

    # set, then delete: monkeypatch then restores the variable's absence after the test, even though
    # keep_artifacts_on_drive sets it through os.environ (it would leak into later tests' kernels)
    monkeypatch.setenv("COURSE_ARTIFACTS_DIR", str(tmp_path / "unused"))
    monkeypatch.delenv("COURSE_ARTIFACTS_DIR")
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert paths.keep_artifacts_on_drive(str(tmp_path / "drive")) is None  # not Colab: no change
    assert "Not in Colab" in capsys.readouterr().out
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    target = paths.keep_artifacts_on_drive(str(tmp_path / "drive"), mount=False)
    assert target.is_dir() and paths.artifacts_root() == tmp_path / "drive"
    assert paths.artifact_dir("02_gan", create=False).is_relative_to(tmp_path / "drive")


def test_shown_path_is_relative_inside_the_repository_and_absolute_outside(tmp_path):
    assert paths.shown_path(paths.REPO_ROOT / "artifacts" / "x") == "artifacts/x"
    assert paths.shown_path(tmp_path / "x") == str(tmp_path / "x")


def test_find_artifact_names_a_corrupt_keras_file_and_fast_mode_skips_it(artifacts, monkeypatch,
                                                                          restore_mode, capsys):
    module = _reload(monkeypatch, fast=False)
    good = _save(artifacts / "02_gan")
    assert module.find_artifact("02_gan", "generator.keras") == good
    assert module.keras_file_problem(good) == ""
    whole = good.read_bytes()
    good.write_bytes(whole[: len(whole) // 2])  # a copy or save that stopped half-way
    with pytest.raises(module.ArtifactError) as info:
        module.find_artifact("02_gan", "generator.keras")
    assert f"{good} cannot be used: it is unreadable" in str(info.value)
    assert "re-run chapter 02_gan" in str(info.value)
    module = _reload(monkeypatch, fast=True)
    assert module.find_artifact("02_gan", "generator.keras") is None  # the caller trains a stand-in
    assert "cannot be used" in capsys.readouterr().out
    fast_copy = _save(artifacts / "fast" / "02_gan")
    assert module.find_artifact("02_gan", "generator.keras") == fast_copy
