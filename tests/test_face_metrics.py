"""Chapter 06's face yardstick (`utils.chapters.face_metrics`), tested as chapter 07's metrics are:
identical sets score zero, a set with one attribute only is caught, bad input gets a clear error."""

import numpy as np
import pytest

from utils.chapters import face_metrics, synthesis


@pytest.fixture(scope="module")
def classifier():
    """A briefly trained face classifier (about 10 s): enough to tell glasses from none."""
    return face_metrics.train_face_classifier(n_faces=1500, epochs=3, verbose=False)


@pytest.fixture(scope="module")
def held_out():
    return face_metrics.labelled_faces(600, face_metrics.REFERENCE_SEED)


def test_labels_come_from_the_attributes_the_faces_were_drawn_with():
    _, attributes = synthesis.cartoon_faces(40, seed=5, return_attributes=True)
    labels = face_metrics.face_labels(attributes)
    assert set(labels) == set(face_metrics.ATTRIBUTES)
    for i, a in enumerate(attributes):
        assert face_metrics.ATTRIBUTES["hair_style"][labels["hair_style"][i]] == a["hair_style"]
        assert face_metrics.ATTRIBUTES["mouth"][labels["mouth"][i]] == a["mouth"]
        assert labels["glasses"][i] == int(a["glasses"])
        # the drawn skin colour is within jitter of the base tone named by its label
        assert np.abs(synthesis._SKIN[labels["skin"][i]] - np.asarray(a["skin_color"])).max() < 0.12


def test_the_classifier_learns_the_attributes(classifier, held_out):
    accuracy = face_metrics.attribute_accuracy(classifier, *held_out)
    assert accuracy["glasses"] > 0.75, accuracy


def test_identical_sets_score_zero(classifier, held_out):
    faces = held_out[0][:200]
    result = face_metrics.evaluate_faces(faces, faces, classifier=classifier)
    assert result["fid"] == pytest.approx(0.0, abs=1e-6)
    assert result["precision"] == result["recall"] == 1.0
    assert max(result["gaps"].values()) == 0.0


def test_a_set_with_glasses_only_is_caught(classifier, held_out):
    faces, labels = held_out
    reference = faces[:250]
    with_glasses = faces[250:][labels["glasses"][250:] == 1]
    assert len(with_glasses) > 60
    ordinary = face_metrics.evaluate_faces(faces[250:310], reference, n=60, classifier=classifier)
    only_glasses = face_metrics.evaluate_faces(with_glasses[:60], reference, n=60, classifier=classifier)
    assert only_glasses["glasses"] > ordinary["glasses"] + 0.15
    assert only_glasses["gaps"]["glasses"] > 2 * ordinary["gaps"]["glasses"] + 0.1
    assert only_glasses["fid"] > 2 * ordinary["fid"]


def test_attribute_gap_is_total_variation():
    shares = face_metrics.attribute_shares({"mouth": np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1]])})
    np.testing.assert_allclose(shares["mouth"], [0.5, 0.5, 0.0])
    gaps = face_metrics.attribute_gaps({"mouth": [1.0, 0.0, 0.0]}, {"mouth": [0.0, 0.5, 0.5]})
    assert gaps["mouth"] == pytest.approx(1.0)


def test_a_generator_is_sampled(classifier, held_out):
    from utils.chapters import faces

    generator = faces.build_face_generator(latent_dim=8, filters=16)
    result = face_metrics.evaluate_faces(generator, held_out[0], n=50, classifier=classifier)
    assert result["n"] == 50 and result["fid"] > 0 and 0 <= result["precision"] <= 1


def test_best_on_validation_keeps_the_weights_of_the_lowest_validation_fid(classifier, held_out):
    import keras

    from utils.chapters import faces

    keras.utils.set_random_seed(0)
    generator = faces.build_face_generator(latent_dim=8, filters=16)
    keeper = face_metrics.BestOnValidation(generator, n=60, classifier=classifier)
    validation = face_metrics.labelled_faces(60, face_metrics.VALIDATION_SEED)[0]
    np.testing.assert_array_equal(keeper.validation, validation)
    assert not np.array_equal(validation, held_out[0][:60])  # never the faces that judge the result
    states = [generator.get_weights()]
    states.append([w * 3.0 for w in states[0]])  # three differently bad generators
    states.append([w + 0.05 for w in states[0]])
    for step, weights in zip((100, 200, 300), states):
        generator.set_weights(weights)
        expected = face_metrics.evaluate_faces(generator, validation, classifier=classifier, seed=11)["fid"]
        assert keeper.check(step) == pytest.approx(expected, rel=1e-6)  # the yardstick's own face-FID
    assert len(set(keeper.scores.values())) == 3
    best_step = min(keeper.scores, key=keeper.scores.get)
    assert keeper.best_step == best_step and keeper.best_fid == keeper.scores[best_step]
    for kept, chosen in zip(keeper.best.get_weights(), states[best_step // 100 - 1]):
        np.testing.assert_array_equal(kept, chosen)


def test_best_on_validation_gets_the_classifier_before_training_starts(classifier, monkeypatch):
    from utils.chapters import faces

    calls = []
    monkeypatch.setattr(face_metrics, "get_face_classifier", lambda verbose=True: calls.append(1) or classifier)
    keeper = face_metrics.BestOnValidation(faces.build_face_generator(latent_dim=8, filters=16), n=20)
    assert calls == [1]  # at construction: a first training of the classifier stays out of a timed loop
    keeper.check(0)
    assert calls == [1] and keeper.classifier is classifier


def test_best_on_validation_can_judge_and_keep_the_generator_with_refreshed_batchnorm(classifier):
    """refresh_batchnorm=True: the score is the refreshed copy's face-FID, the kept weights are the copy's
    (BatchNorm statistics recomputed on REFRESH_SEED's latents), and the generator itself is not changed."""
    import keras

    from utils import config, gan
    from utils.chapters import faces

    keras.utils.set_random_seed(1)
    generator = faces.build_face_generator(latent_dim=8, filters=16)
    before = generator.get_weights()
    keeper = face_metrics.BestOnValidation(generator, n=60, classifier=classifier, refresh_batchnorm=True)
    refreshed = face_metrics.refreshed_generator(generator)
    n_refresh = config.pick(256, 1000)  # refreshed_generator's default: 1,000 latents in full mode
    latents = gan.sample_latent(n_refresh, 8, face_metrics.REFRESH_SEED)
    by_hand = face_metrics.with_refreshed_batchnorm(generator, latents)
    for a, b in zip(refreshed.get_weights(), by_hand.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    expected = face_metrics.evaluate_faces(refreshed, keeper.validation, classifier=classifier, seed=11)["fid"]
    plain = face_metrics.evaluate_faces(generator, keeper.validation, classifier=classifier, seed=11)["fid"]
    assert keeper.check(10) == pytest.approx(expected, rel=1e-5) and expected != pytest.approx(plain, rel=1e-3)
    for kept, copied in zip(keeper.best.get_weights(), refreshed.get_weights()):
        np.testing.assert_allclose(kept, copied, rtol=1e-6)
    for now, then in zip(generator.get_weights(), before):
        np.testing.assert_array_equal(now, then)


def test_best_on_validation_refuses_too_few_faces():
    from utils.chapters import faces

    with pytest.raises(ValueError, match="at least 10 validation faces"):
        face_metrics.BestOnValidation(faces.build_face_generator(latent_dim=8, filters=16), n=3)


@pytest.mark.parametrize("bad, message", [
    (np.zeros((10, 28, 28, 1), np.float32), "shape"),
    (np.full((10, 64, 64, 3), np.nan, np.float32), "NaN"),
])
def test_bad_faces_get_a_clear_error(classifier, held_out, bad, message):
    with pytest.raises(ValueError, match=message):
        face_metrics.evaluate_faces(bad, held_out[0][:10], classifier=classifier)


def test_too_few_faces_get_a_clear_error(classifier, held_out):
    with pytest.raises(ValueError, match="need n=100"):
        face_metrics.evaluate_faces(held_out[0][:20], held_out[0][:200], n=100, classifier=classifier)


def test_build_face_classifier_has_one_head_per_attribute_and_64_features():
    model = face_metrics.build_face_classifier()
    outputs = model(np.zeros((2, 64, 64, 3), np.float32))
    assert {k: tuple(v.shape) for k, v in outputs.items()} == {
        attr: (2, len(values)) for attr, values in face_metrics.ATTRIBUTES.items()}
    assert model.get_layer(face_metrics.FEATURE_LAYER).units == 64


def test_features_and_attribute_probabilities(classifier, held_out):
    faces = held_out[0][:12]
    assert face_metrics.face_features(faces, classifier).shape == (12, 64)
    probs = face_metrics.predict_attributes(faces, classifier)
    assert set(probs) == set(face_metrics.ATTRIBUTES)
    for attr, p in probs.items():
        assert p.shape == (12, len(face_metrics.ATTRIBUTES[attr]))
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)


def test_sample_faces_from_a_generator_or_a_function():
    from utils.chapters import faces

    generator = faces.build_face_generator(latent_dim=8, filters=16)
    drawn = face_metrics.sample_faces(generator, 7, seed=3)
    assert drawn.shape == (7, 64, 64, 3)
    np.testing.assert_array_equal(drawn, face_metrics.sample_faces(generator, 7, seed=3))  # same seed, same faces
    assert face_metrics.sample_faces(lambda n: np.zeros((n, 64, 64, 3)), 4).shape == (4, 64, 64, 3)


def test_get_face_classifier_trains_once_then_loads(tmp_path, monkeypatch, capsys):
    from utils import config

    monkeypatch.setenv("COURSE_ARTIFACTS_DIR", str(tmp_path))
    monkeypatch.setattr(config, "FAST", True)
    train = face_metrics.train_face_classifier  # caching is tested here, not learning: a tiny training run
    monkeypatch.setattr(face_metrics, "train_face_classifier",
                        lambda n_faces, epochs, verbose: train(64, 1, verbose=verbose))
    first = face_metrics.get_face_classifier()
    assert "Training the face classifier" in capsys.readouterr().out
    assert list(tmp_path.rglob(face_metrics.CLASSIFIER_FILE))
    again = face_metrics.get_face_classifier()
    assert "Loaded the face classifier" in capsys.readouterr().out
    assert again is not None and first is not None
