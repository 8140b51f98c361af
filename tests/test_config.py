import importlib
import random

import numpy as np
import pytest

import utils
from utils import config


def test_fast_mode_reads_course_fast(monkeypatch):
    cases = [("1", True), ("true", True), ("YES", True), (" on ", True),
             ("0", False), ("", False), ("off", False), ("No", False)]
    for value, expected in cases:
        monkeypatch.setenv("COURSE_FAST", value)
        assert config.fast_mode() is expected
    monkeypatch.delenv("COURSE_FAST")
    assert config.fast_mode() is False


@pytest.mark.parametrize("bad", ["2", "fast", "y", "ture", "-1"])
def test_course_fast_rejects_undocumented_values_and_lists_the_documented_ones(monkeypatch, bad):
    monkeypatch.setenv("COURSE_FAST", bad)
    with pytest.raises(ValueError) as info:
        config.fast_mode()
    message = str(info.value)
    assert f"COURSE_FAST={bad!r}" in message
    for value in config.FAST_VALUES + ("0", "false", "unset"):
        assert value in message


def test_a_bad_course_fast_stops_import_utils_instead_of_running_full_mode():
    import subprocess
    import sys

    env = {**__import__("os").environ, "COURSE_FAST": "fast"}
    code = "import utils.config"  # the mode is read when utils is imported
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            cwd=config.__file__.rsplit("/utils/", 1)[0], timeout=300)
    assert result.returncode != 0
    assert "COURSE_FAST='fast' is not a value the course knows" in result.stderr


def test_mode_is_read_once_at_import(monkeypatch, restore_mode):
    monkeypatch.setenv("COURSE_FAST", "1")
    reloaded = importlib.reload(config)
    assert reloaded.FAST and reloaded.MODE == "fast" and reloaded.pick("a", "b") == "a"
    monkeypatch.setenv("COURSE_FAST", "0")
    assert reloaded.FAST  # changing the variable later does not flip the mode mid-run
    reloaded = importlib.reload(config)
    assert not reloaded.FAST and reloaded.MODE == "full" and reloaded.pick("a", "b") == "b"


def test_seed_everything_repeats_numpy_python_and_keras():
    import keras

    utils.seed_everything(7)
    first = (random.random(), np.random.rand(), keras.random.normal((3,)).numpy())
    utils.seed_everything(7)
    second = (random.random(), np.random.rand(), keras.random.normal((3,)).numpy())
    assert first[0] == second[0] and first[1] == second[1]
    np.testing.assert_array_equal(first[2], second[2])


@pytest.mark.parametrize("bad", [-1, 1.5, "42", None])
def test_seed_everything_rejects_bad_seeds(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        utils.seed_everything(bad)


def test_env_report_is_one_line_with_versions_mode_and_data(monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", "/some/folder")
    report = utils.env_report()
    assert "\n" not in report
    for part in ("Python", "TensorFlow", "Keras", "CPU", "GPU", f"mode {utils.MODE}", "COURSE_DATA_DIR"):
        assert part in report
    monkeypatch.delenv("COURSE_DATA_DIR")
    assert "keras.datasets" in utils.env_report()
    assert "my data" in utils.env_report(data_source="my data")


def test_tensorflow_import_is_quiet_and_missing_tensorflow_warns(monkeypatch, capfd):
    assert config.import_tensorflow_quietly() is True
    monkeypatch.setitem(__import__("sys").modules, "keras", None)  # makes `import keras` fail
    with pytest.warns(UserWarning, match="make install"):
        assert config.import_tensorflow_quietly() is False
    assert "oneDNN" not in capfd.readouterr().err

