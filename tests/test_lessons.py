"""The chapters read as lessons: their size, their header, and nothing of the machine that ran them.

The limits are the course's (COURSE_DESIGN.md, "A lesson, not a lab notebook"): prose a learner
finishes in one sitting, a header that says how long the chapter takes, and no run provenance (dates,
times, locks, work logs, issue numbers) or machine path in what a learner reads or in a stored output.
"""

import json
import re
import statistics

import badges
import nbcommon
import nbformat
import pytest

SOLUTIONS = sorted(nbcommon.SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))
IDS = [p.stem for p in SOLUTIONS]
DOCS = [nbcommon.REPO_ROOT / name for name in ("README.md", "CONTRIBUTING.md")]
DOCS += sorted((nbcommon.REPO_ROOT / "docs").glob("*.md"))

MAX_TOTAL_WORDS = 22_000
MAX_NOTEBOOK_WORDS = 3_500
MAX_CELL_WORDS = 300
MAX_MEDIAN_CELL_WORDS = 70
MAX_RESULTS_LINES = 250

PROVENANCE = {  # what a learner must never read: the makers' lab notebook and this machine
    "a machine path": re.compile(r"/work/|/home/\w|/tmp/|/root/|site-packages"),
    "a time of day in UTC": re.compile(r"\bUTC\b"),
    "a lock": re.compile(r"\bflock\b"),
    "a work session": re.compile(r"\b[Ss]ession \d"),
    "an issue number": re.compile(r"\b[Ii]ssue #?\d"),
    "a date": re.compile(r"\b20\d\d-\d\d-\d\d(?:\b|T\d)"),
}


def _words(text: str) -> int:
    text = re.sub(r"\]\([^)]*\)", "]", text)  # a link's address is not prose
    return len(re.findall(r"[\w'’-]+", text))


def _markdown_words(path) -> list[int]:
    nb = nbformat.read(path, as_version=4)
    return [_words(c.source) for c in nb.cells if c.cell_type == "markdown"]


def _visible_text(path) -> str:
    """Markdown, code and every stored text output of a notebook: what a reader sees."""
    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts += [data.get("text/plain", ""), data.get("text/markdown", ""), data.get("text/html", "")]
            parts += output.get("traceback", [])
        parts.append(json.dumps(cell.metadata))  # e.g. a kernel's execution timestamps
    parts.append(json.dumps(nb.metadata))
    return "\n".join(p if isinstance(p, str) else "".join(p) for p in parts)


def provenance_found(text: str) -> list[str]:
    return [f"{what}: {m.group(0)!r}" for what, rx in PROVENANCE.items() for m in [rx.search(text)] if m]


def test_the_provenance_check_can_fail():
    for text in ("data COURSE_DATA_DIR=/work/shared/data/mnist", "20:41 UTC", "flock /tmp/x.lock",
                 "Session 9 measured", "see issue 14", "executed 2026-12-06",
                 '"shell.execute_reply": "2026-12-07T22:13:05.1Z"'):
        assert provenance_found(text), text
    assert not provenance_found("data files in COURSE_DATA_DIR | mode full | 2 CPU cores")


@pytest.mark.parametrize("path", SOLUTIONS + DOCS, ids=IDS + [p.name for p in DOCS])
def test_no_run_provenance_or_machine_path(path):
    text = _visible_text(path) if path.suffix == ".ipynb" else path.read_text()
    assert not provenance_found(text), f"{path.name}: {provenance_found(text)}"


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_each_chapter_is_a_lesson_of_one_sitting(path):
    words = _markdown_words(path)
    assert sum(words) <= MAX_NOTEBOOK_WORDS, f"{path.name}: {sum(words)} words of prose"
    assert max(words) <= MAX_CELL_WORDS, f"{path.name}: a markdown cell of {max(words)} words"


def test_the_course_as_a_whole_stays_readable():
    words = [w for path in SOLUTIONS for w in _markdown_words(path)]
    assert sum(words) <= MAX_TOTAL_WORDS, f"{sum(words)} words of prose in solutions/"
    assert statistics.median(words) <= MAX_MEDIAN_CELL_WORDS, f"median cell {statistics.median(words)} words"


def test_the_results_page_is_taken_in_at_a_glance():
    lines = (nbcommon.REPO_ROOT / "docs" / "results.md").read_text().splitlines()
    assert len(lines) <= MAX_RESULTS_LINES, f"docs/results.md has {len(lines)} lines"


@pytest.mark.parametrize("path", SOLUTIONS, ids=IDS)
def test_the_header_says_how_long_the_chapter_takes(path):
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "markdown").source
    assert re.search(r"\*\*Time:\*\* reading about \d+ min", first), "the header's **Time:** line"
    seconds = nb.metadata["course"]["seconds"]
    assert badges.run_time_phrase(seconds) in first, "run `python tools/badges.py`"


def test_the_stated_run_time_follows_the_stored_one():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("**Time:** reading about 9 min; runs in about 3 min in full mode")]
    nb.metadata["course"] = {"seconds": 301.0}
    assert badges.with_run_time(nb) and "runs in about 6 min in full mode" in nb.cells[0].source
    assert not badges.with_run_time(nb)  # already current
    nb.metadata["course"]["seconds"] = 8.3
    assert badges.with_run_time(nb) and "runs in about 10 s in full mode" in nb.cells[0].source
