"""Where things live: the repository root and each chapter's artifacts (chapter 00, section 2).

Fast-mode runs write under `artifacts/fast/`, full-mode runs under `artifacts/`, so a quick check
never overwrites a learner's ten-minute model and never passes for one.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

from . import config

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAPTER_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+$")


def artifacts_root() -> Path:
    """The artifacts folder; COURSE_ARTIFACTS_DIR overrides it (see `keep_artifacts_on_drive`).

    Read on every call, so setting the variable after `import utils` takes effect at once.
    """
    override = os.environ.get("COURSE_ARTIFACTS_DIR")
    return Path(override) if override else REPO_ROOT / "artifacts"


def _check_chapter(chapter: str) -> None:
    if not isinstance(chapter, str) or not CHAPTER_PATTERN.match(chapter):
        raise ValueError(f"chapter must look like '02_gan' (NN_name), got {chapter!r}")


def artifact_dir(chapter: str, create: bool = True) -> Path:
    """The folder this run writes `chapter`'s artifacts to: artifacts/[fast/]NN_name."""
    _check_chapter(chapter)
    base = artifacts_root() / "fast" if config.FAST else artifacts_root()
    folder = base / chapter
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def find_artifact(chapter: str, filename: str) -> Path | None:
    """The best saved copy of an artifact: the full-mode one, else (in fast mode only) the fast one.

    Returns None when nothing is saved yet, so the caller can train a small stand-in. A `.keras`
    file that is not a complete Keras archive raises ArtifactError naming it and the fix; in fast
    mode it is skipped instead, with a one-line note, so a quick run never stops on it.
    """
    _check_chapter(chapter)
    for path in _candidates(chapter):
        if not (path / filename).exists():
            continue
        problem = keras_file_problem(path / filename) if filename.endswith(".keras") else ""
        if not problem:
            return path / filename
        error = unusable(path / filename, chapter, problem)
        if not config.FAST:
            raise error
        print(f"{error} Fast mode goes on without it.")
    return None


def keras_file_problem(path) -> str:
    """'' for a complete .keras archive, else what is wrong (reads it all: a CRC check)."""
    try:
        with zipfile.ZipFile(path) as archive:
            damaged = archive.testzip()
            names = set(archive.namelist())
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        return f"it is unreadable, not a complete .keras (zip) archive ({_first_line(err)})"
    if damaged is not None:
        return f"it is unreadable: {damaged} inside it is damaged (half-written or truncated)"
    if "config.json" not in names:
        return "it is not a Keras model file (no config.json inside)"
    return ""


# ---------------------------------------------------------------- Google Drive (Colab)
DRIVE_DEFAULT = "/content/drive/MyDrive/course-artifacts"


def keep_artifacts_on_drive(folder: str = DRIVE_DEFAULT, mount: bool = True) -> Path | None:
    """In Colab, keep artifacts on Google Drive so later chapters (and sessions) find them.

    Mounts Drive (Colab asks for permission once), sets COURSE_ARTIFACTS_DIR to `folder` and returns
    it. Outside Colab it changes nothing and returns None: locally, artifacts/ already persists.
    One optional line in a notebook's first cell, after `import utils`:
    `utils.paths.keep_artifacts_on_drive()`.
    """
    import sys

    if "google.colab" not in sys.modules:
        print("Not in Colab: artifacts stay in", shown_path(artifacts_root()))
        return None
    if mount and not Path("/content/drive/MyDrive").is_dir():
        from google.colab import drive  # only importable in Colab

        drive.mount("/content/drive")
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    os.environ["COURSE_ARTIFACTS_DIR"] = str(target)
    print("Artifacts are kept on Google Drive in", target)
    return target


def shown_path(path) -> str:
    """`path` as a learner reads it: relative to the repository when inside it, else absolute."""
    path = Path(path)
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


# ---------------------------------------------------------------- loading what chapters saved
class ArtifactError(RuntimeError):
    """A saved artifact exists but cannot be used; the message names the file and the fix."""


def unusable(path, chapter: str, reason: str) -> ArtifactError:
    """The error for an artifact that cannot be used: which file, why, and how to fix it."""
    shown = shown_path(path)
    return ArtifactError(f"{shown} cannot be used: {reason}. Delete {shown} and re-run chapter "
                         f"{chapter} (notebooks/{chapter}.ipynb) to make a new one.")


def _first_line(err: Exception) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text.splitlines()[0][:200]}" if text else type(err).__name__


def _load_models(folder: Path, names: tuple[str, ...], chapter: str, check) -> list:
    """Load every file, or raise ArtifactError naming the first unreadable or unsuitable one."""
    import keras

    models = []
    for name in names:
        try:
            models.append(keras.models.load_model(folder / name))
        except Exception as err:  # zip, HDF5, JSON or unknown-layer errors: this file cannot load
            reason = ("it is unreadable (corrupt, half-written, or saved by other code): "
                      + _first_line(err))
            raise unusable(folder / name, chapter, reason) from err
    problem = check(*models) if check is not None else None
    if problem:
        raise unusable(folder / names[0], chapter, f"it was built for other settings ({problem})")
    return models


def _candidates(chapter: str) -> list[Path]:
    full = artifacts_root() / chapter
    return [full, artifacts_root() / "fast" / chapter] if config.FAST else [full]


def load_artifact(chapter: str, filenames, check=None):
    """Load what `chapter` saved: returns (models, "loaded ...") or (None, why not).

    `filenames`: one name ("generator.keras") or several saved together (("encoder.keras",
    "decoder.keras")); `models` has the same form. `check(*models)` may return a string naming a
    setting that differs from this run's (e.g. another latent size): the artifact is then unusable.
    Full mode raises ArtifactError for an unusable artifact (a learner's model needs a decision,
    not a silent stand-in). Fast mode never stops: it tries the fast-mode copy, else returns None.
    """
    _check_chapter(chapter)
    names = (filenames,) if isinstance(filenames, str) else tuple(filenames)
    problems = []
    for folder in _candidates(chapter):
        if not all((folder / name).exists() for name in names):
            continue
        try:
            models = _load_models(folder, names, chapter, check)
        except ArtifactError as err:
            if not config.FAST:
                raise
            problems.append(str(err))
            continue
        loaded = f"loaded {', '.join(shown_path(folder / name) for name in names)}"
        if problems:
            loaded += f" ({'; '.join(problems)})"
        return (models[0] if len(names) == 1 else tuple(models)), loaded
    return None, "; ".join(problems) or f"chapter {chapter} has not saved {', '.join(names)} yet"


def load_or_stand_in(chapter: str, filenames, train, what: str = "model", check=None,
                     verbose: bool = True):
    """Load `chapter`'s saved model(s), or call `train()` for a stand-in; returns (models, message).

    The message is one line a learner can act on: "Loaded chapter 02_gan's generator: loaded
    artifacts/02_gan/generator.keras" or "Trained a stand-in generator here (12 s) because ...".
    `train()` returns what `load_artifact` would: one model, or a tuple in `filenames`' order.
    """
    import time

    models, why = load_artifact(chapter, filenames, check=check)
    if models is not None:
        message = f"Loaded chapter {chapter}'s {what}: {why}"
    else:
        start = time.perf_counter()
        models = train()
        seconds = time.perf_counter() - start
        message = (f"Trained a stand-in {what} here ({seconds:.0f} s) because {why}. "
                   f"Run chapter {chapter} in full mode to use the real one.")
    if verbose:
        print(message)
    return models, message
