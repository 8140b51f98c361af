"""Checkers for chapter 07 (evaluating generators): the Frechet distance, the score, precision/recall.

    from utils.exercises import ch07 as ex
    ex.q1.check(frechet_distance)      # frechet_distance(mu1, sigma1, mu2, sigma2) -> float
    ex.q2.check(score_from_probs)      # score_from_probs(probs (N, C)) -> float
    ex.q3.check(precision_recall)      # precision_recall(real (N, D), fake (M, D), k) -> (precision, recall)
"""

from __future__ import annotations

import numpy as np

from .. import metrics
from .fixtures import as_scalar, describe, random_cov
from .framework import Exercise, Incorrect, call_answer

# ---------------------------------------------------------------- q1: Frechet distance


def _frechet_diagnosis(got, mu1, s1, mu2, s2) -> str:
    """Name the usual mistake when `got` equals what it would produce, else ''."""
    from scipy import linalg

    diff = np.asarray(mu1) - np.asarray(mu2)
    root = np.real(linalg.sqrtm(s1 @ s2))
    right = metrics.frechet_distance(mu1, s1, mu2, s2)
    with np.errstate(invalid="ignore"):
        variants = {
            " FID is the *squared* distance: do not take a square root.": np.sqrt(right),
            " The mean term ||mu1 - mu2||^2 is missing.": right - diff @ diff,
            " The 2 in front of the trace of the matrix square root is missing.":
                diff @ diff + np.trace(s1 + s2) - np.trace(root),
            " np.sqrt is element-wise; the formula needs the matrix square root scipy.linalg.sqrtm.":
                diff @ diff + np.trace(s1 + s2) - 2 * np.nansum(np.sqrt(s1 * s2)),
            " You used sigma1 @ sigma2 where its matrix square root belongs.":
                diff @ diff + np.trace(s1 + s2) - 2 * np.trace(s1 @ s2),
        }
    for message, value in variants.items():
        if abs(got - right) > 1e-6 and np.isfinite(value) and abs(got - value) < 1e-5 * max(1.0, abs(value)):
            return message
    return ""


def _check_frechet(fn):
    rng = np.random.default_rng(0)
    s = random_cov(rng, 4)
    m1, m2 = rng.normal(size=5), rng.normal(size=5)
    cases = [
        ("two identical Gaussians", rng.normal(size=4), s, None, s),
        ("means differing by (3, 0, 4), identity covariances", np.zeros(3), np.eye(3), np.array([3.0, 0, 4]),
         np.eye(3)),
        ("equal means, covariances diag(4, 1, 9) and I (answer (2-1)^2 + 0 + (3-1)^2 = 5)", np.zeros(3),
         np.diag([4.0, 1.0, 9.0]), np.zeros(3), np.eye(3)),
        ("full (non-diagonal) covariances that do not commute", m1, random_cov(rng, 5), m2,
         random_cov(rng, 5)),
    ]
    for what, mu1, s1, mu2, s2 in cases:
        mu2 = mu1 if mu2 is None else mu2
        got = as_scalar(call_answer(fn, mu1, s1, mu2, s2), "frechet_distance")
        want = metrics.frechet_distance(mu1, s1, mu2, s2)
        if abs(got - want) > 1e-4 * max(1.0, abs(want)):
            raise Incorrect(f"{what}: expected {want:.5g}, got {got:.5g}."
                            + _frechet_diagnosis(got, mu1, s1, mu2, s2))
    return "Your Frechet distance matches the reference on identical, shifted, diagonal and full Gaussians."


# ---------------------------------------------------------------- q2: score


def _reversed_kl_score(p):
    p_y = p.mean(axis=0, keepdims=True)
    return float(np.exp(np.mean(np.sum(p_y * (np.log(p_y + 1e-12) - np.log(p + 1e-12)), axis=1))))


def _check_score(fn):
    def run(p):
        return as_scalar(call_answer(fn, p), "score_from_probs")

    rng = np.random.default_rng(1)
    logits = rng.normal(scale=2.0, size=(300, 10))
    cases = [
        ("confident predictions spread evenly over ten classes", np.eye(10)[np.arange(200) % 10] * 0.98 + 0.002),
        ("predictions that are all uniform (0.1 each): no confidence", np.full((200, 10), 0.1)),
        ("confident predictions, always the same class: no variety", np.tile(np.eye(10)[3] * 0.98 + 0.002, (200, 1))),
        ("random soft predictions", np.exp(logits) / np.exp(logits).sum(1, keepdims=True)),
    ]
    for what, p in cases:
        got, want = run(p), metrics.score_from_probs(p)
        if abs(got - want) <= 1e-3 * want:
            continue
        hint = ""
        if abs(got - np.log(want)) < 1e-3:
            hint = " You return the mean KL; the score is exp of it."
        elif abs(got - _reversed_kl_score(p)) < 1e-3 * max(1.0, got):
            hint = " The KL is the wrong way round: KL(p(y|x) || p(y)), not KL(p(y) || p(y|x))."
        elif abs(got - np.exp(-np.sum(p.mean(0) * np.log(p.mean(0) + 1e-12)))) < 1e-3 * max(1.0, got):
            hint = (" You score only the variety of the marginal p(y); the KL between each p(y|x) and p(y) must also "
                    "reward confident predictions.")
        elif abs(got - 1.0) < 1e-6:
            hint = " p(y) must be the mean of p(y|x) over the whole set, not each sample's own prediction."
        raise Incorrect(f"{what}: expected {want:.4f}, got {got:.4f}.{hint}")
    return "Right: 1 for one class or no confidence, about 10 for confident predictions spread over ten classes."


# ---------------------------------------------------------------- q3: precision / recall


def _check_precision_recall(fn):
    rng = np.random.default_rng(2)
    centres = np.array([[0, 0], [8, 0], [0, 8], [8, 8]], float)
    real = centres[np.arange(200) % 4] + rng.normal(scale=0.5, size=(200, 2))
    collapsed = centres[0] + rng.normal(scale=0.3, size=(120, 2))

    def run(a, b, k):
        out = call_answer(fn, a, b, k)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            raise Incorrect(f"return a pair (precision, recall), got {describe(out)}")
        return as_scalar(out[0], "precision"), as_scalar(out[1], "recall")

    p, r = run(real, collapsed, 3)
    want_p, want_r = metrics.precision_recall(real, collapsed, k=3)
    if abs(p - want_r) < 1e-9 and abs(r - want_p) < 1e-9 and abs(p - r) > 0.1:
        raise Incorrect(f"precision and recall are swapped: a generator stuck on one of four clusters should have "
                        f"high precision ({want_p:.2f}) and low recall ({want_r:.2f}); you returned ({p:.2f}, {r:.2f})")
    if not (0 <= p <= 1 and 0 <= r <= 1):
        raise Incorrect(f"precision and recall are fractions in [0, 1], got ({p:.3f}, {r:.3f})")
    # a hand-made 1-D case where counting a point as its own neighbour changes the answer
    reference = np.array([[0.0], [1.0], [3.0], [7.0]])  # k=1 radii: 1, 1, 2, 4
    points = np.array([[-0.9], [2.0], [5.1], [10.5], [12.0]])
    p1, r1 = run(reference, points, 1)
    want1 = metrics.precision_recall(reference, points, k=1)
    if abs(p1 - want1[0]) > 1e-9:
        hint = ""
        if p1 == 0.0:
            hint = (" Each real point's radius is the distance to its k-th nearest *other* real point: the point "
                    "itself, at distance 0, does not count.")
        raise Incorrect(f"1-D check: reference points 0, 1, 3, 7 with k=1 have radii 1, 1, 2, 4, so the fake points "
                        f"-0.9, 2, 5.1, 10.5, 12 give precision {want1[0]:.2f} (all but 12 are inside a ball); "
                        f"got {p1:.2f}.{hint}")
    if abs(r1 - want1[1]) > 1e-9:
        raise Incorrect(f"1-D check: recall should be {want1[1]:.2f} (real points inside the fake points' k-NN "
                        f"balls, radii from the fake set itself), got {r1:.2f}")
    if abs(p - want_p) > 1e-9 or abs(r - want_r) > 1e-9:
        raise Incorrect(f"four clusters vs one: expected precision {want_p:.3f}, recall {want_r:.3f}; "
                        f"got ({p:.3f}, {r:.3f})")
    return "Right: precision asks 'is each sample near real data?', recall 'is each real point near some sample?'."


q1 = Exercise(
    "Frechet distance",
    _check_frechet,
    hint="d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 sqrtm(sigma1 @ sigma2)). Use scipy.linalg.sqrtm (a matrix "
         "square root, not np.sqrt) and keep `.real` of its result.",
)

q2 = Exercise(
    "Inception-style score",
    _check_score,
    hint="p_y = probs.mean(axis=0); kl = sum over classes of probs * (log probs - log p_y); score = exp(mean kl). "
         "Add 1e-12 inside the logs so zeros do not give NaN.",
)

q3 = Exercise(
    "Precision and recall with k-NN manifolds",
    _check_precision_recall,
    hint="radius_i = distance from real point i to its k-th nearest other real point (sort each row of the "
         "real-real distance matrix; column 0 is the point itself). A fake point is 'in' when its distance to some "
         "real point i is <= radius_i. Precision = fraction of fake points in the real manifold; recall = the same "
         "with the roles of real and fake swapped.",
)
