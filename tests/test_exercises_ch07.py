"""Chapter 07 checkers accept the right answers and reject the typical wrong ones."""

import numpy as np
import pytest
from scipy import linalg

from utils import metrics
from utils.exercises import ch07 as ex


def _status(exercise, answer):
    return exercise.evaluate(answer)


def stub(*args, **kwargs):
    raise NotImplementedError("Exercise: write this function")


# ---------------------------------------------------------------- q1 Frechet distance


def fd_right(mu1, s1, mu2, s2):
    diff = np.asarray(mu1) - np.asarray(mu2)
    covmean = np.real(linalg.sqrtm(np.asarray(s1) @ np.asarray(s2)))
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def fd_complex(mu1, s1, mu2, s2):  # forgets .real: sqrtm may return complex arrays
    diff = np.asarray(mu1) - np.asarray(mu2)
    covmean = linalg.sqrtm(np.asarray(s1) @ np.asarray(s2)).astype(complex)
    return diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean)


def fd_sqrt(mu1, s1, mu2, s2):  # returns the distance, not its square
    return float(np.sqrt(max(fd_right(mu1, s1, mu2, s2), 0.0)))


def fd_no_mean(mu1, s1, mu2, s2):
    return fd_right(mu1, s1, mu1, s2)


def fd_no_two(mu1, s1, mu2, s2):
    diff = np.asarray(mu1) - np.asarray(mu2)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - np.trace(np.real(linalg.sqrtm(s1 @ s2))))


def fd_elementwise(mu1, s1, mu2, s2):  # np.sqrt instead of the matrix square root
    diff = np.asarray(mu1) - np.asarray(mu2)
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * np.nansum(np.sqrt(s1 * s2)))


def test_q1_accepts_right_answers():
    assert _status(ex.q1, fd_right).status == "correct"
    assert _status(ex.q1, metrics.frechet_distance).status == "correct"


# ---------------------------------------------------------------- q2 score


def score_right(probs):
    p_y = probs.mean(0, keepdims=True)
    return float(np.exp(np.mean(np.sum(probs * (np.log(probs + 1e-12) - np.log(p_y + 1e-12)), 1))))


def score_no_exp(probs):
    return float(np.log(score_right(probs)))


def score_marginal_only(probs):  # exp(H(p(y))): ignores how confident each prediction is
    p_y = probs.mean(0)
    return float(np.exp(-np.sum(p_y * np.log(p_y + 1e-12))))


def score_reversed_kl(probs):
    p_y = probs.mean(0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p_y * (np.log(p_y + 1e-12) - np.log(probs + 1e-12)), 1))))


def score_from_logits_confusion(probs):  # uses each sample's own p(y|x) as the 'marginal': always 1
    return float(np.exp(np.mean(np.sum(probs * (np.log(probs + 1e-12) - np.log(probs + 1e-12)), 1))))


def test_q2_accepts_right_answers():
    assert _status(ex.q2, score_right).status == "correct"
    assert _status(ex.q2, metrics.score_from_probs).status == "correct"


# ---------------------------------------------------------------- q3 precision / recall


def _dist(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


def pr_right(real, fake, k=3):
    def coverage(points, reference):
        radii = np.sort(_dist(reference, reference), axis=1)[:, k]
        return float(np.mean((_dist(points, reference) <= radii[None, :]).any(axis=1)))

    return coverage(fake, real), coverage(real, fake)


def pr_swapped(real, fake, k=3):
    p, r = pr_right(real, fake, k)
    return r, p


def pr_self_neighbour(real, fake, k=3):  # counts each point as its own nearest neighbour
    def coverage(points, reference):
        radii = np.sort(_dist(reference, reference), axis=1)[:, k - 1]
        return float(np.mean((_dist(points, reference) <= radii[None, :]).any(axis=1)))

    return coverage(fake, real), coverage(real, fake)


def pr_same_radii(real, fake, k=3):  # recall measured with the real radii instead of the fake ones
    def radii(ref):
        return np.sort(_dist(ref, ref), axis=1)[:, k]

    p = float(np.mean((_dist(fake, real) <= radii(real)[None, :]).any(axis=1)))
    r = float(np.mean((_dist(real, fake) <= radii(real)[:, None]).any(axis=1)))
    return p, r


def test_q3_accepts_right_answers():
    assert _status(ex.q3, pr_right).status == "correct"
    assert _status(ex.q3, metrics.precision_recall).status == "correct"


def test_q3_stub_and_bad_return():
    assert _status(ex.q3, stub).status == "not attempted"
    outcome = _status(ex.q3, lambda real, fake, k=3: 0.5)
    assert outcome.status == "incorrect" and "pair" in outcome.message


@pytest.mark.parametrize("exercise, wrong, words", [
    (ex.q1, fd_complex, "complex"),
    (ex.q1, fd_sqrt, "squared"),
    (ex.q1, fd_no_mean, "mean term"),
    (ex.q1, fd_no_two, "The 2"),
    (ex.q1, fd_elementwise, "element-wise"),
    (ex.q2, score_no_exp, "exp"),
    (ex.q2, score_marginal_only, "variety of the marginal"),
    (ex.q2, score_reversed_kl, "wrong way"),
    (ex.q2, score_from_logits_confusion, "mean of p(y|x) over the whole set"),
    (ex.q3, pr_swapped, "swapped"),
    (ex.q3, pr_self_neighbour, "*other* real point"),
    (ex.q3, pr_same_radii, "recall"),
], ids=lambda v: getattr(v, "__name__", None) if callable(v) else None)
def test_typical_mistakes_are_named(exercise, wrong, words):
    outcome = _status(exercise, wrong)
    assert outcome.status == "incorrect", outcome
    assert words in outcome.message


@pytest.mark.parametrize("exercise", [ex.q1, ex.q2])
def test_stub_is_not_attempted(exercise):
    assert _status(exercise, stub).status == "not attempted"
