"""MNIST and chapter 07's yardstick for the digit benchmarks: the setup `dcgan_curve.py` and
`dcgan_steps_per_execution.py` share (not a benchmark itself).

Digits are scaled to [-1, 1] (the generators' tanh range); generated images are scored with 2,000 samples or
fewer and noise seed 7 against the held-out digits, beside the real-vs-real floor at the same N.
"""

from __future__ import annotations

import utils

KEYS = ("fid", "score", "precision", "recall")


def format_scores(values):
    """One line: FID, score, precision, recall."""
    return "  ".join(f"FID {values[k]:6.2f}" if k == "fid" else f"{k} {values[k]:.2f}" for k in KEYS)


def load_digits(parser, samples):
    """(data, training digits, held-out digits) in [-1, 1]; `--samples` must fit the held-out digits."""
    data = utils.load_mnist()
    x_train = utils.scale_images(data.x_train, to="tanh")
    real_test = utils.scale_images(data.x_test, to="tanh")
    if not 3 < samples <= len(real_test):
        parser.error(f"--samples must be between 4 and {len(real_test)} (the held-out digits)")
    return data, x_train, real_test


def classifier_and_floor(data, x_train, real_test, samples):
    """Chapter 07's classifier (trained and cached on first use) and the floor, printed: real training digits
    against the held-out ones at N = `samples`."""
    from utils import metrics

    classifier = metrics.get_classifier(data, verbose=True)
    floor = metrics.evaluate_generator(x_train[:samples], real_test, n=samples, classifier=classifier)
    floor = {k: float(floor[k]) for k in KEYS}
    print(f"floor (real training digits against the held-out ones, N={samples}): {format_scores(floor)}")
    return classifier, floor


def score_generator(generator, real_test, samples, classifier):
    """The generator's FID, score, precision and recall (noise seed 7) against the held-out digits."""
    from utils import metrics

    result = metrics.evaluate_generator(generator, real_test, n=samples, classifier=classifier, seed=7)
    return {k: float(result[k]) for k in KEYS}
