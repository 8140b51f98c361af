"""Tests for utils.metrics: Frechet distance, score, precision/recall, neighbours, input conversion."""

import numpy as np
import pytest

from utils import metrics

# ---------------------------------------------------------------- Frechet distance


def test_frechet_distance_matches_closed_form_for_diagonal_gaussians():
    rng = np.random.default_rng(0)
    mu1, mu2 = rng.normal(size=5), rng.normal(size=5)
    v1, v2 = rng.uniform(0.5, 2.0, size=5), rng.uniform(0.5, 2.0, size=5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    got = metrics.frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2))
    assert got == pytest.approx(expected, rel=1e-8)


def test_frechet_distance_full_covariance_is_symmetric_and_matches_1d():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(4, 4))
    b = rng.normal(size=(4, 4))
    s1, s2 = a @ a.T + np.eye(4), b @ b.T + np.eye(4)
    mu = np.zeros(4)
    d12 = metrics.frechet_distance(mu, s1, mu + 1, s2)
    d21 = metrics.frechet_distance(mu + 1, s2, mu, s1)
    assert d12 == pytest.approx(d21, rel=1e-6)
    # one dimension: (m1-m2)^2 + (s1-s2)^2 with standard deviations s1, s2
    assert metrics.frechet_distance([0.0], [[4.0]], [3.0], [[1.0]]) == pytest.approx(9 + 1)


def test_frechet_distance_of_identical_gaussians_is_zero_even_when_singular():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 6))  # rank-3 covariance in 6-D: singular
    mu, sigma = x.mean(0), np.cov(x, rowvar=False)
    assert metrics.frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0.0, abs=1e-5)


def test_fid_from_features_identical_sets_zero_and_shift_detected():
    rng = np.random.default_rng(3)
    f = rng.normal(size=(500, 8))
    assert metrics.fid_from_features(f, f) == pytest.approx(0.0, abs=1e-6)
    shifted = f + np.array([2.0] + [0.0] * 7)
    assert metrics.fid_from_features(f, shifted) == pytest.approx(4.0, rel=1e-6)


@pytest.mark.parametrize(
    "args, message",
    [
        ((np.zeros(3), np.eye(3), np.zeros(4), np.eye(4)), "same length"),
        ((np.zeros(3), np.eye(2), np.zeros(3), np.eye(3)), "covariances must be"),
        ((np.zeros(2), np.eye(2) * np.nan, np.zeros(2), np.eye(2)), "NaN"),
    ],
)
def test_frechet_distance_rejects_bad_shapes(args, message):
    with pytest.raises(ValueError, match=message):
        metrics.frechet_distance(*args)


def test_fid_from_features_errors():
    with pytest.raises(ValueError, match="at least 2"):
        metrics.fid_from_features(np.zeros((1, 4)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="2-D"):
        metrics.fid_from_features(np.zeros((5, 4, 1)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="feature sizes differ"):
        metrics.fid_from_features(np.ones((5, 4)), np.ones((5, 3)))


# ---------------------------------------------------------------- score


def test_score_of_one_class_is_one_and_of_ten_confident_classes_is_ten():
    one = np.tile(np.eye(10)[3] * 0.99 + 0.001, (100, 1))
    assert metrics.score_from_probs(one) == pytest.approx(1.0, abs=1e-6)
    ten = np.eye(10)[np.arange(1000) % 10]
    assert metrics.score_from_probs(ten) == pytest.approx(10.0, rel=1e-6)


def test_score_of_unconfident_predictions_is_one_and_half_classes_is_five():
    assert metrics.score_from_probs(np.full((50, 10), 0.1)) == pytest.approx(1.0)
    five = np.eye(10)[np.arange(500) % 5]
    assert metrics.score_from_probs(five) == pytest.approx(5.0, rel=1e-6)


def test_score_splits_and_errors():
    ten = np.eye(10)[np.arange(1000) % 10]
    mean, std = metrics.score_from_probs(ten, splits=10, return_std=True)
    assert mean == pytest.approx(10.0) and std == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="softmax"):
        metrics.score_from_probs(np.full((5, 10), 2.0))  # logits, not probabilities
    with pytest.raises(ValueError, match="splits"):
        metrics.score_from_probs(ten[:3], splits=5)
    with pytest.raises(ValueError, match=r"\(N samples, C classes\)"):
        metrics.score_from_probs(np.ones(10) / 10)


# ---------------------------------------------------------------- precision / recall


def test_precision_recall_same_distribution_is_high():
    rng = np.random.default_rng(4)
    real, fake = rng.normal(size=(400, 2)), rng.normal(size=(400, 2))
    p, r = metrics.precision_recall(real, fake, k=3)
    assert p > 0.85 and r > 0.85


def test_precision_recall_mode_collapse_keeps_precision_loses_recall():
    rng = np.random.default_rng(5)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], float)
    real = centres[np.arange(400) % 4] + rng.normal(scale=0.5, size=(400, 2))
    collapsed = centres[0] + rng.normal(scale=0.5, size=(400, 2))  # one mode out of four
    p, r = metrics.precision_recall(real, collapsed, k=3)
    assert p > 0.85
    assert 0.15 < r < 0.35


def test_precision_recall_off_manifold_samples_lose_precision():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(300, 2))
    far = rng.normal(size=(300, 2)) + 20.0
    p, r = metrics.precision_recall(real, far, k=3)
    assert p == 0.0 and r == 0.0


def test_manifold_rule_on_a_hand_made_case():
    reference = np.array([[0.0], [1.0], [3.0]])  # k=1 radii: 1, 1, 2
    points = np.array([[-0.9], [2.0], [5.1], [-1.5]])
    assert metrics.knn_radii(reference, k=1).tolist() == [1.0, 1.0, 2.0]
    assert metrics.manifold_coverage(points, reference, k=1) == pytest.approx(0.5)


def test_precision_recall_errors():
    with pytest.raises(ValueError, match="more than k=3"):
        metrics.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3)
    with pytest.raises(ValueError, match="feature sizes differ"):
        metrics.precision_recall(np.zeros((10, 2)), np.zeros((10, 3)))
    with pytest.raises(ValueError, match="k must be"):
        metrics.precision_recall(np.zeros((10, 2)), np.zeros((10, 2)), k=0)


# ---------------------------------------------------------------- input conversion and neighbours


def test_to_classifier_input_accepts_every_range():
    rng = np.random.default_rng(7)
    unit = rng.uniform(size=(4, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(metrics.to_classifier_input(unit), unit)
    np.testing.assert_allclose(metrics.to_classifier_input(unit * 2 - 1), unit, atol=1e-6)
    np.testing.assert_allclose(metrics.to_classifier_input((unit[..., 0] * 255).astype("uint8")),
                               np.floor(unit * 255) / 255, atol=1e-6)
    assert metrics.to_classifier_input(unit * 2 - 1, value_range="unit").min() == 0.0  # explicit range wins
    with pytest.raises(ValueError, match="28, 28"):
        metrics.to_classifier_input(np.zeros((4, 32, 32, 3)))
    with pytest.raises(ValueError, match="NaN"):
        metrics.to_classifier_input(np.full((2, 28, 28), np.nan))
    with pytest.raises(ValueError, match="empty"):
        metrics.to_classifier_input(np.zeros((0, 28, 28)))


def test_nearest_neighbours_finds_copies_in_pixel_space():
    rng = np.random.default_rng(8)
    train = rng.uniform(size=(50, 28, 28)).astype("float32")
    fake = train[[7, 3, 41]] * 2 - 1  # memorised copies, in tanh range
    dist, idx = metrics.nearest_neighbours(fake, train, k=2)
    assert dist.shape == idx.shape == (3, 2)
    assert idx[:, 0].tolist() == [7, 3, 41]
    np.testing.assert_allclose(dist[:, 0], 0.0, atol=1e-5)
    assert np.all(dist[:, 1] > dist[:, 0])
    with pytest.raises(ValueError, match="k must be between"):
        metrics.nearest_neighbours(fake, train, k=51)
    with pytest.raises(ValueError, match="space"):
        metrics.nearest_neighbours(fake, train, space="inception")


# ---------------------------------------------------------------- with a (tiny, untrained) classifier


@pytest.fixture(scope="module")
def tiny_classifier():
    import keras

    keras.utils.set_random_seed(0)
    return metrics.build_classifier(feature_dim=16)


def test_features_probs_fid_and_evaluate_with_a_classifier(tiny_classifier):
    rng = np.random.default_rng(9)
    real = rng.uniform(size=(60, 28, 28, 1)).astype("float32")
    feats = metrics.classifier_features(real, tiny_classifier)
    probs = metrics.classifier_probs(real * 2 - 1, tiny_classifier)
    assert feats.shape == (60, 16) and probs.shape == (60, 10)
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-6)
    assert metrics.classifier_fid(real, real * 2 - 1, tiny_classifier) == pytest.approx(0.0, abs=1e-4)
    assert 1.0 <= metrics.classifier_score(real, tiny_classifier) <= 10.0

    import keras

    generator = keras.Sequential([keras.Input((8,)), keras.layers.Dense(784, activation="tanh"),
                                  keras.layers.Reshape((28, 28, 1))])
    result = metrics.evaluate_generator(generator, real, n=40, classifier=tiny_classifier)
    assert set(result) == {"fid", "score", "precision", "recall", "n"} and result["n"] == 40
    assert result["fid"] > 0 and 0 <= result["precision"] <= 1 and 0 <= result["recall"] <= 1
    same = metrics.evaluate_generator(real, real, classifier=tiny_classifier)
    assert same["fid"] == pytest.approx(0.0, abs=1e-4) and same["precision"] == same["recall"] == 1.0


def test_sample_generator_handles_vae_logits_and_functions(tiny_classifier):
    import keras

    decoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(784), keras.layers.Reshape((28, 28, 1))])
    images = metrics.sample_generator(decoder, 10, output="logits")
    assert images.shape == (10, 28, 28, 1) and images.min() >= 0 and images.max() <= 1
    images = metrics.sample_generator(lambda n: np.zeros((n, 28, 28)), 5)
    assert images.shape == (5, 28, 28, 1)
    with pytest.raises(ValueError, match="returned 4"):
        metrics.sample_generator(lambda n: np.zeros((4, 28, 28)), 5)
    with pytest.raises(ValueError, match="between 2 and"):
        metrics.evaluate_generator(np.zeros((10, 28, 28)), np.zeros((10, 28, 28)), n=20,
                                   classifier=tiny_classifier)


def test_feature_model_needs_a_features_layer():
    import keras

    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match="features"):
        metrics.classifier_features(np.zeros((2, 28, 28)), model)


def _bar_digits(n, seed=0):
    """Toy 'digits': class k is a bright horizontal bar in band k; easy for any CNN."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 10
    images = rng.integers(0, 40, size=(n, 28, 28), dtype=np.uint8)
    for i, label in enumerate(labels):
        images[i, 2 * label + 4:2 * label + 7, 4:24] = 255
    return images, labels.astype(np.uint8)


def test_get_classifier_trains_on_train_split_saves_and_reloads(tmp_path, monkeypatch, capsys):
    import utils

    monkeypatch.setenv("COURSE_ARTIFACTS_DIR", str(tmp_path))
    x, y = _bar_digits(600)
    data = utils.ImageData(x[:500], y[:500], x[500:], y[500:], source="toy bars")
    model = metrics.get_classifier(data, verbose=True)
    assert "Training the MNIST classifier" in capsys.readouterr().out
    assert list(tmp_path.rglob(metrics.CLASSIFIER_FILE)), "the classifier was not cached under artifacts/"
    assert metrics.classifier_accuracy(model, x[500:], y[500:]) > 0.5  # far above chance (0.1)
    again = metrics.get_classifier(data, verbose=True)
    assert "Loaded the MNIST classifier" in capsys.readouterr().out
    np.testing.assert_allclose(again.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0), atol=1e-5)


def test_train_classifier_returns_a_model_with_features(tmp_path):
    x, y = _bar_digits(300, seed=1)
    model = metrics.train_classifier(x, y, epochs=1, verbose=False, augment=False)
    assert model.get_layer("features") is not None
    assert 0.0 <= metrics.classifier_accuracy(model, x, y) <= 1.0


def test_feature_statistics_and_pairwise_distances_match_numpy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 3)), rng.normal(size=(7, 3))
    mean, cov = metrics.feature_statistics(a)
    np.testing.assert_allclose(mean, a.mean(0))
    np.testing.assert_allclose(cov, np.cov(a, rowvar=False))
    direct = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(metrics.pairwise_distances(a, b, chunk=8), direct, atol=1e-9)
    with pytest.raises(ValueError):
        metrics.feature_statistics(np.zeros((1, 3)))
