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
    assert module.find_artifact("02_gan", "generator.keras") is None
    (module.artifact_dir("02_gan") / "generator.keras").write_text("fast")
    assert module.find_artifact("02_gan", "generator.keras").read_text() == "fast"
    module = _reload(monkeypatch, fast=False)
    assert module.find_artifact("02_gan", "generator.keras") is None  # a quick run never passes for a full one
    (module.artifact_dir("02_gan") / "generator.keras").write_text("full")
    module = _reload(monkeypatch, fast=True)
    assert module.find_artifact("02_gan", "generator.keras").read_text() == "full"


@pytest.mark.parametrize("bad", ["gan", "2_gan", "../02_gan", "02_GAN", 2])
def test_bad_chapter_names_are_rejected(bad):
    with pytest.raises(ValueError, match="NN_name"):
        paths.artifact_dir(bad, create=False)
    with pytest.raises(ValueError):
        paths.find_artifact(bad, "x")


def test_default_root_is_inside_the_repository(monkeypatch):
    monkeypatch.delenv("COURSE_ARTIFACTS_DIR", raising=False)
    assert paths.artifacts_root() == paths.REPO_ROOT / "artifacts"
