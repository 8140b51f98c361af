"""The exercise-checker framework (in the spirit of Kaggle's learntools).

Chapter 00, section 4 tours it. Each exercise is an `Exercise` with `check(answer)`, `hint()` and
`solution()`. A checker function receives the learner's answer and raises `Incorrect("what is wrong")`
when it is wrong; the framework turns that into a short message. Answers that are still the generated
stub (None, `...`, or a function that raises NotImplementedError) are reported as "not attempted yet".

    q1 = Exercise("Rotate an image", checker=_check_rotate, hint="...")   # in utils/exercises/ch01.py
    q1.check(rotate)       # prints "Correct" or what is wrong, returns an Outcome

The solution an exercise shows is read from the chapter's solution notebook (`solutions/01_*.ipynb`):
the code of the cell that holds the `### BEGIN SOLUTION` region checked by `ex.q1.check(...)` (in that
cell or the next one). So the text a learner is shown is, by construction, the code the course runs.
"""

from __future__ import annotations

import ast
import contextlib
import html
import json
import os
import random
import re
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

CORRECT, INCORRECT, NOT_ATTEMPTED = "correct", "incorrect", "not attempted"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"  # the markers `make exercises` turns into stubs
SOLUTIONS_DIR = Path(__file__).resolve().parents[2] / "solutions"
_CHECK_CALL = re.compile(r"\bex\.(q\d+)\.check\(")
_DEFINITION = re.compile(r"^(\s*)(?:async\s+)?(?:def|class)\s+\w+")


class Incorrect(AssertionError):
    """Raised by a checker: the message tells the learner what is wrong."""


class NotAttempted(Exception):
    """Raised by a checker (or found by the framework) when the exercise is still a stub."""


@dataclass(repr=False)
class Outcome:
    """What `Exercise.check` found. Truthy only when correct, so `assert q1.check(f)` works."""

    exercise: str
    status: str
    message: str
    shown: bool = False  # already displayed by check(): Jupyter must not show it a second time

    def __bool__(self) -> bool:
        return self.status == CORRECT

    @property
    def correct(self) -> bool:
        return self.status == CORRECT

    def __str__(self) -> str:
        label = {CORRECT: "Correct", INCORRECT: "Incorrect", NOT_ATTEMPTED: "Not attempted yet"}[self.status]
        return f"{self.exercise}: {label}. {self.message}".strip()

    __repr__ = __str__

    def _ipython_display_(self) -> None:
        """Jupyter's hook for a cell's last value: show the verdict once, in colour with a text fallback."""
        if self.shown:
            return
        from IPython.display import display

        display({"text/html": self._repr_html_(), "text/plain": str(self)}, raw=True)
        self.shown = True

    def _repr_html_(self) -> str:
        colour = {CORRECT: "#1a7f37", INCORRECT: "#cf222e", NOT_ATTEMPTED: "#9a6700"}[self.status]
        return f'<span style="color:{colour}">{html.escape(str(self))}</span>'


def is_stub(answer: Any) -> bool:
    """True for the values a generated exercise notebook leaves in place of an answer."""
    return answer is None or answer is Ellipsis


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Lines of Keras's and TensorFlow's error text that frame the message rather than say what is wrong.
_FRAME = ("Exception encountered when calling", "Arguments received by", "\u2022", "Traceback",
          "File \"", "Call arguments received", "Detected at node", "Graph execution error")


def summarise_error(err: BaseException, limit: int = 200) -> str:
    """`TypeName: first informative line` of an error, without ANSI codes or Keras's framing."""
    lines = [line.strip() for line in _ANSI.sub("", str(err)).splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(_FRAME)] or lines or [""]
    text = useful[0] if len(useful[0]) <= limit else useful[0][:limit - 3] + "..."
    return f"{type(err).__name__}: {text}".rstrip(": ")


_returned: list = []  # the value the learner's function last returned in this check (for verdicts)


def call_answer(function: Callable, *args, **kwargs):
    """Call the learner's function; a stub's NotImplementedError becomes NotAttempted."""
    if not callable(function):
        raise Incorrect(f"expected a function, got {_short(function)}")
    try:
        value = function(*args, **kwargs)
    except NotImplementedError as err:
        raise NotAttempted(str(err) or "the function still raises NotImplementedError") from err
    except (Incorrect, NotAttempted):
        raise
    except Exception as err:
        raise Incorrect(f"calling it raised {summarise_error(err)}") from err
    _returned[:] = [value]
    return value


def _short(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"


_ASK = "(q.hint() for a hint, q.solution() for the answer)"


def _unusable(err: Exception) -> str:
    """The verdict when a checker fails on an answer: what came back, and where to look."""
    came_back = f"your function returned {_short(_returned[0])}" if _returned else "your answer"
    return (f"the check could not use what came back ({came_back}: {summarise_error(err)}); "
            f"see q.hint() for what is expected. {_ASK}")


def _clean(text) -> str:
    return _ANSI.sub("", str(text))


@contextlib.contextmanager
def preserved_random_state():
    """Puts back the global random state of Python, NumPy, Keras and TensorFlow after the block.

    Why: a checker builds models (Keras draws their default seeds from Python's `random`) and runs
    the learner's code, which may draw from the global generators. A learner who seeded their
    notebook must get the same random numbers after a check as without it.
    """
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from tensorflow.python.eager import context
    from tensorflow.python.ops import stateful_random_ops

    python, numpy = random.getstate(), np.random.get_state()
    keras_gen = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
    keras_value = None if keras_gen is None else keras_gen.state.numpy()
    tf_rng = getattr(context.context(), "_rng", None)
    tf_value = None if tf_rng is None else tf_rng.getstate()
    tf_gen = stateful_random_ops.global_generator
    tf_gen_value = None if tf_gen is None else tf_gen.state.numpy()
    try:
        yield
    finally:
        random.setstate(python)
        np.random.set_state(numpy)
        global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, keras_gen)
        if keras_gen is not None:
            keras_gen.state.assign(keras_value)
        if tf_rng is not None:
            context.context()._rng = tf_rng
            tf_rng.setstate(tf_value)
        stateful_random_ops.global_generator = tf_gen
        if tf_gen is not None:
            tf_gen.state.assign(tf_gen_value)


class Exercise:
    """One exercise: a checker plus a hint and a reference solution shown on request."""

    def __init__(self, title: str, checker: Callable[..., str | None], hint: str, solution: str | None = None):
        if not callable(checker):
            raise TypeError("checker must be a function that raises Incorrect when the answer is wrong")
        self.title = title
        self.checker = checker
        self._hint = hint.strip()
        # A hand-written solution only where no notebook cell holds one (chapter 08's quiz-like drills
        # do not exist today; tests/test_exercise_solutions.py asserts that none is needed).
        self._given = None if solution is None else textwrap.dedent(solution).strip("\n")
        self._module = sys._getframe(1).f_globals.get("__name__", "")  # the chapter module defining it

    @property
    def _solution(self) -> str:
        """The reference solution: read from the chapter's solution notebook (see the module doc)."""
        if self._given is not None:
            return self._given
        module = sys.modules.get(self._module)
        names = [k for k, v in vars(module).items() if v is self and re.fullmatch(r"q\d+", k)] if module else []
        chapter = self._module.rpartition(".ch")[2]
        if not names or not chapter.isdigit():
            raise LookupError(f"{self.title!r} is not a qN of a utils.exercises.chNN module")
        return solution_from_notebook(chapter, names[0])

    def evaluate(self, *answer) -> Outcome:
        """Run the checker and return an Outcome without printing (tests use this).

        It never raises: whatever the learner's answer does (return a string, NaN, a model; raise),
        the verdict is Incorrect and says what came back. The learner's global random state (Python,
        NumPy, Keras, TensorFlow) is the same afterwards as before.
        """
        if not answer or all(is_stub(a) for a in answer):
            return Outcome(self.title, NOT_ATTEMPTED, "Write your answer in the cell above, run it, then check again.")
        _returned.clear()
        with preserved_random_state():
            try:
                praise = self.checker(*answer)
            except NotAttempted as err:
                return Outcome(self.title, NOT_ATTEMPTED, f"{_clean(err)} Replace the stub with your code.")
            except Incorrect as err:
                return Outcome(self.title, INCORRECT, f"{_clean(err)} {_ASK}")
            except Exception as err:  # the checker could not use the answer: say what came back
                return Outcome(self.title, INCORRECT, _unusable(err))
        return Outcome(self.title, CORRECT, _clean(praise or "Well done."))

    def check(self, *answer) -> Outcome:
        """Check the answer, show the verdict, and return it (truthy when correct).

        With COURSE_REQUIRE_CORRECT=1 (set by `make test` for the solution notebooks) a verdict other
        than Correct raises, so a solution whose check fails stops the test run.
        """
        outcome = self.evaluate(*answer)
        _show(outcome)
        if os.environ.get("COURSE_REQUIRE_CORRECT") == "1" and not outcome:
            raise AssertionError(f"COURSE_REQUIRE_CORRECT is set and the check failed: {outcome}")
        return outcome

    def usable(self, answer, namespace: dict):
        """`answer` when it passes this exercise's check, else the course's version; says which in a line.

        Later cells of a chapter call it (`build_generator = ex.q1.usable(build_generator, globals())`),
        so a learner stuck on an exercise can still run the rest of the chapter. The course's version is
        the shown solution executed in a copy of the notebook's `namespace`; a solution that rewrites one
        method of a class (chapter 03's `train_step`) gives a subclass of `answer` with that method.
        """
        name = getattr(answer, "__name__", "the answer")
        outcome = self.evaluate(answer)
        if outcome:
            print(f"{name} passes the check of '{self.title}': using it.")
            return answer
        scope = dict(namespace)
        exec(compile(self._solution, f"<solution of {self.title}>", "exec"), scope)  # noqa: S102
        defined = [node.name for node in ast.parse(self._solution).body
                   if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
        if isinstance(answer, type) and name not in defined:  # the solution is methods of the class
            replacement = type(name, (answer,), {k: scope[k] for k in defined})
        else:
            replacement = scope.get(name, answer)
        reason = "is not written yet" if outcome.status == NOT_ATTEMPTED else "does not pass its check yet"
        print(f"Your {name} {reason} ('{self.title}'): using the course's version, so the rest of the "
              "chapter runs. Come back to it any time.")
        return replacement

    def hint(self) -> str:
        """Print a hint; also return it (as text that Jupyter does not echo a second time)."""
        print(f"Hint ({self.title}): {self._hint}")
        return _PrintedText(self._hint)

    def solution(self) -> str:
        """Print a reference solution; also return it."""
        print(f"Solution ({self.title}):\n{self._solution}")
        return _PrintedText(self._solution)

    def __repr__(self) -> str:
        return f"Exercise({self.title!r}): call .check(answer), .hint() or .solution()"


def _show(outcome: Outcome) -> None:
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            outcome._ipython_display_()  # HTML in Jupyter/Colab, plain text on GitHub and in logs
            return
    except ImportError:
        pass
    print(outcome)


def solution_regions(source: str) -> list[tuple[int, int]]:
    """(first, last) line numbers (0-based, markers included) of each BEGIN/END SOLUTION region."""
    regions, start = [], None
    for number, line in enumerate(source.splitlines()):
        if line.strip() == BEGIN:
            start = number
        elif line.strip() == END and start is not None:
            regions.append((start, number))
            start = None
    return regions


def _enclosing_definition(lines: list[str], first: int) -> tuple[int, int] | None:
    """(start, end) lines of the innermost def/class that holds line `first`, or None at top level."""
    indent = len(lines[first]) - len(lines[first].lstrip())
    for start in range(first - 1, -1, -1):
        match = _DEFINITION.match(lines[start])
        if match and len(match.group(1)) < indent:
            level, end = len(match.group(1)), first
            while end + 1 < len(lines) and (not lines[end + 1].strip() or
                                            len(lines[end + 1]) - len(lines[end + 1].lstrip()) > level):
                end += 1
            while not lines[end].strip():
                end -= 1
            return start, end
        if lines[start].strip() and len(lines[start]) - len(lines[start].lstrip()) < indent:
            indent = len(lines[start]) - len(lines[start].lstrip())
    return None


def solution_text(source: str) -> str:
    """What a learner is shown for a cell: each definition holding a region, whole, else the region.

    Marker lines are dropped; the text is dedented, so a method's `def` starts at column 0.
    """
    lines, blocks, seen = source.splitlines(), [], set()
    for first, last in solution_regions(source):
        span = _enclosing_definition(lines, first) or (first + 1, last - 1)
        if span not in seen:
            seen.add(span)
            kept = [line for line in lines[span[0]:span[1] + 1] if line.strip() not in (BEGIN, END)]
            blocks.append(textwrap.dedent("\n".join(kept)).strip("\n"))
    return "\n\n".join(blocks)


def solution_from_notebook(chapter: str, name: str, folder: Path = SOLUTIONS_DIR) -> str:
    """The solution of exercise `name` ("q3") of chapter `chapter` ("02"), from its solution notebook."""
    paths = sorted(Path(folder).glob(f"{chapter}_*.ipynb"))
    if not paths:
        return (f"(The solution notebook solutions/{chapter}_*.ipynb is not here: open it in the course "
                "repository, where every solution is written out.)")
    cells = ["".join(c["source"]) for c in json.loads(paths[0].read_text(encoding="utf-8"))["cells"]
             if c["cell_type"] == "code"]
    for index, cell in enumerate(cells):
        if not solution_regions(cell):
            continue
        checked = _CHECK_CALL.findall(cell) or (_CHECK_CALL.findall(cells[index + 1]) if index + 1 < len(cells) else [])
        if name in checked:
            return solution_text(cell)
    raise LookupError(f"{paths[0].name} has no solution region checked by ex.{name}.check(...)")


class _PrintedText(str):
    """A string already printed: as a cell's last value, Jupyter shows nothing more."""

    def _ipython_display_(self) -> None:
        pass
