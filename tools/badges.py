#!/usr/bin/env python3
"""Regenerate the "Open in Colab" / Binder badges in README.md and in every notebook's first cell.

It also keeps each chapter's stated run time ("runs in about N min in full mode", in the first markdown
cell's **Time:** line) equal to the full-mode wall time stored in the notebook's metadata.

The public repository is named once, in REPOSITORY below (or --repo). A notebook's first markdown
cell starts with its badge line; README.md holds the course map between the BADGES markers.

    python tools/badges.py            # rewrite badges
    python tools/badges.py --check    # exit 1 when a badge is missing or out of date
"""

from __future__ import annotations

import argparse
import math
import re
import sys

import nbformat
from nbcommon import BADGE_LINE, NOTEBOOKS, REPO_ROOT, SOLUTIONS

REPOSITORY = "image-generation-course/gan-dcgan-vae-keras"  # the public GitHub repository (owner/name)
BRANCH = "main"
COLAB_SVG = "https://colab.research.google.com/assets/colab-badge.svg"
BINDER_SVG = "https://mybinder.org/badge_logo.svg"
REPO_SETTING = re.compile(r'^COURSE_REPO = ".*"$', re.MULTILINE)  # the first code cell clones this on Colab
RUN_TIME = re.compile(r"runs in about \S+ (?:min|s) in full mode")  # in the first markdown cell
README_START, README_END = "<!-- BADGES:START -->", "<!-- BADGES:END -->"


def colab_url(relative_path: str, repo: str = REPOSITORY) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{BRANCH}/{relative_path}"


def binder_url(relative_path: str, repo: str = REPOSITORY) -> str:
    return f"https://mybinder.org/v2/gh/{repo}/{BRANCH}?labpath={relative_path}"


def badge_line(relative_path: str, repo: str = REPOSITORY) -> str:
    """The markdown badge line for one notebook path relative to the repository root."""
    return (
        f"[![Open In Colab]({COLAB_SVG})]({colab_url(relative_path, repo)}) "
        f"[![Binder]({BINDER_SVG})]({binder_url(relative_path, repo)})"
    )


def run_time_phrase(seconds: float) -> str:
    """How a chapter states its stored full-mode wall time: seconds under a minute, else minutes up."""
    if seconds < 60:
        return f"runs in about {max(10, round(seconds, -1)):.0f} s in full mode"
    return f"runs in about {math.ceil(seconds / 60)} min in full mode"


def with_run_time(nb) -> bool:
    """Write the stored full-mode time into the first markdown cell's phrase; True when it changed."""
    seconds = nb.metadata.get("course", {}).get("seconds")
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if seconds is None or first is None or not RUN_TIME.search(first.source):
        return False
    new = RUN_TIME.sub(run_time_phrase(seconds), first.source, count=1)
    changed, first.source = new != first.source, new
    return changed


def notebook_title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            match = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE)
            if match:
                return match.group(1).strip()
    return "(untitled)"


def with_badge(nb, relative_path: str, repo: str = REPOSITORY) -> bool:
    """Put the badge line atop the first markdown cell and the repository in the set-up cell.

    Returns True when anything changed.
    """
    setup_changed = False
    for cell in nb.cells:
        if cell.cell_type == "code" and REPO_SETTING.search(cell.source):
            new_source = REPO_SETTING.sub(f'COURSE_REPO = "{repo}"', cell.source)
            setup_changed = new_source != cell.source
            cell.source = new_source
            break
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first is None:
        first = nbformat.v4.new_markdown_cell("")
        nb.cells.insert(0, first)
    line = badge_line(relative_path, repo)
    if BADGE_LINE.search(first.source):
        new = BADGE_LINE.sub(line, first.source, count=1)
    else:
        new = f"{line}\n\n{first.source}".rstrip() + "\n"
    changed = new != first.source
    first.source = new
    return with_run_time(nb) or changed or setup_changed


def course_map(repo: str = REPOSITORY) -> str:
    """The README table: one row a chapter, badges for the exercise notebook, link to the solution."""
    rows = ["| Chapter | Exercises (open and work) | Solution |", "|---|---|---|"]
    for path in sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb")):
        title = notebook_title(nbformat.read(path, as_version=4))
        exercise = f"notebooks/{path.name}"
        rows.append(
            f"| {title} | [![Open In Colab]({COLAB_SVG})]({colab_url(exercise, repo)}) "
            f"[{exercise}]({exercise}) | [solutions/{path.name}](solutions/{path.name}) |"
        )
    return "\n".join(rows)


def update_readme(text: str, repo: str = REPOSITORY) -> str:
    if README_START not in text or README_END not in text:
        raise SystemExit(f"README.md needs the markers {README_START} and {README_END} around the course map")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    return f"{head}{README_START}\n{course_map(repo)}\n{README_END}{tail}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report what is out of date; exit 1 if any")
    parser.add_argument("--repo", default=REPOSITORY, help=f"public repository owner/name (default {REPOSITORY})")
    args = parser.parse_args(argv)
    stale = []
    for folder in (SOLUTIONS, NOTEBOOKS):
        for path in sorted(folder.glob("[0-9][0-9]_*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            if with_badge(nb, f"{folder.name}/{path.name}", args.repo):
                stale.append(path)
                if not args.check:
                    nbformat.write(nb, path)
    readme = REPO_ROOT / "README.md"
    text = readme.read_text()
    new = update_readme(text, args.repo)
    if new != text:
        stale.append(readme)
        if not args.check:
            readme.write_text(new)
    for path in stale:
        print(f"{'stale' if args.check else 'updated'}: {path.relative_to(REPO_ROOT)}")
    if args.check and stale:
        print("Run `make badges` (then `make exercises`) to update them.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
