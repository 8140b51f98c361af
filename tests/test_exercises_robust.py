"""Every checker of every chapter: it never raises, whatever comes back, and leaves the learner's
global random state (Python, NumPy, Keras) as it found it."""

from __future__ import annotations

import importlib
import random
import re
from pathlib import Path

import keras
import numpy as np
import pytest

from utils.exercises.framework import Exercise, call_answer, summarise_error

CHAPTERS = sorted(
    p.stem for p in (Path(__file__).parent.parent / "utils" / "exercises").glob("ch[0-9][0-9].py")
)
EXERCISES = [
    (f"{chapter}-{name}", getattr(module, name))
    for chapter in CHAPTERS
    for module in [importlib.import_module(f"utils.exercises.{chapter}")]
    for name in sorted(vars(module), key=lambda n: (len(n), n))
    if re.fullmatch(r"q\d+", name)
]
IDS = [name for name, _ in EXERCISES]

# What Keras's errors look like: a framing line, ANSI colour codes, the call's arguments.
KERAS_TEXT = (
    'Exception encountered when calling Dense.call().\n\n\x1b[1mInput 0 of layer "dense" is '
    "incompatible with the layer: expected axis -1 to have value 784\x1b[0m\n\nArguments received "
    "by Dense.call():\n  \u2022 inputs=tf.Tensor(shape=(2, 3), dtype=float32)"
)


def _model():
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="garbage_model")


def _raise_keras_error(*args, **kwargs):
    raise ValueError(KERAS_TEXT)


# What any verdict may name: the answer was a function where a class was expected, or a set of
# letters made of it (chapter 06's multiple choice).
ANY = ("function", "unknown option")
GARBAGE = {  # answer -> words the verdict must contain (any of them): what came back
    "a string": (lambda *a, **k: "garbage", ("str", "garbage") + ANY),
    "a model": (
        lambda *a, **k: _model(),
        ("Model", "model", "Sequential", "(None, 3)", "(3,)") + ANY,
    ),
    "NaN": (lambda *a, **k: float("nan"), ("nan", "NaN", "finite", "()", "float", "number") + ANY),
    "inf": (lambda *a, **k: np.full((2, 2), np.inf), ("inf", "finite", "shape", "(2, 2)") + ANY),
    "int8": (lambda *a, **k: np.zeros((3,), np.int8), ("int8", "shape", "(3,)") + ANY),
    "not a function": ("garbage", ("str", "garbage", "set of letters") + ANY),
}
# Exercises whose answer's return value is not used (the learner's recipe trains models in place):
# the verdict says what the recipe did instead.
IGNORES_RETURN = {"ch03-q5": ("did not move",)}


@pytest.mark.parametrize("garbage", sorted(GARBAGE))
@pytest.mark.parametrize("exercise", [e for _, e in EXERCISES], ids=IDS)
def test_a_garbage_answer_gets_an_incorrect_verdict_that_says_what_came_back(exercise, garbage):
    answer, words = GARBAGE[garbage]
    words = words + IGNORES_RETURN.get(dict((e, n) for n, e in EXERCISES)[exercise], ())
    outcome = exercise.evaluate(answer)
    assert outcome.status == "incorrect", outcome
    assert "\x1b" not in outcome.message
    assert any(word in outcome.message for word in words), outcome.message


CLASS_ANSWERS = {"ch03-q4", "ch04-q1"}  # the answer is a class: a function is rejected uncalled


@pytest.mark.parametrize(
    "exercise",
    [e for n, e in EXERCISES if n not in CLASS_ANSWERS],
    ids=[n for n in IDS if n not in CLASS_ANSWERS],
)
def test_keras_error_text_is_summarised(exercise):
    outcome = exercise.evaluate(_raise_keras_error)
    assert outcome.status == "incorrect", outcome
    assert "\x1b" not in outcome.message and "Arguments received" not in outcome.message
    assert "is incompatible with the layer" in outcome.message


def _state():
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator

    generator = global_state.get_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR)
    return (
        random.getstate(),
        str(np.random.get_state()),
        None if generator is None else generator.state.numpy().tolist(),
    )


@pytest.mark.parametrize("exercise", [e for _, e in EXERCISES], ids=IDS)
def test_a_check_leaves_the_global_random_state_alone(exercise):
    keras.utils.set_random_seed(1234)
    keras.random.normal((1,))  # the learner has used Keras's global seed generator
    before = _state()

    def draws_globally(*args, **kwargs):  # a learner's function that uses every global generator
        random.random(), np.random.normal(), keras.random.normal((2,))
        raise ValueError("wrong")

    exercise.evaluate(draws_globally)
    exercise.evaluate(lambda *a, **k: _model())
    assert _state() == before


def test_an_error_inside_the_checker_becomes_a_verdict():
    def broken_checker(answer):
        call_answer(answer, 1)
        return {}["missing"]

    outcome = Exercise("x", broken_checker, "h", "s").evaluate(lambda x: "text")
    assert outcome.status == "incorrect"
    assert "your function returned str 'text'" in outcome.message and "KeyError" in outcome.message


def test_summarise_error_keeps_the_informative_line():
    text = summarise_error(ValueError(KERAS_TEXT))
    assert text.startswith("ValueError: Input 0 of layer") and "\x1b" not in text
    assert len(summarise_error(RuntimeError("x" * 1000))) <= 220


def test_same_noise_gives_every_kind_of_draw_the_same_z_and_puts_them_back():
    import tensorflow as tf

    from utils.exercises.fixtures import same_noise

    originals = (tf.random.normal, keras.random.normal, np.random.normal)

    @tf.function
    def traced():
        return tf.random.normal((2, 3)), tf.random.normal((2, 3))

    with same_noise(seed=3):
        first, second = (np.asarray(t) for t in traced())
    with same_noise(seed=3):
        eager = np.asarray(keras.random.normal((2, 3))), np.random.normal(size=(2, 3))
    assert np.allclose(first, eager[0]) and np.allclose(second, eager[1])
    assert not np.allclose(first, second)  # fresh noise for the second draw
    z = np.ones((2, 3), "float32")
    with same_noise(fixed=z):
        assert np.allclose(tf.random.normal((2, 3)), z) and np.allclose(np.random.randn(2, 3), z)
    assert (tf.random.normal, keras.random.normal, np.random.normal) == originals
