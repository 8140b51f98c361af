"""The chapter 00/01 checkers accept right answers and reject the typical wrong ones with a useful message."""

import numpy as np
import pytest

from utils.exercises import ch00, ch01
from utils.exercises.framework import CORRECT, INCORRECT, NOT_ATTEMPTED


def stub(*args):
    raise NotImplementedError("Exercise: replace this line with your code")


def _status(exercise, answer):
    outcome = exercise.evaluate(answer)
    return outcome.status, outcome.message


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (lambda p: p.astype("float32") / 127.5 - 1.0, CORRECT, "[-1, 1]"),
        (lambda p: p.astype("float32") / 255.0, INCORRECT, "[0, 1]"),
        (lambda p: p // 127 - 1, INCORRECT, "floats"),
        (lambda p: p.astype("float32") - 127.5, INCORRECT, "255 should map to 1.0"),
        (lambda p: p.astype("float32").ravel() / 127.5 - 1, INCORRECT, "shape"),
        (stub, NOT_ATTEMPTED, ""),
    ],
)
def test_ch00_scaling(answer, status, words):
    got, message = _status(ch00.q1, answer)
    assert got == status and words in message


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (lambda f, b, m: m[..., None] * f + (1 - m[..., None]) * b, CORRECT, "compositing"),
        (lambda f, b, m: (1 - m[..., None]) * f + m[..., None] * b, INCORRECT, "swapped"),
        (lambda f, b, m: m[..., None] * f + b, INCORRECT, "(1 - mask)"),
        (lambda f, b, m: np.where(m[..., None] > 0.5, f, b), INCORRECT, "soft edge"),
        (lambda f, b, m: m * f[..., 0] + (1 - m) * b[..., 0], INCORRECT, "broadcast"),
        (stub, NOT_ATTEMPTED, ""),
    ],
)
def test_ch01_composite(answer, status, words):
    got, message = _status(ch01.q1, answer)
    assert got == status and words in message


def _disc(size, center, radius, squared=True, swap=False):
    rows, cols = np.mgrid[:size, :size]
    cy, cx = center[::-1] if swap else center
    dist = (rows - cy) ** 2 + (cols - cx) ** 2
    return dist <= (radius**2 if squared else radius)


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (lambda s, c, r: _disc(s, c, r), CORRECT, "disc"),
        (lambda s, c, r: _disc(s, c, r).astype(np.uint8), CORRECT, "disc"),
        (lambda s, c, r: _disc(s, c, r, swap=True), INCORRECT, "swapped"),
        (lambda s, c, r: _disc(s, c, r, squared=False), INCORRECT, "radius**2"),
        (lambda s, c, r: _disc(s, c, r) * 0.5, INCORRECT, "only 0 and 1"),
        (lambda s, c, r: _disc(s + 1, c, r), INCORRECT, "shape"),
        (stub, NOT_ATTEMPTED, ""),
    ],
)
def test_ch01_disc_mask(answer, status, words):
    got, message = _status(ch01.q2, answer)
    assert got == status and words in message


def _pca(mean, comps, stds, n, seed, scale="std", add_mean=True, reseed=True):
    rng = np.random.default_rng(seed if reseed else None)
    z = rng.standard_normal((n, len(stds)))
    factor = {"std": stds, "var": stds**2, "none": 1.0}[scale]
    return (mean if add_mean else 0) + (z * factor) @ comps


@pytest.mark.parametrize(
    "answer, status, words",
    [
        (_pca, CORRECT, "PCA"),
        (lambda *a: _pca(*a, scale="var"), INCORRECT, "variance"),
        (lambda *a: _pca(*a, scale="none"), INCORRECT, "spread 1"),
        (lambda *a: _pca(*a, add_mean=False), INCORRECT, "mean"),
        (lambda *a: _pca(*a, reseed=False), INCORRECT, "seed"),
        (lambda m, c, s, n, seed: _pca(m, c, s, n, seed).T, INCORRECT, "shape"),
        (stub, NOT_ATTEMPTED, ""),
    ],
)
def test_ch01_pca_sample(answer, status, words):
    got, message = _status(ch01.q3, answer)
    assert got == status and words in message
