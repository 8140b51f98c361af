"""Where things live: the repository root and the artifacts of each chapter.

Fast-mode runs write under `artifacts/fast/`, full-mode runs under `artifacts/`, so a quick check
never overwrites a learner's ten-minute model and never passes for one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from . import config

REPO_ROOT = Path(__file__).resolve().parent.parent
CHAPTER_PATTERN = re.compile(r"^\d\d_[a-z0-9_]+$")


def artifacts_root() -> Path:
    """The artifacts folder (override with COURSE_ARTIFACTS_DIR, e.g. on Colab's Drive)."""
    override = os.environ.get("COURSE_ARTIFACTS_DIR")
    return Path(override) if override else REPO_ROOT / "artifacts"


def _check_chapter(chapter: str) -> None:
    if not isinstance(chapter, str) or not CHAPTER_PATTERN.match(chapter):
        raise ValueError(f"chapter must look like '02_gan' (NN_name), got {chapter!r}")


def artifact_dir(chapter: str, create: bool = True) -> Path:
    """Folder this run writes `chapter`'s artifacts to: artifacts/NN_name, or artifacts/fast/NN_name."""
    _check_chapter(chapter)
    base = artifacts_root() / "fast" if config.FAST else artifacts_root()
    folder = base / chapter
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def find_artifact(chapter: str, filename: str) -> Path | None:
    """The best saved copy of an artifact: the full-mode one, else (in fast mode only) the fast one.

    Returns None when nothing is saved yet, so the caller can train a small stand-in.
    """
    _check_chapter(chapter)
    candidates = [artifacts_root() / chapter / filename]
    if config.FAST:
        candidates.append(artifacts_root() / "fast" / chapter / filename)
    for path in candidates:
        if path.exists():
            return path
    return None
