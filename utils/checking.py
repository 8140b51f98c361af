"""The exercise-checker framework (in the spirit of Kaggle's learntools).

Each exercise is an `Exercise` with `check(answer)`, `hint()` and `solution()`. A checker function
receives the learner's answer and raises `Incorrect("what is wrong")` when it is wrong; the framework
turns that into a short message. Answers that are still the generated stub (None, `...`, or a
function that raises NotImplementedError) are reported as "not attempted yet", not as wrong.

    q1 = Exercise("Rotate an image", checker=_check_rotate, hint="...", solution="...")
    q1.check(rotate)       # prints "Correct" or what is wrong, returns an Outcome
"""

from __future__ import annotations

import html
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CORRECT, INCORRECT, NOT_ATTEMPTED = "correct", "incorrect", "not attempted"


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


def call_answer(function: Callable, *args, **kwargs):
    """Call the learner's function; a stub's NotImplementedError becomes NotAttempted."""
    if not callable(function):
        raise Incorrect(f"expected a function, got {type(function).__name__}")
    try:
        return function(*args, **kwargs)
    except NotImplementedError as err:
        raise NotAttempted(str(err) or "the function still raises NotImplementedError") from err
    except (Incorrect, NotAttempted):
        raise
    except Exception as err:
        raise Incorrect(f"calling it raised {type(err).__name__}: {err}") from err


class Exercise:
    """One exercise: a checker plus a hint and a reference solution shown on request."""

    def __init__(self, title: str, checker: Callable[..., str | None], hint: str, solution: str):
        if not callable(checker):
            raise TypeError("checker must be a function that raises Incorrect when the answer is wrong")
        self.title = title
        self.checker = checker
        self._hint = hint.strip()
        self._solution = textwrap.dedent(solution).strip("\n")  # a method keeps its relative indentation

    def evaluate(self, *answer) -> Outcome:
        """Run the checker and return an Outcome without printing (tests use this)."""
        if not answer or all(is_stub(a) for a in answer):
            return Outcome(self.title, NOT_ATTEMPTED, "Write your answer in the cell above, run it, then check again.")
        try:
            praise = self.checker(*answer)
        except NotAttempted as err:
            return Outcome(self.title, NOT_ATTEMPTED, f"{err} Replace the stub with your code.")
        except Incorrect as err:
            return Outcome(self.title, INCORRECT, f"{err} (q.hint() for a hint, q.solution() for the answer)")
        return Outcome(self.title, CORRECT, praise or "Well done.")

    def check(self, *answer) -> Outcome:
        """Check the answer, show the verdict, and return it (truthy when correct)."""
        outcome = self.evaluate(*answer)
        _show(outcome)
        return outcome

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


class _PrintedText(str):
    """A string already printed: as a cell's last value, Jupyter shows nothing more."""

    def _ipython_display_(self) -> None:
        pass
