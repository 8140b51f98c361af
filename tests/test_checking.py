import pytest

from utils.exercises.framework import (
    CORRECT,
    INCORRECT,
    NOT_ATTEMPTED,
    Exercise,
    Incorrect,
    NotAttempted,
    call_answer,
    is_stub,
)


def _check_double(fn):
    result = call_answer(fn, 3)
    if result != 6:
        raise Incorrect(f"double(3) should be 6, got {result!r}")
    return "Doubling works."


EX = Exercise("Double a number", _check_double, hint="Multiply by two.", solution="def double(x):\n    return 2 * x")


def stub(x):
    raise NotImplementedError("Exercise: replace this line with your code")


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (lambda x: 2 * x, CORRECT, "Doubling works"),
        (lambda x: x + 2, INCORRECT, "should be 6, got 5"),
        (lambda x: 1 / 0, INCORRECT, "ZeroDivisionError"),
        ("not a function", INCORRECT, "expected a function"),
        (stub, NOT_ATTEMPTED, "stub"),
        (None, NOT_ATTEMPTED, "Write your answer"),
        (..., NOT_ATTEMPTED, "Write your answer"),
    ],
)
def test_evaluate_classifies_answers(answer, status, words):
    outcome = EX.evaluate(answer)
    assert outcome.status == status
    assert words in outcome.message
    assert bool(outcome) is (status == CORRECT) and outcome.correct is (status == CORRECT)


def test_check_prints_verdict_and_returns_outcome(capsys):
    assert EX.check(lambda x: 2 * x)
    assert "Double a number: Correct" in capsys.readouterr().out
    assert not EX.check(lambda x: x)
    out = capsys.readouterr().out
    assert "Incorrect" in out and "hint()" in out


def test_hint_and_solution_are_shown_and_returned(capsys):
    assert EX.hint() == "Multiply by two."
    assert EX.solution().startswith("def double")
    out = capsys.readouterr().out
    assert "Hint (Double a number)" in out and "return 2 * x" in out


def test_outcome_html_is_coloured_and_escaped():
    outcome = EX.evaluate(lambda x: "<b>")
    assert "#cf222e" in outcome._repr_html_() and "&lt;b&gt;" in outcome._repr_html_()
    assert repr(outcome) == str(outcome)


def test_checker_may_raise_not_attempted_itself():
    def checker(answer):
        raise NotAttempted("Your answer is still the placeholder.")

    assert Exercise("x", checker, "h", "s").evaluate(1).status == NOT_ATTEMPTED


def test_exercise_needs_a_callable_checker():
    with pytest.raises(TypeError, match="checker"):
        Exercise("x", "not callable", "h", "s")
    assert "check(answer)" in repr(EX)


def test_outcome_is_displayed_once_in_jupyter(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    outcome = EX.evaluate(lambda x: 2 * x)
    outcome._ipython_display_()
    outcome._ipython_display_()  # the same Outcome as a cell's last value: not shown again
    assert len(shown) == 1 and "Correct" in shown[0]["text/plain"] and "#1a7f37" in shown[0]["text/html"]
    hint = EX.hint()
    assert hint == "Multiply by two." and hint._ipython_display_() is None


def test_is_stub_recognises_placeholders_only():
    assert is_stub(None) and is_stub(...)
    assert not is_stub(0) and not is_stub("") and not is_stub(stub)
